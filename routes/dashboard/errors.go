package dashboard

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/acme/accounts/models"
)

// csp lets pages load only the dashboard's own files: no inline script or
// style, no frames, and forms may post only back here.
const csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// problem is an error as a page shows it.
type problem struct {
	Status  int
	Message string
	Fields  map[string]string
	// retry is the wait a rate limit asks for (Retry-After).
	retry time.Duration
}

// describe turns an error into what a page says. The status is the JSON
// API's own (routes/errors.go decides it for both); only the words are the
// dashboard's. Unknown errors are bugs: the cause is logged, never shown.
func (h *handlers) describe(err error) problem {
	if errors.Is(err, errCSRF) {
		return problem{Status: http.StatusForbidden, Message: "This form has expired or did not come from the dashboard. Go back, reload the page and try again."}
	}
	p := problem{Status: h.status(err)}
	var verr *models.ValidationError
	var limited *models.RateLimitError
	var spent *models.TooManyAttemptsError
	var down *models.UnavailableError
	switch {
	case errors.As(err, &verr):
		p.Message, p.Fields = "Please correct the fields marked below.", verr.Fields
	case errors.As(err, &limited):
		p.Message, p.retry = "Too many requests. Try again in "+wait(limited.RetryAfter)+".", limited.RetryAfter
	case errors.As(err, &spent):
		p.Message, p.retry = "Too many failed attempts for this email. Try again in "+wait(spent.RetryAfter)+".", spent.RetryAfter
	case errors.As(err, &down):
		p.Message = "The " + down.Dependency + " is unavailable. Try again in a moment."
	default:
		p.Message = message(err, p.Status)
	}
	return p
}

// message is the page's words for a domain error, else for its status.
func message(err error, status int) string {
	switch {
	case errors.Is(err, models.ErrInvalidCredentials):
		return "The email or password is wrong."
	case errors.Is(err, models.ErrInvalidCode):
		return "That code is wrong or has expired. Check the newest mail, or start again for a new code."
	case errors.Is(err, models.ErrAccountInactive):
		return "This admin account is deactivated."
	case errors.Is(err, models.ErrEmailTaken):
		return "An admin with this email already exists."
	case errors.Is(err, models.ErrEmailImmutable):
		return "The email of an account cannot be changed."
	case errors.Is(err, models.ErrForbidden):
		return "Only administrators can use the dashboard."
	case errors.Is(err, models.ErrNotFound):
		return "There is nothing here. The user may have been erased."
	}
	switch status {
	case http.StatusUnauthorized:
		return "Your session has ended. Please sign in again."
	case http.StatusServiceUnavailable:
		return "A service the dashboard needs is unavailable, or the server is busy. Try again in a moment."
	case http.StatusNotFound:
		return "There is no such page."
	case http.StatusMethodNotAllowed:
		return "This page cannot be used that way."
	case http.StatusRequestEntityTooLarge:
		return "The form is too large."
	case http.StatusBadRequest, http.StatusRequestHeaderFieldsTooLarge, http.StatusRequestURITooLong, http.StatusUnsupportedMediaType:
		return "The request could not be read."
	}
	return "Something went wrong on our side. It has been logged."
}

// wait says how long to wait in words, rounded up to whole seconds.
func wait(d time.Duration) string {
	s := max(int(math.Ceil(d.Seconds())), 1)
	switch {
	case s < 60:
		return plural(s, "second")
	case s%60 == 0 || s >= 600:
		return plural((s+59)/60, "minute")
	}
	return plural(s/60, "minute") + " " + plural(s%60, "second")
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

// frame wraps every dashboard request: it sets the headers every page
// carries and turns any error into a page.
func (h *handlers) frame(c *fiber.Ctx) error {
	setPageHeaders(c)
	err := c.Next()
	if err == nil {
		return nil
	}
	p := h.describe(err)
	switch {
	case p.Status == http.StatusUnauthorized:
		// A dead or missing session: back to the sign-in page, which says why
		// unless the browser simply had none.
		h.cookies.end(c)
		to := "/admin/login"
		if !errors.Is(err, errNoSession) {
			to += "?ended=1"
		}
		return c.Redirect(to, http.StatusSeeOther)
	case p.Status == http.StatusForbidden && errors.Is(err, models.ErrForbidden):
		// A token of another role in the cookie: it can never get in.
		h.cookies.end(c)
	case p.Status >= 500:
		reqID, _ := c.Locals("requestid").(string)
		h.log.ErrorContext(c.UserContext(), "dashboard request failed", "status", p.Status, "method", c.Method(), "path", c.Path(), "request_id", reqID, "err", err)
	}
	return h.fail(c, p)
}

// fail answers the error page (headers again: a handler may have reset them).
func (h *handlers) fail(c *fiber.Ctx, p problem) error {
	setPageHeaders(c)
	if p.retry > 0 {
		c.Set(fiber.HeaderRetryAfter, retryAfter(p.retry))
	}
	return h.render(c, p.Status, "error", view{Title: http.StatusText(p.Status), Problem: &p})
}

func retryAfter(d time.Duration) string {
	return strconv.Itoa(max(1, int(math.Ceil(d.Seconds()))))
}

func setPageHeaders(c *fiber.Ctx) {
	c.Set(fiber.HeaderContentSecurityPolicy, csp)
	c.Set(fiber.HeaderXFrameOptions, "DENY")
	// Pages show personal data and carry CSRF tokens: no cache keeps them.
	c.Set(fiber.HeaderCacheControl, "no-store")
}
