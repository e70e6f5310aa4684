package avatarimage

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"testing"
)

// These tests hold for both Decode implementations (go test, and go test
// -tags vips with libvips installed).

// exifJPEG splices an APP1 Exif segment (big-endian TIFF) right after the
// JPEG's SOI: IFD0 holds the orientation and a pointer to a GPS IFD whose
// latitude is gpsMarker, so a test can look for it in the output.
func exifJPEG(t *testing.T, jpg []byte, orientation uint16) []byte {
	t.Helper()
	var b bytes.Buffer
	w16 := func(v uint16) { _ = binary.Write(&b, binary.BigEndian, v) }
	w32 := func(v uint32) { _ = binary.Write(&b, binary.BigEndian, v) }
	b.WriteString("Exif\x00\x00MM")
	w16(42)
	w32(8) // IFD0 right after the TIFF header
	w16(2)
	w16(0x0112) // Orientation, SHORT, 1
	w16(3)
	w32(1)
	w16(orientation)
	w16(0)
	w16(0x8825) // GPS IFD pointer, LONG, 1
	w16(4)
	w32(1)
	w32(8 + 2 + 2*12 + 4) // after IFD0
	w32(0)                // no next IFD
	w16(1)
	w16(0x0002) // GPSLatitude, RATIONAL, 3
	w16(5)
	w32(3)
	w32(8 + 2 + 2*12 + 4 + 2 + 12 + 4) // after the GPS IFD
	w32(0)
	b.Write(gpsMarker)
	payload := b.Bytes()
	if !bytes.HasPrefix(jpg, []byte{0xFF, 0xD8}) {
		t.Fatal("not a JPEG")
	}
	seg := []byte{0xFF, 0xE1, byte((len(payload) + 2) >> 8), byte(len(payload) + 2)}
	return append(append(append([]byte{0xFF, 0xD8}, seg...), payload...), jpg[2:]...)
}

// gpsMarker is the GPS latitude the test EXIF block carries (41/1, 18/1,
// 36/1 degrees, minutes, seconds).
var gpsMarker = []byte{0, 0, 0, 41, 0, 0, 0, 1, 0, 0, 0, 18, 0, 0, 0, 1, 0, 0, 0, 36, 0, 0, 0, 1}

// jpegAppSegments lists the APPn markers (0xE0-0xEF) before the image data.
func jpegAppSegments(t *testing.T, b []byte) []byte {
	t.Helper()
	var apps []byte
	for i := 2; i+4 <= len(b) && b[i] == 0xFF; {
		m := b[i+1]
		if m == 0xDA { // start of scan: no more headers
			break
		}
		if m >= 0xE0 && m <= 0xEF {
			apps = append(apps, m)
		}
		i += 2 + int(binary.BigEndian.Uint16(b[i+2:]))
	}
	return apps
}

// TestDecodeAppliesOrientationAndStripsMetadata: a photo whose EXIF says
// "rotate 90° clockwise" is stored upright, and no EXIF or GPS byte, nor
// any other APP segment but JFIF's, survives.
func TestDecodeAppliesOrientationAndStripsMetadata(t *testing.T) {
	// 200x100: top half red, bottom half blue. Orientation 6: upright it is
	// 100x200 with red on the right, so its centre square is half red
	// (right), half blue (left); without the rotation it would be red on top.
	src := image.NewNRGBA(image.Rect(0, 0, 200, 100))
	for y := range 100 {
		for x := range 200 {
			c := color.NRGBA{220, 20, 20, 255}
			if y >= 50 {
				c = color.NRGBA{20, 20, 220, 255}
			}
			src.SetNRGBA(x, y, c)
		}
	}
	upload := exifJPEG(t, jpegOf(t, src), 6)
	img, err := Process(upload)
	if err != nil {
		t.Fatal(err)
	}
	if img.ContentType != "image/jpeg" {
		t.Fatalf("stored as %s", img.ContentType)
	}
	for _, m := range jpegAppSegments(t, img.Body) {
		if m != 0xE0 {
			t.Errorf("the avatar has an APP%d segment", m-0xE0)
		}
	}
	if bytes.Contains(img.Body, []byte("Exif")) || bytes.Contains(img.Body, gpsMarker) {
		t.Error("EXIF or GPS bytes survived")
	}
	out, _, err := image.Decode(bytes.NewReader(img.Body))
	if err != nil {
		t.Fatal(err)
	}
	if b := out.Bounds(); b.Dx() != 100 || b.Dy() != 100 {
		t.Fatalf("avatar is %dx%d, want the 100x100 centre square", b.Dx(), b.Dy())
	}
	for _, p := range []struct {
		x, y int
		red  bool
	}{{15, 15, false}, {15, 85, false}, {85, 15, true}, {85, 85, true}} {
		r, _, b, _ := out.At(p.x, p.y).RGBA()
		if isRed := r > b; isRed != p.red {
			t.Errorf("pixel (%d,%d) red=%v, want %v: orientation not applied", p.x, p.y, isRed, p.red)
		}
	}
}

// TestDecodeCropsTheCentre: the square is the middle of a wide image, and
// an image smaller than Side is never scaled up.
func TestDecodeCropsTheCentre(t *testing.T) {
	src := image.NewNRGBA(image.Rect(0, 0, 900, 300))
	for y := range 300 {
		for x := range 900 {
			c := color.NRGBA{R: 255, A: 255}
			if x >= 300 && x < 600 {
				c = color.NRGBA{G: 255, A: 255}
			}
			src.SetNRGBA(x, y, c)
		}
	}
	img, err := Process(pngOf(t, src))
	if err != nil {
		t.Fatal(err)
	}
	out, _, err := image.Decode(bytes.NewReader(img.Body))
	if err != nil {
		t.Fatal(err)
	}
	if b := out.Bounds(); b.Dx() != 300 || b.Dy() != 300 {
		t.Fatalf("size %v, want 300x300", b)
	}
	for _, x := range []int{2, 150, 297} {
		r, g, _, _ := out.At(x, 150).RGBA()
		if g>>8 < 200 || r>>8 > 50 {
			t.Errorf("pixel %d: r %d g %d, want the green centre only", x, r>>8, g>>8)
		}
	}
}

// rawPNG encodes pixels as given, with no check for opacity: image/png
// writes an opaque image without its alpha channel, which would never
// exercise an alpha channel that is opaque everywhere.
func rawPNG(t *testing.T, w, h int, depth, colorType byte, pix []byte) []byte {
	t.Helper()
	var idat bytes.Buffer
	zw := zlib.NewWriter(&idat)
	stride := len(pix) / h
	for y := range h {
		_, _ = zw.Write([]byte{0})
		_, _ = zw.Write(pix[y*stride : (y+1)*stride])
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	head := pngHeader(uint32(w), uint32(h), depth, colorType)
	var b bytes.Buffer
	b.Write(head)
	chunk := func(kind string, data []byte) {
		_ = binary.Write(&b, binary.BigEndian, uint32(len(data)))
		b.WriteString(kind)
		b.Write(data)
		_ = binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(append([]byte(kind), data...)))
	}
	chunk("IDAT", idat.Bytes())
	chunk("IEND", nil)
	return b.Bytes()
}

// TestDecodeColourModels: 16-bit and grey uploads, and an alpha channel
// that is opaque everywhere, come out as 8-bit JPEG avatars; a single
// see-through pixel keeps PNG.
func TestDecodeColourModels(t *testing.T) {
	const w, h = 600, 400
	rgba8 := func(a byte) []byte {
		pix := make([]byte, w*h*4)
		for i := 0; i < len(pix); i += 4 {
			pix[i], pix[i+1], pix[i+2], pix[i+3] = 30, 120, 200, 0xff
		}
		pix[(h/2*w+w/2)*4+3] = a
		return pix
	}
	rgba16 := make([]byte, w*h*8)
	for i := 0; i < len(rgba16); i += 8 {
		copy(rgba16[i:], []byte{0x12, 0x34, 0x80, 0x00, 0xC0, 0xFF, 0xFF, 0xFF})
	}
	grey := bytes.Repeat([]byte{77}, w*h)
	for _, c := range []struct {
		name, contentType string
		data              []byte
	}{
		{"8-bit RGBA, opaque everywhere", "image/jpeg", rawPNG(t, w, h, 8, 6, rgba8(0xff))},
		{"8-bit RGBA, one see-through pixel", "image/png", rawPNG(t, w, h, 8, 6, rgba8(0))},
		{"16-bit RGBA, opaque", "image/jpeg", rawPNG(t, w, h, 16, 6, rgba16)},
		{"8-bit grey", "image/jpeg", rawPNG(t, w, h, 8, 0, grey)},
	} {
		img, err := Process(c.data)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if img.ContentType != c.contentType {
			t.Errorf("%s: stored as %s, want %s", c.name, img.ContentType, c.contentType)
		}
		out, _, err := image.Decode(bytes.NewReader(img.Body))
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if b := out.Bounds(); b.Dx() != h || b.Dy() != h {
			t.Errorf("%s: %v, want %dx%d", c.name, b, h, h)
		}
		if m := out.ColorModel(); m == color.RGBA64Model || m == color.NRGBA64Model || m == color.Gray16Model {
			t.Errorf("%s: stored with 16 bits per channel", c.name)
		}
		if c.contentType == "image/png" {
			cfg, err := png.DecodeConfig(bytes.NewReader(img.Body))
			if err != nil || cfg.ColorModel == color.NRGBA64Model {
				t.Errorf("%s: %v %v", c.name, err, cfg.ColorModel)
			}
		}
	}
}

// TestDecodeRefusesTruncated: a JPEG cut after its header passes Check but
// not Decode, which refuses it rather than store a half-grey avatar.
func TestDecodeRefusesTruncated(t *testing.T) {
	src := image.NewNRGBA(image.Rect(0, 0, 640, 480))
	for i := range src.Pix {
		src.Pix[i] = byte(i * 7)
	}
	full := jpegOf(t, src)
	up, err := Check(full[:len(full)/2])
	if err != nil {
		t.Fatalf("the header should pass: %v", err)
	}
	var refusal *Refusal
	if _, err := up.Decode(); !errors.As(err, &refusal) {
		t.Fatalf("truncated JPEG: %v, want a refusal", err)
	}
}

// BenchmarkDecode12MP: one 4000x3000 photo-like JPEG (a phone's 12
// megapixels) to its stored avatar; compare `go test -bench Decode12MP`
// with and without -tags vips.
func BenchmarkDecode12MP(b *testing.B) {
	src := image.NewRGBA(image.Rect(0, 0, 4000, 3000))
	for y := range 3000 {
		for x := range 4000 {
			n := (x*7 + y*13) % 48
			i := src.PixOffset(x, y)
			src.Pix[i], src.Pix[i+1], src.Pix[i+2], src.Pix[i+3] = byte(x*255/4000+n), byte(y*255/3000+n), byte(n*3), 255
		}
	}
	up, err := Check(jpegOf(b, src))
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := up.Decode(); err != nil {
			b.Fatal(err)
		}
	}
}
