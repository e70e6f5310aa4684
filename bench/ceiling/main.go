// Command ceiling is the stack ceiling of GET /api/v1/users/me: the least a
// Fiber + pgx + HS256 program must do to answer it (verify the token, load the
// user and their newest products in one query that also checks the token's
// session, encode the same JSON). It also serves the ceiling of
// POST /api/v1/auth/token/refresh: one indexed UPDATE that rotates the
// session's refresh token and returns its user, then a signed pair. The
// benchmark runs it beside the real server on the same tables and pool size,
// so the server's numbers read as a fraction of what the stack allows.
//
// Environment: DATABASE_URL (required), JWT_SECRET (required), HTTP_ADDR
// (default 127.0.0.1:18081), POOL_SIZE (default 4 x GOMAXPROCS, the server's).
package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
)

// productsLimit matches app.MeProductsLimit.
const productsLimit = 100

// meQuery loads the user, the count of their products and the newest of them
// in one round trip: one row per product, the user columns repeated.
const meQuery = `
SELECT u.id, u.email, u.first_name, u.last_name, u.phone, u.avatar_key, u.active, u.token_version,
       u.created_at, u.updated_at,
       (SELECT count(*) FROM products c WHERE c.user_id = u.id),
       p.id, p.name, p.description, p.price, p.currency, p.created_at, p.updated_at
FROM users u
JOIN sessions s ON s.id = $3 AND s.user_id = u.id AND s.revoked_at IS NULL AND s.idle_expires_at > now()
LEFT JOIN LATERAL (
    SELECT id, name, description, price, currency, created_at, updated_at
    FROM products WHERE user_id = u.id
    ORDER BY created_at DESC, id DESC LIMIT $2
) p ON true
WHERE u.id = $1`

type claims struct {
	Email     string `json:"email"`
	Role      string `json:"role"`
	SessionID string `json:"sid"`
	Version   int64  `json:"ver"`
	jwt.RegisteredClaims
}

type productJSON struct {
	ID          uuid.UUID `json:"id"`
	UserID      uuid.UUID `json:"user_id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Price       int64     `json:"price"`
	Currency    string    `json:"currency"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

type userJSON struct {
	ID            uuid.UUID     `json:"id"`
	Email         string        `json:"email"`
	FirstName     string        `json:"first_name"`
	LastName      string        `json:"last_name"`
	Phone         *string       `json:"phone"`
	AvatarURL     *string       `json:"avatar_url"`
	Active        bool          `json:"active"`
	CreatedAt     time.Time     `json:"created_at"`
	UpdatedAt     time.Time     `json:"updated_at"`
	Products      []productJSON `json:"products"`
	ProductsTotal int64         `json:"products_total"`
}

type meJSON struct {
	User userJSON `json:"user"`
}

var errUnauthorized = errors.New("unauthorized")

// server holds the two dependencies of the one route.
type server struct {
	pool   *pgxpool.Pool
	secret []byte
	parser *jwt.Parser
	// refreshKey derives the next refresh token, as the server does.
	refreshKey []byte
}

// rotateQuery is the one indexed UPDATE of a refresh: move the session to
// its next token if the presented one is current, and return its user.
const rotateQuery = `
UPDATE sessions s SET generation = generation + 1, refresh_hash = $4, rotated_at = date_trunc('second', now()),
       last_used_at = now(), idle_expires_at = LEAST(now() + interval '30 days', s.expires_at)
FROM users u
WHERE s.id = $1 AND s.generation = $2 AND s.refresh_hash = $3 AND s.user_id = u.id
  AND s.revoked_at IS NULL AND s.idle_expires_at > now()
RETURNING u.id, u.email, u.first_name, u.last_name, u.phone, u.avatar_key, u.active, u.token_version,
          u.created_at, u.updated_at, s.rotated_at, s.idle_expires_at`

type tokenJSON struct {
	Token            string   `json:"token"`
	TokenType        string   `json:"token_type"`
	ExpiresIn        int64    `json:"expires_in"`
	RefreshToken     string   `json:"refresh_token"`
	RefreshExpiresIn int64    `json:"refresh_expires_in"`
	User             userJSON `json:"user"`
}

// refresh is the least a refresh can do: decode the token, derive the next
// one, one UPDATE, sign an access token, encode the body.
func (s *server) refresh(c *fiber.Ctx) error {
	var in struct {
		RefreshToken string `json:"refresh_token"`
	}
	if err := c.BodyParser(&in); err != nil {
		return fiber.ErrBadRequest
	}
	raw, err := base64.RawURLEncoding.DecodeString(in.RefreshToken)
	if err != nil || len(raw) != 56 {
		return fiber.ErrUnauthorized
	}
	sid, _ := uuid.FromBytes(raw[:16])
	gen := int64(binary.BigEndian.Uint64(raw[16:24]))
	h := sha256.Sum256(raw[24:])
	m := hmac.New(sha256.New, s.refreshKey)
	m.Write(raw[:24])
	m.Write(raw[24:])
	next := make([]byte, 56)
	copy(next, raw[:16])
	binary.BigEndian.PutUint64(next[16:24], uint64(gen+1))
	copy(next[24:], m.Sum(nil))
	nh := sha256.Sum256(next[24:])

	out := tokenJSON{TokenType: "Bearer", RefreshToken: base64.RawURLEncoding.EncodeToString(next)}
	u := &out.User
	var (
		version           int64
		avatarKey         *string
		rotated, idleEnds time.Time
	)
	err = s.pool.QueryRow(c.UserContext(), rotateQuery, sid, gen, h[:], nh[:]).Scan(
		&u.ID, &u.Email, &u.FirstName, &u.LastName, &u.Phone, &avatarKey, &u.Active, &version,
		&u.CreatedAt, &u.UpdatedAt, &rotated, &idleEnds)
	if errors.Is(err, pgx.ErrNoRows) {
		return fiber.ErrUnauthorized
	}
	if err != nil {
		return fiber.NewError(fiber.StatusServiceUnavailable, err.Error())
	}
	now := time.Now()
	cl := claims{Email: u.Email, Role: "user", SessionID: sid.String(), Version: version, RegisteredClaims: jwt.RegisteredClaims{
		Subject: u.ID.String(), IssuedAt: jwt.NewNumericDate(rotated), ExpiresAt: jwt.NewNumericDate(rotated.Add(15 * time.Minute)),
	}}
	out.Token, err = jwt.NewWithClaims(jwt.SigningMethodHS256, cl).SignedString(s.secret)
	if err != nil {
		return err
	}
	out.ExpiresIn = int64(15 * 60)
	out.RefreshExpiresIn = int64(idleEnds.Sub(now) / time.Second)
	u.CreatedAt, u.UpdatedAt = u.CreatedAt.UTC(), u.UpdatedAt.UTC()
	u.Products = nil
	if avatarKey != nil {
		url := "/avatars/" + *avatarKey
		u.AvatarURL = &url
	}
	return c.JSON(out)
}

func (s *server) keyFunc(*jwt.Token) (any, error) { return s.secret, nil }

// load runs meQuery and checks the account against the token the same way
// the server's middleware does (active, same email, same token version).
func (s *server) load(ctx context.Context, id uuid.UUID, cl *claims) (*meJSON, error) {
	sid, err := uuid.Parse(cl.SessionID)
	if err != nil {
		return nil, errUnauthorized
	}
	rows, err := s.pool.Query(ctx, meQuery, id, productsLimit, sid)
	if err != nil {
		return nil, fmt.Errorf("query: %w", err)
	}
	defer rows.Close()
	out := &meJSON{}
	u := &out.User
	u.Products = make([]productJSON, 0, 8)
	var (
		version                 int64
		avatarKey               *string
		pid                     pgtype.UUID
		pname, pdesc, pcurrency pgtype.Text
		pprice                  pgtype.Int8
		pcreated, pupdated      pgtype.Timestamptz
		found                   bool
	)
	for rows.Next() {
		found = true
		if err := rows.Scan(&u.ID, &u.Email, &u.FirstName, &u.LastName, &u.Phone, &avatarKey, &u.Active, &version,
			&u.CreatedAt, &u.UpdatedAt, &u.ProductsTotal,
			&pid, &pname, &pdesc, &pprice, &pcurrency, &pcreated, &pupdated); err != nil {
			return nil, fmt.Errorf("scan: %w", err)
		}
		if pid.Valid {
			u.Products = append(u.Products, productJSON{
				ID: pid.Bytes, UserID: u.ID, Name: pname.String, Description: pdesc.String, Price: pprice.Int64,
				Currency: pcurrency.String, CreatedAt: pcreated.Time.UTC(), UpdatedAt: pupdated.Time.UTC(),
			})
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("rows: %w", err)
	}
	if !found || !u.Active || u.Email != cl.Email || version != cl.Version {
		return nil, errUnauthorized
	}
	u.CreatedAt, u.UpdatedAt = u.CreatedAt.UTC(), u.UpdatedAt.UTC()
	if avatarKey != nil {
		url := "/avatars/" + *avatarKey
		u.AvatarURL = &url
	}
	return out, nil
}

func (s *server) me(c *fiber.Ctx) error {
	auth := c.Get(fiber.HeaderAuthorization)
	raw, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok {
		return fiber.ErrUnauthorized
	}
	cl := &claims{}
	if _, err := s.parser.ParseWithClaims(raw, cl, s.keyFunc); err != nil {
		return fiber.ErrUnauthorized
	}
	id, err := uuid.Parse(cl.Subject)
	if err != nil || cl.Role != "user" || cl.IssuedAt == nil || cl.ExpiresAt == nil {
		return fiber.ErrUnauthorized
	}
	out, err := s.load(c.UserContext(), id, cl)
	if errors.Is(err, errUnauthorized) {
		return fiber.ErrUnauthorized
	}
	if err != nil {
		return fiber.NewError(fiber.StatusServiceUnavailable, err.Error())
	}
	return c.JSON(out)
}

func run(ctx context.Context, getenv func(string) string) error {
	dsn, secret := getenv("DATABASE_URL"), getenv("JWT_SECRET")
	if dsn == "" || len(secret) < 32 {
		return errors.New("DATABASE_URL and JWT_SECRET (>= 32 bytes) are required")
	}
	addr := getenv("HTTP_ADDR")
	if addr == "" {
		addr = "127.0.0.1:18081"
	}
	poolSize := 4 * runtime.GOMAXPROCS(0)
	if v := getenv("POOL_SIZE"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return fmt.Errorf("POOL_SIZE %q: want a positive integer", v)
		}
		poolSize = n
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return fmt.Errorf("DATABASE_URL: %w", err)
	}
	cfg.MaxConns = int32(poolSize)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer pool.Close()
	if err := pool.Ping(ctx); err != nil {
		return fmt.Errorf("ping: %w", err)
	}

	key := hmac.New(sha256.New, []byte(secret))
	key.Write([]byte("refresh-tokens"))
	s := &server{pool: pool, secret: []byte(secret), parser: jwt.NewParser(jwt.WithValidMethods([]string{"HS256"})), refreshKey: key.Sum(nil)}
	f := fiber.New(fiber.Config{DisableStartupMessage: true})
	f.Get("/healthz", func(c *fiber.Ctx) error { return c.SendString("ok") })
	f.Get("/api/v1/users/me", s.me)
	f.Post("/api/v1/auth/token/refresh", s.refresh)

	errc := make(chan error, 1)
	go func() { errc <- f.Listen(addr) }()
	fmt.Fprintf(os.Stderr, "ceiling: listening on %s, pool %d\n", addr, poolSize)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	return f.ShutdownWithTimeout(5 * time.Second)
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Getenv)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "ceiling:", err)
		os.Exit(1)
	}
}
