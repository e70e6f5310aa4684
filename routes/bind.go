package routes

import (
	"errors"

	"github.com/gofiber/fiber/v2"

	"github.com/acme/accounts/internal/jsonbody"
	"github.com/acme/accounts/models"
)

// bindJSON decodes the body into dst (see jsonbody.Decode: malformed JSON,
// wrong types, invalid UTF-8 and NUL characters are validation errors).
func bindJSON(c *fiber.Ctx, dst any) error {
	return bindErr(jsonbody.Decode(c.Body(), dst))
}

// bindOptionalJSON is bindJSON for routes whose every field is optional:
// an empty body is an empty object.
func bindOptionalJSON(c *fiber.Ctx, dst any) error {
	return bindErr(jsonbody.DecodeOptional(c.Body(), dst))
}

func bindErr(err error) error {
	var fe *jsonbody.FieldError
	if errors.As(err, &fe) {
		return models.NewValidationError(fe.Field, fe.Message)
	}
	return err
}
