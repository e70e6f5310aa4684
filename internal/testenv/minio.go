package testenv

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Defaults of a private MinIO.
const (
	defaultMinioUser     = "minioadmin"
	defaultMinioPassword = "minioadmin"
	minioStartTimeout    = 60 * time.Second
)

// MinIO is a MinIO server of one test's own, on a spare port, that the test
// may stop and start again (same port, same data) to see how the API copes
// with an object store outage. Pass Endpoint as Config.S3Endpoint.
type MinIO struct {
	Endpoint string // 127.0.0.1:<port>

	t       testing.TB
	bin     string
	dataDir string
	logPath string
	console string
	env     []string // extra environment of the server

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// MinioBin is the MinIO server binary for private servers: TEST_MINIO_BIN,
// or the one scripts/services.sh builds into $HOME/.cache/accounts/bin.
func MinioBin() string {
	if p := os.Getenv(EnvMinioBin); p != "" {
		return p
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".cache", "accounts", "bin", "minio")
}

// StartMinIO starts a private MinIO and stops it when the test ends. Without
// the binary the test is skipped, or fails when TEST_REQUIRE_SERVICES=1.
//
// The Env reads the S3 credentials from TEST_S3_ACCESS_KEY and
// TEST_S3_SECRET_KEY; when they are unset (the embedded run) StartMinIO sets
// them with t.Setenv for this test, so such a test must not be parallel.
func StartMinIO(t testing.TB) *MinIO {
	t.Helper()
	return StartMinIOWith(t)
}

// StartMinIOWith is StartMinIO with extra environment for the server
// (MINIO_DOMAIN=localhost, say, for virtual-host-style buckets).
func StartMinIOWith(t testing.TB, env ...string) *MinIO {
	t.Helper()
	bin := MinioBin()
	if fi, err := os.Stat(bin); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
		if RequireServices() {
			t.Fatalf("%s=1 but no MinIO binary at %q (set %s or run scripts/services.sh)", EnvRequireServices, bin, EnvMinioBin)
		}
		t.Skipf("no MinIO binary at %q (set %s or run scripts/services.sh)", bin, EnvMinioBin)
	}
	if os.Getenv(EnvS3AccessKey) == "" || os.Getenv(EnvS3SecretKey) == "" {
		t.Setenv(EnvS3AccessKey, defaultMinioUser)
		t.Setenv(EnvS3SecretKey, defaultMinioPassword)
	}
	dir := t.TempDir()
	m := &MinIO{
		t:       t,
		bin:     bin,
		dataDir: filepath.Join(dir, "data"),
		logPath: filepath.Join(dir, "minio.log"),
		// Fixed for the server's life, so a restart comes back where it was.
		Endpoint: "127.0.0.1:" + strconv.Itoa(sparePort(t)),
		console:  "127.0.0.1:" + strconv.Itoa(sparePort(t)),
		env:      env,
	}
	t.Cleanup(m.Stop)
	m.Start()
	return m
}

// Start starts the server (again) and waits until it serves S3 requests.
func (m *MinIO) Start() {
	m.t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cmd != nil {
		return
	}
	logFile, err := os.OpenFile(m.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		m.t.Fatalf("minio log: %v", err)
	}
	defer logFile.Close()
	cmd := exec.Command(m.bin, "server", "--address", m.Endpoint, "--console-address", m.console, m.dataDir)
	cmd.Env = append(os.Environ(),
		"MINIO_ROOT_USER="+os.Getenv(EnvS3AccessKey),
		"MINIO_ROOT_PASSWORD="+os.Getenv(EnvS3SecretKey),
		"MINIO_BROWSER=off",
		"MINIO_UPDATE=off",
	)
	cmd.Env = append(cmd.Env, m.env...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// Its own process group: stopping it never touches anything else.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		m.t.Fatalf("start minio: %v", err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	m.cmd, m.done = cmd, done
	if err := m.waitReady(done); err != nil {
		log, _ := os.ReadFile(m.logPath)
		m.t.Fatalf("minio at %s: %v\n%s", m.Endpoint, err, log)
	}
}

// Stop kills the server and waits until it is gone; its data stays.
func (m *MinIO) Stop() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cmd == nil {
		return
	}
	_ = syscall.Kill(-m.cmd.Process.Pid, syscall.SIGKILL)
	<-m.done
	m.cmd, m.done = nil, nil
}

func (m *MinIO) waitReady(exited <-chan struct{}) error {
	ctx, cancel := context.WithTimeout(context.Background(), minioStartTimeout)
	defer cancel()
	// The cluster probe answers 200 only once the object layer is up; the
	// live probe answers as soon as the listener does, and S3 calls made
	// then fail with XMinioServerNotInitialized.
	url := "http://" + m.Endpoint + "/minio/health/cluster"
	client := &http.Client{Timeout: time.Second}
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-exited:
			return fmt.Errorf("the server exited")
		case <-ctx.Done():
			return fmt.Errorf("not ready after %s", minioStartTimeout)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// sparePort asks the kernel for a free port on the loopback.
func sparePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("spare port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
