package avatarimage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"strings"
	"testing"
)

func filled(w, h int, c color.NRGBA) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = c.R, c.G, c.B, c.A
	}
	return img
}

func pngOf(t testing.TB, img image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func jpegOf(t testing.TB, img image.Image) []byte {
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
		if got := Format([]byte(in)); got != want {
			t.Errorf("Format(%q) = %q, want %q", in, got, want)
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
		img, err := Process(c.data)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		cfg, format, err := image.DecodeConfig(bytes.NewReader(img.Body))
		if err != nil {
			t.Errorf("%s: output does not decode: %v", c.name, err)
			continue
		}
		wantFormat := map[string]string{"jpg": "jpeg", "png": "png"}[c.ext]
		if img.Ext != c.ext || format != wantFormat || img.ContentType != "image/"+wantFormat {
			t.Errorf("%s: ext %s, format %s, type %s", c.name, img.Ext, format, img.ContentType)
		}
		if cfg.Width != c.side || cfg.Height != c.side {
			t.Errorf("%s: %dx%d, want %dx%d", c.name, cfg.Width, cfg.Height, c.side, c.side)
		}
	}
}

func TestProcessAvatarRefusals(t *testing.T) {
	var refusal *Refusal
	if _, err := Process(nil); !errors.As(err, &refusal) {
		t.Errorf("empty: %v", err)
	}
	if _, err := Process([]byte("hello, not an image")); !errors.Is(err, ErrUnsupported) {
		t.Errorf("text: %v", err)
	}
	if _, err := Process([]byte("\xFF\xD8\xFF\xE0 broken")); !errors.As(err, &refusal) {
		t.Errorf("broken JPEG: %v", err)
	}
	for _, size := range [][2]uint32{{30000, 30000}, {8000, 5001}, {40_000_001, 1}} {
		_, err := Process(pngClaiming(size[0], size[1]))
		if !errors.As(err, &refusal) || refusal.Reason != "must be at most 40 megapixels" {
			t.Errorf("%dx%d: %v", size[0], size[1], err)
		}
	}
}

// TestDecodeBudget: what an image costs to decode is read from its
// header as width x height x bytes per pixel, so an image under the pixel
// limit but over the memory budget is refused before decoding, while the
// same pixels at a smaller depth pass.
func TestDecodeBudget(t *testing.T) {
	var refusal *Refusal
	for _, c := range []struct {
		name             string
		data             []byte
		wantCost         int64
		refusedForMemory bool
	}{
		{"16-bit RGBA 6320x6320", pngHeader(6320, 6320, 16, 6), 6320 * 6320 * 8, true},
		{"8-bit RGBA 6320x6320", pngHeader(6320, 6320, 8, 6), 0, true},
		{"8-bit RGBA 5792x5792", pngHeader(5792, 5792, 8, 6), 5792 * 5792 * 4, false},
		{"16-bit grey 6320x6320", pngHeader(6320, 6320, 16, 0), 6320 * 6320 * 2, false},
		{"8-bit grey 6000x6000", pngHeader(6000, 6000, 8, 0), 6000 * 6000, false},
		{"16-bit RGBA 4000x4000", pngHeader(4000, 4000, 16, 6), 4000 * 4000 * 8, false},
		{"16-bit RGBA 4200x4200", pngHeader(4200, 4200, 16, 6), 0, true},
	} {
		up, err := Check(c.data)
		if c.refusedForMemory {
			if !errors.As(err, &refusal) || !strings.Contains(refusal.Reason, "colour depth") {
				t.Errorf("%s: %v, want refused for its decode memory", c.name, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if up.Cost != c.wantCost || up.Cost > DecodeBudget {
			t.Errorf("%s: cost %d, want %d within %d", c.name, up.Cost, c.wantCost, DecodeBudget)
		}
	}
	// A JPEG counts its pixels at 4:4:4 plus the copy EXIF rotation makes.
	if got := decodeCost("jpeg", image.Config{ColorModel: color.YCbCrModel, Width: 100, Height: 10}); got != 100*10*7 {
		t.Errorf("jpeg cost %d", got)
	}
}

// FuzzProcess: whatever bytes arrive as an avatar, the pipeline answers a
// refusal, an unsupported type, or a square image of at most Side that
// decodes again; it never panics, and nothing it accepts costs more than
// the decode budget.
func FuzzProcess(f *testing.F) {
	f.Add(pngOf(f, filled(40, 30, color.NRGBA{10, 20, 30, 255})))
	f.Add(pngOf(f, filled(20, 20, color.NRGBA{10, 20, 30, 100})))
	f.Add(jpegOf(f, filled(33, 17, color.NRGBA{200, 20, 30, 255})))
	f.Add(pngClaiming(30000, 30000))
	f.Add(pngHeader(6320, 6320, 16, 6))
	f.Add([]byte("\xFF\xD8\xFF\xE0 broken"))
	f.Add([]byte("RIFF\x10\x00\x00\x00WEBPVP8 "))
	for _, name := range []string{"opaque.webp", "transparent.webp"} {
		if b, err := os.ReadFile("../../routes/testdata/" + name); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		up, err := Check(data)
		if err == nil && up.Cost > DecodeBudget {
			t.Fatalf("accepted an image costing %d bytes", up.Cost)
		}
		var img *Image
		if err == nil {
			img, err = up.Decode()
		}
		var refusal *Refusal
		if err != nil {
			if !errors.As(err, &refusal) && !errors.Is(err, ErrUnsupported) {
				t.Fatalf("neither a refusal nor an unsupported type: %v", err)
			}
			return
		}
		cfg, _, err := image.DecodeConfig(bytes.NewReader(img.Body))
		if err != nil {
			t.Fatalf("the stored avatar does not decode: %v", err)
		}
		if cfg.Width != cfg.Height || cfg.Width > Side || cfg.Width < 1 {
			t.Fatalf("stored avatar is %dx%d", cfg.Width, cfg.Height)
		}
	})
}
