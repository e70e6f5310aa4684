package storage

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/acme/accounts/models"
)

func TestLocalObjects(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "uploads")
	l, err := NewLocalObjects(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}

	key := "avatars/1f2e3d.webp"
	if got := l.URL(key); got != "/uploads/avatars/1f2e3d.webp" {
		t.Fatalf("URL = %q", got)
	}
	if err := l.Put(ctx, key, []byte("first"), "image/webp"); err != nil {
		t.Fatal(err)
	}
	if err := l.Put(ctx, key, []byte("second"), "image/webp"); err != nil {
		t.Fatalf("overwrite: %v", err)
	}

	f, ct, err := l.Open(key)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(f)
	_ = f.Close()
	if string(body) != "second" || ct != "image/webp" {
		t.Fatalf("Open = %q, %q", body, ct)
	}

	// The atomic write leaves no temporary file behind.
	entries, err := os.ReadDir(filepath.Join(dir, "avatars"))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Fatalf("files in avatars/: %v", entries)
	}

	if err := l.Delete(ctx, key); err != nil {
		t.Fatal(err)
	}
	if _, _, err := l.Open(key); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("Open after Delete: %v", err)
	}
	if err := l.Delete(ctx, key); err != nil {
		t.Fatalf("Delete of a missing object: %v", err)
	}
	if _, _, err := l.Open("avatars"); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("Open of a directory: %v", err)
	}
}

func TestLocalObjectsPublicBase(t *testing.T) {
	l, err := NewLocalObjects(t.TempDir(), "https://cdn.example.com/u/")
	if err != nil {
		t.Fatal(err)
	}
	if got := l.URL("a/b.png"); got != "https://cdn.example.com/u/a/b.png" {
		t.Fatalf("URL = %q", got)
	}
}

func TestLocalObjectsRejectTraversal(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	dir := filepath.Join(root, "uploads")
	l, err := NewLocalObjects(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	secret := filepath.Join(root, "secret.txt")
	if err := os.WriteFile(secret, []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}

	bad := []string{
		"", "../secret.txt", "a/../../secret.txt", "/etc/passwd", "..", ".", "a//b", "a/", "/a",
		`..\secret.txt`, "a b.png", "a%2e%2e/b", "avatars/.tmp-123", ".hidden", "a\x00b", "ä.png",
	}
	for _, key := range bad {
		if err := l.Put(ctx, key, []byte("x"), "text/plain"); !errors.Is(err, errInvalidKey) {
			t.Errorf("Put(%q) = %v, want invalid key", key, err)
		}
		if err := l.Delete(ctx, key); !errors.Is(err, errInvalidKey) {
			t.Errorf("Delete(%q) = %v, want invalid key", key, err)
		}
		if f, _, err := l.Open(key); !errors.Is(err, models.ErrNotFound) {
			if f != nil {
				_ = f.Close()
			}
			t.Errorf("Open(%q) = %v, want not found", key, err)
		}
	}
	if b, _ := os.ReadFile(secret); string(b) != "secret" {
		t.Fatal("a file outside the root was touched")
	}
}

func TestLocalObjectsPingFailsWhenDirIsGone(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "uploads")
	l, err := NewLocalObjects(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := l.Ping(context.Background()); !errors.Is(err, models.ErrUnavailable) {
		t.Fatalf("Ping = %v, want ErrUnavailable", err)
	}
}

func TestContentTypeOf(t *testing.T) {
	for key, want := range map[string]string{
		"a.jpg": "image/jpeg", "a.JPEG": "image/jpeg", "a.png": "image/png", "a.webp": "image/webp",
		"a": "application/octet-stream", "a.unknownext": "application/octet-stream",
	} {
		if got := contentTypeOf(key); got != want {
			t.Errorf("contentTypeOf(%q) = %q, want %q", key, got, want)
		}
	}
}
