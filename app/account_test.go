package app

import (
	"context"
	"errors"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/acme/accounts/models"
)

func TestChangePasswordChecksBeforeWriting(t *testing.T) {
	a := testApp(Deps{})
	hash, err := bcrypt.GenerateFromPassword([]byte("correct horse battery"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	u := &models.User{PasswordHash: string(hash), TokenVersion: 3}
	ctx := context.Background()

	// No database is configured: each case must be decided before any write.
	_, err = a.ChangePassword(ctx, u, TokenSession{}, ChangePasswordInput{CurrentPassword: "wrong password", NewPassword: "a new passphrase"})
	if !errors.Is(err, models.ErrInvalidCredentials) {
		t.Fatalf("wrong current password: %v", err)
	}
	for name, in := range map[string]ChangePasswordInput{
		"short":     {CurrentPassword: "correct horse battery", NewPassword: "short"},
		"73 bytes":  {CurrentPassword: "correct horse battery", NewPassword: strings.Repeat("x", 73)},
		"missing":   {},
		"long curr": {CurrentPassword: strings.Repeat("x", 73), NewPassword: "a new passphrase"},
	} {
		var verr *models.ValidationError
		if _, err := a.ChangePassword(ctx, u, TokenSession{}, in); !errors.As(err, &verr) {
			t.Errorf("%s: %v, want a validation error", name, err)
		}
	}
	if u.TokenVersion != 3 || string(hash) != u.PasswordHash {
		t.Fatal("the loaded user was changed")
	}
}
