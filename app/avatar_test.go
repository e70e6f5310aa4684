package app

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"sync"
	"testing"

	"github.com/acme/accounts/models"
)

// fakeObjects is an ObjectStore whose Put can be made to fail.
type fakeObjects struct {
	mu      sync.Mutex
	putErr  error
	puts    []string
	deletes []string
}

func (f *fakeObjects) Put(_ context.Context, key string, _ []byte, _ string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.puts = append(f.puts, key)
	return f.putErr
}

func (f *fakeObjects) Delete(_ context.Context, key string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deletes = append(f.deletes, key)
	return f.putErr
}

func (f *fakeObjects) URL(key string) string          { return "/uploads/" + key }
func (f *fakeObjects) Ping(ctx context.Context) error { return nil }

func filled(w, h int, c color.NRGBA) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = c.R, c.G, c.B, c.A
	}
	return img
}

func jpegOf(t testing.TB, img image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestReplaceAvatarStorageDownLeavesNothing(t *testing.T) {
	objects := &fakeObjects{putErr: models.Unavailable("storage", errors.New("connection refused"))}
	a := testApp(Deps{Objects: objects})
	u := &models.User{ID: models.NewID()}
	// No database is configured: the flow must stop at the failed put.
	_, err := a.ReplaceAvatar(context.Background(), u, jpegOf(t, filled(10, 10, color.NRGBA{A: 255})))
	var ue *models.UnavailableError
	if !errors.As(err, &ue) || ue.Dependency != "storage" {
		t.Fatalf("got %v, want storage unavailable", err)
	}
	if len(objects.puts) != 1 || len(objects.deletes) != 1 || objects.deletes[0] != objects.puts[0] {
		t.Fatalf("puts %v, deletes %v: the failed key must be cleaned up", objects.puts, objects.deletes)
	}
}

func TestReplaceAvatarSizeLimit(t *testing.T) {
	objects := &fakeObjects{}
	a := testApp(Deps{Objects: objects, Options: Options{AvatarMaxBytes: 100}})
	if _, err := a.ReplaceAvatar(context.Background(), &models.User{}, make([]byte, 101)); !errors.Is(err, models.ErrTooLarge) {
		t.Fatalf("got %v, want ErrTooLarge", err)
	}
	if len(objects.puts) != 0 {
		t.Fatal("an oversized upload reached the store")
	}
}

func TestNewAvatarKey(t *testing.T) {
	u := &models.User{ID: models.NewID()}
	k1, err := newAvatarKey(u, "jpg")
	if err != nil {
		t.Fatal(err)
	}
	k2, _ := newAvatarKey(u, "jpg")
	prefix := "avatars/" + u.ID.String() + "/"
	if k1 == k2 || len(k1) != len(prefix)+32+4 || k1[:len(prefix)] != prefix || k1[len(k1)-4:] != ".jpg" {
		t.Fatalf("keys %q %q", k1, k2)
	}
}
