package middleware_test

import (
	"net"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	"github.com/acme/accounts/middleware"
)

// clientIP runs one request from peer with the given X-Forwarded-For lines
// through ClientAddress and returns what ClientIP saw.
func clientIP(t *testing.T, trusted []string, peer string, lines ...string) string {
	t.Helper()
	f := fiber.New()
	var got string
	f.Use(middleware.ClientAddress("X-Forwarded-For", trusted))
	f.Get("/", func(c *fiber.Ctx) error { got = middleware.ClientIP(c); return nil })
	var req fasthttp.Request
	req.SetRequestURI("/")
	for _, l := range lines {
		req.Header.Add("X-Forwarded-For", l)
	}
	var ctx fasthttp.RequestCtx
	ctx.Init(&req, &net.TCPAddr{IP: net.ParseIP(peer), Port: 40000}, nil)
	f.Handler()(&ctx)
	return got
}

func TestClientAddress(t *testing.T) {
	proxies := []string{"10.0.0.0/8", "192.0.2.1"}
	cases := []struct {
		name, peer string
		lines      []string
		want       string
	}{
		{"no header: the peer", "10.1.1.1", nil, "10.1.1.1"},
		{"untrusted peer: header ignored", "198.51.100.5", []string{"203.0.113.1"}, "198.51.100.5"},
		{"right-most untrusted hop", "10.1.1.1", []string{"1.1.1.1, 203.0.113.2, 192.0.2.1"}, "203.0.113.2"},
		{"several header lines read as one list", "10.1.1.1", []string{"203.0.113.3", "203.0.113.4, 10.2.2.2"}, "203.0.113.4"},
		{"unreadable hop: the peer", "10.1.1.1", []string{"203.0.113.5, garbage"}, "10.1.1.1"},
		{"only proxies: the peer", "10.1.1.1", []string{"10.3.3.3, 192.0.2.1"}, "10.1.1.1"},
		{"IPv6 client", "10.1.1.1", []string{"2001:db8::7"}, "2001:db8::7"},
	}
	for _, c := range cases {
		if got := clientIP(t, proxies, c.peer, c.lines...); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
}
