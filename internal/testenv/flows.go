package testenv

import (
	"context"
	"net/http"
	"time"

	"github.com/acme/accounts/mail"
)

// Mails returns what was mailed to the address so far, oldest first.
func (e *Env) Mails(to string) []mail.Message {
	e.T.Helper()
	e.App.WaitBackground() // reset mails go out after their answer
	if e.Capture != nil {
		return e.Capture.Messages(to)
	}
	if e.Mailpit == nil {
		e.T.Fatalf("mail goes to a real SMTP server but %s is not set", EnvMailpitURL)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	msgs, err := e.Mailpit.Messages(ctx, to)
	if err != nil {
		e.T.Fatalf("mailpit: %v", err)
	}
	return msgs
}

// LastMail waits for a mail to the address that the test has not seen yet and
// returns it. Each call consumes one more mail.
func (e *Env) LastMail(to string) mail.Message {
	e.T.Helper()
	e.App.WaitBackground() // reset mails go out after their answer
	e.mailMu.Lock()
	seen := e.mailSeen[to]
	e.mailMu.Unlock()
	var msg mail.Message
	if e.Capture != nil {
		msgs := e.Capture.Messages(to)
		if len(msgs) <= seen {
			e.T.Fatalf("no new mail to %s (had %d)", to, seen)
		}
		msg = msgs[len(msgs)-1]
		seen = len(msgs)
	} else {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		m, err := e.Mailpit.WaitLast(ctx, to, seen)
		if err != nil {
			e.T.Fatalf("no new mail to %s: %v", to, err)
		}
		msg = m
		seen = len(e.Mails(to))
	}
	e.mailMu.Lock()
	e.mailSeen[to] = seen
	e.mailMu.Unlock()
	return msg
}

// Code returns the code of the newest unseen code mail to the address.
// Security notices go out after their answer, so one may land after the
// code mail it follows in the test; it is skipped, never taken for a code.
func (e *Env) Code(to string) string {
	e.T.Helper()
	e.mailMu.Lock()
	before := e.mailSeen[to]
	e.mailMu.Unlock()
	msg := e.LastMail(to)
	if code := mail.ExtractCode(msg.Text); code != "" {
		return code
	}
	msgs := e.Mails(to)
	for i := len(msgs) - 1; i >= before && i >= 0; i-- {
		if code := mail.ExtractCode(msgs[i].Text); code != "" {
			return code
		}
	}
	e.T.Fatalf("no new mail to %s has a code on a line of its own; newest:\n%s", to, msg.Text)
	return ""
}

// RegisterUser signs a user up through the API and returns their token.
func (e *Env) RegisterUser(email string) string {
	e.T.Helper()
	return e.twoStep("/api/v1/auth/register", map[string]any{
		"first_name": "Test", "last_name": "User", "email": email, "password": Password,
	}, email)
}

// Login signs an existing user in through both steps and returns the token.
func (e *Env) Login(email, password string) string {
	e.T.Helper()
	return e.twoStep("/api/v1/auth/login", map[string]any{"email": email, "password": password}, email)
}

// twoStep posts body to path, which mails a code to email, then posts the
// code to path+"/verify" and returns the token of the answer.
func (e *Env) twoStep(path string, body map[string]any, email string) string {
	e.T.Helper()
	return e.twoStepPair(path, body, email).Token
}

// Pair is the tokens of a token body.
type Pair struct {
	Token        string `json:"token"`
	RefreshToken string `json:"refresh_token"`
}

// RegisterPair signs a user up through the API and returns both tokens.
func (e *Env) RegisterPair(email string) Pair {
	e.T.Helper()
	return e.twoStepPair("/api/v1/auth/register", map[string]any{
		"first_name": "Test", "last_name": "User", "email": email, "password": Password,
	}, email)
}

// LoginPair signs an existing user in and returns both tokens.
func (e *Env) LoginPair(email, password string) Pair {
	e.T.Helper()
	return e.twoStepPair("/api/v1/auth/login", map[string]any{"email": email, "password": password}, email)
}

func (e *Env) twoStepPair(path string, body map[string]any, email string) Pair {
	e.T.Helper()
	r := e.Do(http.MethodPost, path, body, "")
	if r.Status != http.StatusOK {
		e.T.Fatalf("%s for %s: %d %s", path, email, r.Status, r.Body)
	}
	r = e.Do(http.MethodPost, path+"/verify", map[string]any{"email": email, "code": e.Code(email)}, "")
	if r.Status != http.StatusOK {
		e.T.Fatalf("%s/verify for %s: %d %s", path, email, r.Status, r.Body)
	}
	var out Pair
	r.Decode(e.T, &out)
	if out.Token == "" || out.RefreshToken == "" {
		e.T.Fatalf("%s/verify for %s: no token pair: %s", path, email, r.Body)
	}
	return out
}
