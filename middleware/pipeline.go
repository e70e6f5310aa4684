package middleware

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/acme/accounts/models"
)

// Deadline gives every request's context a deadline, so a hung dependency
// turns into a 503 instead of a request that never ends.
func Deadline(d time.Duration) fiber.Handler {
	return func(c *fiber.Ctx) error {
		ctx, cancel := context.WithTimeout(c.UserContext(), d)
		defer cancel()
		c.SetUserContext(ctx)
		return c.Next()
	}
}

// LimitBody reads the request body, refusing it with 413 as soon as it is
// known to pass limit bytes. The server streams request bodies, so no more
// than its first 8 KiB are buffered before this runs: a declared length over
// the limit is refused without reading further, and a chunked body is read
// no further than limit+1 bytes. A refused connection is closed rather than drained, so a
// client cannot hold it open by sending slowly.
//
// Compressed bodies are refused (415): a small gzip body can expand to
// gigabytes, and no client of a JSON API needs to compress its requests.
func LimitBody(limit int) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if err := checkBody(c, limit); err != nil {
			return err
		}
		req := c.Request()
		if !req.IsBodyStream() {
			return c.Next()
		}
		body, err := io.ReadAll(io.LimitReader(req.BodyStream(), int64(limit)+1))
		if err != nil {
			return UnreadableBody(c)
		}
		if len(body) > limit {
			return TooLarge(c, limit)
		}
		// The body now sits in memory; handlers read it as usual.
		req.SetBodyRaw(body)
		return c.Next()
	}
}

// CheckBody refuses what LimitBody refuses without reading the body: a
// compressed body (415), and one whose declared length, or whose part
// already in memory, passes limit (413). It leaves a streamed body unread
// for a handler that reads it once as it arrives, rather than holding it
// whole first; that handler must read no more than limit+1 bytes of it and
// answer TooLarge past limit.
func CheckBody(limit int) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if err := checkBody(c, limit); err != nil {
			return err
		}
		return c.Next()
	}
}

func checkBody(c *fiber.Ctx, limit int) error {
	req := c.Request()
	if ce := req.Header.Peek(fiber.HeaderContentEncoding); len(ce) > 0 && string(ce) != "identity" {
		c.Context().SetConnectionClose()
		return fmt.Errorf("request body with Content-Encoding %q: %w", ce, models.ErrUnsupportedMedia)
	}
	if !req.IsBodyStream() {
		if len(req.Body()) > limit {
			return TooLarge(c, limit)
		}
		return nil
	}
	if req.Header.ContentLength() > limit {
		return TooLarge(c, limit)
	}
	return nil
}

// TooLarge answers 413 for a body past limit and closes the connection
// rather than draining it, so a client cannot hold it open by sending slowly.
func TooLarge(c *fiber.Ctx, limit int) error {
	c.Context().SetConnectionClose()
	return fmt.Errorf("body over %d bytes: %w", limit, models.ErrTooLarge)
}

// UnreadableBody answers 400 for a body that broke off or timed out while it
// was read, and closes the connection, whose position in the stream is lost.
func UnreadableBody(c *fiber.Ctx) error {
	c.Context().SetConnectionClose()
	return fiber.NewError(fiber.StatusBadRequest, "unreadable body")
}

// LimitURI refuses a request whose target is longer than limit bytes with
// 414. Targets too long for the server's read buffer never get this far:
// the server answers them 431 with the oversized header block.
func LimitURI(limit int) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if len(c.Request().Header.RequestURI()) > limit {
			return fiber.ErrRequestURITooLong
		}
		return c.Next()
	}
}

// SetSecurityHeaders adds the headers every answer carries. The error
// handler calls it too, since answers the server gives before routing
// (oversized headers, malformed requests) pass no middleware.
func SetSecurityHeaders(c *fiber.Ctx) {
	h := &c.Response().Header
	h.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	h.Set(fiber.HeaderReferrerPolicy, "no-referrer")
	h.Set(fiber.HeaderXFrameOptions, "DENY")
}

// SecurityHeaders is SetSecurityHeaders for every routed request.
func SecurityHeaders() fiber.Handler {
	return func(c *fiber.Ctx) error {
		SetSecurityHeaders(c)
		return c.Next()
	}
}
