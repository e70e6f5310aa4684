package storage

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/acme/accounts/models"
)

func TestMemoryCodeBudget(t *testing.T) { runCodeBudgetContract(t, memoryFactory) }

func TestRedisCodeBudget(t *testing.T) {
	testRedisClient(t)
	runCodeBudgetContract(t, redisFactory)
}

func wantTooMany(t *testing.T, err error) time.Duration {
	t.Helper()
	var tm *models.TooManyAttemptsError
	if !errors.As(err, &tm) {
		t.Fatalf("err = %v, want *TooManyAttemptsError", err)
	}
	return tm.RetryAfter
}

func runCodeBudgetContract(t *testing.T, newFixture codesFactory) {
	ctx := context.Background()
	base := CodeOptions{TTL: 10 * time.Minute, MaxAttempts: 5, FailureBudget: 4, FailureWindow: time.Hour}

	t.Run("wrong codes across purposes and codes spend one budget; then even the right code is refused", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, base)
		login := mustIssue(t, f, "login", email, nil)
		wrongTries(t, f, "login", email, login, 2)
		// A new code brings fresh attempts, but not a fresh budget.
		login = mustIssue(t, f, "login", email, nil)
		wrongTries(t, f, "login", email, login, 1)
		reset := mustIssue(t, f, "password", email, nil)
		err := f.codes.MarkVerified(ctx, "password", email, wrongCode(reset))
		var spent *models.BudgetExhaustedError
		if !errors.As(err, &spent) || !errors.Is(err, models.ErrInvalidCode) || spent.Lock != time.Hour {
			t.Fatalf("fourth wrong code: %v, want a BudgetExhaustedError of 1h that is an invalid code", err)
		}
		if left := wantTooMany(t, f.codes.MarkVerified(ctx, "password", email, reset)); left != time.Hour {
			t.Fatalf("retry after %s, want 1h", left)
		}
		_, err = f.codes.Consume(ctx, "login", email, login)
		wantTooMany(t, err)
		// Mailing a code is held as in a cooldown, whatever the purpose.
		_, err = f.codes.Issue(ctx, "register", email, nil)
		wantRateLimited(t, err, time.Hour)
		_, err = f.codes.Reissue(ctx, "login", email)
		wantRateLimited(t, err, time.Hour)
		if left, err := f.codes.CooldownLeft(ctx, "admin_login", email); err != nil || left != time.Hour {
			t.Fatalf("cooldown left %s, %v; want 1h", left, err)
		}
		// Another email is not touched.
		other := mustIssue(t, f, "login", email2, nil)
		if _, err := f.codes.Consume(ctx, "login", email2, other); err != nil {
			t.Fatalf("other email: %v", err)
		}
		// After the window the email gets codes again.
		f.clock.Advance(time.Hour)
		code := mustIssue(t, f, "login", email, nil)
		if _, err := f.codes.Consume(ctx, "login", email, code); err != nil {
			t.Fatalf("after the lock: %v", err)
		}
	})

	t.Run("the window slides: old failures stop counting", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, base)
		code := mustIssue(t, f, "login", email, nil)
		wrongTries(t, f, "login", email, code, 3)
		f.clock.Advance(time.Hour + time.Second)
		code = mustIssue(t, f, "login", email, nil)
		wrongTries(t, f, "login", email, code, 3)
		if _, err := f.codes.Consume(ctx, "login", email, code); err != nil {
			t.Fatalf("3 failures in the window, budget 4: %v", err)
		}
	})

	t.Run("racing wrong codes get no more than the budget through", func(t *testing.T) {
		t.Parallel()
		opts := base
		opts.MaxAttempts, opts.FailureBudget = 100, 10
		f := newFixture(t, opts)
		code := mustIssue(t, f, "login", email, nil)
		var (
			wg               sync.WaitGroup
			mu               sync.Mutex
			checked, refused int
		)
		for range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := f.codes.Consume(ctx, "login", email, wrongCode(code))
				var tm *models.TooManyAttemptsError
				mu.Lock()
				defer mu.Unlock()
				switch {
				case errors.As(err, &tm):
					refused++
				case errors.Is(err, models.ErrInvalidCode):
					checked++
				default:
					t.Errorf("unexpected: %v", err)
				}
			}()
		}
		wg.Wait()
		if checked != 10 || refused != 10 {
			t.Fatalf("checked %d, refused %d; want 10 and 10", checked, refused)
		}
	})

	t.Run("RESET_TTL runs from the first verify", func(t *testing.T) {
		t.Parallel()
		opts := base
		opts.ResetTTL = 30 * time.Minute
		f := newFixture(t, opts)
		code := mustIssue(t, f, "password", email, nil)
		if err := f.codes.MarkVerified(ctx, "password", email, code); err != nil {
			t.Fatal(err)
		}
		f.clock.Advance(20 * time.Minute)
		if err := f.codes.MarkVerified(ctx, "password", email, code); err != nil {
			t.Fatalf("second verify: %v", err)
		}
		f.clock.Advance(11 * time.Minute)
		_, err := f.codes.ConsumeVerified(ctx, "password", email, code)
		wantInvalid(t, err)
	})

	t.Run("Pending shows the live payload without touching it", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, base)
		if _, ok, err := f.codes.Pending(ctx, "register", email); ok || err != nil {
			t.Fatalf("nothing pending: %v %v", ok, err)
		}
		code := mustIssue(t, f, "register", email, []byte(`{"a":1}`))
		p, ok, err := f.codes.Pending(ctx, "register", email)
		if !ok || err != nil || string(p) != `{"a":1}` {
			t.Fatalf("pending: %q %v %v", p, ok, err)
		}
		if _, err := f.codes.Consume(ctx, "register", email, code); err != nil {
			t.Fatal(err)
		}
	})
}

// budgetFactory builds a password budget on one backend with the clock.
type budgetFactory func(t *testing.T, opts BudgetOptions) (*Budget, *fakeClock)

func memoryBudgetFactory(t *testing.T, opts BudgetOptions) (*Budget, *fakeClock) {
	clock := newFakeClock()
	opts.Now, opts.Prefix = clock.Now, "storagetest:"+randomHex(t, 6)+":"
	return NewMemoryBudget("password", opts), clock
}

func redisBudgetFactory(t *testing.T, opts BudgetOptions) (*Budget, *fakeClock) {
	client := testRedisClient(t)
	clock := newFakeClock()
	opts.Now, opts.Prefix = clock.Now, "storagetest:"+randomHex(t, 6)+":"
	t.Cleanup(func() {
		ctx := context.Background()
		iter := client.Scan(ctx, 0, opts.Prefix+"*", 100).Iterator()
		for iter.Next(ctx) {
			client.Del(ctx, iter.Val())
		}
	})
	return NewRedisBudget(client, "password", opts), clock
}

func TestMemoryPasswordBudget(t *testing.T) { runPasswordBudgetContract(t, memoryBudgetFactory) }

func TestRedisPasswordBudget(t *testing.T) {
	testRedisClient(t)
	runPasswordBudgetContract(t, redisBudgetFactory)
}

func runPasswordBudgetContract(t *testing.T, newBudget budgetFactory) {
	ctx := context.Background()
	opts := BudgetOptions{Limit: 3, Window: 15 * time.Minute}

	t.Run("failures lock the email for the window; successes cost nothing", func(t *testing.T) {
		t.Parallel()
		b, clock := newBudget(t, opts)
		for i := range 10 {
			try, err := b.Take(ctx, email)
			if err != nil {
				t.Fatalf("success %d: %v", i, err)
			}
			if err := b.Succeeded(ctx, try); err != nil {
				t.Fatal(err)
			}
		}
		for i := range 3 {
			try, err := b.Take(ctx, email)
			if err != nil {
				t.Fatalf("failure %d: %v", i, err)
			}
			lock, err := b.Failed(ctx, try)
			if err != nil {
				t.Fatal(err)
			}
			// Only the failure that spends the budget reports the lock.
			if want := map[bool]time.Duration{true: 15 * time.Minute}[i == 2]; lock != want {
				t.Fatalf("failure %d: lock %s, want %s", i, lock, want)
			}
		}
		_, err := b.Take(ctx, email)
		if left := wantTooMany(t, err); left != 15*time.Minute {
			t.Fatalf("retry after %s", left)
		}
		if _, err := b.Take(ctx, email2); err != nil {
			t.Fatalf("another email: %v", err)
		}
		clock.Advance(15 * time.Minute)
		if _, err := b.Take(ctx, email); err != nil {
			t.Fatalf("after the window: %v", err)
		}
	})

	t.Run("racing tries get no more than the budget through", func(t *testing.T) {
		t.Parallel()
		b, _ := newBudget(t, BudgetOptions{Limit: 10, Window: 15 * time.Minute})
		var (
			wg             sync.WaitGroup
			mu             sync.Mutex
			taken, refused int
		)
		for range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				try, err := b.Take(ctx, email)
				if err == nil {
					_, err = b.Failed(ctx, try)
				}
				var tm *models.TooManyAttemptsError
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					taken++
				case errors.As(err, &tm):
					refused++
				default:
					t.Errorf("unexpected: %v", err)
				}
			}()
		}
		wg.Wait()
		if taken != 10 || refused != 10 {
			t.Fatalf("taken %d, refused %d; want 10 and 10", taken, refused)
		}
	})
}
