package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
)

// runSMTPSink answers SMTP on -addr and throws every message away, counting
// them, until the context ends; it then prints the count. The login and
// register workloads mail a code per request: a mail capture such as Mailpit
// parses, stores and indexes each message on the cores the server is measured
// on, work a production relay does on another machine. The sink keeps the
// server's side of the mail (rendering, the SMTP conversation) in the
// figures and takes nearly nothing itself.
func runSMTPSink(ctx context.Context, fs *flag.FlagSet, args []string, stdout io.Writer) error {
	addr := fs.String("addr", "127.0.0.1:2525", "address to listen on")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	go func() {
		<-ctx.Done()
		ln.Close()
	}()
	var messages atomic.Int64
	var conns sync.WaitGroup
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			return fmt.Errorf("accept: %w", err)
		}
		conns.Go(func() {
			defer c.Close()
			n, _ := serveSMTP(c)
			messages.Add(n)
		})
	}
	conns.Wait()
	_, err = fmt.Fprintf(stdout, "{\"messages\":%d}\n", messages.Load())
	return err
}

// serveSMTP holds one SMTP conversation (RFC 5321's minimum: no extensions,
// so clients send plain text without STARTTLS or AUTH) and returns how many
// messages it accepted.
func serveSMTP(c net.Conn) (int64, error) {
	r := bufio.NewReader(c)
	w := bufio.NewWriter(c)
	reply := func(line string) error {
		if _, err := w.WriteString(line + "\r\n"); err != nil {
			return err
		}
		return w.Flush()
	}
	if err := reply("220 sink ESMTP"); err != nil {
		return 0, err
	}
	var n int64
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			if errors.Is(err, io.EOF) {
				return n, nil
			}
			return n, err
		}
		verb := strings.ToUpper(strings.TrimSpace(line))
		if i := strings.IndexAny(verb, " :"); i >= 0 {
			verb = verb[:i]
		}
		switch verb {
		case "EHLO", "HELO":
			err = reply("250 sink")
		case "MAIL", "RCPT", "RSET", "NOOP":
			err = reply("250 OK")
		case "DATA":
			if err = reply("354 end with <CRLF>.<CRLF>"); err != nil {
				return n, err
			}
			if err = skipMessage(r); err != nil {
				return n, err
			}
			n++
			err = reply("250 OK")
		case "QUIT":
			return n, reply("221 bye")
		default:
			err = reply("502 not implemented")
		}
		if err != nil {
			return n, err
		}
	}
}

// skipMessage reads a message body up to its terminating line ".".
func skipMessage(r *bufio.Reader) error {
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return err
		}
		if line == ".\r\n" || line == ".\n" {
			return nil
		}
	}
}
