// Package periodic runs background jobs on a fixed interval, outside any
// request, until their context ends.
package periodic

import (
	"context"
	"time"
)

// Run calls job at once and then every interval until ctx is done. Runs
// never overlap: the next one starts an interval after the previous ended.
func Run(ctx context.Context, interval time.Duration, job func(context.Context)) {
	for ctx.Err() == nil {
		job(ctx)
		t := time.NewTimer(interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}
