package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// bcryptResult is the compare rate at one cost.
type bcryptResult struct {
	Cost      int     `json:"cost"`
	Workers   int     `json:"workers"`
	Ops       int64   `json:"ops"`
	Seconds   float64 `json:"seconds"`
	OpsPerSec float64 `json:"ops_per_sec"`
}

// runBcrypt runs CompareHashAndPassword in one goroutine per core for the
// given duration: the most logins per second this machine can check.
func runBcrypt(ctx context.Context, fs *flag.FlagSet, args []string, stdout io.Writer) error {
	cost := fs.Int("cost", 10, "bcrypt cost")
	duration := fs.Duration("duration", 5*time.Second, "how long to measure")
	workers := fs.Int("workers", runtime.GOMAXPROCS(0), "goroutines comparing at once")
	if err := fs.Parse(args); err != nil {
		return err
	}
	password := []byte("correct horse battery")
	hash, err := bcrypt.GenerateFromPassword(password, *cost)
	if err != nil {
		return fmt.Errorf("hash: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, *duration)
	defer cancel()
	var ops atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	errc := make(chan error, *workers)
	for range *workers {
		wg.Go(func() {
			for ctx.Err() == nil {
				if err := bcrypt.CompareHashAndPassword(hash, password); err != nil {
					errc <- err
					return
				}
				ops.Add(1)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	close(errc)
	if err := <-errc; err != nil {
		return fmt.Errorf("compare: %w", err)
	}
	n := ops.Load()
	return json.NewEncoder(stdout).Encode(bcryptResult{
		Cost: *cost, Workers: *workers, Ops: n, Seconds: elapsed, OpsPerSec: float64(n) / elapsed,
	})
}
