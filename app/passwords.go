package app

import (
	"context"
	"errors"
	"fmt"

	"golang.org/x/crypto/bcrypt"

	"github.com/acme/accounts/internal/work"
)

// Passwords hashes and checks passwords with bcrypt. At most one bcrypt runs
// per core, and each runs on an OS thread of its own at a lower scheduling
// priority: a burst of logins then queues, and takes only the CPU that other
// requests leave, instead of starving them (a bcrypt is ~50 ms of CPU that Go
// cannot interrupt for less than its 10 ms time slice).
type Passwords struct {
	cost    int
	gate    *work.Gate
	threads *work.LowPriorityThreads
	dummy   []byte
}

// NewPasswords returns a hasher at the given bcrypt cost running at most
// slots hashes at once.
func NewPasswords(cost, slots int) *Passwords {
	if cost == 0 {
		cost = bcrypt.DefaultCost
	}
	p := &Passwords{cost: cost, gate: work.NewGate("password", slots), threads: work.NewLowPriorityThreads(slots)}
	// A real hash to compare against when the account does not exist, so an
	// unknown email costs the same time as a wrong password.
	p.dummy, _ = bcrypt.GenerateFromPassword([]byte("timing-equaliser-password"), cost)
	return p
}

// Hash returns the bcrypt hash of password.
func (p *Passwords) Hash(ctx context.Context, password string) (string, error) {
	var h []byte
	var err error
	if werr := p.background(ctx, func() { h, err = bcrypt.GenerateFromPassword([]byte(password), p.cost) }); werr != nil {
		return "", werr
	}
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return string(h), nil
}

// maxPasswordBytes is bcrypt's limit: it ignores every byte past it.
const maxPasswordBytes = 72

// Check reports whether password matches hash. An empty hash (unknown account)
// is compared against a dummy so both cases take the same time. A password
// over 72 bytes never matches: bcrypt would compare only its first 72, so a
// longer one could sign in with a password it merely starts with.
func (p *Passwords) Check(ctx context.Context, hash, password string) (bool, error) {
	h := []byte(hash)
	tooLong := len(password) > maxPasswordBytes
	if len(h) == 0 || tooLong {
		h = p.dummy
	}
	var err error
	if werr := p.background(ctx, func() { err = bcrypt.CompareHashAndPassword(h, []byte(password)) }); werr != nil {
		return false, werr
	}
	switch {
	case err == nil:
		return len(hash) > 0 && !tooLong, nil
	case errors.Is(err, bcrypt.ErrMismatchedHashAndPassword):
		return false, nil
	default:
		return false, fmt.Errorf("check password: %w", err)
	}
}

// background runs fn inside the gate on one of the low-priority threads:
// the gate queues callers in arrival order (and lets a request give up), so
// a thread is always free when a job reaches it.
func (p *Passwords) background(ctx context.Context, fn func()) error {
	return p.gate.Do(ctx, func() error {
		p.threads.Run(fn)
		return nil
	})
}

// Close stops the hashing threads; no Hash or Check may follow.
func (p *Passwords) Close() { p.threads.Close() }
