package storage

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
)

// Tunables of the shared limiter's fallback.
const (
	// limiterCallTimeout bounds one Redis call of the limiter, so a stalled
	// Redis delays a request by this much at most instead of its full
	// deadline.
	limiterCallTimeout = 250 * time.Millisecond
	// limiterBackoff is how long the limiter counts in memory alone after
	// Redis failed, so a dead Redis costs no request any wait at all.
	limiterBackoff = 5 * time.Second
)

// RateLimiter allows Rate requests per Period per key, with bursts of up to
// Rate (GCRA). With Redis the counts are shared by every instance
// (redis_rate: one Lua call per request); when Redis fails, or when none is
// configured, each instance counts in its own memory: the limit may then be
// per instance, but it is never off. No lock is held across a Redis call,
// so no request waits on another's.
type RateLimiter struct {
	limit     redis_rate.Limit
	prefix    string
	shared    *redis_rate.Limiter // nil: memory only
	local     *gcra
	downUntil atomic.Int64 // unix ns: skip Redis until then
	now       func() time.Time
}

// NewRateLimiter returns a limiter of rate requests per period. client may
// be nil (memory only); now may be nil (time.Now).
func NewRateLimiter(client redis.UniversalClient, prefix string, rate int, period time.Duration, now func() time.Time) *RateLimiter {
	if now == nil {
		now = time.Now
	}
	l := &RateLimiter{
		limit:  redis_rate.Limit{Rate: rate, Burst: rate, Period: period},
		prefix: prefix,
		local:  &gcra{tat: map[string]int64{}},
		now:    now,
	}
	if client != nil {
		l.shared = redis_rate.NewLimiter(client)
	}
	return l
}

// Allow counts one request under key and returns 0, or how long to wait
// when it is over the limit. It never fails: a store error only moves the
// count to this instance's memory.
func (l *RateLimiter) Allow(ctx context.Context, key string) time.Duration {
	if l.shared != nil && l.now().UnixNano() >= l.downUntil.Load() {
		cctx, cancel := context.WithTimeout(ctx, limiterCallTimeout)
		res, err := l.shared.Allow(cctx, l.prefix+key, l.limit)
		cancel()
		if err == nil {
			if res.Allowed > 0 {
				return 0
			}
			return max(res.RetryAfter, time.Millisecond)
		}
		l.downUntil.Store(l.now().Add(limiterBackoff).UnixNano())
	}
	return l.local.allow(key, l.now(), l.limit)
}

// gcra is the same algorithm as redis_rate's, in memory: tat is each key's
// theoretical arrival time in unix ns.
type gcra struct {
	mu     sync.Mutex
	tat    map[string]int64
	writes int
}

func (g *gcra) allow(key string, now time.Time, limit redis_rate.Limit) time.Duration {
	interval := int64(limit.Period) / int64(limit.Rate)
	burst := interval * int64(limit.Burst)
	n := now.UnixNano()
	g.mu.Lock()
	defer g.mu.Unlock()
	tat := max(g.tat[key], n)
	next := tat + interval
	if wait := next - burst - n; wait > 0 {
		return time.Duration(wait)
	}
	g.tat[key] = next
	if g.writes++; g.writes%sweepEvery == 0 {
		for k, t := range g.tat {
			if t <= n {
				delete(g.tat, k)
			}
		}
	}
	return 0
}
