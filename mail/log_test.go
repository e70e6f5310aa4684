package mail

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestLogMailerWritesTheCode(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	m := NewLog(slog.New(slog.NewTextHandler(&buf, nil)))
	msg, err := testTemplates(t).Code("en", "register", "ann@example.com", "314159", 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Send(context.Background(), msg); err != nil {
		t.Fatalf("Send: %v", err)
	}
	out := buf.String()
	for _, want := range []string{"level=INFO", "to=ann@example.com", `subject="Accounts: your verification code"`, "code=314159", "text="} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
}

func TestLogMailerCancelled(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	m := NewLog(slog.New(slog.NewTextHandler(&buf, nil)))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := m.Send(ctx, Message{To: "ann@example.com"}); err == nil {
		t.Fatal("Send succeeded on a cancelled context")
	}
	if buf.Len() != 0 {
		t.Fatalf("logged on a cancelled context: %s", buf.String())
	}
}
