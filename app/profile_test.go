package app

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/acme/accounts/models"
)

// testApp builds an App without a database; the cheapest bcrypt cost keeps
// the tests fast under the race detector.
func testApp(d Deps) *App {
	d.Options.BcryptCost = bcrypt.MinCost
	return New(d)
}

func TestFieldTellsAbsentFromNull(t *testing.T) {
	for _, c := range []struct {
		body            string
		set, null       bool
		value           string
		wantDecodeError bool
	}{
		{`{}`, false, false, "", false},
		{`{"phone": null}`, true, true, "", false},
		{`{"phone": ""}`, true, false, "", false},
		{`{"phone": "+998901234567"}`, true, false, "+998901234567", false},
		{`{"phone": 42}`, true, false, "", true},
	} {
		var in ProfileInput
		err := json.Unmarshal([]byte(c.body), &in)
		if (err != nil) != c.wantDecodeError {
			t.Errorf("%s: decode error %v", c.body, err)
			continue
		}
		if c.wantDecodeError {
			continue
		}
		if in.Phone.Set != c.set || in.Phone.Null != c.null || in.Phone.Value != c.value {
			t.Errorf("%s: got %+v", c.body, in.Phone)
		}
	}
}

func TestUpdateProfileRefusesEmailFirst(t *testing.T) {
	a := testApp(Deps{})
	u := &models.User{FirstName: "Ann"}
	for _, body := range []string{`{"email":"x@example.com"}`, `{"email":null}`, `{"email":"","first_name":"B"}`, `{"email":{}}`} {
		var in ProfileInput
		if err := json.Unmarshal([]byte(body), &in); err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		// No database is configured: reaching it would panic, so this also
		// proves nothing is written.
		if _, err := a.UpdateProfile(context.Background(), u, in); !errors.Is(err, models.ErrEmailImmutable) {
			t.Errorf("%s: %v, want ErrEmailImmutable", body, err)
		}
	}
	if u.FirstName != "Ann" {
		t.Fatal("the user was changed")
	}
}

func TestUpdateProfileValidation(t *testing.T) {
	a := testApp(Deps{})
	var in ProfileInput
	body := `{"first_name":null,"last_name":" ","phone":"12ab"}`
	if err := json.Unmarshal([]byte(body), &in); err != nil {
		t.Fatal(err)
	}
	_, err := a.UpdateProfile(context.Background(), &models.User{}, in)
	var verr *models.ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("got %v, want a validation error", err)
	}
	want := map[string]string{
		"first_name": "must not be null",
		"last_name":  "must not be empty",
		"phone":      "must be a phone number such as +998901234567",
	}
	for k, v := range want {
		if verr.Fields[k] != v {
			t.Errorf("%s: %q, want %q", k, verr.Fields[k], v)
		}
	}
}

func TestUpdateProfileWithNothingToChange(t *testing.T) {
	a := testApp(Deps{})
	u := &models.User{FirstName: "Ann"}
	got, err := a.UpdateProfile(context.Background(), u, ProfileInput{})
	if err != nil || got != u {
		t.Fatalf("empty update: %v, %v", got, err)
	}
}
