package work

import (
	"testing"

	"golang.org/x/sys/unix"
)

func TestLowPriorityThreadsLowerOnlyTheirThreads(t *testing.T) {
	threads := NewLowPriorityThreads(1)
	defer threads.Close()
	// The kernel answers 20 - nice, so a higher nice reads lower.
	before, _ := unix.Getpriority(unix.PRIO_PROCESS, unix.Gettid())
	var inside int
	threads.Run(func() {
		inside, _ = unix.Getpriority(unix.PRIO_PROCESS, unix.Gettid())
	})
	if want := max(before-10, 1); before > 10 && inside != want {
		t.Fatalf("job ran at priority value %d, want %d (nice 10)", inside, want)
	}
	if after, _ := unix.Getpriority(unix.PRIO_PROCESS, unix.Gettid()); after != before {
		t.Fatalf("the caller's thread went from priority value %d to %d", before, after)
	}
}
