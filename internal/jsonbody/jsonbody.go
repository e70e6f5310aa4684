// Package jsonbody decodes request bodies strictly enough that nothing
// malformed reaches a flow: every problem is a FieldError naming the field
// (or "body"), which the HTTP layer answers as a validation error. It
// depends on nothing of the server, so it is fuzzed on its own.
package jsonbody

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"unicode/utf8"
)

// FieldError is what is wrong with one field of a body.
type FieldError struct {
	Field, Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

func fieldError(field, message string) error { return &FieldError{Field: field, Message: message} }

// Decode decodes body into dst. Malformed JSON and wrong types become
// field errors naming the field, never anything else.
//
// Text is checked before any of it is used: invalid UTF-8 (which the decoder
// would silently turn into U+FFFD) and NUL characters (which PostgreSQL
// refuses in text, and which no name, email or password needs) are
// validation errors, so no flow consumes a code for a request the database
// would then refuse.
func Decode(body []byte, dst any) error {
	if len(strings.TrimSpace(string(body))) == 0 {
		return fieldError("body", "must be a JSON object")
	}
	if !utf8.Valid(body) {
		return fieldError("body", "must be valid UTF-8")
	}
	if field, ok := nulField(body); ok {
		return fieldError(field, "must not contain NUL characters")
	}
	if err := json.Unmarshal(body, dst); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			field := typeErr.Field
			if field == "" {
				return fieldError("body", "must be a JSON object")
			}
			return fieldError(field, "must be of type "+jsonType(typeErr.Type.Kind().String()))
		}
		return fieldError("body", "must be valid JSON")
	}
	return nil
}

// DecodeOptional is Decode for bodies whose every field is optional: an
// empty body is an empty object.
func DecodeOptional(body []byte, dst any) error {
	if len(strings.TrimSpace(string(body))) == 0 {
		return nil
	}
	return Decode(body, dst)
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
