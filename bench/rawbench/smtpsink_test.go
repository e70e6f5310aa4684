package main

import (
	"bytes"
	"context"
	"flag"
	"net"
	"net/smtp"
	"strings"
	"testing"
	"time"
)

// TestSMTPSinkTakesMail: a standard client delivers two messages, one with a
// dot-stuffed line, and the sink counts both when stopped.
func TestSMTPSinkTakesMail(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	var out bytes.Buffer
	done := make(chan error, 1)
	go func() {
		done <- runSMTPSink(ctx, flag.NewFlagSet("smtpsink", flag.ContinueOnError), []string{"-addr", addr}, &out)
	}()

	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the sink does not listen: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, body := range []string{"Subject: code\r\n\r\n123456\r\n", "Subject: two\r\n\r\n.a line starting with a dot\r\n"} {
		if err := smtp.SendMail(addr, nil, "bench@example.com", []string{"user@example.com"}, []byte(body)); err != nil {
			t.Fatalf("send: %v", err)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(out.String()); got != `{"messages":2}` {
		t.Fatalf("sink said %q", got)
	}
}
