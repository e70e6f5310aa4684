package testenv

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/acme/accounts/mail"
)

// Environment variables that point tests at a running Mailpit.
const (
	EnvMailpitSMTP = "TEST_SMTP_ADDR"   // host:port of Mailpit's SMTP server
	EnvMailpitURL  = "TEST_MAILPIT_URL" // base URL of Mailpit's HTTP API, e.g. http://127.0.0.1:8025
)

const (
	mailpitPageSize     = 200
	mailpitPollInterval = 50 * time.Millisecond
	// mailpitDefaultWait bounds WaitLast when the caller's context has no
	// deadline, so a missing mail fails the test instead of hanging it.
	mailpitDefaultWait = 10 * time.Second
)

// Mailpit reads the mails that a Mailpit instance caught, through its HTTP API.
type Mailpit struct {
	BaseURL string       // e.g. http://127.0.0.1:8025
	HTTP    *http.Client // http.DefaultClient when nil
}

// MailpitFromEnv returns a client for the Mailpit named by TEST_MAILPIT_URL and
// the host and port of its SMTP server from TEST_SMTP_ADDR, or skips the test
// when either is unset.
func MailpitFromEnv(t testing.TB) (m *Mailpit, smtpHost string, smtpPort int) {
	t.Helper()
	addr, base := os.Getenv(EnvMailpitSMTP), os.Getenv(EnvMailpitURL)
	if addr == "" || base == "" {
		t.Skipf("needs a running Mailpit: set %s (SMTP host:port) and %s (HTTP base URL)", EnvMailpitSMTP, EnvMailpitURL)
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("%s=%q: %v", EnvMailpitSMTP, addr, err)
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		t.Fatalf("%s=%q: bad port: %v", EnvMailpitSMTP, addr, err)
	}
	return &Mailpit{BaseURL: base}, host, p
}

// mailpitAddress is an address as Mailpit's API encodes it.
type mailpitAddress struct {
	Name    string `json:"Name"`
	Address string `json:"Address"`
}

// mailpitSummary is one entry of GET /api/v1/search.
type mailpitSummary struct {
	ID string           `json:"ID"`
	To []mailpitAddress `json:"To"`
}

// mailpitSearch is the answer of GET /api/v1/search.
type mailpitSearch struct {
	MessagesCount int              `json:"messages_count"`
	Messages      []mailpitSummary `json:"messages"`
}

// mailpitMessage is the answer of GET /api/v1/message/{ID}.
type mailpitMessage struct {
	ID      string           `json:"ID"`
	To      []mailpitAddress `json:"To"`
	Subject string           `json:"Subject"`
	Text    string           `json:"Text"`
	HTML    string           `json:"HTML"`
}

// Messages returns every mail caught for to, oldest first, newest last.
func (m *Mailpit) Messages(ctx context.Context, to string) ([]mail.Message, error) {
	sums, err := m.search(ctx, to)
	if err != nil {
		return nil, err
	}
	out := make([]mail.Message, 0, len(sums))
	for _, s := range slices.Backward(sums) {
		msg, err := m.message(ctx, s.ID)
		if err != nil {
			return nil, err
		}
		out = append(out, msg)
	}
	return out, nil
}

// WaitLast polls until more than after mails have been caught for to and
// returns the newest. It gives up when ctx ends (after 10s when ctx has no
// deadline).
func (m *Mailpit) WaitLast(ctx context.Context, to string, after int) (mail.Message, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, mailpitDefaultWait)
		defer cancel()
	}
	tick := time.NewTicker(mailpitPollInterval)
	defer tick.Stop()
	seen := 0
	for {
		sums, err := m.search(ctx, to)
		if err != nil && ctx.Err() == nil {
			return mail.Message{}, err
		}
		if err == nil {
			seen = len(sums)
			if seen > after {
				// Mailpit lists newest first.
				return m.message(ctx, sums[0].ID)
			}
		}
		select {
		case <-ctx.Done():
			return mail.Message{}, fmt.Errorf("mailpit: waiting for mail #%d to %s (have %d): %w", after+1, to, seen, ctx.Err())
		case <-tick.C:
		}
	}
}

// search returns the summaries of the mails addressed exactly to to, newest
// first, reading every page.
func (m *Mailpit) search(ctx context.Context, to string) ([]mailpitSummary, error) {
	var out []mailpitSummary
	for start := 0; ; start += mailpitPageSize {
		q := url.Values{}
		q.Set("query", fmt.Sprintf("to:%q", to))
		q.Set("start", strconv.Itoa(start))
		q.Set("limit", strconv.Itoa(mailpitPageSize))
		var page mailpitSearch
		if err := m.get(ctx, "/api/v1/search?"+q.Encode(), &page); err != nil {
			return nil, err
		}
		for _, s := range page.Messages {
			// Mailpit's to: matches substrings; a@x.com must not see ba@x.com's mail.
			if hasAddress(s.To, to) {
				out = append(out, s)
			}
		}
		if len(page.Messages) < mailpitPageSize || start+len(page.Messages) >= page.MessagesCount {
			return out, nil
		}
	}
}

func (m *Mailpit) message(ctx context.Context, id string) (mail.Message, error) {
	var pm mailpitMessage
	if err := m.get(ctx, "/api/v1/message/"+url.PathEscape(id), &pm); err != nil {
		return mail.Message{}, err
	}
	to := make([]string, 0, len(pm.To))
	for _, a := range pm.To {
		to = append(to, a.Address)
	}
	return mail.Message{To: strings.Join(to, ", "), Subject: pm.Subject, Text: pm.Text, HTML: pm.HTML}, nil
}

func (m *Mailpit) get(ctx context.Context, path string, into any) error {
	u := strings.TrimRight(m.BaseURL, "/") + path
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("mailpit: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	hc := m.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("mailpit: GET %s: %w", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("mailpit: GET %s: %s: %s", u, resp.Status, strings.TrimSpace(string(body)))
	}
	if err := json.NewDecoder(resp.Body).Decode(into); err != nil {
		return fmt.Errorf("mailpit: GET %s: decode: %w", u, err)
	}
	return nil
}

func hasAddress(list []mailpitAddress, addr string) bool {
	return slices.ContainsFunc(list, func(a mailpitAddress) bool {
		return strings.EqualFold(a.Address, addr)
	})
}
