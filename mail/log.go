package mail

import (
	"context"
	"log/slog"
)

// LogMailer writes every mail to a logger instead of sending it. It is the
// default when no SMTP server is configured, so codes can be read from the log
// during development.
type LogMailer struct {
	log *slog.Logger
}

// NewLog returns a LogMailer that writes to l (slog.Default() when nil).
func NewLog(l *slog.Logger) *LogMailer {
	if l == nil {
		l = slog.Default()
	}
	return &LogMailer{log: l}
}

// Send logs msg at Info: recipient, subject, the plain-text part and, when one
// stands alone on a line, the code by itself so it is easy to spot.
func (m *LogMailer) Send(ctx context.Context, msg Message) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	attrs := []any{
		slog.String("to", msg.To),
		slog.String("subject", msg.Subject),
	}
	if code := ExtractCode(msg.Text); code != "" {
		attrs = append(attrs, slog.String("code", code))
	}
	attrs = append(attrs, slog.String("text", msg.Text))
	m.log.InfoContext(ctx, "mail not sent: no SMTP server configured", attrs...)
	return nil
}
