package app

import (
	"context"
	"fmt"
)

// slots bounds how many CPU- or memory-heavy jobs (bcrypt, image decoding)
// run at once; the rest wait their turn or give up with their context.
type slots chan struct{}

func newSlots(n int) slots { return make(slots, max(n, 1)) }

func (s slots) acquire(ctx context.Context, what string) error {
	select {
	case s <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("wait for a %s slot: %w", what, ctx.Err())
	}
}

func (s slots) release() { <-s }
