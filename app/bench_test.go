package app_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"math/rand/v2"
	"net"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/acme/accounts/app"
	"github.com/acme/accounts/internal/testenv"
	"github.com/acme/accounts/models"
)

// benchUsers stores n users with products each straight through the models
// (the API would spend the setup in bcrypt) and returns them with valid tokens.
func benchUsers(b *testing.B, e *testenv.Env, n, products int) ([]models.User, []string) {
	b.Helper()
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Microsecond)
	users := make([]models.User, n)
	items := make([]models.Product, 0, n*products)
	for i := range users {
		users[i] = models.User{
			ID: models.NewID(), Email: e.Email(fmt.Sprintf("bench%d", i)), PasswordHash: "unused",
			FirstName: "Bench", LastName: "User", Active: true, TokenVersion: 1, CreatedAt: now, UpdatedAt: now,
		}
		for j := range products {
			at := now.Add(time.Duration(j) * time.Second)
			items = append(items, models.Product{
				ID: models.NewID(), UserID: users[i].ID, Name: fmt.Sprintf("Product %d", j),
				Description: "A product of typical description length for the benchmark.",
				Price:       int64(1000 * (j + 1)), Currency: "UZS", CreatedAt: at, UpdatedAt: at,
			})
		}
	}
	if _, err := e.DB.NewInsert().Model(&users).Exec(ctx); err != nil {
		b.Fatalf("insert users: %v", err)
	}
	if len(items) > 0 {
		if _, err := e.DB.NewInsert().Model(&items).Exec(ctx); err != nil {
			b.Fatalf("insert products: %v", err)
		}
	}
	tokens := make([]string, n)
	for i := range users {
		tokens[i] = e.SignToken(b, users[i].Email, models.RoleUser, 1, time.Hour)
	}
	return users, tokens
}

// BenchmarkGetMe serves GET /api/v1/users/me in process, through the whole
// middleware chain (token, account load, products, JSON), without a socket.
// users=600 rotates over more accounts than pgx caches statements for, as
// the load test does; users=1 repeats one account.
func BenchmarkGetMe(b *testing.B) {
	for _, c := range []struct{ users, products int }{{1, 5}, {600, 5}, {1, 100}} {
		b.Run(fmt.Sprintf("users=%d/products=%d", c.users, c.products), func(b *testing.B) {
			e := testenv.New(b, testenv.Config{})
			_, tokens := benchUsers(b, e, c.users, c.products)
			handler := e.Fiber.Handler()
			reqs := make([]fasthttp.Request, len(tokens))
			for i := range reqs {
				reqs[i].Header.SetMethod(fasthttp.MethodGet)
				reqs[i].SetRequestURI("/api/v1/users/me")
				reqs[i].Header.Set(fasthttp.HeaderAuthorization, "Bearer "+tokens[i])
			}
			var ctx fasthttp.RequestCtx
			addr := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				ctx.Init(&reqs[i%len(reqs)], addr, nil)
				i++
				// Fiber keeps the request's context (with its deadline, cancelled
				// once served) in the user values: a reused RequestCtx must drop it.
				ctx.ResetUserValues()
				ctx.Response.Reset()
				handler(&ctx)
				if code := ctx.Response.StatusCode(); code != fasthttp.StatusOK {
					b.Fatalf("status %d: %s", code, ctx.Response.Body())
				}
			}
		})
	}
}

// BenchmarkUserWithProducts is GET me's one query: the user, their newest
// products and their count, with the token's session check.
func BenchmarkUserWithProducts(b *testing.B) {
	e := testenv.New(b, testenv.Config{})
	users, _ := benchUsers(b, e, 1, 5)
	u := &users[0]
	sid := e.StoreSession(b, models.Owner{Role: models.RoleUser, ID: u.ID})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		_, products, _, err := models.UserWithProductsInSession(ctx, e.DB, u.ID, sid, time.Now(), app.MeProductsLimit)
		if err != nil || len(products) != 5 {
			b.Fatalf("user with products: %v (%d products)", err, len(products))
		}
	}
}

// discardObjects is an object store that keeps nothing, so the avatar
// benchmark measures the image work and the database update, not the disk.
type discardObjects struct{}

func (discardObjects) Put(context.Context, string, []byte, string) error { return nil }
func (discardObjects) Delete(context.Context, string) error              { return nil }
func (discardObjects) URL(key string) string                             { return "/" + key }
func (discardObjects) Ping(context.Context) error                        { return nil }

// photoJPEG encodes a photo-like image (gradients and noise, which is what
// makes camera JPEGs large) of the given size.
func photoJPEG(b *testing.B, w, h int) []byte {
	b.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	rng := rand.New(rand.NewPCG(1, 2))
	for y := range h {
		for x := range w {
			n := rng.IntN(48) - 24
			img.SetRGBA(x, y, color.RGBA{
				R: uint8(max(0, min(255, x*255/w+n))), G: uint8(max(0, min(255, y*255/h+n))),
				B: uint8(max(0, min(255, (x+y)*128/(w+h)+64+n))), A: 255,
			})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 80}); err != nil {
		b.Fatalf("encode: %v", err)
	}
	return buf.Bytes()
}

// BenchmarkReplaceAvatar processes a 1200x900 JPEG (decode, crop, scale to
// the avatar side, encode) and points the user at it.
func BenchmarkReplaceAvatar(b *testing.B) {
	e := testenv.New(b, testenv.Config{})
	users, _ := benchUsers(b, e, 1, 0)
	u := &users[0]
	a := app.New(app.Deps{
		DB: e.DB, Codes: e.Codes, Objects: discardObjects{},
		Options: app.Options{JWTSecret: e.Secret, AvatarMaxBytes: 5 << 20, BcryptCost: 4},
	})
	data := photoJPEG(b, 1200, 900)
	b.SetBytes(int64(len(data)))
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.ReplaceAvatar(ctx, u, data); err != nil {
			b.Fatalf("replace avatar: %v", err)
		}
	}
}
