package routes

import (
	"fmt"
	"os"

	"github.com/gofiber/fiber/v2"

	"github.com/acme/accounts/models"
)

// LocalUploads are the avatars kept on local disk when no object store is
// configured (storage.LocalObjects). Open refuses any key that could leave
// its folder, so serving them allows no path traversal.
type LocalUploads interface {
	Open(key string) (f *os.File, contentType string, err error)
}

// immutableCacheControl is what S3 objects carry too: every upload gets a
// new random key, so an object never changes and may be cached for a year.
const immutableCacheControl = "public, max-age=31536000, immutable"

// uploadsHandler serves local avatars under /uploads/*, with the headers S3
// would send: the type of the object and a year-long immutable lifetime.
func uploadsHandler(files LocalUploads) fiber.Handler {
	return func(c *fiber.Ctx) error {
		f, contentType, err := files.Open(c.Params("*"))
		if err != nil {
			return err
		}
		fi, err := f.Stat()
		if err != nil {
			_ = f.Close()
			return models.Unavailable("storage", fmt.Errorf("stat upload: %w", err))
		}
		c.Set(fiber.HeaderContentType, contentType)
		c.Set(fiber.HeaderCacheControl, immutableCacheControl)
		c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
		// The stream is closed by the server once it is sent.
		return c.SendStream(f, int(fi.Size()))
	}
}
