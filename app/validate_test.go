package app

import (
	"errors"
	"testing"

	"github.com/acme/accounts/models"
)

// TestValidateRefusesBadText: a NUL or invalid UTF-8 in any text field is a
// field error whatever the transport, with the field's JSON name, next to
// the validator's own findings.
func TestValidateRefusesBadText(t *testing.T) {
	a := &App{validator: newValidator()}
	name := "Ops\x00"
	err := a.validate(profileCheck{FirstName: &name})
	var v *models.ValidationError
	if !errors.As(err, &v) || v.Fields["first_name"] != "must not contain NUL characters" {
		t.Fatalf("NUL in a pointer field: %v", err)
	}
	err = a.validate(&CreateAdminInput{Name: "Ops\xff", Email: "not-an-email", Password: "long enough pw"})
	if !errors.As(err, &v) || v.Fields["name"] != "must be valid UTF-8" || v.Fields["email"] == "" {
		t.Fatalf("invalid UTF-8 beside a bad email: %v", err)
	}
	if err := a.validate(&CreateAdminInput{Name: "Óps", Email: "ops@example.com", Password: "long enough pw"}); err != nil {
		t.Fatalf("good text refused: %v", err)
	}
}
