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

// issueScript: KEYS code, cooldown; ARGV record, now, life, cooldown, slack.
// Returns the cooldown ms left (nothing stored) or 0.
var issueScript = redis.NewScript(luaHelpers + `
local now, life, cd, slack = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local left = take_cooldown(KEYS[2], now, cd, slack)
if left > 0 then return left end
redis.call('SET', KEYS[1], ARGV[1], 'PX', num(life + slack))
return 0
`)

// reissueScript: KEYS code, cooldown; ARGV hash, now, life, cooldown, slack.
// Returns -1 when nothing is pending, the cooldown ms left, or 0.
var reissueScript = redis.NewScript(luaHelpers + `
local now, life, cd, slack = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local raw = redis.call('GET', KEYS[1])
if not raw then return -1 end
local rec = cjson.decode(raw)
if tonumber(rec.x) <= now then
  redis.call('DEL', KEYS[1])
  return -1
end
local left = take_cooldown(KEYS[2], now, cd, slack)
if left > 0 then return left end
rec.h, rec.a, rec.v, rec.x = ARGV[1], 0, false, now + life
redis.call('SET', KEYS[1], cjson.encode(rec), 'PX', num(life + slack))
return 0
`)

// startCooldownScript: KEYS cooldown; ARGV now, cooldown, slack.
var startCooldownScript = redis.NewScript(luaHelpers + `
return take_cooldown(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]))
`)

// checkScript: KEYS code; ARGV hash, now, mode, max attempts, reset ttl, slack.
// Returns {checkResult} or, for a consumed record, {checkResult, record}.
// The numbers match the checkResult and checkMode constants.
var checkScript = redis.NewScript(luaHelpers + `
local now, mode, maxAttempts, resetTTL, slack =
  tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local raw = redis.call('GET', KEYS[1])
if not raw then return {0} end
local rec = cjson.decode(raw)
local exp = tonumber(rec.x)
if exp <= now then
  redis.call('DEL', KEYS[1])
  return {0}
end
if not same(rec.h, ARGV[1]) then
  rec.a = (tonumber(rec.a) or 0) + 1
  if rec.a >= maxAttempts then
    redis.call('DEL', KEYS[1])
    return {2}
  end
  redis.call('SET', KEYS[1], cjson.encode(rec), 'PX', num(exp - now + slack))
  return {1}
end
if mode == '1' then
  rec.v, rec.x = true, now + resetTTL
  redis.call('SET', KEYS[1], cjson.encode(rec), 'PX', num(resetTTL + slack))
  return {3}
end
if mode == '2' and rec.v ~= true then return {4} end
redis.call('DEL', KEYS[1])
return {3, raw}
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

func (r *redisCodes) issue(ctx context.Context, codeKey, cdKey string, rec []byte, now time.Time, life, cooldown time.Duration) (time.Duration, error) {
	left, err := issueScript.Run(ctx, r.st.Conn(), []string{codeKey, cdKey},
		rec, now.UnixMilli(), ms(life), ms(cooldown), ms(gcSlack)).Int64()
	if err != nil {
		return 0, redisDown("issue code", err)
	}
	return time.Duration(left) * time.Millisecond, nil
}

func (r *redisCodes) reissue(ctx context.Context, codeKey, cdKey, hash string, now time.Time, life, cooldown time.Duration) (time.Duration, bool, error) {
	left, err := reissueScript.Run(ctx, r.st.Conn(), []string{codeKey, cdKey},
		hash, now.UnixMilli(), ms(life), ms(cooldown), ms(gcSlack)).Int64()
	if err != nil {
		return 0, false, redisDown("reissue code", err)
	}
	if left < 0 {
		return 0, false, nil
	}
	return time.Duration(left) * time.Millisecond, true, nil
}

func (r *redisCodes) cooldownLeft(ctx context.Context, cdKey string, now time.Time) (time.Duration, error) {
	raw, err := r.st.GetWithContext(ctx, cdKey)
	if err != nil {
		return 0, redisDown("read cooldown", err)
	}
	if raw == nil {
		return 0, nil
	}
	until, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil {
		return 0, nil // not ours to judge; a malformed value does not cool anything
	}
	return msLeft(until, now), nil
}

func (r *redisCodes) startCooldown(ctx context.Context, cdKey string, now time.Time, cooldown time.Duration) (time.Duration, error) {
	left, err := startCooldownScript.Run(ctx, r.st.Conn(), []string{cdKey},
		now.UnixMilli(), ms(cooldown), ms(gcSlack)).Int64()
	if err != nil {
		return 0, redisDown("start cooldown", err)
	}
	return time.Duration(left) * time.Millisecond, nil
}

func (r *redisCodes) check(ctx context.Context, codeKey, hash string, now time.Time, mode checkMode, maxAttempts int, resetTTL time.Duration) (checkResult, []byte, error) {
	reply, err := checkScript.Run(ctx, r.st.Conn(), []string{codeKey},
		hash, now.UnixMilli(), int(mode), maxAttempts, ms(resetTTL), ms(gcSlack)).Slice()
	if err != nil {
		return resMissing, nil, redisDown("check code", err)
	}
	if len(reply) == 0 {
		return resMissing, nil, fmt.Errorf("check code: empty script reply")
	}
	status, ok := reply[0].(int64)
	if !ok {
		return resMissing, nil, fmt.Errorf("check code: unexpected script reply %v", reply)
	}
	res := checkResult(status)
	if res != resOK || len(reply) < 2 {
		return res, nil, nil
	}
	raw, _ := reply[1].(string)
	var rec codeRecord
	if err := json.Unmarshal([]byte(raw), &rec); err != nil {
		return resMissing, nil, fmt.Errorf("check code: decode record: %w", err)
	}
	return resOK, rec.Payload, nil
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
