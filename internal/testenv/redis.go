package testenv

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisServer is a private redis-server for outage tests: it can be stopped
// and started again on the same port without touching the shared Redis.
type RedisServer struct {
	URL  string
	t    testing.TB
	bin  string
	port int
	cmd  *exec.Cmd
}

// StartRedis starts a private redis-server on a free port. Without the binary
// the test is skipped, or fails in the real-service run.
func StartRedis(t testing.TB) *RedisServer {
	t.Helper()
	bin := os.Getenv(EnvRedisServerBin)
	if bin == "" {
		bin, _ = exec.LookPath("redis-server")
	}
	if bin == "" {
		if RequireServices() {
			t.Fatalf("redis-server not found (set %s)", EnvRedisServerBin)
		}
		t.Skipf("redis-server not found (set %s to run this test)", EnvRedisServerBin)
	}
	r := &RedisServer{t: t, bin: bin, port: sparePort(t)}
	r.URL = fmt.Sprintf("redis://127.0.0.1:%d/0", r.port)
	r.Start()
	t.Cleanup(r.Stop)
	return r
}

// Start runs the server and waits until it answers PING.
func (r *RedisServer) Start() {
	r.t.Helper()
	r.cmd = exec.Command(r.bin, "--port", strconv.Itoa(r.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
	if err := r.cmd.Start(); err != nil {
		r.t.Fatalf("start redis-server: %v", err)
	}
	client := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", r.port)})
	defer client.Close()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		err := client.Ping(ctx).Err()
		cancel()
		if err == nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	r.t.Fatalf("redis-server on port %d did not answer", r.port)
}

// Stop kills the server and waits for it to exit.
func (r *RedisServer) Stop() {
	if r.cmd == nil || r.cmd.Process == nil {
		return
	}
	_ = r.cmd.Process.Kill()
	_ = r.cmd.Wait()
	r.cmd = nil
}

// Pause freezes the server (SIGSTOP): connections stay open but nothing
// answers, as with a stalled Redis. Resume undoes it.
func (r *RedisServer) Pause() { r.signal(syscall.SIGSTOP) }

// Resume lets a paused server answer again.
func (r *RedisServer) Resume() { r.signal(syscall.SIGCONT) }

func (r *RedisServer) signal(s syscall.Signal) {
	r.t.Helper()
	if r.cmd == nil || r.cmd.Process == nil {
		r.t.Fatal("redis-server is not running")
	}
	if err := r.cmd.Process.Signal(s); err != nil {
		r.t.Fatalf("signal redis-server: %v", err)
	}
}
