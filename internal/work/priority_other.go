//go:build !linux

package work

// lowerThreadPriority is a no-op where threads have no portable nice value.
func lowerThreadPriority() {}
