package middleware

import (
	"net/netip"
	"strings"

	"github.com/gofiber/fiber/v2"
)

const clientAddrKey = "client_addr"

// ClientAddress finds each request's client address once and keeps it for
// ClientIP. Without header (PROXY_HEADER) it is the TCP peer. With it, and
// only when the peer is one of trusted (addresses or CIDRs), it is the
// right-most address of the header that is not a trusted proxy: every proxy
// appends the address it saw, so entries to the left of the last untrusted
// hop are whatever the client chose to send. A header with no usable
// address leaves the peer's.
func ClientAddress(header string, trusted []string) fiber.Handler {
	var nets []netip.Prefix
	for _, s := range trusted {
		if p, err := netip.ParsePrefix(s); err == nil {
			nets = append(nets, p.Masked())
		} else if a, err := netip.ParseAddr(s); err == nil {
			nets = append(nets, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
		}
	}
	isTrusted := func(a netip.Addr) bool {
		for _, p := range nets {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	return func(c *fiber.Ctx) error {
		addr := peerAddr(c)
		if header != "" && isTrusted(addr) {
			if a, ok := fromHeader(c, header, isTrusted); ok {
				addr = a
			}
		}
		c.Locals(clientAddrKey, addr)
		return c.Next()
	}
}

func peerAddr(c *fiber.Ctx) netip.Addr {
	a, _ := netip.AddrFromSlice(c.Context().RemoteIP())
	return a.Unmap()
}

// fromHeader walks the header's addresses (over every line of it) from the
// right and returns the first that is not a trusted proxy.
func fromHeader(c *fiber.Ctx, header string, isTrusted func(netip.Addr) bool) (netip.Addr, bool) {
	var hops []string
	c.Request().Header.VisitAll(func(k, v []byte) {
		if strings.EqualFold(string(k), header) {
			hops = append(hops, strings.Split(string(v), ",")...)
		}
	})
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return netip.Addr{}, false // a hop we cannot read: trust nothing left of it
		}
		if a = a.Unmap(); !isTrusted(a) {
			return a, true
		}
	}
	return netip.Addr{}, false
}

// ClientIP is the request's client address as ClientAddress found it (the
// TCP peer when that middleware did not run).
func ClientIP(c *fiber.Ctx) string {
	if a, ok := c.Locals(clientAddrKey).(netip.Addr); ok && a.IsValid() {
		return a.String()
	}
	return peerAddr(c).String()
}

// clientKey is the address a per-address limit counts under: an IPv4
// address, or the /64 of an IPv6 one, the block one subscriber usually
// holds whole (counting single IPv6 addresses would give each client 2^64
// budgets).
func clientKey(c *fiber.Ctx) string {
	a, ok := c.Locals(clientAddrKey).(netip.Addr)
	if !ok || !a.IsValid() {
		a = peerAddr(c)
	}
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}
