package models

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
)

// profileRow is one row of UserWithProducts: the user's columns repeated next
// to each of their products (product columns are NULL when there is none).
type profileRow struct {
	User    User    `bun:"embed:u_"`
	Product Product `bun:"embed:p_"`
	Total   int     `bun:"p_total"`
}

// profileQueryTmpl joins the user with a window over their newest
// products, so the user, the page and the count of all products come back in
// one round trip: GET /users/me is the hottest route and a round trip is its
// main cost. Its parameters are numbered, %[1]s to %[4]s (user id, limit,
// session id, now), so one text serves both Bun's indexed placeholders and
// PostgreSQL's own; %[5]s is where the session check goes.
const profileQueryTmpl = `SELECT
	u.id AS u_id, u.email AS u_email, u.password_hash AS u_password_hash, u.first_name AS u_first_name,
	u.last_name AS u_last_name, u.phone AS u_phone, u.avatar_key AS u_avatar_key, u.active AS u_active,
	u.token_version AS u_token_version, u.created_at AS u_created_at, u.updated_at AS u_updated_at,
	u.locale AS u_locale, u.deactivated_by AS u_deactivated_by, u.deactivated_at AS u_deactivated_at,
	p.id AS p_id, p.user_id AS p_user_id, p.name AS p_name, p.description AS p_description, p.price AS p_price,
	p.currency AS p_currency, p.created_at AS p_created_at, p.updated_at AS p_updated_at, p.total AS p_total
FROM users AS u%[5]s
LEFT JOIN (
	SELECT products.*, count(*) OVER () AS total
	FROM products
	WHERE user_id = %[1]s
	ORDER BY created_at DESC, id DESC
	LIMIT %[2]s
) AS p ON p.user_id = u.id
WHERE u.id = %[1]s
ORDER BY p.created_at DESC, p.id DESC`

// sessionJoinTmpl keeps the row only while the token's session is alive: a
// primary-key lookup inside the same query, so checking the session costs
// GET /users/me no extra round trip.
const sessionJoinTmpl = `
JOIN sessions AS s ON s.id = %[3]s AND s.user_id = u.id AND s.revoked_at IS NULL AND s.idle_expires_at > %[4]s`

// profileSQL writes the profile query with param(n) as its n-th parameter.
func profileSQL(inSession bool, param func(n int) string) string {
	p := []any{param(1), param(2), param(3), param(4), ""}
	if inSession {
		p[4] = fmt.Sprintf(sessionJoinTmpl, p...)
	}
	return fmt.Sprintf(profileQueryTmpl, p...)
}

// bunParam is Bun's indexed placeholder (?0 is the first argument);
// pgParam is PostgreSQL's ($1 is the first).
func bunParam(n int) string { return "?" + strconv.Itoa(n-1) }
func pgParam(n int) string  { return "$" + strconv.Itoa(n) }

var (
	profileQuery          = profileSQL(false, bunParam)
	profileQueryInSession = profileSQL(true, bunParam)
	// profileQueryPG has real parameters, so PostgreSQL keeps one prepared
	// plan for it instead of parsing and planning every request.
	profileQueryPG = profileSQL(true, pgParam)
)

// UserWithProducts loads a user with their newest products (at most limit)
// and the count of all of them, in one query; ErrNotFound when no such user.
func UserWithProducts(ctx context.Context, db bun.IDB, id uuid.UUID, limit int) (*User, []Product, int, error) {
	var rows []profileRow
	if err := db.NewRaw(profileQuery, id, limit).Scan(ctx, &rows); err != nil {
		return nil, nil, 0, dbErr(err, "select user with products")
	}
	return fromProfileRows(rows)
}

// UserWithProductsInSession is UserWithProducts for the user's own token:
// the same single query, answering ErrNotFound as well when the session sid
// is not alive at now.
func UserWithProductsInSession(ctx context.Context, db *bun.DB, id, sid uuid.UUID, now time.Time, limit int) (*User, []Product, int, error) {
	if db.Dialect().Name() == dialect.PG {
		return userWithProductsPG(ctx, db, id, sid, now, limit)
	}
	var rows []profileRow
	if err := db.NewRaw(profileQueryInSession, id, limit, sid, now).Scan(ctx, &rows); err != nil {
		return nil, nil, 0, dbErr(err, "select user with products")
	}
	return fromProfileRows(rows)
}

func fromProfileRows(rows []profileRow) (*User, []Product, int, error) {
	if len(rows) == 0 {
		return nil, nil, 0, dbErr(sql.ErrNoRows, "select user with products")
	}
	u := rows[0].User
	products := make([]Product, 0, len(rows))
	total := 0
	for i := range rows {
		if rows[i].Product.ID == uuid.Nil {
			break // the LEFT JOIN found no product
		}
		products = append(products, rows[i].Product)
		total = rows[i].Total
	}
	return &u, products, total, nil
}

// userWithProductsPG runs the hottest query of the API as a cached prepared
// statement and scans it by hand: Bun would inline the arguments (a new
// statement each time) and scan through reflection.
func userWithProductsPG(ctx context.Context, db *bun.DB, id, sid uuid.UUID, now time.Time, limit int) (*User, []Product, int, error) {
	rows, err := db.DB.QueryContext(ctx, profileQueryPG, pgx.QueryExecModeCacheStatement, id, limit, sid, now)
	if err != nil {
		return nil, nil, 0, dbErr(err, "select user with products")
	}
	defer rows.Close()
	var (
		u        User
		found    bool
		products []Product
		total    int
		// Product columns are NULL when the user has none.
		pID, pUserID            uuid.NullUUID
		pName, pDesc, pCurrency sql.NullString
		pPrice, pTotal          sql.NullInt64
		pCreatedAt, pUpdatedAt  sql.NullTime
	)
	for rows.Next() {
		// The user's columns repeat on every row; scanning them into the
		// same struct each time costs no allocation per product.
		err := rows.Scan(&u.ID, &u.Email, &u.PasswordHash, &u.FirstName, &u.LastName, &u.Phone, &u.AvatarKey, &u.Active,
			&u.TokenVersion, &u.CreatedAt, &u.UpdatedAt, &u.Locale, &u.DeactivatedBy, &u.DeactivatedAt,
			&pID, &pUserID, &pName, &pDesc, &pPrice, &pCurrency, &pCreatedAt, &pUpdatedAt, &pTotal)
		if err != nil {
			return nil, nil, 0, dbErr(err, "scan user with products")
		}
		if !found {
			found = true
			products = make([]Product, 0, 8)
		}
		if !pID.Valid {
			continue
		}
		products = append(products, Product{
			ID: pID.UUID, UserID: pUserID.UUID, Name: pName.String, Description: pDesc.String, Price: pPrice.Int64,
			Currency: pCurrency.String, CreatedAt: pCreatedAt.Time, UpdatedAt: pUpdatedAt.Time,
		})
		total = int(pTotal.Int64)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, 0, dbErr(err, "read user with products")
	}
	if !found {
		return nil, nil, 0, dbErr(sql.ErrNoRows, "select user with products")
	}
	return &u, products, total, nil
}
