package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	netmail "net/mail"
	"strconv"
	"time"

	gomail "github.com/wneessen/go-mail"
	"github.com/wneessen/go-mail/smtp"

	"github.com/acme/accounts/models"
)

// Defaults applied by NewSMTP to zero SMTPOptions fields.
const (
	DefaultSMTPPort    = 587
	DefaultSMTPTimeout = 10 * time.Second
)

// implicitTLSPort is the submissions port (RFC 8314), where TLS starts before
// the SMTP greeting instead of through STARTTLS.
const implicitTLSPort = 465

// SMTPOptions configures an SMTPMailer (SMTP_HOST, SMTP_PORT, SMTP_USERNAME,
// SMTP_PASSWORD, MAIL_FROM).
type SMTPOptions struct {
	Host string
	// Port defaults to DefaultSMTPPort. Port 465 uses implicit TLS; every other
	// port uses STARTTLS when the server offers it.
	Port int
	// Username empty means no authentication.
	Username string
	Password string
	// From is the sender, "addr@example.com" or "Name <addr@example.com>".
	From string
	// Timeout bounds one whole send, from dial to QUIT; defaults to DefaultSMTPTimeout.
	Timeout time.Duration
}

// SMTPMailer delivers mails through an SMTP server. It is safe for concurrent
// use: every Send opens its own connection.
type SMTPMailer struct {
	host     string
	port     int
	username string
	password string
	from     string
	timeout  time.Duration
}

// NewSMTP validates o and returns a mailer for it. It does not connect; use
// Ping for that.
func NewSMTP(o SMTPOptions) (*SMTPMailer, error) {
	if o.Host == "" {
		return nil, errors.New("mail: SMTP_HOST is empty")
	}
	if o.Port == 0 {
		o.Port = DefaultSMTPPort
	}
	if o.Port < 1 || o.Port > 65535 {
		return nil, fmt.Errorf("mail: SMTP_PORT %d is not a port number", o.Port)
	}
	if o.From == "" {
		return nil, errors.New("mail: MAIL_FROM is required when SMTP_HOST is set")
	}
	if _, err := netmail.ParseAddress(o.From); err != nil {
		return nil, fmt.Errorf("mail: MAIL_FROM %q is not a valid address: %w", o.From, err)
	}
	if o.Timeout < 0 {
		return nil, fmt.Errorf("mail: SMTP timeout must not be negative, got %s", o.Timeout)
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultSMTPTimeout
	}
	m := &SMTPMailer{
		host:     o.Host,
		port:     o.Port,
		username: o.Username,
		password: o.Password,
		from:     o.From,
		timeout:  o.Timeout,
	}
	// Build one client now so that option errors surface at start-up, not on
	// the first mail.
	if _, err := m.client(context.Background()); err != nil {
		return nil, fmt.Errorf("mail: configure SMTP client: %w", err)
	}
	return m, nil
}

// Send delivers msg. Any failure past building the message (refused or timed
// out connection, TLS or AUTH handshake, rejection by the server) is reported
// as models.Unavailable("mail", ...), since the cause lies outside this process.
func (m *SMTPMailer) Send(ctx context.Context, msg Message) error {
	gm, err := m.build(msg)
	if err != nil {
		return fmt.Errorf("mail: build message to %q: %w", msg.To, err)
	}
	ctx, cancel := context.WithTimeout(ctx, m.timeout)
	defer cancel()

	c, sc, err := m.connect(ctx)
	if err != nil {
		return err
	}
	if err := c.SendWithSMTPClient(sc, gm); err != nil {
		_ = c.CloseWithSMTPClient(sc)
		return m.unavailable(ctx, "send to "+msg.To, err)
	}
	// The server has accepted the mail once DATA is answered; a failing QUIT
	// changes nothing for the recipient, so it is not an error.
	_ = c.CloseWithSMTPClient(sc)
	return nil
}

// Ping connects, greets (EHLO, STARTTLS, AUTH as configured) and quits, to
// check that mails could be sent.
func (m *SMTPMailer) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, m.timeout)
	defer cancel()

	c, sc, err := m.connect(ctx)
	if err != nil {
		return err
	}
	if err := c.CloseWithSMTPClient(sc); err != nil {
		return m.unavailable(ctx, "quit", err)
	}
	return nil
}

// connect dials and greets the server (EHLO, STARTTLS, AUTH as configured)
// within ctx; a failure to get there is an outage of the mail server.
func (m *SMTPMailer) connect(ctx context.Context) (*gomail.Client, *smtp.Client, error) {
	c, err := m.client(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("mail: SMTP client: %w", err)
	}
	sc, err := c.DialToSMTPClientWithContext(ctx)
	if err != nil {
		return nil, nil, m.unavailable(ctx, "connect", err)
	}
	return c, sc, nil
}

// build turns msg into a go-mail message; its errors are bad input, not outages.
func (m *SMTPMailer) build(msg Message) (*gomail.Msg, error) {
	gm := gomail.NewMsg()
	if err := gm.From(m.from); err != nil {
		return nil, err
	}
	if err := gm.To(msg.To); err != nil {
		return nil, err
	}
	gm.Subject(msg.Subject)
	switch {
	case msg.Text != "" && msg.HTML != "":
		gm.SetBodyString(gomail.TypeTextPlain, msg.Text)
		gm.AddAlternativeString(gomail.TypeTextHTML, msg.HTML)
	case msg.HTML != "":
		gm.SetBodyString(gomail.TypeTextHTML, msg.HTML)
	default:
		gm.SetBodyString(gomail.TypeTextPlain, msg.Text)
	}
	return gm, nil
}

// client builds a go-mail client whose connections are bound to ctx. A client
// per send costs little next to the network round trips and shares no state
// between concurrent sends.
func (m *SMTPMailer) client(ctx context.Context) (*gomail.Client, error) {
	opts := []gomail.Option{
		gomail.WithPort(m.port),
		gomail.WithTimeout(m.timeout),
		// Real providers offer STARTTLS; a local catcher such as Mailpit does
		// not, and mails to it must still go out.
		gomail.WithTLSPolicy(gomail.TLSOpportunistic),
		gomail.WithDialContextFunc(m.dialer(ctx)),
	}
	if m.username != "" {
		// Auto-discovery never offers PLAIN or LOGIN over an unencrypted
		// connection, so the password cannot leak in clear text.
		opts = append(opts,
			gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(m.username),
			gomail.WithPassword(m.password),
		)
	}
	return gomail.NewClient(m.host, opts...)
}

// dialer returns the dial function for one send or ping. go-mail watches the
// context only while dialing, so the connection is closed when ctx ends: that
// is what makes cancellation and Timeout cut a stalled SMTP conversation.
func (m *SMTPMailer) dialer(ctx context.Context) gomail.DialContextFunc {
	return func(dialCtx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		conn, err := d.DialContext(dialCtx, network, addr)
		if err != nil {
			return nil, err
		}
		if m.port == implicitTLSPort {
			tc := tls.Client(conn, &tls.Config{ServerName: m.host, MinVersion: tls.VersionTLS12})
			if err := tc.HandshakeContext(dialCtx); err != nil {
				_ = conn.Close()
				return nil, fmt.Errorf("TLS handshake: %w", err)
			}
			conn = tc
		}
		context.AfterFunc(ctx, func() { _ = conn.Close() })
		return conn, nil
	}
}

// unavailable wraps err as a mail outage, keeping the context's error in the
// chain so callers can still tell a cancelled request from a dead server.
func (m *SMTPMailer) unavailable(ctx context.Context, step string, err error) error {
	addr := net.JoinHostPort(m.host, strconv.Itoa(m.port))
	if cerr := context.Cause(ctx); cerr != nil && !errors.Is(err, cerr) {
		err = fmt.Errorf("%w (%w)", err, cerr)
	}
	return models.Unavailable("mail", fmt.Errorf("smtp %s: %s: %w", addr, step, err))
}
