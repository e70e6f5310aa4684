package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/acme/accounts/internal/testenv"
)

func getenvFrom(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// A bad or unreachable backend stops start-up with one line naming the variable.
func TestStartupErrorsNameTheVariable(t *testing.T) {
	t.Chdir(t.TempDir())
	cases := []struct {
		name, want string
		env        map[string]string
	}{
		{"unreachable redis", "REDIS_URL", map[string]string{"REDIS_URL": "redis://127.0.0.1:1/0"}},
		{"malformed redis", "REDIS_URL", map[string]string{"REDIS_URL": "redis://127.0.0.1:notaport"}},
		{"unreachable postgres", "DATABASE_URL", map[string]string{"DATABASE_URL": "postgres://postgres@127.0.0.1:1/x?connect_timeout=2"}},
		{"unreachable s3", "S3_ENDPOINT", map[string]string{"S3_ENDPOINT": "127.0.0.1:1", "S3_ACCESS_KEY": "k", "S3_SECRET_KEY": "secretsecret"}},
		{"bad smtp sender", "MAIL_FROM", map[string]string{"SMTP_HOST": "127.0.0.1", "MAIL_FROM": "nobody"}},
		{"bad duration", "TOKEN_TTL", map[string]string{"TOKEN_TTL": "forever"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.env["DATA_DIR"] = t.TempDir()
			c.env["HTTP_ADDR"] = "127.0.0.1:0"
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			var out bytes.Buffer
			err := run(ctx, []string{"serve"}, getenvFrom(c.env), nil, &out)
			if err == nil {
				t.Fatal("started anyway")
			}
			if !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %q should be one line naming %s", err, c.want)
			}
		})
	}
}

// The zero-config start serves on embedded backends and says which ones.
func TestServeOnEmbeddedDefaults(t *testing.T) {
	t.Chdir(t.TempDir())
	in := startInstance(t, nil)
	if err := in.shutdown(); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	log := in.out.String()
	for _, want := range []string{"database=\"sqlite", "codes=\"memory", "objects=\"local disk", "mail=\"log"} {
		if !strings.Contains(log, want) {
			t.Errorf("start-up log lacks %s:\n%s", want, log)
		}
	}
}

// instance is one server started through run, as `accounts serve` would be.
type instance struct {
	addr string
	out  *safeBuffer
	stop context.CancelFunc // SIGTERM, as far as the server can tell
	done chan error
	once sync.Once
	err  error
}

// startInstance runs the server with env (plus HTTP_ADDR on a free port)
// and waits until /readyz answers 200; the test's end stops it.
func startInstance(t *testing.T, env map[string]string) *instance {
	t.Helper()
	in := &instance{addr: freeAddr(t), done: make(chan error, 1), out: &safeBuffer{}}
	vars := map[string]string{"HTTP_ADDR": in.addr}
	for k, v := range env {
		vars[k] = v
	}
	ctx, cancel := context.WithCancel(context.Background())
	in.stop = cancel
	go func() { in.done <- run(ctx, nil, getenvFrom(vars), nil, in.out) }()
	t.Cleanup(func() { _ = in.shutdown() })
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + in.addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return in
			}
		}
		select {
		case err := <-in.done:
			t.Fatalf("the server on %s exited: %v\n%s", in.addr, err, in.out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server on %s is not ready: %v\n%s", in.addr, err, in.out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// wait waits for the server to return (after stop) and gives run's error.
func (in *instance) wait() error {
	in.once.Do(func() { in.err = <-in.done })
	return in.err
}

// shutdown stops the server and waits for it.
func (in *instance) shutdown() error {
	in.stop()
	return in.wait()
}

// freeAddr is a loopback address nothing listens on (yet).
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestProductionServesMetricsOnlyOnMetricsAddr: in production /metrics is
// not on the API's listener, only on METRICS_ADDR, and counts real statuses.
func TestProductionServesMetricsOnlyOnMetricsAddr(t *testing.T) {
	t.Chdir(t.TempDir())
	metricsAddr := freeAddr(t)
	env := map[string]string{
		"APP_ENV": "production", "METRICS_ADDR": metricsAddr, "LOG_LEVEL": "error",
		// Nothing is mailed in this test; the host is only required.
		"SMTP_HOST": "127.0.0.1", "SMTP_PORT": "2525",
		"JWT_SECRET": testenv.NewSecret(),
	}
	in := startInstance(t, env)
	addr := in.addr
	get := func(url string) (int, string) {
		resp, err := http.Get(url)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if status, body := get("http://" + addr + "/metrics"); status != 404 {
		t.Fatalf("/metrics on the API listener in production: %d %.100s", status, body)
	}
	status, body := get("http://" + metricsAddr + "/metrics")
	if status != 200 || !strings.Contains(body, `accounts_http_requests_total{method="GET",route="/",status="404"} 1`) {
		t.Fatalf("/metrics on METRICS_ADDR: %d\n%s", status, body)
	}
}

// TestTracesGoToTheCollector: with OTEL_EXPORTER_OTLP_ENDPOINT each request
// becomes a span named after its route, in the caller's trace, exported
// over OTLP/HTTP (flushed at shutdown at the latest).
func TestTracesGoToTheCollector(t *testing.T) {
	t.Chdir(t.TempDir())
	var mu sync.Mutex
	var exported bytes.Buffer
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.URL.Path == "/v1/traces" {
			mu.Lock()
			exported.Write(b)
			mu.Unlock()
		}
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	defer collector.Close()

	in := startInstance(t, map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": collector.URL, "LOG_LEVEL": "error"})
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	req, _ := http.NewRequest("GET", "http://"+in.addr+"/healthz", nil)
	req.Header.Set("traceparent", "00-"+traceID+"-00f067aa0ba902b7-01")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", resp, err)
	}
	resp.Body.Close()
	if err := in.shutdown(); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	id, _ := hex.DecodeString(traceID)
	mu.Lock()
	defer mu.Unlock()
	if !bytes.Contains(exported.Bytes(), []byte("GET /healthz")) || !bytes.Contains(exported.Bytes(), id) {
		t.Fatalf("the collector got no span of GET /healthz in the caller's trace (%d bytes)", exported.Len())
	}
}
