package app

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"strings"
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

func pngOf(t *testing.T, img image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func jpegOf(t *testing.T, img image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// pngClaiming is a PNG of a few bytes whose header claims w x h.
func pngClaiming(w, h uint32) []byte { return pngHeader(w, h, 8, 6) }

// pngHeader is a PNG of only its header: what checkAvatar reads. depth and
// colorType are the IHDR fields (6 is RGBA, 0 grey).
func pngHeader(w, h uint32, depth, colorType byte) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = depth, colorType
	_ = binary.Write(&b, binary.BigEndian, uint32(len(ihdr)))
	b.WriteString("IHDR")
	b.Write(ihdr)
	_ = binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(append([]byte("IHDR"), ihdr...)))
	return b.Bytes()
}

func TestImageFormat(t *testing.T) {
	for in, want := range map[string]string{
		"\xFF\xD8\xFF\xE0rest":       "jpeg",
		"\x89PNG\r\n\x1a\nrest":      "png",
		"RIFF\x10\x00\x00\x00WEBPVP": "webp",
		"RIFF\x10\x00\x00\x00WAVEfm": "",
		"GIF89a":                     "",
		"<svg></svg>":                "",
		"\xFF\xD8":                   "",
		"":                           "",
	} {
		if got := imageFormat([]byte(in)); got != want {
			t.Errorf("imageFormat(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestProcessAvatar(t *testing.T) {
	opaque := filled(900, 600, color.NRGBA{10, 20, 30, 255})
	seeThrough := filled(900, 600, color.NRGBA{10, 20, 30, 128})
	for _, c := range []struct {
		name string
		data []byte
		ext  string
		side int
	}{
		{"opaque PNG becomes a 512 JPEG", pngOf(t, opaque), "jpg", 512},
		{"transparent PNG stays PNG", pngOf(t, seeThrough), "png", 512},
		{"JPEG", jpegOf(t, opaque), "jpg", 512},
		{"small image keeps its size", jpegOf(t, filled(64, 80, color.NRGBA{1, 1, 1, 255})), "jpg", 64},
	} {
		img, err := processAvatar(c.data)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		cfg, format, err := image.DecodeConfig(bytes.NewReader(img.body))
		if err != nil {
			t.Errorf("%s: output does not decode: %v", c.name, err)
			continue
		}
		wantFormat := map[string]string{"jpg": "jpeg", "png": "png"}[c.ext]
		if img.ext != c.ext || format != wantFormat || img.contentType != "image/"+wantFormat {
			t.Errorf("%s: ext %s, format %s, type %s", c.name, img.ext, format, img.contentType)
		}
		if cfg.Width != c.side || cfg.Height != c.side {
			t.Errorf("%s: %dx%d, want %dx%d", c.name, cfg.Width, cfg.Height, c.side, c.side)
		}
	}
}

func TestProcessAvatarRefusals(t *testing.T) {
	var verr *models.ValidationError
	if _, err := processAvatar(nil); !errors.As(err, &verr) {
		t.Errorf("empty: %v", err)
	}
	if _, err := processAvatar([]byte("hello, not an image")); !errors.Is(err, models.ErrUnsupportedMedia) {
		t.Errorf("text: %v", err)
	}
	if _, err := processAvatar([]byte("\xFF\xD8\xFF\xE0 broken")); !errors.As(err, &verr) {
		t.Errorf("broken JPEG: %v", err)
	}
	for _, size := range [][2]uint32{{30000, 30000}, {8000, 5001}, {40_000_001, 1}} {
		_, err := processAvatar(pngClaiming(size[0], size[1]))
		if !errors.As(err, &verr) || verr.Fields["avatar"] != "must be at most 40 megapixels" {
			t.Errorf("%dx%d: %v", size[0], size[1], err)
		}
	}
}

// TestAvatarDecodeBudget: what an image costs to decode is read from its
// header as width x height x bytes per pixel, so a 16-bit image under the
// pixel limit but over the memory budget is refused before decoding, while
// the same pixels at 8 bits pass.
func TestAvatarDecodeBudget(t *testing.T) {
	var verr *models.ValidationError
	for _, c := range []struct {
		name             string
		data             []byte
		wantCost         int64
		refusedForMemory bool
	}{
		{"16-bit RGBA 6320x6320", pngHeader(6320, 6320, 16, 6), 6320 * 6320 * 8, true},
		{"8-bit RGBA 6320x6320", pngHeader(6320, 6320, 8, 6), 6320 * 6320 * 4, false},
		{"16-bit grey 6320x6320", pngHeader(6320, 6320, 16, 0), 6320 * 6320 * 2, false},
		{"8-bit grey 6000x6000", pngHeader(6000, 6000, 8, 0), 6000 * 6000, false},
		{"16-bit RGBA 4000x4000", pngHeader(4000, 4000, 16, 6), 4000 * 4000 * 8, false},
	} {
		up, err := checkAvatar(c.data)
		if c.refusedForMemory {
			if !errors.As(err, &verr) || !strings.Contains(verr.Fields["avatar"], "colour depth") {
				t.Errorf("%s: %v, want refused for its decode memory", c.name, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if up.cost != c.wantCost || up.cost > AvatarDecodeBudget {
			t.Errorf("%s: cost %d, want %d within %d", c.name, up.cost, c.wantCost, AvatarDecodeBudget)
		}
	}
	// A JPEG counts its pixels at 4:4:4 plus the copy EXIF rotation makes.
	if got := decodeCost("jpeg", image.Config{ColorModel: color.YCbCrModel, Width: 100, Height: 10}); got != 100*10*7 {
		t.Errorf("jpeg cost %d", got)
	}
}

// TestAvatarCropsTheCentre: the square is cut from the middle of the image.
func TestAvatarCropsTheCentre(t *testing.T) {
	src := image.NewNRGBA(image.Rect(0, 0, 900, 300))
	for x := 0; x < 900; x++ {
		c := color.NRGBA{R: 255, A: 255}
		if x >= 300 && x < 600 {
			c = color.NRGBA{G: 255, A: 255}
		}
		for y := 0; y < 300; y++ {
			src.SetNRGBA(x, y, c)
		}
	}
	out := squareThumbnail(src.SubImage(image.Rect(0, 0, 900, 300)), 512)
	if out.Bounds().Dx() != 300 || out.Bounds().Dy() != 300 {
		t.Fatalf("size %v, want 300x300 (never scaled up)", out.Bounds())
	}
	for _, x := range []int{0, 150, 299} {
		if c := out.NRGBAAt(x, 150); c.G < 200 || c.R > 50 {
			t.Errorf("pixel %d: %v, want the green centre only", x, c)
		}
	}
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
