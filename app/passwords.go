package app

import (
	"context"
	"errors"
	"fmt"
	"runtime"

	"golang.org/x/crypto/bcrypt"
)

// Passwords hashes and checks passwords with bcrypt. At most one bcrypt runs
// per core: a burst of logins then queues instead of starving every other
// request of CPU.
type Passwords struct {
	cost  int
	slots slots
	dummy []byte
}

// NewPasswords returns a hasher at the given bcrypt cost.
func NewPasswords(cost int) *Passwords {
	if cost == 0 {
		cost = bcrypt.DefaultCost
	}
	p := &Passwords{cost: cost, slots: newSlots(runtime.GOMAXPROCS(0))}
	// A real hash to compare against when the account does not exist, so an
	// unknown email costs the same time as a wrong password.
	p.dummy, _ = bcrypt.GenerateFromPassword([]byte("timing-equaliser-password"), cost)
	return p
}

// Hash returns the bcrypt hash of password.
func (p *Passwords) Hash(ctx context.Context, password string) (string, error) {
	if err := p.slots.acquire(ctx, "password"); err != nil {
		return "", err
	}
	defer p.slots.release()
	h, err := bcrypt.GenerateFromPassword([]byte(password), p.cost)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return string(h), nil
}

// Check reports whether password matches hash. An empty hash (unknown account)
// is compared against a dummy so both cases take the same time.
func (p *Passwords) Check(ctx context.Context, hash, password string) (bool, error) {
	if err := p.slots.acquire(ctx, "password"); err != nil {
		return false, err
	}
	defer p.slots.release()
	h := []byte(hash)
	if len(h) == 0 {
		h = p.dummy
	}
	err := bcrypt.CompareHashAndPassword(h, []byte(password))
	switch {
	case err == nil:
		return len(hash) > 0, nil
	case errors.Is(err, bcrypt.ErrMismatchedHashAndPassword):
		return false, nil
	default:
		return false, fmt.Errorf("check password: %w", err)
	}
}
