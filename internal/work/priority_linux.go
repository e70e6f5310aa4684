package work

import "golang.org/x/sys/unix"

// lowerThreadPriority makes the calling OS thread nice 10, so the kernel
// prefers the threads serving other requests. Lowering one's own priority
// needs no privilege; a failure only means bcrypt competes as usual.
func lowerThreadPriority() {
	_ = unix.Setpriority(unix.PRIO_PROCESS, unix.Gettid(), 10)
}
