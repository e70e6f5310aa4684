package mail

import (
	"context"
	"errors"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/acme/accounts/models"
)

func TestNewSMTPValidates(t *testing.T) {
	t.Parallel()
	ok := SMTPOptions{Host: "smtp.example.com", Port: 587, From: "Accounts <no-reply@example.com>"}
	if _, err := NewSMTP(ok); err != nil {
		t.Fatalf("NewSMTP(valid) = %v", err)
	}
	cases := map[string]func(o *SMTPOptions){
		"no host":          func(o *SMTPOptions) { o.Host = "" },
		"port too high":    func(o *SMTPOptions) { o.Port = 70000 },
		"negative port":    func(o *SMTPOptions) { o.Port = -1 },
		"no from":          func(o *SMTPOptions) { o.From = "" },
		"bad from":         func(o *SMTPOptions) { o.From = "not an address" },
		"negative timeout": func(o *SMTPOptions) { o.Timeout = -time.Second },
	}
	for name, mutate := range cases {
		o := ok
		mutate(&o)
		if _, err := NewSMTP(o); err == nil {
			t.Errorf("%s: NewSMTP succeeded, want an error", name)
		}
	}
}

func TestNewSMTPDefaults(t *testing.T) {
	t.Parallel()
	m, err := NewSMTP(SMTPOptions{Host: "smtp.example.com", From: "no-reply@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if m.port != DefaultSMTPPort || m.timeout != DefaultSMTPTimeout {
		t.Fatalf("port/timeout = %d/%s, want %d/%s", m.port, m.timeout, DefaultSMTPPort, DefaultSMTPTimeout)
	}
}

func TestSMTPDeadPortIsUnavailable(t *testing.T) {
	t.Parallel()
	m, err := NewSMTP(SMTPOptions{Host: "127.0.0.1", Port: 1, From: "no-reply@example.com", Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err = m.Send(context.Background(), Message{To: "ann@example.com", Subject: "s", Text: "t"})
	if !errors.Is(err, models.ErrUnavailable) {
		t.Fatalf("Send error = %v, want ErrUnavailable", err)
	}
	if err := m.Ping(context.Background()); !errors.Is(err, models.ErrUnavailable) {
		t.Fatalf("Ping error = %v, want ErrUnavailable", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("a refused connection took %s to report", d)
	}
}

func TestSMTPBadRecipientIsNotAnOutage(t *testing.T) {
	t.Parallel()
	m, err := NewSMTP(SMTPOptions{Host: "127.0.0.1", Port: 1, From: "no-reply@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	err = m.Send(context.Background(), Message{To: "not an address", Text: "t"})
	if err == nil || errors.Is(err, models.ErrUnavailable) {
		t.Fatalf("Send error = %v, want a plain input error", err)
	}
}

// silentServer accepts connections and never greets, like a hung mail server.
func silentServer(t *testing.T) (host string, port int) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { _ = conn.Close() })
		}
	}()
	h, p, _ := net.SplitHostPort(ln.Addr().String())
	n, _ := strconv.Atoi(p)
	return h, n
}

func TestSMTPTimeoutBoundsTheSend(t *testing.T) {
	t.Parallel()
	host, port := silentServer(t)
	m, err := NewSMTP(SMTPOptions{Host: host, Port: port, From: "no-reply@example.com", Timeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err = m.Send(context.Background(), Message{To: "ann@example.com", Text: "t"})
	if !errors.Is(err, models.ErrUnavailable) {
		t.Fatalf("Send error = %v, want ErrUnavailable", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Send took %s with a 200ms timeout", d)
	}
}

func TestSMTPHonoursCancellation(t *testing.T) {
	t.Parallel()
	host, port := silentServer(t)
	m, err := NewSMTP(SMTPOptions{Host: host, Port: port, From: "no-reply@example.com", Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(150*time.Millisecond, cancel)
	start := time.Now()
	err = m.Send(ctx, Message{To: "ann@example.com", Text: "t"})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Send error = %v, want context.Canceled in the chain", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Send took %s after its context was cancelled", d)
	}
}
