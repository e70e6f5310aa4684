package models_test

import (
	"testing"

	"github.com/acme/accounts/models"
)

func TestEscapeLike(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"ann":      "ann",
		"50%":      `50\%`,
		"a_b":      `a\_b`,
		`back\`:    `back\\`,
		`%_\`:      `\%\_\\`,
		`\%`:       `\\\%`,
		"":         "",
		"ünïcödé_": `ünïcödé\_`,
	} {
		if got := models.EscapeLike(in); got != want {
			t.Errorf("EscapeLike(%q) = %q, want %q", in, got, want)
		}
	}
}
