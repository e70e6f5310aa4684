package routes

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"github.com/acme/accounts/models"
)

// bindJSON decodes the body into dst. Malformed JSON and wrong types become
// validation errors naming the field, never a 500.
//
// Text is checked before any of it is used: invalid UTF-8 (which the decoder
// would silently turn into U+FFFD) and NUL characters (which PostgreSQL
// refuses in text, and which no name, email or password needs) are
// validation errors, so no flow consumes a code for a request the database
// would then refuse.
func bindJSON(c *fiber.Ctx, dst any) error {
	body := c.Body()
	if len(strings.TrimSpace(string(body))) == 0 {
		return models.NewValidationError("body", "must be a JSON object")
	}
	if !utf8.Valid(body) {
		return models.NewValidationError("body", "must be valid UTF-8")
	}
	if field, ok := nulField(body); ok {
		return models.NewValidationError(field, "must not contain NUL characters")
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

// nulField reports whether any string of the JSON object (key or value)
// holds a NUL character, and names the field it is in. A NUL can only
// arrive escaped (a raw one is not valid JSON), so the cheap byte search
// rules out nearly every body before any decoding.
func nulField(body []byte) (string, bool) {
	if !bytes.Contains(body, []byte(`\u0000`)) {
		return "", false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return "", false // not an object: the decoder proper refuses it
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return "", false
		}
		key, _ := tok.(string)
		var value any
		if err := dec.Decode(&value); err != nil {
			return "", false
		}
		if strings.ContainsRune(key, 0) {
			return "body", true
		}
		if hasNUL(value) {
			return key, true
		}
	}
	return "", false
}

// hasNUL walks a decoded JSON value for a string holding a NUL.
func hasNUL(v any) bool {
	switch v := v.(type) {
	case string:
		return strings.ContainsRune(v, 0)
	case []any:
		for _, e := range v {
			if hasNUL(e) {
				return true
			}
		}
	case map[string]any:
		for k, e := range v {
			if strings.ContainsRune(k, 0) || hasNUL(e) {
				return true
			}
		}
	}
	return false
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
