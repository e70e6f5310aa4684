package mail

import (
	"context"
	"errors"
	"strings"
	"sync"

	"github.com/acme/accounts/models"
)

// Capture keeps sent mails in memory so tests can read them back. It is safe
// for concurrent use.
type Capture struct {
	mu      sync.Mutex
	sent    []Message
	failure error
}

// NewCapture returns an empty Capture.
func NewCapture() *Capture {
	return &Capture{}
}

// Send records msg, or fails with the error set by SetFailure.
func (c *Capture) Send(ctx context.Context, msg Message) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.failure != nil {
		return c.failure
	}
	c.sent = append(c.sent, msg)
	return nil
}

// Messages returns the mails sent to to (compared case-insensitively), in send order.
func (c *Capture) Messages(to string) []Message {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []Message
	for _, m := range c.sent {
		if strings.EqualFold(m.To, to) {
			out = append(out, m)
		}
	}
	return out
}

// Last returns the newest mail sent to to, if any.
func (c *Capture) Last(to string) (Message, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := len(c.sent) - 1; i >= 0; i-- {
		if strings.EqualFold(c.sent[i].To, to) {
			return c.sent[i], true
		}
	}
	return Message{}, false
}

// SetFailure makes every following Send fail with err, as a down mail server
// would; nil restores delivery. An err that is not already an outage is wrapped
// as models.Unavailable("mail", err), so the API answers as it would for SMTP.
func (c *Capture) SetFailure(err error) {
	if err != nil && !errors.Is(err, models.ErrUnavailable) {
		err = models.Unavailable("mail", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.failure = err
}
