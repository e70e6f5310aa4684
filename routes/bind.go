package routes

import (
	"encoding/json"
	"errors"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/acme/accounts/models"
)

// bindJSON decodes the body into dst. Malformed JSON and wrong types become
// validation errors naming the field, never a 500.
func bindJSON(c *fiber.Ctx, dst any) error {
	body := c.Body()
	if len(strings.TrimSpace(string(body))) == 0 {
		return models.NewValidationError("body", "must be a JSON object")
	}
	if err := json.Unmarshal(body, dst); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			field := typeErr.Field
			if field == "" {
				return models.NewValidationError("body", "must be a JSON object")
			}
			return models.NewValidationError(field, "must be of type "+jsonType(typeErr.Type.Kind().String()))
		}
		return models.NewValidationError("body", "must be valid JSON")
	}
	return nil
}

// bindOptionalJSON is bindJSON for routes whose every field is optional:
// an empty body is an empty object.
func bindOptionalJSON(c *fiber.Ctx, dst any) error {
	if len(strings.TrimSpace(string(c.Body()))) == 0 {
		return nil
	}
	return bindJSON(c, dst)
}

func jsonType(kind string) string {
	switch kind {
	case "string":
		return "string"
	case "bool":
		return "boolean"
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64":
		return "integer"
	case "float32", "float64":
		return "number"
	case "slice", "array":
		return "array"
	case "ptr":
		return "the documented type"
	}
	return "object"
}
