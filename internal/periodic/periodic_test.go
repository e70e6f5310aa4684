package periodic

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

func TestRunStartsAtOnceRepeatsAndStops(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	var runs atomic.Int32
	done := make(chan struct{})
	go func() {
		Run(ctx, time.Millisecond, func(context.Context) {
			if runs.Add(1) == 3 {
				cancel()
			}
		})
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not stop after its context ended")
	}
	if n := runs.Load(); n != 3 {
		t.Fatalf("ran %d times after the cancel, want exactly 3", n)
	}
}
