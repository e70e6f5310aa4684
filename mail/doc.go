// Package mail sends the account mails: one-time codes rendered from embedded
// text and HTML templates, delivered over SMTP, written to the log when no SMTP
// server is configured, or captured in memory for tests.
package mail
