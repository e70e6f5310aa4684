package routes

import (
	"fmt"
	"path/filepath"

	"github.com/gofiber/fiber/v2"

	"github.com/acme/accounts/models"
	"github.com/acme/accounts/storage"
)

// uploadsHandler serves the avatars kept on local disk (no object store
// configured) under /uploads/*, with the headers S3 would send: the type of
// the object and a year-long immutable cache lifetime, since every upload
// gets a new key. Keys go through LocalObjects.Open, which refuses anything
// that could leave the folder, so no path traversal is possible.
func uploadsHandler(dir string) fiber.Handler {
	objects, err := storage.NewLocalObjects(dir, "")
	if err != nil {
		return func(*fiber.Ctx) error {
			return models.Unavailable("storage", fmt.Errorf("uploads folder %s: %w", filepath.Clean(dir), err))
		}
	}
	return func(c *fiber.Ctx) error {
		f, contentType, err := objects.Open(c.Params("*"))
		if err != nil {
			return err
		}
		fi, err := f.Stat()
		if err != nil {
			_ = f.Close()
			return models.Unavailable("storage", fmt.Errorf("stat upload: %w", err))
		}
		c.Set(fiber.HeaderContentType, contentType)
		c.Set(fiber.HeaderCacheControl, storage.ImmutableCacheControl)
		c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
		// The stream is closed by the server once it is sent.
		return c.SendStream(f, int(fi.Size()))
	}
}
