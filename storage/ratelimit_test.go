package storage

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// allowN counts how many of n requests under key pass.
func allowN(l *RateLimiter, key string, n int) (passed int, lastWait time.Duration) {
	for range n {
		if w := l.Allow(context.Background(), key); w == 0 {
			passed++
		} else {
			lastWait = w
		}
	}
	return passed, lastWait
}

func TestMemoryRateLimiter(t *testing.T) {
	clock := newFakeClock()
	l := NewRateLimiter(nil, "t:", 6, time.Minute, clock.Now)
	if passed, wait := allowN(l, "a", 10); passed != 6 || wait <= 0 || wait > 10*time.Second {
		t.Fatalf("passed %d (wait %s), want 6 and at most 10s", passed, wait)
	}
	if passed, _ := allowN(l, "b", 6); passed != 6 {
		t.Fatalf("another key passed %d, want its own 6", passed)
	}
	clock.Advance(10 * time.Second) // one request's worth of the rate
	if passed, _ := allowN(l, "a", 3); passed != 1 {
		t.Fatalf("after 10s passed %d, want 1", passed)
	}
}

func TestRedisRateLimiterIsShared(t *testing.T) {
	client := testRedisClient(t)
	prefix := "storagetest:" + randomHex(t, 6) + ":"
	one := NewRateLimiter(client, prefix, 5, time.Minute, nil)
	two := NewRateLimiter(client, prefix, 5, time.Minute, nil)
	p1, _ := allowN(one, "addr", 3)
	p2, wait := allowN(two, "addr", 5)
	if p1+p2 != 5 || wait <= 0 {
		t.Fatalf("two instances passed %d+%d (wait %s), want 5 together", p1, p2, wait)
	}
}

// TestRateLimiterFallsBackToMemory: with the store unreachable the limit
// still holds, per instance, and requests do not wait on the store again
// and again.
func TestRateLimiterFallsBackToMemory(t *testing.T) {
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", DialTimeout: 200 * time.Millisecond, MaxRetries: -1, DialerRetries: 1})
	t.Cleanup(func() { _ = client.Close() })
	l := NewRateLimiter(client, "t:", 4, time.Minute, nil)
	start := time.Now()
	if passed, wait := allowN(l, "addr", 10); passed != 4 || wait <= 0 {
		t.Fatalf("passed %d (wait %s) with the store down, want 4", passed, wait)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("10 requests took %s with the store down", d)
	}
}
