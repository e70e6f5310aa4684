package work

import (
	"runtime"
	"sync"
)

// LowPriorityThreads runs CPU-bound jobs (bcrypt: ~50 ms that Go cannot
// preempt for less than its 10 ms time slice) on a fixed set of OS threads
// whose scheduling priority is lowered, so the jobs take only the CPU other
// requests leave. The threads live as long as the set: a fresh locked thread
// per job measured 4-8% fewer bcrypts per second than a plain loop, a
// long-lived one within 1-2%.
type LowPriorityThreads struct {
	jobs      chan func()
	closed    chan struct{}
	closeOnce sync.Once
}

// NewLowPriorityThreads starts n threads (at least one). Callers must bound
// how many jobs they hand over at once (a Gate of the same size does), or
// Run waits for a free thread.
func NewLowPriorityThreads(n int) *LowPriorityThreads {
	t := &LowPriorityThreads{jobs: make(chan func()), closed: make(chan struct{})}
	for range max(n, 1) {
		go func() {
			// The goroutine exits still locked to its thread, so Go discards
			// the thread and its priority never reaches other goroutines.
			runtime.LockOSThread()
			lowerThreadPriority()
			for {
				select {
				case job := <-t.jobs:
					job()
				case <-t.closed:
					return
				}
			}
		}()
	}
	return t
}

// Run runs fn on one of the threads and waits for it; a panic in fn is
// raised again in the caller. fn must be bounded: it is awaited even if the
// caller's request ends. After Close, fn runs on the caller's thread: a
// request still in flight during shutdown is served, not failed.
func (t *LowPriorityThreads) Run(fn func()) {
	done := make(chan any, 1)
	job := func() {
		defer func() { done <- recover() }()
		fn()
	}
	select {
	case t.jobs <- job:
	case <-t.closed:
		job()
	}
	if p := <-done; p != nil {
		panic(p)
	}
}

// Close ends the threads as they finish their jobs.
func (t *LowPriorityThreads) Close() {
	t.closeOnce.Do(func() { close(t.closed) })
}
