package models

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// The domain's error vocabulary. Stores translate driver errors into these at
// their boundary; routes/errors.go is the only place that maps them to HTTP.
var (
	ErrNotFound           = errors.New("not found")
	ErrEmailTaken         = errors.New("an account with this email already exists")
	ErrInvalidCredentials = errors.New("email or password is wrong")
	ErrAccountInactive    = errors.New("the account is deactivated")
	ErrInvalidCode        = errors.New("the code is wrong or has expired")
	ErrEmailImmutable     = errors.New("the email of an account cannot be changed")
	ErrUnauthorized       = errors.New("missing, invalid or expired token")
	ErrSessionRevoked     = errors.New("the session has ended: sign in again")
	ErrForbidden          = errors.New("this token may not use this route")
	ErrTooLarge           = errors.New("the body or file is too large")
	ErrUnsupportedMedia   = errors.New("unsupported upload type")
	ErrUnavailable        = errors.New("a dependency is unavailable")
)

// ValidationError lists what is wrong with a request, field by field.
type ValidationError struct {
	Fields map[string]string
}

// NewValidationError builds a ValidationError from field/message pairs.
func NewValidationError(kv ...string) *ValidationError {
	v := &ValidationError{Fields: make(map[string]string, len(kv)/2)}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Fields[kv[i]] = kv[i+1]
	}
	return v
}

// Add records one more field problem; the first message for a field wins.
func (v *ValidationError) Add(field, msg string) {
	if v.Fields == nil {
		v.Fields = map[string]string{}
	}
	if _, ok := v.Fields[field]; !ok {
		v.Fields[field] = msg
	}
}

// OrNil returns nil when no field was added, so callers can `return v.OrNil()`.
func (v *ValidationError) OrNil() error {
	if v == nil || len(v.Fields) == 0 {
		return nil
	}
	return v
}

func (v *ValidationError) Error() string {
	keys := make([]string, 0, len(v.Fields))
	for k := range v.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+": "+v.Fields[k])
	}
	return "validation failed: " + strings.Join(parts, "; ")
}

// RateLimitError says that an action is cooling down and when it may be tried again.
type RateLimitError struct {
	RetryAfter time.Duration
}

func (e *RateLimitError) Error() string {
	return fmt.Sprintf("rate limited: retry after %s", e.RetryAfter)
}

// UnavailableError names the dependency that could not be reached. It matches
// ErrUnavailable with errors.Is.
type UnavailableError struct {
	Dependency string // "database", "redis", "storage", "mail"
	Err        error
}

// Unavailable wraps err as an outage of the named dependency.
func Unavailable(dependency string, err error) error {
	return &UnavailableError{Dependency: dependency, Err: err}
}

func (e *UnavailableError) Error() string {
	return fmt.Sprintf("%s unavailable: %v", e.Dependency, e.Err)
}

func (e *UnavailableError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrUnavailable) true for every UnavailableError.
func (e *UnavailableError) Is(target error) bool { return target == ErrUnavailable }

// TooManyAttemptsError says that an email's failure budget (wrong codes or
// wrong passwords) is spent: every try is refused until RetryAfter has passed,
// right or wrong.
type TooManyAttemptsError struct {
	RetryAfter time.Duration
}

func (e *TooManyAttemptsError) Error() string {
	return fmt.Sprintf("too many failed attempts: retry after %s", e.RetryAfter)
}

// BudgetExhaustedError is the wrong code that spent the last of an email's
// code failure budget. It is still a wrong code (it matches ErrInvalidCode);
// Lock says how long the email now stays locked, for the one notice mail.
type BudgetExhaustedError struct {
	Lock time.Duration
}

func (e *BudgetExhaustedError) Error() string {
	return fmt.Sprintf("%v: code failure budget spent, locked for %s", ErrInvalidCode, e.Lock)
}

func (e *BudgetExhaustedError) Unwrap() error { return ErrInvalidCode }
