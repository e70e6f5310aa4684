package models

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
)

// Product belongs to one user. Price is an integer in the currency's smallest
// unit, so no float rounding ever touches money.
type Product struct {
	bun.BaseModel `bun:"table:products,alias:p"`

	ID          uuid.UUID `bun:"id,pk,type:uuid"`
	UserID      uuid.UUID `bun:"user_id,notnull,type:uuid"`
	Name        string    `bun:"name,notnull"`
	Description string    `bun:"description,notnull"`
	Price       int64     `bun:"price,notnull"`
	Currency    string    `bun:"currency,notnull"`
	CreatedAt   time.Time `bun:"created_at,notnull"`
	UpdatedAt   time.Time `bun:"updated_at,notnull"`
}

// UserProducts returns a user's newest products (at most limit, skipping
// offset) and the user's total count, in one round trip: the window count
// rides along on every row.
func UserProducts(ctx context.Context, db bun.IDB, userID uuid.UUID, limit, offset int) ([]Product, int, error) {
	var rows []struct {
		Product
		Total int `bun:"total"`
	}
	err := db.NewSelect().
		TableExpr("products AS p").
		ColumnExpr("p.*").
		ColumnExpr("count(*) OVER () AS total").
		Where("p.user_id = ?", userID).
		OrderExpr("p.created_at DESC, p.id DESC").
		Limit(int64(limit)).Offset(int64(offset)).
		Scan(ctx, &rows)
	if err != nil {
		return nil, 0, dbErr(err, "select user products")
	}
	products := make([]Product, len(rows))
	total := 0
	for i := range rows {
		products[i] = rows[i].Product
		total = rows[i].Total
	}
	if len(rows) == 0 && offset > 0 {
		n, err := db.NewSelect().Model((*Product)(nil)).Where("p.user_id = ?", userID).Count(ctx)
		if err != nil {
			return nil, 0, dbErr(err, "count user products")
		}
		total = int(n)
	}
	return products, total, nil
}

// InsertProduct stores a new product.
func InsertProduct(ctx context.Context, db bun.IDB, p *Product) error {
	_, err := db.NewInsert().Model(p).Exec(ctx)
	return dbErr(err, "insert product")
}

// ProductOf loads one product of a user. Another user's product is
// ErrNotFound, exactly like a missing one, so ids reveal nothing.
func ProductOf(ctx context.Context, db bun.IDB, userID, id uuid.UUID) (*Product, error) {
	p := new(Product)
	err := db.NewSelect().Model(p).Where("p.id = ?", id).Where("p.user_id = ?", userID).Limit(1).Scan(ctx)
	if err != nil {
		return nil, dbErr(err, "select product")
	}
	return p, nil
}

// UpdateProductColumns writes the named columns of p (and updated_at) when
// p still belongs to p.UserID, and loads the stored row back into p;
// ErrNotFound when there is no such product of that user.
func UpdateProductColumns(ctx context.Context, db bun.IDB, p *Product, columns ...string) error {
	columns = append(columns, "updated_at")
	err := db.NewUpdate().Model(p).Column(columns...).
		Where("id = ?", p.ID).Where("user_id = ?", p.UserID).
		Returning("*").
		Scan(ctx)
	return dbErr(err, "update product")
}

// DeleteProduct removes one product of a user; ErrNotFound when the user has
// no product with that id.
func DeleteProduct(ctx context.Context, db bun.IDB, userID, id uuid.UUID) error {
	res, err := db.NewDelete().Model((*Product)(nil)).Where("id = ?", id).Where("user_id = ?", userID).Exec(ctx)
	if err != nil {
		return dbErr(err, "delete product")
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return fmt.Errorf("delete product %s: %w", id, ErrNotFound)
	}
	return nil
}
