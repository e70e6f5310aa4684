package storage

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"time"

	"github.com/acme/accounts/models"
)

// Defaults used when a CodeOptions field is left zero.
const (
	DefaultCodeTTL     = 10 * time.Minute
	DefaultResetTTL    = 30 * time.Minute
	DefaultMaxAttempts = 5
)

// gcSlack is added to every real expiry (Redis PX, memory sweep) so that the
// logical expiry stored in the record, judged against the injected clock,
// always decides first and the store only collects garbage afterwards.
const gcSlack = time.Minute

// Code events passed to CodeOptions.OnEvent.
const (
	EventIssued    = "issued"
	EventVerified  = "verified"
	EventFailed    = "failed"
	EventDestroyed = "destroyed"
)

// CodeOptions configures Codes. Zero TTL, ResetTTL, MaxAttempts,
// FailureBudget and FailureWindow take the Default* values; a zero Cooldown
// turns the cooldown off.
type CodeOptions struct {
	// Secret keys the hash of each code; only that hash is stored, so a leaked
	// store reveals no usable code. Every process sharing a store needs the
	// same Secret; when empty a random one is drawn, which only suits a single
	// process.
	Secret      []byte
	TTL         time.Duration // life of a fresh code (CODE_TTL)
	ResetTTL    time.Duration // life of a verified password code (RESET_TTL)
	MaxAttempts int           // wrong tries before the code is destroyed (CODE_MAX_ATTEMPTS)
	Cooldown    time.Duration // gap between two code mails (CODE_RESEND_COOLDOWN); 0 disables
	// FailureBudget wrong codes per email within FailureWindow, across every
	// purpose and every code, lock the email's codes for a FailureWindow
	// (CODE_FAILURE_BUDGET, CODE_FAILURE_WINDOW): new or resent codes bring
	// fresh attempts, so only a budget per email bounds the guesses.
	FailureBudget int
	FailureWindow time.Duration
	Prefix        string                      // key prefix, e.g. "acct:"
	Now           func() time.Time            // clock; nil means time.Now
	OnEvent       func(purpose, event string) // optional metrics hook: "issued", "verified", "failed", "destroyed"
}

// codeRecord is the stored value of one live code, as JSON. The Redis scripts
// read and write the same fields with cjson, so keep the tags short and stable.
type codeRecord struct {
	Hash      string `json:"h"`           // hex HMAC of purpose|email|code
	Attempts  int    `json:"a"`           // wrong tries so far
	Verified  bool   `json:"v"`           // set by MarkVerified
	ExpiresAt int64  `json:"x"`           // unix ms, judged against the injected clock
	Payload   []byte `json:"p,omitempty"` // opaque; base64 in JSON
}

// checkMode selects what a right code does to its record.
type checkMode int

const (
	modeConsume         checkMode = iota // delete, return payload
	modeMarkVerified                     // keep, set verified, extend to ResetTTL
	modeConsumeVerified                  // delete only if verified
)

// checkResult is the outcome of one atomic code check.
type checkResult int

const (
	resMissing    checkResult = iota // no live record
	resWrong                         // attempt counted
	resDestroyed                     // attempt counted and that was the last one
	resOK                            // right code, mode applied
	resUnverified                    // right code but not verified (modeConsumeVerified), nothing counted
	resLocked                        // the email's failure budget is spent: nothing checked
)

// budgetArgs is where a check counts its failures.
type budgetArgs struct {
	logKey, lockKey, id string
	limit               int
	window              time.Duration
}

// codeBackend is the atomic primitive set both backends implement. Every
// method is one atomic step so that races between requests cannot split a
// check from its update.
type codeBackend interface {
	// issue checks the failure lock (lockKey) and checks and starts the
	// cooldown (when cooldown > 0), then stores rec for life. When locked or
	// cooling it returns the time left and stores nothing.
	issue(ctx context.Context, codeKey, cdKey, lockKey string, rec []byte, now time.Time, life, cooldown time.Duration) (time.Duration, error)
	// reissue replaces the hash of a live record (attempts and verified reset,
	// life renewed, payload kept) after checking the lock and checking and
	// starting the cooldown. ok is false when no live record exists.
	reissue(ctx context.Context, codeKey, cdKey, lockKey, hash string, now time.Time, life, cooldown time.Duration) (left time.Duration, ok bool, err error)
	// cooldownLeft is the longer of the cooldown and the failure lock left.
	cooldownLeft(ctx context.Context, cdKey, lockKey string, now time.Time) (time.Duration, error)
	startCooldown(ctx context.Context, cdKey string, now time.Time, cooldown time.Duration) (time.Duration, error)
	// check answers resLocked (and the lock left) while the budget is locked;
	// otherwise a wrong code counts in the budget too, and lock is the new
	// lock's length when that failure spent it.
	check(ctx context.Context, codeKey, hash string, b budgetArgs, now time.Time, mode checkMode, maxAttempts int, resetTTL time.Duration) (res checkResult, payload []byte, lock time.Duration, err error)
	// peek returns the payload of the live record, nil when none.
	peek(ctx context.Context, codeKey string, now time.Time) ([]byte, bool, error)
	discard(ctx context.Context, codeKey, cdKey string) error
	// restore stores rec for life unless a live record is already there.
	restore(ctx context.Context, codeKey string, rec []byte, now time.Time, life time.Duration) (bool, error)
	ping(ctx context.Context) error
}

// Codes issues and checks one-time codes: one live code per (purpose, email),
// stored only as a keyed hash, with counted attempts and a resend cooldown.
// Emails are used as given; callers normalise them first.
type Codes struct {
	be   codeBackend
	opts CodeOptions
}

func newCodes(be codeBackend, opts CodeOptions) *Codes {
	if opts.TTL <= 0 {
		opts.TTL = DefaultCodeTTL
	}
	if opts.ResetTTL <= 0 {
		opts.ResetTTL = DefaultResetTTL
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = DefaultMaxAttempts
	}
	if opts.FailureBudget <= 0 {
		opts.FailureBudget = DefaultCodeFailureBudget
	}
	if opts.FailureWindow <= 0 {
		opts.FailureWindow = DefaultCodeFailureWindow
	}
	if opts.Cooldown < 0 {
		opts.Cooldown = 0
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if len(opts.Secret) == 0 {
		opts.Secret = make([]byte, 32)
		_, _ = rand.Read(opts.Secret) // never fails since Go 1.24
	}
	return &Codes{be: be, opts: opts}
}

// Issue starts a flow: it checks and starts the cooldown for (purpose, email)
// (when cooling: *models.RateLimitError and nothing stored), then stores a
// fresh code with payload, replacing any live one. It returns the plain code
// for the mail.
func (c *Codes) Issue(ctx context.Context, purpose, email string, payload []byte) (string, error) {
	code, err := newCode()
	if err != nil {
		return "", err
	}
	now := c.opts.Now()
	rec, err := json.Marshal(codeRecord{
		Hash:      c.hash(purpose, email, code),
		ExpiresAt: now.Add(c.opts.TTL).UnixMilli(),
		Payload:   payload,
	})
	if err != nil {
		return "", fmt.Errorf("encode code record: %w", err)
	}
	left, err := c.be.issue(ctx, c.codeKey(purpose, email), c.cooldownKey(purpose, email), c.lockKey(email), rec, now, c.opts.TTL, c.opts.Cooldown)
	if err != nil {
		return "", err
	}
	if left > 0 {
		return "", &models.RateLimitError{RetryAfter: left}
	}
	c.event(purpose, EventIssued)
	return code, nil
}

// Reissue backs the resend route: when a live code is pending for (purpose,
// email) it checks and starts the cooldown, then replaces the code with a
// fresh one, keeping the payload, resetting attempts and the verified flag and
// renewing the life. Nothing pending: models.ErrInvalidCode.
func (c *Codes) Reissue(ctx context.Context, purpose, email string) (string, error) {
	code, err := newCode()
	if err != nil {
		return "", err
	}
	left, ok, err := c.be.reissue(ctx, c.codeKey(purpose, email), c.cooldownKey(purpose, email), c.lockKey(email),
		c.hash(purpose, email, code), c.opts.Now(), c.opts.TTL, c.opts.Cooldown)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", models.ErrInvalidCode
	}
	if left > 0 {
		return "", &models.RateLimitError{RetryAfter: left}
	}
	c.event(purpose, EventIssued)
	return code, nil
}

// CooldownLeft reports how long (purpose, email) still cools down, or its
// code failure budget stays locked, changing nothing, so callers can refuse
// before expensive work. 0 when neither.
func (c *Codes) CooldownLeft(ctx context.Context, purpose, email string) (time.Duration, error) {
	return c.be.cooldownLeft(ctx, c.cooldownKey(purpose, email), c.lockKey(email), c.opts.Now())
}

// Pending returns the payload of the live code for (purpose, email), and
// whether there is one, changing nothing.
func (c *Codes) Pending(ctx context.Context, purpose, email string) ([]byte, bool, error) {
	return c.be.peek(ctx, c.codeKey(purpose, email), c.opts.Now())
}

// StartCooldown atomically starts only the cooldown, so that requests for
// unknown or inactive accounts cool down exactly like real ones (no answer
// reveals an account). When already cooling it returns the time left and does
// not restart it; otherwise it starts it and returns 0.
func (c *Codes) StartCooldown(ctx context.Context, purpose, email string) (time.Duration, error) {
	if c.opts.Cooldown == 0 {
		return 0, nil
	}
	return c.be.startCooldown(ctx, c.cooldownKey(purpose, email), c.opts.Now(), c.opts.Cooldown)
}

// Consume checks code for (purpose, email) and, when right, deletes the record
// and returns its payload. A wrong code counts an attempt and the record is
// destroyed at MaxAttempts. Every failure is models.ErrInvalidCode.
func (c *Codes) Consume(ctx context.Context, purpose, email, code string) ([]byte, error) {
	return c.check(ctx, purpose, email, code, modeConsume)
}

// MarkVerified checks code like Consume but on success keeps the record,
// marks it verified and gives it ResetTTL to live, for the password reset
// step that follows. ResetTTL runs from the first verify: verifying again
// does not extend it, or a code could be kept alive for ever.
func (c *Codes) MarkVerified(ctx context.Context, purpose, email, code string) error {
	_, err := c.check(ctx, purpose, email, code, modeMarkVerified)
	return err
}

// ConsumeVerified succeeds (deletes the record, returns the payload) only when
// code is right and was marked verified. A right but unverified code fails
// without counting an attempt; a wrong code counts one as in Consume.
func (c *Codes) ConsumeVerified(ctx context.Context, purpose, email, code string) ([]byte, error) {
	return c.check(ctx, purpose, email, code, modeConsumeVerified)
}

// Discard deletes the code and the cooldown for (purpose, email), used when
// the mail could not be sent so that nothing half-done remains.
func (c *Codes) Discard(ctx context.Context, purpose, email string) error {
	return c.be.discard(ctx, c.codeKey(purpose, email), c.cooldownKey(purpose, email))
}

// Restore puts back a code that Consume or ConsumeVerified took, with its
// payload and a fresh life (ResetTTL when verified), attempts reset, for when
// the step that followed failed on a dead dependency: the user retries with
// the code already in hand instead of starting over. A code issued since then
// wins: Restore changes nothing when one is live, and reports whether it
// restored. It starts no cooldown.
func (c *Codes) Restore(ctx context.Context, purpose, email, code string, payload []byte, verified bool) (bool, error) {
	now, life := c.opts.Now(), c.opts.TTL
	if verified {
		life = c.opts.ResetTTL
	}
	rec, err := json.Marshal(codeRecord{
		Hash:      c.hash(purpose, email, code),
		Verified:  verified,
		ExpiresAt: now.Add(life).UnixMilli(),
		Payload:   payload,
	})
	if err != nil {
		return false, fmt.Errorf("encode code record: %w", err)
	}
	return c.be.restore(ctx, c.codeKey(purpose, email), rec, now, life)
}

// Ping reports whether the backing store answers.
func (c *Codes) Ping(ctx context.Context) error {
	return c.be.ping(ctx)
}

// check runs one atomic check. While the email's code failure budget is
// locked every check, right code or not, is *models.TooManyAttemptsError;
// the wrong code that spends the budget is *models.BudgetExhaustedError
// (still an invalid code).
func (c *Codes) check(ctx context.Context, purpose, email, code string, mode checkMode) ([]byte, error) {
	b := budgetArgs{logKey: c.failKey(email), lockKey: c.lockKey(email), id: newID(),
		limit: c.opts.FailureBudget, window: c.opts.FailureWindow}
	res, payload, lock, err := c.be.check(ctx, c.codeKey(purpose, email), c.hash(purpose, email, code), b,
		c.opts.Now(), mode, c.opts.MaxAttempts, c.opts.ResetTTL)
	if err != nil {
		return nil, err
	}
	switch res {
	case resOK:
		c.event(purpose, EventVerified)
		return payload, nil
	case resLocked:
		return nil, &models.TooManyAttemptsError{RetryAfter: lock}
	case resDestroyed:
		c.event(purpose, EventFailed)
		c.event(purpose, EventDestroyed)
	default:
		c.event(purpose, EventFailed)
	}
	if lock > 0 {
		return nil, &models.BudgetExhaustedError{Lock: lock}
	}
	return nil, models.ErrInvalidCode
}

// hash is the keyed hash stored in place of the code. It binds purpose and
// email too, so a code can never be replayed for another flow or address.
func (c *Codes) hash(purpose, email, code string) string {
	m := hmac.New(sha256.New, c.opts.Secret)
	m.Write([]byte(purpose + "|" + email + "|" + code))
	return hex.EncodeToString(m.Sum(nil))
}

// Every key of an email carries it as a hash tag ({email}): the scripts
// that touch several of them then stay within one Redis Cluster slot.
func (c *Codes) codeKey(purpose, email string) string {
	return c.opts.Prefix + "code:" + purpose + ":{" + email + "}"
}

func (c *Codes) cooldownKey(purpose, email string) string {
	return c.opts.Prefix + "cooldown:" + purpose + ":{" + email + "}"
}

func (c *Codes) failKey(email string) string {
	return c.opts.Prefix + "codefail:{" + email + "}"
}

func (c *Codes) lockKey(email string) string {
	return c.opts.Prefix + "codelock:{" + email + "}"
}

func (c *Codes) event(purpose, event string) {
	if c.opts.OnEvent != nil {
		c.opts.OnEvent(purpose, event)
	}
}

var codeSpace = big.NewInt(1_000_000)

// newCode draws a uniform 6-digit code from crypto/rand (rand.Int rejects
// out-of-range samples, so there is no modulo bias).
func newCode() (string, error) {
	n, err := rand.Int(rand.Reader, codeSpace)
	if err != nil {
		return "", fmt.Errorf("draw code: %w", err)
	}
	return fmt.Sprintf("%06d", n.Int64()), nil
}

// hashesEqual compares two hex hashes in constant time, so the time taken
// reveals nothing about how much of a guess matched.
func hashesEqual(a, b string) bool {
	return hmac.Equal([]byte(a), []byte(b))
}

// msLeft converts a unix-ms deadline into the time left after now (never negative).
func msLeft(untilMs int64, now time.Time) time.Duration {
	d := time.Duration(untilMs-now.UnixMilli()) * time.Millisecond
	if d < 0 {
		return 0
	}
	return d
}
