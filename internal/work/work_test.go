package work

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestGateBoundsJobsInFlight(t *testing.T) {
	g := NewGate("test", 2)
	var inside, most atomic.Int32
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := g.Do(context.Background(), func() error {
				n := inside.Add(1)
				for {
					m := most.Load()
					if n <= m || most.CompareAndSwap(m, n) {
						break
					}
				}
				time.Sleep(2 * time.Millisecond)
				inside.Add(-1)
				return nil
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if got := most.Load(); got != 2 {
		t.Fatalf("at most %d jobs ran at once, want 2", got)
	}
}

func TestGateGivesUpWithTheContext(t *testing.T) {
	g := NewGate("image", 1)
	if err := g.Enter(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	err := g.Enter(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the context's deadline", err)
	}
	g.Leave()
	if err := g.Enter(context.Background()); err != nil {
		t.Fatalf("the gate did not reopen: %v", err)
	}
}

func TestGateOfZeroLetsOneIn(t *testing.T) {
	if err := NewGate("x", 0).Do(context.Background(), func() error { return nil }); err != nil {
		t.Fatal(err)
	}
}

func TestLaterDropsPastItsBoundAndWaits(t *testing.T) {
	l := NewLater(2, time.Second)
	release := make(chan struct{})
	var ran atomic.Int32
	job := func(context.Context) { <-release; ran.Add(1) }
	if !l.Start(context.Background(), job) || !l.Start(context.Background(), job) {
		t.Fatal("a job within the bound was not started")
	}
	if l.Start(context.Background(), job) {
		t.Fatal("a third job started past a bound of two")
	}
	close(release)
	l.Wait()
	if got := ran.Load(); got != 2 {
		t.Fatalf("%d jobs ran, want 2", got)
	}
	if !l.Start(context.Background(), func(context.Context) {}) {
		t.Fatal("no job starts once the others finished")
	}
	l.Wait()
}

func TestLaterOutlivesTheRequestWithinItsTimeout(t *testing.T) {
	l := NewLater(1, 50*time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	var jobErr error
	started := l.Start(ctx, func(ctx context.Context) {
		cancel() // the request ends while the job runs
		time.Sleep(5 * time.Millisecond)
		if err := ctx.Err(); err != nil {
			jobErr = err
			return
		}
		<-ctx.Done()
		jobErr = ctx.Err()
	})
	if !started {
		t.Fatal("not started")
	}
	l.Wait()
	if !errors.Is(jobErr, context.DeadlineExceeded) {
		t.Fatalf("job context ended with %v, want its own deadline", jobErr)
	}
}

func TestLowPriorityThreadsRunAndWait(t *testing.T) {
	threads := NewLowPriorityThreads(2)
	defer threads.Close()
	var wg sync.WaitGroup
	var ran atomic.Int32
	for range 20 {
		wg.Go(func() { threads.Run(func() { ran.Add(1) }) })
	}
	wg.Wait()
	if ran.Load() != 20 {
		t.Fatalf("%d of 20 jobs ran", ran.Load())
	}
	done := false
	threads.Run(func() { done = true })
	if !done {
		t.Fatal("fn had not finished when Run returned")
	}
	// A job that comes after Close still runs, on the caller's thread.
	threads.Close()
	late := false
	threads.Run(func() { late = true })
	if !late {
		t.Fatal("a job after Close did not run")
	}
}

func TestLowPriorityThreadsRaiseAPanicInTheCaller(t *testing.T) {
	threads := NewLowPriorityThreads(1)
	defer threads.Close()
	defer func() {
		if p := recover(); p != "boom" {
			t.Fatalf("recovered %v, want the job's panic", p)
		}
		// The thread survives its job's panic.
		ok := false
		threads.Run(func() { ok = true })
		if !ok {
			t.Fatal("the thread stopped after a panic")
		}
	}()
	threads.Run(func() { panic("boom") })
}
