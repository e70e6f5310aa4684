package mail_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/acme/accounts/i18n"
	"github.com/acme/accounts/internal/testenv"
	"github.com/acme/accounts/mail"
	"github.com/acme/accounts/models"
)

// recipient returns an address no other test or run uses, so tests can share
// one Mailpit.
func recipient(t *testing.T) string {
	t.Helper()
	name := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		return '-'
	}, strings.ToLower(t.Name()))
	return fmt.Sprintf("%s-%d@example.test", name, time.Now().UnixNano())
}

func mailpitSMTP(t *testing.T) (*testenv.Mailpit, *mail.SMTPMailer) {
	t.Helper()
	mp, host, port := testenv.MailpitFromEnv(t)
	m, err := mail.NewSMTP(mail.SMTPOptions{Host: host, Port: port, From: "Accounts <no-reply@example.test>", Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return mp, m
}

func TestSMTPThroughMailpit(t *testing.T) {
	t.Parallel()
	mp, m := mailpitSMTP(t)
	if err := m.Ping(t.Context()); err != nil {
		t.Fatalf("Ping: %v", err)
	}

	cat, err := i18n.New("en")
	if err != nil {
		t.Fatal(err)
	}
	tpl, err := mail.NewTemplates(cat, "", "")
	if err != nil {
		t.Fatal(err)
	}
	for _, purpose := range models.CodePurposes() {
		t.Run(purpose, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			to := recipient(t)
			const code = "070809"
			msg, err := tpl.Code("ru", purpose, to, code, 10*time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			if err := m.Send(ctx, msg); err != nil {
				t.Fatalf("Send: %v", err)
			}
			got, err := mp.WaitLast(ctx, to, 0)
			if err != nil {
				t.Fatalf("WaitLast: %v", err)
			}
			if got.Subject != msg.Subject || !strings.EqualFold(got.To, to) {
				t.Fatalf("caught to/subject = %q/%q, want %q/%q", got.To, got.Subject, to, msg.Subject)
			}
			alone := false
			for _, line := range strings.Split(got.Text, "\n") {
				if strings.TrimSuffix(line, "\r") == code {
					alone = true
				}
			}
			if !alone {
				t.Fatalf("code is not alone on a line of the delivered text:\n%q", got.Text)
			}
			if mail.ExtractCode(got.Text) != code {
				t.Fatalf("ExtractCode = %q, want %q", mail.ExtractCode(got.Text), code)
			}
			if !strings.Contains(got.HTML, code) {
				t.Fatal("delivered mail has no HTML part with the code")
			}
		})
	}
}

func TestMailpitOrderAndExactRecipient(t *testing.T) {
	t.Parallel()
	mp, m := mailpitSMTP(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	to := recipient(t)

	// Mailpit's to: search matches substrings; this one must not be counted.
	if err := m.Send(ctx, mail.Message{To: "x" + to, Subject: "other", Text: "other"}); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		if err := m.Send(ctx, mail.Message{To: to, Subject: fmt.Sprint(i), Text: "body"}); err != nil {
			t.Fatal(err)
		}
		last, err := mp.WaitLast(ctx, to, i-1)
		if err != nil {
			t.Fatalf("WaitLast(after=%d): %v", i-1, err)
		}
		if last.Subject != fmt.Sprint(i) {
			t.Fatalf("WaitLast(after=%d) subject = %q, want %d", i-1, last.Subject, i)
		}
	}
	all, err := mp.Messages(ctx, to)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 3 || all[0].Subject != "1" || all[2].Subject != "3" {
		t.Fatalf("Messages = %+v, want subjects 1, 2, 3", all)
	}

	short, cancelShort := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancelShort()
	if _, err := mp.WaitLast(short, to, 3); err == nil {
		t.Fatal("WaitLast found a fourth mail that was never sent")
	}
}

func TestSMTPConcurrentSends(t *testing.T) {
	t.Parallel()
	mp, m := mailpitSMTP(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	to := recipient(t)
	const n = 8
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if err := m.Send(ctx, mail.Message{To: to, Subject: fmt.Sprint(i), Text: "body"}); err != nil {
				t.Errorf("Send %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	if _, err := mp.WaitLast(ctx, to, n-1); err != nil {
		t.Fatalf("WaitLast: %v", err)
	}
}
