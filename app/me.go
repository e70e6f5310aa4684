package app

import (
	"context"

	"github.com/acme/accounts/models"
)

// MeProductsLimit caps the products embedded in the signed-in user's profile.
const MeProductsLimit = 100

// Profile is a user with their newest products and the count of all of them.
type Profile struct {
	User          *models.User
	Products      []models.Product
	ProductsTotal int
}

// AvatarURL is the public URL of a stored avatar key, nil for none.
func (a *App) AvatarURL(key *string) *string {
	if key == nil || *key == "" {
		return nil
	}
	u := a.objects.URL(*key)
	return &u
}

// Ready checks every dependency the API needs, naming the first that fails.
func (a *App) Ready(ctx context.Context) error {
	if err := models.Ping(ctx, a.db); err != nil {
		return err
	}
	if err := a.codes.Ping(ctx); err != nil {
		return err
	}
	return a.objects.Ping(ctx)
}
