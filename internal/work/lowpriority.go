package work

import "runtime"

// OnLowPriorityThread runs fn on an OS thread of its own whose scheduling
// priority is lowered, and waits for it. A CPU-bound job such as a bcrypt
// (~50 ms that Go cannot preempt for less than its 10 ms time slice) then
// takes only the CPU other requests leave. The goroutine exits still locked
// to that thread, so Go discards the thread and its priority never reaches
// other goroutines. fn must be bounded: it is awaited even if the caller's
// request ends.
func OnLowPriorityThread(fn func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread()
		lowerThreadPriority()
		fn()
	}()
	<-done
}
