package routes_test

import (
	"bytes"
	"context"
	"image/color"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/acme/accounts/internal/testenv"
	"github.com/acme/accounts/routes"
	"github.com/acme/accounts/storage"
)

// TestUploadsServing checks the local /uploads route: headers, 404s and that
// no path leaves the uploads folder. When avatars go to S3 in this run, the
// test serves a folder of its own through a second router.
func TestUploadsServing(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, testenv.Config{})
	dir := e.Uploads
	if dir == "" {
		dir = t.TempDir()
	}
	local, err := storage.NewLocalObjects(dir, "/uploads")
	if err != nil {
		t.Fatal(err)
	}
	if e.Uploads == "" {
		e.Fiber = routes.New(e.App, routes.Options{JWTSecret: e.Secret, Uploads: local})
	}
	key := "avatars/" + testenv.RandomID() + "/" + testenv.RandomID() + ".jpg"
	jpg := encodeJPEG(t, solidImage(20, 20, color.White))
	if err := local.Put(context.Background(), key, jpg, "image/jpeg"); err != nil {
		t.Fatal(err)
	}
	for _, method := range []string{"GET", "HEAD"} {
		r := e.Do(method, local.URL(key), nil, "")
		if r.Status != 200 {
			t.Fatalf("%s %s: %d %s", method, local.URL(key), r.Status, r.Body)
		}
		for h, want := range map[string]string{
			"Content-Type":           "image/jpeg",
			"Cache-Control":          storage.ImmutableCacheControl,
			"X-Content-Type-Options": "nosniff",
		} {
			if got := r.Header.Get(h); got != want {
				t.Errorf("%s: %s = %q, want %q", method, h, got, want)
			}
		}
		if method == "GET" && !bytes.Equal(r.Body, jpg) {
			t.Errorf("GET: body differs from the stored object")
		}
	}

	secret := filepath.Join(filepath.Dir(dir), "secret.txt")
	if err := os.WriteFile(secret, []byte("top secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{
		"/uploads/avatars/nope.jpg",
		"/uploads/avatars",
		"/uploads/../secret.txt",
		"/uploads/..%2fsecret.txt",
		"/uploads/%2e%2e/secret.txt",
		"/uploads/avatars/..%2f..%2fsecret.txt",
		"/uploads/.%2e/secret.txt",
		"/uploads//etc/passwd",
	} {
		r := e.Do("GET", p, nil, "")
		if r.Status != 404 || strings.Contains(string(r.Body), "top secret") {
			t.Errorf("GET %s: %d %s", p, r.Status, r.Body)
		}
	}
}
