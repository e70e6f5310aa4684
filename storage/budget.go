package storage

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/acme/accounts/models"
)

// Defaults of the failure budgets when an option is left zero.
const (
	DefaultCodeFailureBudget     = 10
	DefaultCodeFailureWindow     = time.Hour
	DefaultPasswordFailureBudget = 10
	PasswordFailureWindow        = 15 * time.Minute
)

// A failure budget allows at most Limit failures per email within Window.
// The failure that reaches Limit locks the email for a whole Window, so no
// window of that length ever holds more than Limit failures, and a lock
// happens (and is announced) at most once per Window.
//
// Both backends keep, per email, a log of recent failures and the end of a
// lock. In Redis they are two keys with the email as hash tag ({email}), so
// every script touching them (and the code keys) stays in one cluster slot.

// failLog is one email's budget in memory.
type failLog struct {
	ids         []string // failures (or tries in flight), oldest first
	at          []int64  // their times, unix ms
	lockedUntil int64    // unix ms
}

// memBudgets is the memory backend's budgets; callers hold their own mutex.
type memBudgets map[string]*failLog

func (m memBudgets) lockLeft(key string, now int64) int64 {
	if l := m[key]; l != nil && l.lockedUntil > now {
		return l.lockedUntil - now
	}
	return 0
}

// trim drops failures older than window.
func (l *failLog) trim(now, window int64) {
	i := 0
	for i < len(l.at) && l.at[i] <= now-window {
		i++
	}
	l.ids, l.at = l.ids[i:], l.at[i:]
}

func (m memBudgets) log(key string) *failLog {
	l := m[key]
	if l == nil {
		l = &failLog{}
		m[key] = l
	}
	return l
}

// fail records failure id (once) and returns the lock's length when it
// reached limit, else 0. A locked budget records nothing more.
func (m memBudgets) fail(key, id string, now int64, limit int, window int64) int64 {
	if m.lockLeft(key, now) > 0 {
		return 0
	}
	l := m.log(key)
	l.trim(now, window)
	found := false
	for i, x := range l.ids {
		if x == id {
			l.at[i], found = now, true
		}
	}
	if !found {
		l.ids, l.at = append(l.ids, id), append(l.at, now)
	}
	if len(l.ids) >= limit {
		l.ids, l.at, l.lockedUntil = nil, nil, now+window
		return window
	}
	return 0
}

// reserve records try id ahead of its outcome and returns 0, or the time
// until a try is possible again when the budget is locked or every place in
// it is taken.
func (m memBudgets) reserve(key, id string, now int64, limit int, window int64) int64 {
	if left := m.lockLeft(key, now); left > 0 {
		return left
	}
	l := m.log(key)
	l.trim(now, window)
	if len(l.ids) >= limit {
		return max(l.at[0]+window-now, 1)
	}
	l.ids, l.at = append(l.ids, id), append(l.at, now)
	return 0
}

func (m memBudgets) refund(key, id string) {
	l := m[key]
	if l == nil {
		return
	}
	for i, x := range l.ids {
		if x == id {
			l.ids = append(l.ids[:i:i], l.ids[i+1:]...)
			l.at = append(l.at[:i:i], l.at[i+1:]...)
			return
		}
	}
}

// sweep forgets budgets with nothing left in them.
func (m memBudgets) sweep(now, window int64) {
	for k, l := range m {
		l.trim(now, window)
		if len(l.ids) == 0 && l.lockedUntil <= now {
			delete(m, k)
		}
	}
}

// luaBudget is prepended to the scripts that use a failure budget (KEYS: the
// failure log, a sorted set of ids scored by time, and the lock, an end time).
const luaBudget = `
local function lock_left(lkey, now)
  local u = tonumber(redis.call('GET', lkey) or '0') or 0
  if u > now then return u - now end
  return 0
end
-- fail_once records failure id; returns the lock's length when that made
-- limit failures within window (and locks), else 0.
local function fail_once(fkey, lkey, id, now, limit, window, slack)
  if lock_left(lkey, now) > 0 then return 0 end
  redis.call('ZREMRANGEBYSCORE', fkey, '-inf', num(now - window))
  redis.call('ZADD', fkey, num(now), id)
  if redis.call('ZCARD', fkey) >= limit then
    redis.call('DEL', fkey)
    redis.call('SET', lkey, num(now + window), 'PX', num(window + slack))
    return window
  end
  redis.call('PEXPIRE', fkey, num(window + slack))
  return 0
end
`

// reserveScript: KEYS log, lock; ARGV id, now, limit, window, slack.
// Returns 0 when the try is reserved, else the ms until one is possible.
var reserveScript = redis.NewScript(luaHelpers + luaBudget + `
local now, limit, window, slack = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local left = lock_left(KEYS[2], now)
if left > 0 then return left end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', num(now - window))
if redis.call('ZCARD', KEYS[1]) >= limit then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return math.max(tonumber(oldest[2]) + window - now, 1)
end
redis.call('ZADD', KEYS[1], num(now), ARGV[1])
redis.call('PEXPIRE', KEYS[1], num(window + slack))
return 0
`)

// failScript: KEYS log, lock; ARGV id, now, limit, window, slack.
var failScript = redis.NewScript(luaHelpers + luaBudget + `
return fail_once(KEYS[1], KEYS[2], ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]))
`)

// BudgetOptions configures a Budget.
type BudgetOptions struct {
	Limit  int           // failures allowed per Window (PASSWORD_FAILURE_BUDGET)
	Window time.Duration // 15 minutes for passwords
	Prefix string
	Now    func() time.Time
}

// Budget is a failure budget per email for a check made outside the store
// (a bcrypt comparison): each try is reserved before the check, so racing
// requests never get more than Limit checks through, and given back when it
// succeeded.
type Budget struct {
	opts BudgetOptions
	be   budgetBackend
	kind string
}

type budgetBackend interface {
	reserve(ctx context.Context, fkey, lkey, id string, now time.Time, limit int, window time.Duration) (time.Duration, error)
	fail(ctx context.Context, fkey, lkey, id string, now time.Time, limit int, window time.Duration) (time.Duration, error)
	refund(ctx context.Context, fkey, id string) error
}

// Try is one reserved try; settle it with Failed or Succeeded.
type Try struct {
	email, id string
}

func newBudget(be budgetBackend, kind string, opts BudgetOptions) *Budget {
	if opts.Limit <= 0 {
		opts.Limit = DefaultPasswordFailureBudget
	}
	if opts.Window <= 0 {
		opts.Window = PasswordFailureWindow
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Budget{opts: opts, be: be, kind: kind}
}

// NewMemoryBudget keeps the budget in process memory (no Redis configured).
func NewMemoryBudget(kind string, opts BudgetOptions) *Budget {
	return newBudget(&memoryBudget{logs: memBudgets{}}, kind, opts)
}

// NewRedisBudget keeps the budget in Redis, shared by every instance.
func NewRedisBudget(client redis.Cmdable, kind string, opts BudgetOptions) *Budget {
	return newBudget(&redisBudget{client: client}, kind, opts)
}

// Take reserves a try for email. When the budget is spent it answers
// *models.TooManyAttemptsError and the check must not run.
func (b *Budget) Take(ctx context.Context, email string) (Try, error) {
	t := Try{email: email, id: newID()}
	left, err := b.be.reserve(ctx, b.logKey(email), b.lockKey(email), t.id, b.opts.Now(), b.opts.Limit, b.opts.Window)
	if err != nil {
		return Try{}, err
	}
	if left > 0 {
		return Try{}, &models.TooManyAttemptsError{RetryAfter: left}
	}
	return t, nil
}

// Failed counts the try as a failure; the one that reaches the limit locks
// the email for the window and returns the lock's length (else 0), so the
// caller can record that moment once.
func (b *Budget) Failed(ctx context.Context, t Try) (time.Duration, error) {
	return b.be.fail(ctx, b.logKey(t.email), b.lockKey(t.email), t.id, b.opts.Now(), b.opts.Limit, b.opts.Window)
}

// Succeeded gives the try back: only failures count.
func (b *Budget) Succeeded(ctx context.Context, t Try) error {
	return b.be.refund(ctx, b.logKey(t.email), t.id)
}

func (b *Budget) logKey(email string) string {
	return b.opts.Prefix + b.kind + "fail:{" + email + "}"
}

func (b *Budget) lockKey(email string) string {
	return b.opts.Prefix + b.kind + "lock:{" + email + "}"
}

// newID names one try or failure in a log.
func newID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b) // never fails since Go 1.24
	return hex.EncodeToString(b)
}

type memoryBudget struct {
	mu     sync.Mutex
	logs   memBudgets
	writes int
}

func (m *memoryBudget) reserve(_ context.Context, fkey, lkey, id string, now time.Time, limit int, window time.Duration) (time.Duration, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.writes++; m.writes%sweepEvery == 0 {
		m.logs.sweep(now.UnixMilli(), window.Milliseconds())
	}
	return time.Duration(m.logs.reserve(fkey, id, now.UnixMilli(), limit, window.Milliseconds())) * time.Millisecond, nil
}

func (m *memoryBudget) fail(_ context.Context, fkey, _ string, id string, now time.Time, limit int, window time.Duration) (time.Duration, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return time.Duration(m.logs.fail(fkey, id, now.UnixMilli(), limit, window.Milliseconds())) * time.Millisecond, nil
}

func (m *memoryBudget) refund(_ context.Context, fkey, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.logs.refund(fkey, id)
	return nil
}

type redisBudget struct {
	client redis.Cmdable
}

func (r *redisBudget) reserve(ctx context.Context, fkey, lkey, id string, now time.Time, limit int, window time.Duration) (time.Duration, error) {
	left, err := reserveScript.Run(ctx, r.client, []string{fkey, lkey}, id, now.UnixMilli(), limit, ms(window), ms(gcSlack)).Int64()
	if err != nil {
		return 0, redisDown("reserve a try", err)
	}
	return time.Duration(left) * time.Millisecond, nil
}

func (r *redisBudget) fail(ctx context.Context, fkey, lkey, id string, now time.Time, limit int, window time.Duration) (time.Duration, error) {
	lock, err := failScript.Run(ctx, r.client, []string{fkey, lkey}, id, now.UnixMilli(), limit, ms(window), ms(gcSlack)).Int64()
	if err != nil {
		return 0, redisDown("count a failure", err)
	}
	return time.Duration(lock) * time.Millisecond, nil
}

func (r *redisBudget) refund(ctx context.Context, fkey, id string) error {
	if err := r.client.ZRem(ctx, fkey, id).Err(); err != nil {
		return redisDown("give a try back", err)
	}
	return nil
}
