package mail

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/acme/accounts/models"
)

func TestCapture(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := NewCapture()
	if _, ok := c.Last("ann@example.com"); ok {
		t.Fatal("Last found a mail in an empty capture")
	}
	for _, m := range []Message{
		{To: "ann@example.com", Subject: "1"},
		{To: "bob@example.com", Subject: "2"},
		{To: "ANN@example.com", Subject: "3"},
	} {
		if err := c.Send(ctx, m); err != nil {
			t.Fatalf("Send: %v", err)
		}
	}
	got := c.Messages("ann@example.com")
	if len(got) != 2 || got[0].Subject != "1" || got[1].Subject != "3" {
		t.Fatalf("Messages = %+v, want subjects 1 then 3", got)
	}
	if last, ok := c.Last("bob@example.com"); !ok || last.Subject != "2" {
		t.Fatalf("Last(bob) = %+v, %v", last, ok)
	}
	if got := c.Messages("nobody@example.com"); len(got) != 0 {
		t.Fatalf("Messages(nobody) = %+v", got)
	}
}

func TestCaptureFailure(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := NewCapture()
	down := errors.New("connection refused")
	c.SetFailure(down)
	err := c.Send(ctx, Message{To: "ann@example.com"})
	if !errors.Is(err, models.ErrUnavailable) || !errors.Is(err, down) {
		t.Fatalf("Send error = %v, want an outage wrapping %v", err, down)
	}
	if _, ok := c.Last("ann@example.com"); ok {
		t.Fatal("a failed send was recorded")
	}

	outage := models.Unavailable("mail", down)
	c.SetFailure(outage)
	if err := c.Send(ctx, Message{To: "ann@example.com"}); err != outage {
		t.Fatalf("Send error = %v, want the outage as given", err)
	}

	c.SetFailure(nil)
	if err := c.Send(ctx, Message{To: "ann@example.com"}); err != nil {
		t.Fatalf("Send after clearing the failure: %v", err)
	}
	if n := len(c.Messages("ann@example.com")); n != 1 {
		t.Fatalf("captured %d mails, want 1", n)
	}
}

func TestCaptureCancelled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	c := NewCapture()
	if err := c.Send(ctx, Message{To: "ann@example.com"}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Send error = %v, want context.Canceled", err)
	}
}

func TestCaptureConcurrent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := NewCapture()
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			to := fmt.Sprintf("u%d@example.com", i%5)
			if err := c.Send(ctx, Message{To: to}); err != nil {
				t.Errorf("Send: %v", err)
			}
			c.Messages(to)
			c.Last(to)
		})
	}
	wg.Go(func() { c.SetFailure(nil) })
	wg.Wait()
	total := 0
	for i := range 5 {
		total += len(c.Messages(fmt.Sprintf("u%d@example.com", i)))
	}
	if total != 50 {
		t.Fatalf("captured %d mails, want 50", total)
	}
}
