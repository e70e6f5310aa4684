// Package avatarimage turns an uploaded file into a stored avatar: format
// from the bytes, size and decode memory from the header alone, then
// decoded, cropped to its centre square, scaled down and re-encoded, so
// nothing of the upload but its pixels survives. It depends on no other
// part of the server, so it can be tested and fuzzed on its own.
//
// Decode has two implementations with one contract: pure Go
// (disintegration/imaging, decode_go.go), the default, which keeps the
// binary static; and libvips (decode_vips.go, build tag vips, cgo and
// libvips 8.10+), which decodes a JPEG at a fraction of its size (shrink on
// load) and so handles a 12-megapixel photo many times faster.
package avatarimage

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"

	"golang.org/x/image/webp" // also registers WebP with image.Decode, which imaging uses (decode_go.go)
)

// Limits and output, as the API documents them.
const (
	MaxPixels = 40_000_000
	Side      = 512
	// DecodeBudget is the most pixel memory one decode may take (width x
	// height x bytes per pixel, from the header). The server also holds all
	// decodes in flight to this total, so one image over it could never run.
	// 128 MiB takes a 33 MP 8-bit RGBA PNG, or a 19 MP JPEG even when EXIF
	// rotates it, and keeps the server under 250 MB with uploads queueing
	// (make bench).
	DecodeBudget = 128 << 20
	jpegQuality  = 85
)

// ErrUnsupported: the bytes are not JPEG, PNG or WebP.
var ErrUnsupported = errors.New("not a JPEG, PNG or WebP image")

// Refusal is an image this package will not take, with the reason to show.
type Refusal struct{ Reason string }

func (r *Refusal) Error() string { return "avatar refused: " + r.Reason }

// Image is a re-encoded avatar, ready to store.
type Image struct {
	Body        []byte
	ContentType string
	Ext         string
}

// Upload is an upload whose header has been checked: its format and what
// decoding it will cost in memory.
type Upload struct {
	data   []byte
	format string
	// Cost is the pixel memory decoding takes, in bytes.
	Cost int64
}

// Process checks data and decodes it, with no bound on concurrency: the
// server runs Check and Decode apart, holding decode memory in between.
func Process(data []byte) (*Image, error) {
	up, err := Check(data)
	if err != nil {
		return nil, err
	}
	return up.Decode()
}

// Format names the upload's format from its first bytes ("" when it
// is none of JPEG, PNG and WebP); the file name and declared type are not
// trusted.
func Format(b []byte) string {
	switch {
	case bytes.HasPrefix(b, []byte{0xFF, 0xD8, 0xFF}):
		return "jpeg"
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")):
		return "png"
	case len(b) >= 12 && string(b[:4]) == "RIFF" && string(b[8:12]) == "WEBP":
		return "webp"
	}
	return ""
}

// Check reads only the upload's header: format from the bytes, size
// in pixels, and the memory decoding it would take. A small file claiming
// 30000x30000, or a 16-bit image whose pixels would not fit the budget, is
// refused here, before any pixel memory exists.
func Check(data []byte) (*Upload, error) {
	if len(data) == 0 {
		return nil, &Refusal{"must not be empty"}
	}
	format := Format(data)
	var decodeConfig func([]byte) (image.Config, error)
	switch format {
	case "jpeg":
		decodeConfig = func(b []byte) (image.Config, error) { return jpeg.DecodeConfig(bytes.NewReader(b)) }
	case "png":
		decodeConfig = func(b []byte) (image.Config, error) { return png.DecodeConfig(bytes.NewReader(b)) }
	case "webp":
		decodeConfig = func(b []byte) (image.Config, error) { return webp.DecodeConfig(bytes.NewReader(b)) }
	default:
		return nil, ErrUnsupported
	}
	cfg, err := decodeConfig(data)
	if err != nil || cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, &Refusal{"must be a readable JPEG, PNG or WebP image"}
	}
	if int64(cfg.Width)*int64(cfg.Height) > MaxPixels {
		return nil, &Refusal{"must be at most 40 megapixels"}
	}
	cost := decodeCost(format, cfg)
	if cost > DecodeBudget {
		return nil, &Refusal{"has too many pixels for its colour depth: use a smaller or 8-bit image"}
	}
	return &Upload{data: data, format: format, Cost: cost}, nil
}

// decodeCost is the pixel memory decoding an image takes, from its header.
func decodeCost(format string, cfg image.Config) int64 {
	perPixel := bytesPerPixel(cfg.ColorModel)
	if format == "jpeg" {
		// EXIF orientation other than upright makes an NRGBA copy.
		perPixel += 4
	}
	return int64(cfg.Width) * int64(cfg.Height) * perPixel
}

// bytesPerPixel is what the standard decoders allocate per pixel for a
// colour model; anything unknown is counted as the widest (16-bit RGBA).
func bytesPerPixel(m color.Model) int64 {
	if _, ok := m.(color.Palette); ok {
		return 1
	}
	switch m {
	case color.GrayModel, color.AlphaModel:
		return 1
	case color.Gray16Model, color.Alpha16Model:
		return 2
	case color.YCbCrModel:
		return 3 // 4:4:4, the largest JPEG sampling
	case color.NYCbCrAModel, color.RGBAModel, color.NRGBAModel, color.CMYKModel:
		return 4
	}
	return 8
}
