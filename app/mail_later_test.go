package app

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/acme/accounts/mail"
	"github.com/acme/accounts/models"
	"github.com/acme/accounts/storage"
)

// heldMailer blocks every send until released, like an SMTP server that
// accepts connections and then hangs.
type heldMailer struct {
	release chan struct{}
	sent    atomic.Int32
}

func (m *heldMailer) Send(ctx context.Context, _ mail.Message) error {
	select {
	case <-m.release:
		m.sent.Add(1)
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

type countedEvents struct {
	mu sync.Mutex
	n  map[string]int
}

func (e *countedEvents) CodeEvent(purpose, event string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.n[purpose+"/"+event]++
}

func (e *countedEvents) count(key string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.n[key]
}

// With every background slot held by a hanging send, the next reset mail is
// dropped at once, its code discarded and the drop counted; the held sends
// finish once the server answers, and WaitBackground waits for them.
func TestMailLaterDropsPastItsBound(t *testing.T) {
	ctx := context.Background()
	codes := storage.NewMemoryCodes(storage.CodeOptions{TTL: time.Minute, ResetTTL: time.Minute, MaxAttempts: 5})
	mailer := &heldMailer{release: make(chan struct{})}
	events := &countedEvents{n: map[string]int{}}
	a := testApp(Deps{Codes: codes, Mailer: mailer, Events: events, Options: Options{CodeTTL: time.Minute}})

	for range laterMailSlots {
		a.mailLater(ctx, PurposePassword, "held@example.com", "000000", false)
	}
	if n := events.count("password/mail_dropped"); n != 0 {
		t.Fatalf("dropped %d mails with free slots", n)
	}
	email := "dropped@example.com"
	code, err := codes.Issue(ctx, PurposePassword, email, nil)
	if err != nil {
		t.Fatal(err)
	}
	a.mailLater(ctx, PurposePassword, email, code, true)
	if n := events.count("password/mail_dropped"); n != 1 {
		t.Fatalf("mail_dropped = %d, want 1", n)
	}
	if _, err := codes.Reissue(ctx, PurposePassword, email); !errors.Is(err, models.ErrInvalidCode) {
		t.Fatalf("the dropped mail's code is still pending: %v", err)
	}

	close(mailer.release)
	a.WaitBackground()
	if n := mailer.sent.Load(); n != laterMailSlots {
		t.Fatalf("%d held mails sent, want %d", n, laterMailSlots)
	}
	if n := events.count("password/sent"); n != laterMailSlots {
		t.Fatalf("sent events = %d, want %d", n, laterMailSlots)
	}
}
