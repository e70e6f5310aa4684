package app

import (
	"context"
	"strings"

	"github.com/google/uuid"

	"github.com/acme/accounts/models"
)

// Product defaults, as the API documents them.
const (
	DefaultCurrency        = "UZS"
	DefaultProductsPerPage = 20
)

// ProductInput creates a product. Price is in the currency's smallest unit.
type ProductInput struct {
	Name        string `json:"name" validate:"required,max=200"`
	Description string `json:"description" validate:"max=2000"`
	Price       *int64 `json:"price" validate:"required,gte=0"`
	Currency    string `json:"currency" validate:"required,iso4217"`
}

// CreateProduct stores a new product of the signed-in user. The currency
// defaults to UZS and is accepted in any letter case.
func (a *App) CreateProduct(ctx context.Context, u *models.User, in ProductInput) (*models.Product, error) {
	in.Name = strings.TrimSpace(in.Name)
	in.Description = strings.TrimSpace(in.Description)
	in.Currency = strings.ToUpper(strings.TrimSpace(in.Currency))
	if in.Currency == "" {
		in.Currency = DefaultCurrency
	}
	if err := a.validate(in); err != nil {
		return nil, err
	}
	now := a.Now()
	p := &models.Product{
		ID:          models.NewID(),
		UserID:      u.ID,
		Name:        in.Name,
		Description: in.Description,
		Price:       *in.Price,
		Currency:    in.Currency,
		CreatedAt:   now,
		UpdatedAt:   now,
	}
	if err := models.InsertProduct(ctx, a.db, p); err != nil {
		return nil, err
	}
	return p, nil
}

// ProductPatch changes a product; fields left out stay as they are.
type ProductPatch struct {
	Name        Field[string] `json:"name"`
	Description Field[string] `json:"description"`
	Price       Field[int64]  `json:"price"`
	Currency    Field[string] `json:"currency"`
}

// productPatchCheck holds the fields being changed, for the validator.
type productPatchCheck struct {
	Name        *string `json:"name" validate:"omitnil,max=200"`
	Description *string `json:"description" validate:"omitnil,max=2000"`
	Price       *int64  `json:"price" validate:"omitnil,gte=0"`
	Currency    *string `json:"currency" validate:"omitnil,iso4217"`
}

// UpdateProduct applies the fields present in the patch to one of the
// user's products. A null description empties it; null for any other field
// is a validation error. Another user's product is models.ErrNotFound.
func (a *App) UpdateProduct(ctx context.Context, u *models.User, id uuid.UUID, in ProductPatch) (*models.Product, error) {
	verr := &models.ValidationError{}
	in.Name.Value = strings.TrimSpace(in.Name.Value)
	switch {
	case in.Name.Null:
		verr.Add("name", "must not be null")
	case in.Name.Set && in.Name.Value == "":
		verr.Add("name", "must not be empty")
	}
	if in.Price.Null {
		verr.Add("price", "must not be null")
	}
	if in.Currency.Null {
		verr.Add("currency", "must not be null")
	}
	in.Description.Value = strings.TrimSpace(in.Description.Value)
	in.Currency.Value = strings.ToUpper(strings.TrimSpace(in.Currency.Value))
	check := productPatchCheck{Name: in.Name.ptr(), Description: in.Description.ptr(), Price: in.Price.ptr(), Currency: in.Currency.ptr()}
	if err := mergeFields(verr, a.validate(check)); err != nil {
		return nil, err
	}

	p, err := models.ProductOf(ctx, a.db, u.ID, id)
	if err != nil {
		return nil, err
	}
	var columns []string
	if in.Name.Set {
		p.Name = in.Name.Value
		columns = append(columns, "name")
	}
	if in.Description.Set {
		p.Description = in.Description.Value // "" when sent as null
		columns = append(columns, "description")
	}
	if in.Price.Set {
		p.Price = in.Price.Value
		columns = append(columns, "price")
	}
	if in.Currency.Set {
		p.Currency = in.Currency.Value
		columns = append(columns, "currency")
	}
	if len(columns) == 0 {
		return p, nil
	}
	p.UpdatedAt = a.Now()
	if err := models.UpdateProductColumns(ctx, a.db, p, columns...); err != nil {
		return nil, err
	}
	return p, nil
}

// Product loads one of the user's products; another user's is
// models.ErrNotFound.
func (a *App) Product(ctx context.Context, u *models.User, id uuid.UUID) (*models.Product, error) {
	return models.ProductOf(ctx, a.db, u.ID, id)
}

// DeleteProduct deletes one of the user's products for good.
func (a *App) DeleteProduct(ctx context.Context, u *models.User, id uuid.UUID) error {
	return models.DeleteProduct(ctx, a.db, u.ID, id)
}

// ProductListInput selects one page of the user's products. Page is capped
// so that the offset, (page-1)*per_page, can never overflow.
type ProductListInput struct {
	Page    int `json:"page" validate:"gte=1,lte=2147483647"`
	PerPage int `json:"per_page" validate:"gte=1,lte=100"`
}

// ProductPage is one page of products and the count over all pages.
type ProductPage struct {
	Total int
	Items []models.Product
}

// ListProducts returns one page of the user's products, newest first.
func (a *App) ListProducts(ctx context.Context, u *models.User, in ProductListInput) (*ProductPage, error) {
	if err := a.validate(in); err != nil {
		return nil, err
	}
	items, total, err := models.UserProducts(ctx, a.db, u.ID, in.PerPage, (in.Page-1)*in.PerPage)
	if err != nil {
		return nil, err
	}
	return &ProductPage{Total: total, Items: items}, nil
}
