package storage

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/acme/accounts/models"
)

// testS3Options reads TEST_S3_* and gives each test its own bucket, or skips.
func testS3Options(t *testing.T) S3Options {
	t.Helper()
	o := S3Options{
		Endpoint:  os.Getenv("TEST_S3_ENDPOINT"),
		AccessKey: os.Getenv("TEST_S3_ACCESS_KEY"),
		SecretKey: os.Getenv("TEST_S3_SECRET_KEY"),
		Bucket:    "storagetest-" + randomHex(t, 6),
	}
	if o.Endpoint == "" || o.AccessKey == "" || o.SecretKey == "" {
		t.Skip("TEST_S3_ENDPOINT, TEST_S3_ACCESS_KEY and TEST_S3_SECRET_KEY are not all set; skipping S3 tests")
	}
	o.UseSSL, _ = strconv.ParseBool(os.Getenv("TEST_S3_USE_SSL"))
	return o
}

// removeBucket empties and removes a test bucket.
func removeBucket(t *testing.T, s *S3Objects) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := s.Client()
	for obj := range c.ListObjects(ctx, s.Bucket(), minio.ListObjectsOptions{Recursive: true}) {
		if obj.Err != nil {
			t.Errorf("list %s: %v", s.Bucket(), obj.Err)
			return
		}
		if err := c.RemoveObject(ctx, s.Bucket(), obj.Key, minio.RemoveObjectOptions{}); err != nil {
			t.Errorf("remove %s: %v", obj.Key, err)
		}
	}
	if err := c.RemoveBucket(ctx, s.Bucket()); err != nil {
		t.Errorf("remove bucket %s: %v", s.Bucket(), err)
	}
}

func TestS3Objects(t *testing.T) {
	o := testS3Options(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	s, err := NewS3Objects(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { removeBucket(t, s) })

	// A second start finds the bucket and keeps working.
	if _, err := NewS3Objects(ctx, o); err != nil {
		t.Fatalf("second NewS3Objects: %v", err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}

	key := "avatars/" + randomHex(t, 8) + ".png"
	body := []byte("\x89PNG\r\n\x1a\nnot really an image")
	if err := s.Put(ctx, key, body, "image/png"); err != nil {
		t.Fatal(err)
	}

	// Anyone can read it at its URL, with its type and a long cache lifetime.
	resp := anonymousGet(t, ctx, s.URL(key))
	got, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", s.URL(key), resp.StatusCode, got)
	}
	if string(got) != string(body) {
		t.Fatalf("body = %q", got)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "image/png" {
		t.Fatalf("Content-Type = %q", ct)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != ImmutableCacheControl {
		t.Fatalf("Cache-Control = %q", cc)
	}

	// Public read does not mean public listing.
	resp = anonymousGet(t, ctx, s.URL(""))
	_ = resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		t.Fatalf("anonymous listing of the bucket answered 200")
	}

	if err := s.Delete(ctx, key); err != nil {
		t.Fatal(err)
	}
	resp = anonymousGet(t, ctx, s.URL(key))
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusForbidden {
		t.Fatalf("GET after Delete: %d", resp.StatusCode)
	}
	if err := s.Delete(ctx, key); err != nil {
		t.Fatalf("Delete of a missing object: %v", err)
	}
	if err := s.Put(ctx, "../x", body, "image/png"); !errors.Is(err, errInvalidKey) {
		t.Fatalf("Put(../x) = %v, want invalid key", err)
	}
}

func anonymousGet(t *testing.T, ctx context.Context, url string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func TestS3ObjectsUnavailable(t *testing.T) {
	o := S3Options{Endpoint: "127.0.0.1:1", AccessKey: "k", SecretKey: "secret-key", Bucket: "avatars"}
	ctx := context.Background()

	start := time.Now()
	_, err := NewS3Objects(ctx, o)
	if !errors.Is(err, models.ErrUnavailable) {
		t.Fatalf("NewS3Objects = %v, want ErrUnavailable", err)
	}
	if d := time.Since(start); d > 15*time.Second {
		t.Fatalf("a dead server took %s to answer", d)
	}

	s, _, err := newS3Objects(o)
	if err != nil {
		t.Fatal(err)
	}
	for name, call := range map[string]func() error{
		"Put":    func() error { return s.Put(ctx, "a.png", []byte("x"), "image/png") },
		"Delete": func() error { return s.Delete(ctx, "a.png") },
		"Ping":   func() error { return s.Ping(ctx) },
	} {
		start := time.Now()
		err := call()
		var ue *models.UnavailableError
		if !errors.As(err, &ue) || ue.Dependency != "storage" {
			t.Errorf("%s = %v, want storage unavailable", name, err)
		}
		if d := time.Since(start); d > 15*time.Second {
			t.Errorf("%s took %s against a dead server", name, d)
		}
	}
}

func TestS3URLs(t *testing.T) {
	for _, tc := range []struct {
		o    S3Options
		want string
	}{
		{S3Options{Endpoint: "minio:9000", Bucket: "avatars"}, "http://minio:9000/avatars/a/b.png"},
		{S3Options{Endpoint: "s3.example.com", Bucket: "avatars", UseSSL: true}, "https://s3.example.com/avatars/a/b.png"},
		{S3Options{Endpoint: "minio:9000", Bucket: "avatars", PublicURL: "https://cdn.example.com/av/"}, "https://cdn.example.com/av/a/b.png"},
	} {
		s, _, err := newS3Objects(tc.o)
		if err != nil {
			t.Fatalf("%+v: %v", tc.o, err)
		}
		if got := s.URL("a/b.png"); got != tc.want {
			t.Errorf("%+v: URL = %q, want %q", tc.o, got, tc.want)
		}
	}
	for _, bad := range []string{"", "ftp://x", "https://s3.example.com", "host/path"} {
		if _, _, err := newS3Objects(S3Options{Endpoint: bad, Bucket: "b"}); err == nil {
			t.Errorf("endpoint %q accepted", bad)
		}
	}
}
