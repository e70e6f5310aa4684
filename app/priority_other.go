//go:build !linux

package app

// lowerThreadPriority is a no-op where threads have no portable nice value.
func lowerThreadPriority() {}
