package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"

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

// AccessToken is what a verified access token says of its bearer: the
// account and session it names, and the email and token version the account
// had when it was issued. The routes' token check fills it in; the flows
// below decide whether the account still accepts it.
type AccessToken struct {
	TokenSession
	Email   string
	Version int64
}

// Me loads the signed-in user with their newest products and the count of
// all of them: GET /users/me, the API's hottest route, in one query that
// also checks the token's session. The query waits its turn at the profile
// gate (see New), so a burst queues in arrival order.
func (a *App) Me(ctx context.Context, t AccessToken) (*Profile, error) {
	if err := a.profileGate.Enter(ctx); err != nil {
		return nil, err
	}
	u, products, total, err := models.UserWithProductsInSession(ctx, a.db, t.Owner.ID, t.SessionID, a.Now(), MeProductsLimit)
	a.profileGate.Leave()
	if err != nil {
		return nil, tokenAccountErr(err)
	}
	if !t.accepted(u.Email, u.Active, u.TokenVersion) {
		return nil, fmt.Errorf("user token revoked: %w", models.ErrUnauthorized)
	}
	return &Profile{User: u, Products: products, ProductsTotal: total}, nil
}

// UserForToken is the user a user token names, while the account is active,
// the token's version is current and its session alive (one query).
func (a *App) UserForToken(ctx context.Context, t AccessToken) (*models.User, error) {
	u, err := models.UserInSession(ctx, a.db, t.Owner.ID, t.SessionID, a.Now())
	if err != nil {
		return nil, tokenAccountErr(err)
	}
	if !t.accepted(u.Email, u.Active, u.TokenVersion) {
		return nil, fmt.Errorf("user token revoked: %w", models.ErrUnauthorized)
	}
	return u, nil
}

// AdminForToken is UserForToken for admin tokens.
func (a *App) AdminForToken(ctx context.Context, t AccessToken) (*models.Admin, error) {
	ad, err := models.AdminInSession(ctx, a.db, t.Owner.ID, t.SessionID, a.Now())
	if err != nil {
		return nil, tokenAccountErr(err)
	}
	if !t.accepted(ad.Email, ad.Active, ad.TokenVersion) {
		return nil, fmt.Errorf("admin token revoked: %w", models.ErrUnauthorized)
	}
	return ad, nil
}

// accepted compares the token with the account as it is now: same email,
// still active, same token version (password change, reset and deactivation
// bump it).
func (t AccessToken) accepted(email string, active bool, version int64) bool {
	return active && t.Email == email && t.Version == version && t.SessionID != uuid.Nil
}

// tokenAccountErr turns a missing account or ended session into the 401 a
// stale token gets; an outage stays an outage.
func tokenAccountErr(err error) error {
	if errors.Is(err, models.ErrNotFound) {
		return fmt.Errorf("token account or session gone: %w", models.ErrUnauthorized)
	}
	return err
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
