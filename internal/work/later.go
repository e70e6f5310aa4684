package work

import (
	"context"
	"sync"
	"time"
)

// Later runs jobs that outlive the request that started them (a mail sent
// after the answer), at most a fixed number in flight, each within a time
// bound, and lets shutdown and tests wait for them.
type Later struct {
	wg      sync.WaitGroup
	slots   chan struct{}
	timeout time.Duration
}

// NewLater allows inFlight jobs at once, each bounded by timeout.
func NewLater(inFlight int, timeout time.Duration) *Later {
	return &Later{slots: make(chan struct{}, max(inFlight, 1)), timeout: timeout}
}

// Start runs job on its own goroutine with a context detached from ctx's
// cancellation (it keeps its values) and bounded by the timeout. It reports
// false, running nothing, when the jobs in flight are at the bound: under
// an outage the caller drops the job instead of piling up goroutines.
func (l *Later) Start(ctx context.Context, job func(context.Context)) bool {
	select {
	case l.slots <- struct{}{}:
	default:
		return false
	}
	l.wg.Add(1)
	jobCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), l.timeout)
	go func() {
		defer func() {
			cancel()
			<-l.slots
			l.wg.Done()
		}()
		job(jobCtx)
	}()
	return true
}

// Wait returns once every started job has finished.
func (l *Later) Wait() { l.wg.Wait() }
