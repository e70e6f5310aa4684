// Package work holds the concurrency helpers the server's flows share:
// a gate that bounds how many jobs of a kind run at once, a set of jobs
// that outlive their request, and threads that run CPU-bound jobs at a
// lower priority than the requests around it. Domain code says what to bound;
// the how lives here.
package work

import (
	"context"
	"fmt"

	"golang.org/x/sync/semaphore"
)

// Gate lets at most its size of jobs in at once; the rest wait their turn
// in arrival order or give up with their context.
type Gate struct {
	what string
	sem  *semaphore.Weighted
}

// NewGate returns a gate for n jobs at once (at least one); what names the
// job in the error of a request that gave up waiting.
func NewGate(what string, n int) *Gate {
	return &Gate{what: what, sem: semaphore.NewWeighted(int64(max(n, 1)))}
}

// Enter waits for a place; every nil return must be followed by Leave.
func (g *Gate) Enter(ctx context.Context) error {
	if err := g.sem.Acquire(ctx, 1); err != nil {
		return fmt.Errorf("wait for a %s slot: %w", g.what, err)
	}
	return nil
}

// Leave gives the place back.
func (g *Gate) Leave() { g.sem.Release(1) }

// Do runs fn inside the gate.
func (g *Gate) Do(ctx context.Context, fn func() error) error {
	if err := g.Enter(ctx); err != nil {
		return err
	}
	defer g.Leave()
	return fn()
}
