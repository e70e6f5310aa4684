package storage

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"time"
)

// sweepEvery is how many writes pass between two sweeps of dead entries, so
// addresses that never come back do not grow the map forever.
const sweepEvery = 256

// NewMemoryCodes returns Codes kept in process memory: the default when no
// Redis is configured, and for tests. Codes do not survive a restart and are
// not shared between processes.
func NewMemoryCodes(opts CodeOptions) *Codes {
	return newCodes(&memoryCodes{items: map[string]memItem{}, budgets: memBudgets{}}, opts)
}

// memItem is one stored value with the (clock) time after which it is garbage,
// mirroring a Redis value with a PX expiry.
type memItem struct {
	val  []byte
	gcAt int64 // unix ms
}

// memoryCodes implements codeBackend with a map; every method runs its whole
// read-modify-write under one mutex, which is what makes it atomic.
type memoryCodes struct {
	mu      sync.Mutex
	items   map[string]memItem
	budgets memBudgets // code failure budgets, by log key
	writes  int
	window  int64 // the longest failure window seen (ms), for the sweep
}

func (m *memoryCodes) get(key string, now time.Time) []byte {
	it, ok := m.items[key]
	if !ok {
		return nil
	}
	if it.gcAt <= now.UnixMilli() {
		delete(m.items, key)
		return nil
	}
	return it.val
}

func (m *memoryCodes) set(key string, val []byte, now time.Time, px time.Duration) {
	m.items[key] = memItem{val: val, gcAt: now.Add(px).UnixMilli()}
	m.writes++
	if m.writes%sweepEvery == 0 {
		nowMs := now.UnixMilli()
		for k, it := range m.items {
			if it.gcAt <= nowMs {
				delete(m.items, k)
			}
		}
		m.budgets.sweep(nowMs, m.window)
	}
}

// liveRecord returns the decoded record under key when it exists and has not
// expired by the clock; an expired one is removed.
func (m *memoryCodes) liveRecord(key string, now time.Time) (*codeRecord, error) {
	raw := m.get(key, now)
	if raw == nil {
		return nil, nil
	}
	var rec codeRecord
	if err := json.Unmarshal(raw, &rec); err != nil {
		return nil, fmt.Errorf("decode code record: %w", err)
	}
	if rec.ExpiresAt <= now.UnixMilli() {
		delete(m.items, key)
		return nil, nil
	}
	return &rec, nil
}

func (m *memoryCodes) putRecord(key string, rec *codeRecord, now time.Time) error {
	raw, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("encode code record: %w", err)
	}
	m.set(key, raw, now, msLeft(rec.ExpiresAt, now)+gcSlack)
	return nil
}

// coolingLeft is the cooldown time left under cdKey (0 when not cooling).
func (m *memoryCodes) coolingLeft(cdKey string, now time.Time) time.Duration {
	raw := m.get(cdKey, now)
	if raw == nil {
		return 0
	}
	until, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil {
		return 0
	}
	return msLeft(until, now)
}

// takeCooldown returns the time left when cooling, else starts the cooldown.
func (m *memoryCodes) takeCooldown(cdKey string, now time.Time, cooldown time.Duration) time.Duration {
	if cooldown <= 0 {
		return 0
	}
	if left := m.coolingLeft(cdKey, now); left > 0 {
		return left
	}
	until := now.Add(cooldown).UnixMilli()
	m.set(cdKey, []byte(strconv.FormatInt(until, 10)), now, cooldown+gcSlack)
	return 0
}

// lockLeft is the failure lock left on the budget whose lock key is lkey;
// the memory backend keeps log and lock together under that key.
func (m *memoryCodes) lockLeft(lkey string, now time.Time) time.Duration {
	return time.Duration(m.budgets.lockLeft(lkey, now.UnixMilli())) * time.Millisecond
}

func (m *memoryCodes) issue(_ context.Context, codeKey, cdKey, lockKey string, rec []byte, now time.Time, life, cooldown time.Duration) (time.Duration, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if left := m.lockLeft(lockKey, now); left > 0 {
		return left, nil
	}
	if left := m.takeCooldown(cdKey, now, cooldown); left > 0 {
		return left, nil
	}
	m.set(codeKey, rec, now, life+gcSlack)
	return 0, nil
}

func (m *memoryCodes) reissue(_ context.Context, codeKey, cdKey, lockKey, hash string, now time.Time, life, cooldown time.Duration) (time.Duration, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	rec, err := m.liveRecord(codeKey, now)
	if err != nil || rec == nil {
		return 0, false, err
	}
	if left := m.lockLeft(lockKey, now); left > 0 {
		return left, true, nil
	}
	if left := m.takeCooldown(cdKey, now, cooldown); left > 0 {
		return left, true, nil
	}
	rec.Hash, rec.Attempts, rec.Verified = hash, 0, false
	rec.ExpiresAt = now.Add(life).UnixMilli()
	return 0, true, m.putRecord(codeKey, rec, now)
}

func (m *memoryCodes) cooldownLeft(_ context.Context, cdKey, lockKey string, now time.Time) (time.Duration, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return max(m.coolingLeft(cdKey, now), m.lockLeft(lockKey, now)), nil
}

func (m *memoryCodes) peek(_ context.Context, codeKey string, now time.Time) ([]byte, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	rec, err := m.liveRecord(codeKey, now)
	if err != nil || rec == nil {
		return nil, false, err
	}
	return rec.Payload, true, nil
}

func (m *memoryCodes) startCooldown(_ context.Context, cdKey string, now time.Time, cooldown time.Duration) (time.Duration, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.takeCooldown(cdKey, now, cooldown), nil
}

func (m *memoryCodes) check(_ context.Context, codeKey, hash string, b budgetArgs, now time.Time, mode checkMode, maxAttempts int, resetTTL time.Duration) (checkResult, []byte, time.Duration, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	// The memory backend keeps an email's log and lock together, under the
	// lock's key.
	if left := m.lockLeft(b.lockKey, now); left > 0 {
		return resLocked, nil, left, nil
	}
	rec, err := m.liveRecord(codeKey, now)
	if err != nil || rec == nil {
		return resMissing, nil, 0, err
	}
	if !hashesEqual(rec.Hash, hash) {
		m.window = max(m.window, b.window.Milliseconds())
		lock := time.Duration(m.budgets.fail(b.lockKey, b.id, now.UnixMilli(), b.limit, b.window.Milliseconds())) * time.Millisecond
		rec.Attempts++
		if rec.Attempts >= maxAttempts {
			delete(m.items, codeKey)
			return resDestroyed, nil, lock, nil
		}
		return resWrong, nil, lock, m.putRecord(codeKey, rec, now)
	}
	switch mode {
	case modeMarkVerified:
		if !rec.Verified {
			rec.Verified = true
			rec.ExpiresAt = now.Add(resetTTL).UnixMilli()
		}
		return resOK, nil, 0, m.putRecord(codeKey, rec, now)
	case modeConsumeVerified:
		if !rec.Verified {
			return resUnverified, nil, 0, nil
		}
	}
	delete(m.items, codeKey)
	return resOK, rec.Payload, 0, nil
}

func (m *memoryCodes) discard(_ context.Context, codeKey, cdKey string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.items, codeKey)
	delete(m.items, cdKey)
	return nil
}

func (m *memoryCodes) restore(_ context.Context, codeKey string, rec []byte, now time.Time, life time.Duration) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	live, err := m.liveRecord(codeKey, now)
	if err != nil || live != nil {
		return false, err
	}
	m.set(codeKey, rec, now, life+gcSlack)
	return true, nil
}

func (m *memoryCodes) ping(context.Context) error { return nil }
