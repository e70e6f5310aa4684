package routes

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/acme/accounts/i18n"
	"github.com/acme/accounts/middleware"
	"github.com/acme/accounts/models"
)

// errorBody is the one shape of every error answer.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string            `json:"code"`
	Message string            `json:"message"`
	Fields  map[string]string `json:"fields,omitempty"`
}

// apiError is an error already decided as an HTTP answer. key names the
// message in the language catalog (data fills it); detail.Message is the
// English fallback for a key a language lacks.
type apiError struct {
	status int
	detail errorDetail
	key    string
	data   map[string]any
}

// sentinels maps each domain error to its status and stable code. Codes are
// part of the API: never rename one.
var sentinels = []struct {
	err    error
	status int
	code   string
}{
	{models.ErrEmailTaken, http.StatusBadRequest, "email_taken"},
	{models.ErrInvalidCredentials, http.StatusBadRequest, "invalid_credentials"},
	{models.ErrInvalidCode, http.StatusBadRequest, "invalid_code"},
	{models.ErrEmailImmutable, http.StatusBadRequest, "email_immutable"},
	{models.ErrAccountInactive, http.StatusForbidden, "account_inactive"},
	{models.ErrSessionRevoked, http.StatusUnauthorized, "session_revoked"},
	{models.ErrUnauthorized, http.StatusUnauthorized, "unauthorized"},
	{models.ErrForbidden, http.StatusForbidden, "forbidden"},
	{models.ErrNotFound, http.StatusNotFound, "not_found"},
	{models.ErrTooLarge, http.StatusRequestEntityTooLarge, "payload_too_large"},
	{models.ErrUnsupportedMedia, http.StatusUnsupportedMediaType, "unsupported_media_type"},
}

// toAPIError decides the answer for any error: the only place that maps
// errors to HTTP. Unknown errors are bugs: 500, cause logged, never shown.
func toAPIError(err error) apiError {
	var verr *models.ValidationError
	if errors.As(err, &verr) {
		return apiError{status: http.StatusBadRequest, detail: errorDetail{"validation_failed", "the request has invalid fields", verr.Fields}}
	}
	var limited *models.RateLimitError
	if errors.As(err, &limited) {
		return apiError{status: http.StatusTooManyRequests, detail: errorDetail{Code: "rate_limited", Message: "too many requests: wait before trying again"}, data: map[string]any{"RetryAfter": limited.RetryAfter}}
	}
	var spent *models.TooManyAttemptsError
	if errors.As(err, &spent) {
		return apiError{status: http.StatusTooManyRequests, detail: errorDetail{Code: "too_many_attempts", Message: "too many failed attempts: wait before trying again"}, data: map[string]any{"RetryAfter": spent.RetryAfter}}
	}
	var down *models.UnavailableError
	if errors.As(err, &down) {
		return apiError{status: http.StatusServiceUnavailable, detail: errorDetail{Code: "unavailable", Message: "the " + down.Dependency + " is unavailable, try again later"}, key: "error.unavailable." + down.Dependency}
	}
	if errors.Is(err, models.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded) {
		return apiError{status: http.StatusServiceUnavailable, detail: errorDetail{Code: "unavailable", Message: "a dependency is unavailable, try again later"}}
	}
	for _, s := range sentinels {
		if errors.Is(err, s.err) {
			return apiError{status: s.status, detail: errorDetail{Code: s.code, Message: s.err.Error()}}
		}
	}
	var fe *fiber.Error
	if errors.As(err, &fe) {
		switch fe.Code {
		case http.StatusRequestEntityTooLarge:
			return apiError{status: fe.Code, detail: errorDetail{Code: "payload_too_large", Message: models.ErrTooLarge.Error()}}
		case http.StatusNotFound:
			return apiError{status: fe.Code, detail: errorDetail{Code: "not_found", Message: "no such route"}, key: "error.no_route"}
		case http.StatusMethodNotAllowed:
			return apiError{status: fe.Code, detail: errorDetail{Code: "method_not_allowed", Message: "method not allowed on this route"}}
		case http.StatusBadRequest:
			// fe.Message may quote the raw request (Fiber's parse errors
			// do, headers and all): it is logged, never answered.
			return apiError{status: fe.Code, detail: errorDetail{Code: "validation_failed", Message: "the request is malformed", Fields: map[string]string{"request": "could not be parsed"}}, key: "error.malformed"}
		case http.StatusRequestHeaderFieldsTooLarge:
			return apiError{status: fe.Code, detail: errorDetail{Code: "headers_too_large", Message: "the request's headers are too large"}}
		case http.StatusRequestURITooLong:
			return apiError{status: fe.Code, detail: errorDetail{Code: "uri_too_long", Message: "the request's URL is too long"}}
		case http.StatusUnsupportedMediaType:
			return apiError{status: fe.Code, detail: errorDetail{Code: "unsupported_media_type", Message: fe.Message}}
		case http.StatusServiceUnavailable, http.StatusRequestTimeout:
			return apiError{status: http.StatusServiceUnavailable, detail: errorDetail{Code: "unavailable", Message: "the server is busy, try again later"}, key: "error.busy"}
		}
	}
	return apiError{status: http.StatusInternalServerError, detail: errorDetail{Code: "internal", Message: "internal error"}}
}

// localize writes the message in the answer's language; the code never
// changes. A message the catalog lacks (or cannot fill) stays English.
func (ae *apiError) localize(cat *i18n.Catalog, locale string) {
	key := ae.key
	if key == "" {
		key = "error." + ae.detail.Code
	}
	if !cat.Has(locale, key) {
		return
	}
	data := map[string]any{}
	for k, v := range ae.data {
		data[k] = v
	}
	if d, ok := data["RetryAfter"].(time.Duration); ok {
		data["Wait"] = cat.In(locale, d)
	}
	if msg := cat.T(locale, key, data); !strings.Contains(msg, "<no value>") {
		ae.detail.Message = msg
	}
}

// errorHandler is Fiber's ErrorHandler: every error of every route ends here.
func errorHandler(log *slog.Logger, cat *i18n.Catalog) fiber.ErrorHandler {
	return func(c *fiber.Ctx, err error) error {
		middleware.SetSecurityHeaders(c)
		ae := toAPIError(err)
		ae.localize(cat, answerLocale(c, cat))
		reqID, _ := c.Locals("requestid").(string)
		switch {
		case ae.status >= 500:
			log.ErrorContext(c.UserContext(), "request failed", "status", ae.status, "method", c.Method(), "path", c.Path(), "request_id", reqID, "err", err)
		default:
			log.DebugContext(c.UserContext(), "request refused", "status", ae.status, "path", c.Path(), "request_id", reqID, "err", err)
		}
		if d, ok := ae.data["RetryAfter"].(time.Duration); ok {
			c.Set(fiber.HeaderRetryAfter, strconv.Itoa(max(1, int(math.Ceil(d.Seconds())))))
		}
		return c.Status(ae.status).JSON(errorBody{Error: ae.detail})
	}
}
