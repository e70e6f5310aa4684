package testenv

import (
	"io"
	"net"
	"net/url"
	"sync"
	"testing"
)

// DBProxy stands between the server and PostgreSQL (Config.DatabaseProxy),
// so a test can take the database away the way a stopped server does:
// Cut closes the port and every open connection, Restore listens again on
// the same port.
type DBProxy struct {
	t      testing.TB
	target string
	addr   string

	mu    sync.Mutex
	ln    net.Listener
	conns map[net.Conn]bool
}

// proxyDatabase starts a DBProxy to the host of databaseURL and returns the
// URL that goes through it.
func proxyDatabase(t testing.TB, databaseURL string) (string, *DBProxy) {
	t.Helper()
	u, err := url.Parse(databaseURL)
	if err != nil {
		t.Fatalf("%s: %v", EnvDatabaseURL, err)
	}
	p := &DBProxy{t: t, target: u.Host, addr: "127.0.0.1:0", conns: map[net.Conn]bool{}}
	p.Restore()
	t.Cleanup(p.Cut)
	u.Host = p.addr
	return u.String(), p
}

// Restore accepts connections again, on the port the server was given.
func (p *DBProxy) Restore() {
	p.t.Helper()
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		p.t.Fatalf("database proxy: %v", err)
	}
	p.mu.Lock()
	p.ln, p.addr = ln, ln.Addr().String()
	p.mu.Unlock()
	go p.serve(ln)
}

// Cut closes the port (connecting is refused) and every connection through it.
func (p *DBProxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
		delete(p.conns, c)
	}
}

func (p *DBProxy) serve(ln net.Listener) {
	for {
		client, err := ln.Accept()
		if err != nil {
			return
		}
		server, err := net.Dial("tcp", p.target)
		if err != nil {
			client.Close()
			continue
		}
		p.mu.Lock()
		if p.ln != ln { // cut while dialling
			p.mu.Unlock()
			client.Close()
			server.Close()
			return
		}
		p.conns[client], p.conns[server] = true, true
		p.mu.Unlock()
		go pipe(client, server)
		go pipe(server, client)
	}
}

// pipe copies one direction and closes both ends when it ends, so a cut on
// either side reaches the other.
func pipe(dst, src net.Conn) {
	_, _ = io.Copy(dst, src)
	dst.Close()
	src.Close()
}
