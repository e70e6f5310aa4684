package app

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/go-playground/validator/v10"

	"github.com/acme/accounts/internal/parse"
	"github.com/acme/accounts/models"
)

// newValidator builds the struct validator used by every flow. Field errors are
// reported under the JSON names the client sent.
func newValidator() *validator.Validate {
	v := validator.New(validator.WithRequiredStructEnabled())
	v.RegisterTagNameFunc(func(f reflect.StructField) string {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			return f.Name
		}
		return name
	})
	// bcrypt reads at most 72 bytes; a longer password is rejected instead of
	// silently cut, so two different passwords can never share a hash.
	_ = v.RegisterValidation("password", func(fl validator.FieldLevel) bool {
		n := len(fl.Field().String())
		return n >= 8 && n <= maxPasswordBytes
	})
	// A password being checked (not set) only needs the upper bound, in
	// bytes: validator's max counts characters, which let "é"×36+"ZZZZ"
	// (76 bytes) through to a bcrypt that reads 72 of them.
	_ = v.RegisterValidation("password_max", func(fl validator.FieldLevel) bool {
		return len(fl.Field().String()) <= maxPasswordBytes
	})
	_ = v.RegisterValidation("purpose", func(fl validator.FieldLevel) bool {
		return slices.Contains(models.CodePurposes(), fl.Field().String())
	})
	_ = v.RegisterValidation("phone", func(fl validator.FieldLevel) bool {
		s := fl.Field().String()
		digits := 0
		for i, r := range s {
			switch {
			case r >= '0' && r <= '9':
				digits++
			case r == '+' && i == 0, r == ' ', r == '-', r == '(', r == ')':
			default:
				return false
			}
		}
		return digits >= 5 && digits <= 15
	})
	return v
}

// validate checks s and turns the validator's findings into a ValidationError.
// Text with a NUL byte or invalid UTF-8 is refused whatever the transport
// (JSON, a dashboard form, a query): PostgreSQL rejects NUL in text, so
// such a value would otherwise fail late, after a code was consumed.
func (a *App) validate(s any) error {
	out := &models.ValidationError{}
	badText := textFaults(s, out)
	err := a.validator.Struct(s)
	if err == nil {
		if badText {
			return out
		}
		return nil
	}
	verrs, ok := err.(validator.ValidationErrors)
	if !ok {
		return fmt.Errorf("validate: %w", err)
	}
	for _, fe := range verrs {
		out.Add(fe.Field(), fieldMessage(fe))
	}
	return out
}

// textFaults adds a field error for each string field of the struct s (or
// of the struct it points to) that holds a NUL byte or invalid UTF-8, and
// reports whether it found one. Inputs are flat structs, so one level is
// enough.
func textFaults(s any, out *models.ValidationError) bool {
	v := reflect.Indirect(reflect.ValueOf(s))
	if v.Kind() != reflect.Struct {
		return false
	}
	found := false
	for i := range v.NumField() {
		f := v.Field(i)
		if f.Kind() == reflect.Pointer && !f.IsNil() {
			f = f.Elem()
		}
		if f.Kind() != reflect.String {
			continue
		}
		msg := ""
		switch t := f.String(); {
		case !utf8.ValidString(t):
			msg = "must be valid UTF-8"
		case strings.ContainsRune(t, 0):
			msg = "must not contain NUL characters"
		default:
			continue
		}
		name, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("json"), ",")
		if name == "" || name == "-" {
			name = v.Type().Field(i).Name
		}
		out.Add(name, msg)
		found = true
	}
	return found
}

func fieldMessage(fe validator.FieldError) string {
	switch fe.Tag() {
	case "required":
		return "is required"
	case "email":
		return "must be a valid email address"
	case "password":
		return "must be 8 to 72 bytes"
	case "password_max":
		return "must be at most 72 bytes"
	case "phone":
		return "must be a phone number such as +998901234567"
	case "oneof":
		return "must be one of: " + strings.ReplaceAll(fe.Param(), " ", ", ")
	case "purpose":
		return "must be one of: " + strings.Join(models.CodePurposes(), ", ")
	case "iso4217":
		return "must be an ISO 4217 currency code such as UZS or USD"
	case "uuid":
		return "must be a UUID"
	case "min":
		if fe.Kind() == reflect.String {
			return "must be at least " + fe.Param() + " characters"
		}
		return "must be at least " + fe.Param()
	case "max":
		if fe.Kind() == reflect.String {
			return "must be at most " + fe.Param() + " characters"
		}
		return "must be at most " + fe.Param()
	case "gte":
		return "must be at least " + fe.Param()
	case "lte":
		return "must be at most " + fe.Param()
	}
	return "is invalid"
}

// normEmail is the one normalisation of an email (parse.Email).
func normEmail(s string) string { return parse.Email(s) }
