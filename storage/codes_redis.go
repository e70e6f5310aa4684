package storage

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	redisstore "github.com/gofiber/storage/redis/v3"
	"github.com/redis/go-redis/v9"

	"github.com/acme/accounts/models"
)

// NewRedisCodes returns Codes kept in Redis. st is built by the caller (with
// redisstore.NewFromConnection after a successful ping) because the storage
// package's own constructor panics on a bad URL or an unreachable server.
func NewRedisCodes(st *redisstore.Storage, opts CodeOptions) *Codes {
	return newCodes(&redisCodes{st: st}, opts)
}

// redisCodes implements codeBackend. Plain reads and deletes go through the
// fiber storage; every read-modify-write is one Lua script, which Redis runs
// atomically, so racing requests can never both consume one code.
//
// All times are passed in from the injected clock (unix ms) and the logical
// expiry lives in the record; the PX set on each key is only garbage
// collection and is always gcSlack longer than the logical life.
type redisCodes struct {
	st *redisstore.Storage
}

// luaHelpers is prepended to every script. num formats a number without an
// exponent (Lua's tostring would write large ms values as 1.7e+12). same
// compares two strings in time that depends only on their length, so the
// check leaks nothing about how much of a guessed hash matched.
const luaHelpers = `
local function num(n) return string.format('%.0f', n) end
local function same(a, b)
  if type(a) ~= 'string' or type(b) ~= 'string' or #a ~= #b then return false end
  local diff = 0
  for i = 1, #a do
    diff = bit.bor(diff, bit.bxor(string.byte(a, i), string.byte(b, i)))
  end
  return diff == 0
end
-- take_cooldown returns the ms left when cooling, else starts the cooldown and returns 0.
local function take_cooldown(key, now, cd, slack)
  if cd <= 0 then return 0 end
  local untilMs = tonumber(redis.call('GET', key) or '0') or 0
  if untilMs > now then return untilMs - now end
  redis.call('SET', key, num(now + cd), 'PX', num(cd + slack))
  return 0
end
`

// issueScript: KEYS code, cooldown, failure lock; ARGV record, now, life,
// cooldown, slack. Returns the lock or cooldown ms left (nothing stored) or 0.
var issueScript = redis.NewScript(luaHelpers + luaBudget + `
local now, life, cd, slack = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local left = lock_left(KEYS[3], now)
if left > 0 then return left end
left = take_cooldown(KEYS[2], now, cd, slack)
if left > 0 then return left end
redis.call('SET', KEYS[1], ARGV[1], 'PX', num(life + slack))
return 0
`)

// reissueScript: KEYS code, cooldown, failure lock; ARGV hash, now, life,
// cooldown, slack. Returns -1 when nothing is pending, the lock or cooldown
// ms left, or 0.
var reissueScript = redis.NewScript(luaHelpers + luaBudget + `
local now, life, cd, slack = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local raw = redis.call('GET', KEYS[1])
if not raw then return -1 end
local rec = cjson.decode(raw)
if tonumber(rec.x) <= now then
  redis.call('DEL', KEYS[1])
  return -1
end
local left = lock_left(KEYS[3], now)
if left > 0 then return left end
left = take_cooldown(KEYS[2], now, cd, slack)
if left > 0 then return left end
rec.h, rec.a, rec.v, rec.x = ARGV[1], 0, false, now + life
redis.call('SET', KEYS[1], cjson.encode(rec), 'PX', num(life + slack))
return 0
`)

// startCooldownScript: KEYS cooldown; ARGV now, cooldown, slack.
var startCooldownScript = redis.NewScript(luaHelpers + `
return take_cooldown(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]))
`)

// checkScript: KEYS code, failure log, failure lock; ARGV hash, now, mode,
// max attempts, reset ttl, slack, failure id, budget, window.
// Returns {checkResult, lock ms} or, for a consumed record, {checkResult, 0,
// record}. The numbers match the checkResult and checkMode constants.
var checkScript = redis.NewScript(luaHelpers + luaBudget + `
local now, mode, maxAttempts, resetTTL, slack =
  tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local budget, window = tonumber(ARGV[8]), tonumber(ARGV[9])
local locked = lock_left(KEYS[3], now)
if locked > 0 then return {5, locked} end
local raw = redis.call('GET', KEYS[1])
if not raw then return {0, 0} end
local rec = cjson.decode(raw)
local exp = tonumber(rec.x)
if exp <= now then
  redis.call('DEL', KEYS[1])
  return {0, 0}
end
if not same(rec.h, ARGV[1]) then
  local lock = fail_once(KEYS[2], KEYS[3], ARGV[7], now, budget, window, slack)
  rec.a = (tonumber(rec.a) or 0) + 1
  if rec.a >= maxAttempts then
    redis.call('DEL', KEYS[1])
    return {2, lock}
  end
  redis.call('SET', KEYS[1], cjson.encode(rec), 'PX', num(exp - now + slack))
  return {1, lock}
end
if mode == '1' then
  -- RESET_TTL runs from the first verify; a second one changes nothing.
  if rec.v == true then return {3, 0} end
  rec.v, rec.x = true, now + resetTTL
  redis.call('SET', KEYS[1], cjson.encode(rec), 'PX', num(resetTTL + slack))
  return {3, 0}
end
if mode == '2' and rec.v ~= true then return {4, 0} end
redis.call('DEL', KEYS[1])
return {3, 0, raw}
`)

// restoreScript: KEYS code; ARGV record, now, life, slack. Returns 1 when it
// stored the record, 0 when a live one was there (and is kept).
var restoreScript = redis.NewScript(luaHelpers + `
local now, life, slack = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local raw = redis.call('GET', KEYS[1])
if raw and tonumber(cjson.decode(raw).x) > now then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', num(life + slack))
return 1
`)

func ms(d time.Duration) int64 { return d.Milliseconds() }

func redisDown(op string, err error) error {
	return models.Unavailable("redis", fmt.Errorf("%s: %w", op, err))
}

func (r *redisCodes) issue(ctx context.Context, codeKey, cdKey, lockKey string, rec []byte, now time.Time, life, cooldown time.Duration) (time.Duration, error) {
	left, err := issueScript.Run(ctx, r.st.Conn(), []string{codeKey, cdKey, lockKey},
		rec, now.UnixMilli(), ms(life), ms(cooldown), ms(gcSlack)).Int64()
	if err != nil {
		return 0, redisDown("issue code", err)
	}
	return time.Duration(left) * time.Millisecond, nil
}

func (r *redisCodes) reissue(ctx context.Context, codeKey, cdKey, lockKey, hash string, now time.Time, life, cooldown time.Duration) (time.Duration, bool, error) {
	left, err := reissueScript.Run(ctx, r.st.Conn(), []string{codeKey, cdKey, lockKey},
		hash, now.UnixMilli(), ms(life), ms(cooldown), ms(gcSlack)).Int64()
	if err != nil {
		return 0, false, redisDown("reissue code", err)
	}
	if left < 0 {
		return 0, false, nil
	}
	return time.Duration(left) * time.Millisecond, true, nil
}

func (r *redisCodes) cooldownLeft(ctx context.Context, cdKey, lockKey string, now time.Time) (time.Duration, error) {
	// One slot ({email}), so one MGET even on a cluster.
	vals, err := r.st.Conn().MGet(ctx, cdKey, lockKey).Result()
	if err != nil {
		return 0, redisDown("read cooldown", err)
	}
	var left time.Duration
	for _, v := range vals {
		s, _ := v.(string)
		until, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			continue // missing, or not ours to judge: a malformed value does not cool anything
		}
		left = max(left, msLeft(until, now))
	}
	return left, nil
}

func (r *redisCodes) peek(ctx context.Context, codeKey string, now time.Time) ([]byte, bool, error) {
	raw, err := r.st.GetWithContext(ctx, codeKey)
	if err != nil {
		return nil, false, redisDown("read code", err)
	}
	if raw == nil {
		return nil, false, nil
	}
	var rec codeRecord
	if err := json.Unmarshal(raw, &rec); err != nil {
		return nil, false, fmt.Errorf("peek code: decode record: %w", err)
	}
	if rec.ExpiresAt <= now.UnixMilli() {
		return nil, false, nil
	}
	return rec.Payload, true, nil
}

func (r *redisCodes) startCooldown(ctx context.Context, cdKey string, now time.Time, cooldown time.Duration) (time.Duration, error) {
	left, err := startCooldownScript.Run(ctx, r.st.Conn(), []string{cdKey},
		now.UnixMilli(), ms(cooldown), ms(gcSlack)).Int64()
	if err != nil {
		return 0, redisDown("start cooldown", err)
	}
	return time.Duration(left) * time.Millisecond, nil
}

func (r *redisCodes) check(ctx context.Context, codeKey, hash string, b budgetArgs, now time.Time, mode checkMode, maxAttempts int, resetTTL time.Duration) (checkResult, []byte, time.Duration, error) {
	reply, err := checkScript.Run(ctx, r.st.Conn(), []string{codeKey, b.logKey, b.lockKey},
		hash, now.UnixMilli(), int(mode), maxAttempts, ms(resetTTL), ms(gcSlack), b.id, b.limit, ms(b.window)).Slice()
	if err != nil {
		return resMissing, nil, 0, redisDown("check code", err)
	}
	if len(reply) < 2 {
		return resMissing, nil, 0, fmt.Errorf("check code: unexpected script reply %v", reply)
	}
	status, ok1 := reply[0].(int64)
	lockMs, ok2 := reply[1].(int64)
	if !ok1 || !ok2 {
		return resMissing, nil, 0, fmt.Errorf("check code: unexpected script reply %v", reply)
	}
	res, lock := checkResult(status), time.Duration(lockMs)*time.Millisecond
	if res != resOK || len(reply) < 3 {
		return res, nil, lock, nil
	}
	raw, _ := reply[2].(string)
	var rec codeRecord
	if err := json.Unmarshal([]byte(raw), &rec); err != nil {
		return resMissing, nil, 0, fmt.Errorf("check code: decode record: %w", err)
	}
	return resOK, rec.Payload, 0, nil
}

func (r *redisCodes) discard(ctx context.Context, codeKey, cdKey string) error {
	if err := r.st.DeleteWithContext(ctx, codeKey); err != nil {
		return redisDown("discard code", err)
	}
	if err := r.st.DeleteWithContext(ctx, cdKey); err != nil {
		return redisDown("discard cooldown", err)
	}
	return nil
}

func (r *redisCodes) ping(ctx context.Context) error {
	if err := r.st.Conn().Ping(ctx).Err(); err != nil {
		return redisDown("ping", err)
	}
	return nil
}

func (r *redisCodes) restore(ctx context.Context, codeKey string, rec []byte, now time.Time, life time.Duration) (bool, error) {
	n, err := restoreScript.Run(ctx, r.st.Conn(), []string{codeKey}, rec, now.UnixMilli(), ms(life), ms(gcSlack)).Int64()
	if err != nil {
		return false, redisDown("restore code", err)
	}
	return n == 1, nil
}
