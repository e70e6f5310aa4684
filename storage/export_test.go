package storage

import (
	"context"
	"net"
)

// WithDialer sets the S3 client's dialer, so tests can reach
// <bucket>.localhost without DNS.
func WithDialer(o S3Options, dial func(ctx context.Context, network, addr string) (net.Conn, error)) S3Options {
	o.dial = dial
	return o
}
