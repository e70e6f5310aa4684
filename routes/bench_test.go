package routes

import (
	"fmt"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	"github.com/acme/accounts/app"
	"github.com/acme/accounts/models"
	"github.com/acme/accounts/storage"
)

// BenchmarkMeJSON is the encoding half of GET /users/me: presenting a loaded
// profile and writing it as the response body with c.JSON, as the handler
// does, for the seeded shape (5 products) and the cap (100).
func BenchmarkMeJSON(b *testing.B) {
	objects, err := storage.NewLocalObjects(b.TempDir(), "/uploads")
	if err != nil {
		b.Fatal(err)
	}
	p := presenter{app: app.New(app.Deps{Objects: objects, Options: app.Options{BcryptCost: 4}})}
	f := fiber.New()
	for _, n := range []int{5, 100} {
		b.Run(fmt.Sprintf("products=%d", n), func(b *testing.B) {
			pr := benchProfile(n)
			c := f.AcquireCtx(&fasthttp.RequestCtx{})
			defer f.ReleaseCtx(c)
			b.ReportAllocs()
			for b.Loop() {
				if err := c.JSON(meJSON{User: p.profile(pr)}); err != nil {
					b.Fatal(err)
				}
			}
			b.SetBytes(int64(len(c.Response().Body())))
		})
	}
}

func benchProfile(n int) *app.Profile {
	now := time.Date(2026, 11, 26, 12, 0, 0, 123456000, time.UTC)
	phone, avatar := "+998901234567", "avatars/0191/abcdef.jpg"
	u := &models.User{
		ID: models.NewID(), Email: "bench-user-000001@example.com", FirstName: "First", LastName: "Last",
		Phone: &phone, AvatarKey: &avatar, Active: true, TokenVersion: 1, CreatedAt: now, UpdatedAt: now,
	}
	products := make([]models.Product, n)
	for i := range products {
		at := now.Add(-time.Duration(i) * time.Minute)
		products[i] = models.Product{
			ID: models.NewID(), UserID: u.ID, Name: fmt.Sprintf("Product %d of user 1", i),
			Description: "A product seeded for the load test, with a description of typical length.",
			Price:       int64(10000 + 100*i), Currency: "UZS", CreatedAt: at, UpdatedAt: at,
		}
	}
	return &app.Profile{User: u, Products: products, ProductsTotal: n}
}
