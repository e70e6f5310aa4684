package storage

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	redisstore "github.com/gofiber/storage/redis/v3"
	"github.com/redis/go-redis/v9"

	"github.com/acme/accounts/models"
)

// fakeClock is the injected clock; tests move it instead of sleeping.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// eventLog records OnEvent calls.
type eventLog struct {
	mu     sync.Mutex
	events []string
}

func (l *eventLog) record(purpose, event string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, purpose+":"+event)
}

func (l *eventLog) count(e string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, x := range l.events {
		if x == e {
			n++
		}
	}
	return n
}

// codesFixture is one Codes under test plus a view of its raw store.
type codesFixture struct {
	codes  *Codes
	clock  *fakeClock
	events *eventLog
	prefix string
	raw    func(key string) []byte
}

// codesFactory builds a fixture; opts.Now, OnEvent and Prefix are filled in.
type codesFactory func(t *testing.T, opts CodeOptions) *codesFixture

func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func prepare(t *testing.T, opts CodeOptions) (CodeOptions, *fakeClock, *eventLog) {
	clock, events := newFakeClock(), &eventLog{}
	opts.Now = clock.Now
	opts.OnEvent = events.record
	opts.Prefix = "storagetest:" + randomHex(t, 6) + ":"
	if opts.Secret == nil {
		opts.Secret = []byte("test-secret-test-secret-test-secret")
	}
	return opts, clock, events
}

func memoryFactory(t *testing.T, opts CodeOptions) *codesFixture {
	opts, clock, events := prepare(t, opts)
	c := NewMemoryCodes(opts)
	mem := c.be.(*memoryCodes)
	return &codesFixture{codes: c, clock: clock, events: events, prefix: opts.Prefix, raw: func(key string) []byte {
		mem.mu.Lock()
		defer mem.mu.Unlock()
		return mem.items[key].val
	}}
}

// testRedisClient connects to TEST_REDIS_URL or skips the test.
func testRedisClient(t *testing.T) *redis.Client {
	t.Helper()
	url := os.Getenv("TEST_REDIS_URL")
	if url == "" {
		t.Skip("TEST_REDIS_URL is not set (e.g. redis://127.0.0.1:6379/0); skipping Redis tests")
	}
	o, err := redis.ParseURL(url)
	if err != nil {
		t.Fatalf("TEST_REDIS_URL: %v", err)
	}
	client := redis.NewClient(o)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := client.Ping(ctx).Err(); err != nil {
		t.Fatalf("ping %s: %v", url, err)
	}
	t.Cleanup(func() { _ = client.Close() })
	return client
}

func redisFactory(t *testing.T, opts CodeOptions) *codesFixture {
	client := testRedisClient(t)
	opts, clock, events := prepare(t, opts)
	t.Cleanup(func() {
		// Only this test's keys: the Redis is shared, never flush it.
		ctx := context.Background()
		iter := client.Scan(ctx, 0, opts.Prefix+"*", 100).Iterator()
		for iter.Next(ctx) {
			client.Del(ctx, iter.Val())
		}
	})
	c := NewRedisCodes(redisstore.NewFromConnection(client), opts)
	return &codesFixture{codes: c, clock: clock, events: events, prefix: opts.Prefix, raw: func(key string) []byte {
		b, err := client.Get(context.Background(), key).Bytes()
		if err != nil {
			return nil
		}
		return b
	}}
}

func TestMemoryCodes(t *testing.T) { runCodesContract(t, memoryFactory) }

func TestRedisCodes(t *testing.T) {
	testRedisClient(t) // skip early, once, when Redis is not configured
	runCodesContract(t, redisFactory)
}

const (
	email  = "ada@example.com"
	email2 = "bob@example.com"
)

var sixDigits = regexp.MustCompile(`^[0-9]{6}$`)

func mustIssue(t *testing.T, f *codesFixture, purpose, email string, payload []byte) string {
	t.Helper()
	code, err := f.codes.Issue(context.Background(), purpose, email, payload)
	if err != nil {
		t.Fatalf("Issue(%s, %s): %v", purpose, email, err)
	}
	if !sixDigits.MatchString(code) {
		t.Fatalf("code %q is not 6 digits", code)
	}
	return code
}

func wantInvalid(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, models.ErrInvalidCode) {
		t.Fatalf("err = %v, want ErrInvalidCode", err)
	}
}

// wrongTries makes n wrong Consume attempts at code, each refused.
func wrongTries(t *testing.T, f *codesFixture, purpose, email, code string, n int) {
	t.Helper()
	for range n {
		_, err := f.codes.Consume(context.Background(), purpose, email, wrongCode(code))
		wantInvalid(t, err)
	}
}

func wantRateLimited(t *testing.T, err error, retry time.Duration) {
	t.Helper()
	var rl *models.RateLimitError
	if !errors.As(err, &rl) {
		t.Fatalf("err = %v, want *RateLimitError", err)
	}
	if rl.RetryAfter != retry {
		t.Fatalf("RetryAfter = %s, want %s", rl.RetryAfter, retry)
	}
}

// wrongCode returns a 6-digit code different from code.
func wrongCode(code string) string {
	if code == "000000" {
		return "000001"
	}
	return "000000"
}

// codesCase is one rule of the code-store contract, run on a fresh fixture
// built with opts.
type codesCase struct {
	name string
	opts CodeOptions
	run  func(t *testing.T, f *codesFixture)
}

// codesCases are the rules every code store keeps, memory or Redis.
func codesCases() []codesCase {
	ctx := context.Background()
	base := CodeOptions{TTL: 10 * time.Minute, ResetTTL: 30 * time.Minute, MaxAttempts: 3}
	cooldown := base
	cooldown.Cooldown = time.Minute
	return []codesCase{
		{"issue then consume once", base, func(t *testing.T, f *codesFixture) {
			code := mustIssue(t, f, "register", email, []byte(`{"first_name":"Ada"}`))
			got, err := f.codes.Consume(ctx, "register", email, code)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != `{"first_name":"Ada"}` {
				t.Fatalf("payload = %q", got)
			}
			_, err = f.codes.Consume(ctx, "register", email, code)
			wantInvalid(t, err)
			if f.events.count("register:issued") != 1 || f.events.count("register:verified") != 1 || f.events.count("register:failed") != 1 {
				t.Fatalf("events = %v", f.events.events)
			}
		}},
		{"nil payload", base, func(t *testing.T, f *codesFixture) {
			code := mustIssue(t, f, "login", email, nil)
			got, err := f.codes.Consume(ctx, "login", email, code)
			if err != nil || len(got) != 0 {
				t.Fatalf("Consume = %q, %v", got, err)
			}
		}},
		{"new code replaces the old one", base, func(t *testing.T, f *codesFixture) {
			first := mustIssue(t, f, "login", email, nil)
			second := mustIssue(t, f, "login", email, nil)
			if first != second {
				_, err := f.codes.Consume(ctx, "login", email, first)
				wantInvalid(t, err)
			}
			if _, err := f.codes.Consume(ctx, "login", email, second); err != nil {
				t.Fatal(err)
			}
		}},
		{"wrong codes count until destroyed", base, func(t *testing.T, f *codesFixture) {
			code := mustIssue(t, f, "login", email, nil)
			wrongTries(t, f, "login", email, code, base.MaxAttempts-1)
			if f.raw(f.prefix+"code:login:{"+email+"}") == nil {
				t.Fatal("record gone before MaxAttempts")
			}
			_, err := f.codes.Consume(ctx, "login", email, wrongCode(code))
			wantInvalid(t, err)
			if f.raw(f.prefix+"code:login:{"+email+"}") != nil {
				t.Fatal("record still stored after MaxAttempts")
			}
			_, err = f.codes.Consume(ctx, "login", email, code)
			wantInvalid(t, err)
			if n := f.events.count("login:destroyed"); n != 1 {
				t.Fatalf("destroyed events = %d, want 1", n)
			}
			if n := f.events.count("login:failed"); n != base.MaxAttempts+1 {
				t.Fatalf("failed events = %d, want %d", n, base.MaxAttempts+1)
			}
		}},
		{"right code after some wrong ones", base, func(t *testing.T, f *codesFixture) {
			code := mustIssue(t, f, "login", email, nil)
			wrongTries(t, f, "login", email, code, base.MaxAttempts-1)
			if _, err := f.codes.Consume(ctx, "login", email, code); err != nil {
				t.Fatal(err)
			}
		}},
		{"code for one email never verifies another", base, func(t *testing.T, f *codesFixture) {
			codeA := mustIssue(t, f, "login", email, nil)
			codeB := mustIssue(t, f, "login", email2, nil)
			for codeB == codeA {
				codeB = mustIssue(t, f, "login", email2, nil)
			}
			_, err := f.codes.Consume(ctx, "login", email2, codeA)
			wantInvalid(t, err)
			if _, err := f.codes.Consume(ctx, "login", email, codeA); err != nil {
				t.Fatal(err)
			}
			if _, err := f.codes.Consume(ctx, "login", email2, codeB); err != nil {
				t.Fatal(err)
			}
		}},
		{"purposes are isolated", base, func(t *testing.T, f *codesFixture) {
			code := mustIssue(t, f, "register", email, []byte("p"))
			_, err := f.codes.Consume(ctx, "login", email, code)
			wantInvalid(t, err)
			_, err = f.codes.Consume(ctx, "admin_login", email, code)
			wantInvalid(t, err)
			if _, err := f.codes.Consume(ctx, "register", email, code); err != nil {
				t.Fatal(err)
			}
		}},
		{"expiry follows the injected clock", base, func(t *testing.T, f *codesFixture) {
			code := mustIssue(t, f, "login", email, nil)
			f.clock.Advance(base.TTL - time.Millisecond)
			if err := f.codes.MarkVerified(ctx, "login", email, wrongCode(code)); !errors.Is(err, models.ErrInvalidCode) {
				t.Fatalf("wrong code just before expiry: %v", err)
			}
			f.clock.Advance(time.Millisecond)
			_, err := f.codes.Consume(ctx, "login", email, code)
			wantInvalid(t, err)

			code = mustIssue(t, f, "login", email, nil)
			f.clock.Advance(base.TTL - time.Millisecond)
			if _, err := f.codes.Consume(ctx, "login", email, code); err != nil {
				t.Fatalf("code just before expiry: %v", err)
			}
		}},
		{"cooldown rate limits issue and stores nothing", cooldown, func(t *testing.T, f *codesFixture) {
			code := mustIssue(t, f, "login", email, nil)
			_, err := f.codes.Issue(ctx, "login", email, nil)
			wantRateLimited(t, err, time.Minute)

			f.clock.Advance(20 * time.Second)
			left, err := f.codes.CooldownLeft(ctx, "login", email)
			if err != nil || left != 40*time.Second {
				t.Fatalf("CooldownLeft = %s, %v; want 40s", left, err)
			}
			_, err = f.codes.Issue(ctx, "login", email, nil)
			wantRateLimited(t, err, 40*time.Second)
			if n := f.events.count("login:issued"); n != 1 {
				t.Fatalf("issued events = %d, want 1", n)
			}

			// Other purposes and emails have their own cooldown.
			mustIssue(t, f, "register", email, nil)
			mustIssue(t, f, "login", email2, nil)

			// The refused issues stored nothing: the first code still works.
			if _, err := f.codes.Consume(ctx, "login", email, code); err != nil {
				t.Fatal(err)
			}
			// Consuming does not end the cooldown.
			_, err = f.codes.Issue(ctx, "login", email, nil)
			wantRateLimited(t, err, 40*time.Second)

			f.clock.Advance(40 * time.Second)
			left, err = f.codes.CooldownLeft(ctx, "login", email)
			if err != nil || left != 0 {
				t.Fatalf("CooldownLeft after cooldown = %s, %v", left, err)
			}
			mustIssue(t, f, "login", email, nil)
		}},
		{"zero cooldown is off", base, func(t *testing.T, f *codesFixture) {
			mustIssue(t, f, "login", email, nil)
			mustIssue(t, f, "login", email, nil)
			left, err := f.codes.StartCooldown(ctx, "password", email)
			if err != nil || left != 0 {
				t.Fatalf("StartCooldown = %s, %v", left, err)
			}
			left, err = f.codes.CooldownLeft(ctx, "login", email)
			if err != nil || left != 0 {
				t.Fatalf("CooldownLeft = %s, %v", left, err)
			}
			if _, err := f.codes.Reissue(ctx, "login", email); err != nil {
				t.Fatal(err)
			}
			if f.raw(f.prefix+"cooldown:login:{"+email+"}") != nil {
				t.Fatal("cooldown key stored although cooldown is off")
			}
		}},
		{"start cooldown alone", cooldown, func(t *testing.T, f *codesFixture) {
			left, err := f.codes.StartCooldown(ctx, "password", email)
			if err != nil || left != 0 {
				t.Fatalf("first StartCooldown = %s, %v", left, err)
			}
			f.clock.Advance(15 * time.Second)
			left, err = f.codes.StartCooldown(ctx, "password", email)
			if err != nil || left != 45*time.Second {
				t.Fatalf("second StartCooldown = %s, %v; want 45s", left, err)
			}
			// It was not restarted by the second call.
			f.clock.Advance(15 * time.Second)
			left, _ = f.codes.CooldownLeft(ctx, "password", email)
			if left != 30*time.Second {
				t.Fatalf("CooldownLeft = %s, want 30s", left)
			}
			_, err = f.codes.Issue(ctx, "password", email, nil)
			wantRateLimited(t, err, 30*time.Second)
			if f.raw(f.prefix+"code:password:{"+email+"}") != nil {
				t.Fatal("StartCooldown or a refused Issue stored a code")
			}
			f.clock.Advance(30 * time.Second)
			mustIssue(t, f, "password", email, nil)
		}},
		{"reissue keeps payload and resets attempts", cooldown, func(t *testing.T, f *codesFixture) {
			opts := cooldown
			old := mustIssue(t, f, "register", email, []byte(`{"pending":true}`))
			for i := 0; i < opts.MaxAttempts-1; i++ {
				_, err := f.codes.Consume(ctx, "register", email, wrongCode(old))
				wantInvalid(t, err)
			}
			_, err := f.codes.Reissue(ctx, "register", email)
			wantRateLimited(t, err, time.Minute)

			f.clock.Advance(time.Minute)
			code, err := f.codes.Reissue(ctx, "register", email)
			if err != nil {
				t.Fatal(err)
			}
			if !sixDigits.MatchString(code) {
				t.Fatalf("code %q is not 6 digits", code)
			}
			_, err = f.codes.Reissue(ctx, "register", email)
			wantRateLimited(t, err, time.Minute)

			// The life is renewed from the reissue, not from the first issue.
			f.clock.Advance(opts.TTL - time.Millisecond)
			// Attempts were reset: MaxAttempts-1 wrong tries do not destroy it.
			for i := 0; i < opts.MaxAttempts-1; i++ {
				bad := wrongCode(code)
				if i == 0 && old != code {
					bad = old // the replaced code is wrong now
				}
				_, err := f.codes.Consume(ctx, "register", email, bad)
				wantInvalid(t, err)
			}
			got, err := f.codes.Consume(ctx, "register", email, code)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != `{"pending":true}` {
				t.Fatalf("payload = %q", got)
			}
			if n := f.events.count("register:issued"); n != 2 {
				t.Fatalf("issued events = %d, want 2", n)
			}
		}},
		{"reissue with nothing pending", base, func(t *testing.T, f *codesFixture) {
			_, err := f.codes.Reissue(ctx, "register", email)
			wantInvalid(t, err)

			code := mustIssue(t, f, "register", email, nil)
			if _, err := f.codes.Consume(ctx, "register", email, code); err != nil {
				t.Fatal(err)
			}
			_, err = f.codes.Reissue(ctx, "register", email)
			wantInvalid(t, err)

			mustIssue(t, f, "register", email, nil)
			f.clock.Advance(base.TTL)
			_, err = f.codes.Reissue(ctx, "register", email)
			wantInvalid(t, err)
			if f.raw(f.prefix+"code:register:{"+email+"}") != nil {
				t.Fatal("reissue revived an expired code")
			}
		}},
		{"reissue with nothing pending does not start the cooldown", cooldown, func(t *testing.T, f *codesFixture) {
			_, err := f.codes.Reissue(ctx, "login", email)
			wantInvalid(t, err)
			mustIssue(t, f, "login", email, nil)
		}},
		{"mark verified then consume verified", base, func(t *testing.T, f *codesFixture) {
			code := mustIssue(t, f, "password", email, nil)

			// A right but unverified code fails without using up attempts.
			for i := 0; i < base.MaxAttempts+1; i++ {
				_, err := f.codes.ConsumeVerified(ctx, "password", email, code)
				wantInvalid(t, err)
			}
			wantInvalid(t, f.codes.MarkVerified(ctx, "password", email, wrongCode(code)))
			if err := f.codes.MarkVerified(ctx, "password", email, code); err != nil {
				t.Fatal(err)
			}
			// Verified codes outlive CODE_TTL: they last ResetTTL from verification.
			f.clock.Advance(base.TTL + time.Minute)
			_, err := f.codes.ConsumeVerified(ctx, "password", email, wrongCode(code))
			wantInvalid(t, err)
			if _, err := f.codes.ConsumeVerified(ctx, "password", email, code); err != nil {
				t.Fatal(err)
			}
			_, err = f.codes.ConsumeVerified(ctx, "password", email, code)
			wantInvalid(t, err)
		}},
		{"verified code expires after reset ttl", base, func(t *testing.T, f *codesFixture) {
			code := mustIssue(t, f, "password", email, nil)
			if err := f.codes.MarkVerified(ctx, "password", email, code); err != nil {
				t.Fatal(err)
			}
			f.clock.Advance(base.ResetTTL)
			_, err := f.codes.ConsumeVerified(ctx, "password", email, code)
			wantInvalid(t, err)
		}},
		{"wrong tries while verified still count", base, func(t *testing.T, f *codesFixture) {
			code := mustIssue(t, f, "password", email, nil)
			if err := f.codes.MarkVerified(ctx, "password", email, code); err != nil {
				t.Fatal(err)
			}
			for i := 0; i < base.MaxAttempts; i++ {
				_, err := f.codes.ConsumeVerified(ctx, "password", email, wrongCode(code))
				wantInvalid(t, err)
			}
			_, err := f.codes.ConsumeVerified(ctx, "password", email, code)
			wantInvalid(t, err)
		}},
		{"reissue clears verified", base, func(t *testing.T, f *codesFixture) {
			code := mustIssue(t, f, "password", email, nil)
			if err := f.codes.MarkVerified(ctx, "password", email, code); err != nil {
				t.Fatal(err)
			}
			code, err := f.codes.Reissue(ctx, "password", email)
			if err != nil {
				t.Fatal(err)
			}
			_, err = f.codes.ConsumeVerified(ctx, "password", email, code)
			wantInvalid(t, err)
			if err := f.codes.MarkVerified(ctx, "password", email, code); err != nil {
				t.Fatal(err)
			}
			if _, err := f.codes.ConsumeVerified(ctx, "password", email, code); err != nil {
				t.Fatal(err)
			}
		}},
		{"discard removes code and cooldown", cooldown, func(t *testing.T, f *codesFixture) {
			code := mustIssue(t, f, "login", email, nil)
			if err := f.codes.Discard(ctx, "login", email); err != nil {
				t.Fatal(err)
			}
			_, err := f.codes.Consume(ctx, "login", email, code)
			wantInvalid(t, err)
			left, err := f.codes.CooldownLeft(ctx, "login", email)
			if err != nil || left != 0 {
				t.Fatalf("CooldownLeft after Discard = %s, %v", left, err)
			}
			mustIssue(t, f, "login", email, nil)
			if err := f.codes.Discard(ctx, "login", email2); err != nil {
				t.Fatalf("Discard of nothing: %v", err)
			}
		}},
		{"restore puts a consumed code back", base, func(t *testing.T, f *codesFixture) {
			code := mustIssue(t, f, "register", email, []byte(`{"first_name":"Ada"}`))
			// Wrong tries before the consume do not follow the code back.
			wrongTries(t, f, "register", email, code, base.MaxAttempts-1)
			payload, err := f.codes.Consume(ctx, "register", email, code)
			if err != nil {
				t.Fatal(err)
			}
			if ok, err := f.codes.Restore(ctx, "register", email, code, payload, false); err != nil || !ok {
				t.Fatalf("Restore = %v, %v", ok, err)
			}
			wrongTries(t, f, "register", email, code, base.MaxAttempts-1)
			got, err := f.codes.Consume(ctx, "register", email, code)
			if err != nil || string(got) != `{"first_name":"Ada"}` {
				t.Fatalf("Consume after Restore = %q, %v", got, err)
			}
			// The restored code lives a fresh TTL, by the injected clock.
			if _, err := f.codes.Restore(ctx, "register", email, code, payload, false); err != nil {
				t.Fatal(err)
			}
			f.clock.Advance(base.TTL + time.Second)
			_, err = f.codes.Consume(ctx, "register", email, code)
			wantInvalid(t, err)
		}},
		{"restore never replaces a newer code", base, func(t *testing.T, f *codesFixture) {
			old := mustIssue(t, f, "login", email, nil)
			if _, err := f.codes.Consume(ctx, "login", email, old); err != nil {
				t.Fatal(err)
			}
			fresh := mustIssue(t, f, "login", email, nil)
			if ok, err := f.codes.Restore(ctx, "login", email, old, nil, false); err != nil || ok {
				t.Fatalf("Restore over a live code = %v, %v", ok, err)
			}
			if old != fresh {
				_, err := f.codes.Consume(ctx, "login", email, old)
				wantInvalid(t, err)
			}
			if _, err := f.codes.Consume(ctx, "login", email, fresh); err != nil {
				t.Fatalf("the newer code stopped working: %v", err)
			}
		}},
		{"restore keeps a verified code verified", base, func(t *testing.T, f *codesFixture) {
			code := mustIssue(t, f, "password", email, nil)
			if err := f.codes.MarkVerified(ctx, "password", email, code); err != nil {
				t.Fatal(err)
			}
			if _, err := f.codes.ConsumeVerified(ctx, "password", email, code); err != nil {
				t.Fatal(err)
			}
			if ok, err := f.codes.Restore(ctx, "password", email, code, nil, true); err != nil || !ok {
				t.Fatalf("Restore = %v, %v", ok, err)
			}
			f.clock.Advance(base.TTL + time.Minute) // verified codes last ResetTTL
			if _, err := f.codes.ConsumeVerified(ctx, "password", email, code); err != nil {
				t.Fatalf("ConsumeVerified after Restore: %v", err)
			}
		}},
		{"parallel consume succeeds exactly once", base, func(t *testing.T, f *codesFixture) {
			code := mustIssue(t, f, "login", email, []byte("once"))
			var wins, invalid atomic.Int32
			var wg sync.WaitGroup
			start := make(chan struct{})
			for range 20 {
				wg.Go(func() {
					<-start
					_, err := f.codes.Consume(ctx, "login", email, code)
					switch {
					case err == nil:
						wins.Add(1)
					case errors.Is(err, models.ErrInvalidCode):
						invalid.Add(1)
					default:
						t.Errorf("Consume: %v", err)
					}
				})
			}
			close(start)
			wg.Wait()
			if wins.Load() != 1 || invalid.Load() != 19 {
				t.Fatalf("wins = %d, invalid = %d; want 1 and 19", wins.Load(), invalid.Load())
			}
		}},
		{"stored value holds a keyed hash, not the code", cooldown, func(t *testing.T, f *codesFixture) {
			code := mustIssue(t, f, "register", email, []byte(`{"x":1}`))
			raw := f.raw(f.prefix + "code:register:{" + email + "}")
			if raw == nil {
				t.Fatalf("no value at %q", f.prefix+"code:register:{"+email+"}")
			}
			if strings.Contains(string(raw), code) {
				t.Fatalf("stored value %s contains the code %s", raw, code)
			}
			if !strings.Contains(string(raw), f.codes.hash("register", email, code)) {
				t.Fatalf("stored value %s lacks the keyed hash", raw)
			}
			if f.raw(f.prefix+"cooldown:register:{"+email+"}") == nil {
				t.Fatal("no cooldown key")
			}
			// Another secret gives another hash: the hash is keyed.
			other := NewMemoryCodes(CodeOptions{Secret: []byte("another secret")})
			if other.hash("register", email, code) == f.codes.hash("register", email, code) {
				t.Fatal("hash does not depend on the secret")
			}
		}},
	}
}

// runCodesContract runs every case in parallel, each on its own fixture.
func runCodesContract(t *testing.T, newFixture codesFactory) {
	for _, c := range codesCases() {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.run(t, newFixture(t, c.opts))
		})
	}
}

func TestCodesAreUniformDigits(t *testing.T) {
	seen := map[byte]int{}
	for range 2000 {
		c, err := newCode()
		if err != nil {
			t.Fatal(err)
		}
		if !sixDigits.MatchString(c) {
			t.Fatalf("code %q", c)
		}
		for i := range len(c) {
			seen[c[i]]++
		}
	}
	// 12000 digits: each of the 10 should appear about 1200 times.
	for d := byte('0'); d <= '9'; d++ {
		if seen[d] < 900 || seen[d] > 1500 {
			t.Fatalf("digit %c seen %d times in 12000", d, seen[d])
		}
	}
}

func TestMemoryCodesSweepsDeadEntries(t *testing.T) {
	f := memoryFactory(t, CodeOptions{TTL: time.Minute})
	ctx := context.Background()
	for i := range sweepEvery {
		mustIssue(t, f, "login", fmt.Sprintf("user%d@example.com", i), nil)
	}
	f.clock.Advance(time.Minute + gcSlack)
	for range sweepEvery {
		if _, err := f.codes.Issue(ctx, "login", "same@example.com", nil); err != nil {
			t.Fatal(err)
		}
	}
	mem := f.codes.be.(*memoryCodes)
	mem.mu.Lock()
	defer mem.mu.Unlock()
	if len(mem.items) > 1 {
		t.Fatalf("%d entries left after the sweep, want 1", len(mem.items))
	}
}

func TestRedisCodesUnavailable(t *testing.T) {
	client := redis.NewClient(&redis.Options{
		Addr:        "127.0.0.1:1", // nothing listens here
		DialTimeout: 500 * time.Millisecond,
		MaxRetries:  -1,
	})
	t.Cleanup(func() { _ = client.Close() })
	c := NewRedisCodes(redisstore.NewFromConnection(client), CodeOptions{Secret: []byte("s"), Cooldown: time.Minute})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	calls := map[string]func() error{
		"Issue":   func() error { _, err := c.Issue(ctx, "login", email, nil); return err },
		"Reissue": func() error { _, err := c.Reissue(ctx, "login", email); return err },
		"CooldownLeft": func() error {
			_, err := c.CooldownLeft(ctx, "login", email)
			return err
		},
		"StartCooldown": func() error {
			_, err := c.StartCooldown(ctx, "login", email)
			return err
		},
		"Consume": func() error { _, err := c.Consume(ctx, "login", email, "123456"); return err },
		"MarkVerified": func() error {
			return c.MarkVerified(ctx, "password", email, "123456")
		},
		"ConsumeVerified": func() error {
			_, err := c.ConsumeVerified(ctx, "password", email, "123456")
			return err
		},
		"Discard": func() error { return c.Discard(ctx, "login", email) },
		"Ping":    func() error { return c.Ping(ctx) },
	}
	for name, call := range calls {
		err := call()
		if !errors.Is(err, models.ErrUnavailable) {
			t.Errorf("%s: err = %v, want ErrUnavailable", name, err)
		}
		var ue *models.UnavailableError
		if errors.As(err, &ue) && ue.Dependency != "redis" {
			t.Errorf("%s: dependency = %q, want redis", name, ue.Dependency)
		}
	}

	// A context that expires mid-call is an outage too, not a panic.
	expired, cancel2 := context.WithTimeout(context.Background(), time.Nanosecond)
	defer cancel2()
	<-expired.Done()
	if _, err := c.Consume(expired, "login", email, "123456"); !errors.Is(err, models.ErrUnavailable) {
		t.Errorf("Consume with an expired context: %v", err)
	}
}
