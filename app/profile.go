package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/acme/accounts/models"
)

// Field is an optional field of a partial update. It tells a field that was
// left out (Set false) from one sent as null (Set and Null), which a pointer
// cannot: for the phone, null means "remove it".
type Field[T any] struct {
	Set   bool
	Null  bool
	Value T
}

// UnmarshalJSON records that the field was sent, and whether as null.
func (f *Field[T]) UnmarshalJSON(b []byte) error {
	f.Set = true
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		f.Null = true
		return nil
	}
	return json.Unmarshal(b, &f.Value)
}

// ptr is the field's value as a pointer for validation: nil when left out.
func (f Field[T]) ptr() *T {
	if !f.Set || f.Null {
		return nil
	}
	return &f.Value
}

// ProfileInput changes the signed-in user's profile; fields left out stay as
// they are. Email is only there to be refused: it is the account's identity.
type ProfileInput struct {
	FirstName Field[string]   `json:"first_name"`
	LastName  Field[string]   `json:"last_name"`
	Phone     Field[string]   `json:"phone"`
	Locale    Field[string]   `json:"locale"`
	Email     json.RawMessage `json:"email"`
}

// profileCheck holds the fields being changed, for the validator.
type profileCheck struct {
	FirstName *string `json:"first_name" validate:"omitnil,max=100"`
	LastName  *string `json:"last_name" validate:"omitnil,max=100"`
	Phone     *string `json:"phone" validate:"omitnil,phone"`
	Locale    *string `json:"locale" validate:"omitnil,oneof=uz ru en"`
}

// UpdateProfile applies the fields present in the input. Names are trimmed
// but otherwise kept exactly as sent (no case or Unicode changes); a null or
// empty phone removes the phone. Any email in the input, even the same one,
// is refused with ErrEmailImmutable and nothing is changed.
func (a *App) UpdateProfile(ctx context.Context, u *models.User, in ProfileInput) (*models.User, error) {
	if len(in.Email) > 0 {
		return nil, fmt.Errorf("update profile: %w", models.ErrEmailImmutable)
	}
	verr := &models.ValidationError{}
	for name, f := range map[string]*Field[string]{"first_name": &in.FirstName, "last_name": &in.LastName} {
		f.Value = strings.TrimSpace(f.Value)
		switch {
		case f.Null:
			verr.Add(name, "must not be null")
		case f.Set && f.Value == "":
			verr.Add(name, "must not be empty")
		}
	}
	in.Phone.Value = strings.TrimSpace(in.Phone.Value)
	if in.Phone.Set && in.Phone.Value == "" {
		in.Phone.Null = true
	}
	// A null locale goes back to following the browser's Accept-Language.
	check := profileCheck{FirstName: in.FirstName.ptr(), LastName: in.LastName.ptr(), Phone: in.Phone.ptr(), Locale: in.Locale.ptr()}
	if err := mergeFields(verr, a.validate(check)); err != nil {
		return nil, err
	}

	next := *u
	var columns []string
	if in.FirstName.Set {
		next.FirstName = in.FirstName.Value
		columns = append(columns, "first_name")
	}
	if in.LastName.Set {
		next.LastName = in.LastName.Value
		columns = append(columns, "last_name")
	}
	if in.Phone.Set {
		next.Phone = in.Phone.ptr()
		columns = append(columns, "phone")
	}
	if in.Locale.Set {
		next.Locale = in.Locale.ptr()
		columns = append(columns, "locale")
	}
	if len(columns) == 0 {
		return u, nil
	}
	next.UpdatedAt = a.Now()
	if err := models.UpdateUserColumns(ctx, a.db, &next, columns...); err != nil {
		return nil, err
	}
	return &next, nil
}

// mergeFields adds the field problems of a validate result to verr, so one
// answer lists every problem, and returns verr when it has any. Any other
// error is returned as is.
func mergeFields(verr *models.ValidationError, err error) error {
	var more *models.ValidationError
	if err != nil && !errors.As(err, &more) {
		return err
	}
	if more != nil {
		for k, v := range more.Fields {
			verr.Add(k, v)
		}
	}
	return verr.OrNil()
}
