//go:build vips

package avatarimage

/*
#include <malloc.h>

// glibc raises its mmap threshold to the size of each large block freed
// (up to 32 MiB), after which such blocks come from per-thread arenas that
// are never given back: decodes on different threads then each keep their
// pixels, and the server's RSS grew past 400 MB under the costliest PNGs
// (one decode at a time). A fixed threshold turns that adjustment off, so
// every large buffer is mapped and unmapped and RSS falls back after each
// decode.
static void fix_mmap_threshold(void) { mallopt(M_MMAP_THRESHOLD, 128 * 1024); }
*/
import "C"

import (
	"bytes"
	"image"
	"image/jpeg"
	"image/png"
	"log/slog"
	"sync"

	"github.com/davidbyttow/govips/v2/vips"
)

var startVips = sync.OnceFunc(func() {
	C.fix_mmap_threshold()
	// govips writes every message at info level and up to stderr unless
	// told otherwise. libvips' warnings (a truncated file, say) are about
	// uploads the server refuses anyway: they go to the default logger at
	// debug level, so a production log never holds them.
	vips.LoggingSettings(func(domain string, level vips.LogLevel, message string) {
		slog.Debug("libvips", "domain", domain, "level", int(level), "message", message)
	}, vips.LogLevelWarning)
	vips.Startup(&vips.Config{
		// Each decode runs on the calling goroutine's thread; the server
		// already runs about one decode per core (app's image slots).
		ConcurrencyLevel: 1,
		// No operation cache: every upload is a different image, and a
		// cache would only hold decoded pixels past their request.
		MaxCacheFiles: 0,
		MaxCacheMem:   0,
		MaxCacheSize:  0,
	})
})

// Decode turns a checked upload into the stored avatar: EXIF orientation
// applied, centre-cropped to a square, scaled down to at most Side,
// re-encoded as JPEG (or PNG when it has transparency), with no metadata.
//
// libvips' thumbnail decodes a JPEG already shrunk by up to 8 (and a WebP
// at the scale it needs), applies the EXIF orientation, and scales and
// crops in one streamed pass, so it never holds the full-size pixels that
// Check's budget counts; the budget stays the bound of the pure-Go build.
func (up *Upload) Decode() (*Image, error) {
	startVips()
	params := vips.NewImportParams() // fail on a truncated or corrupt file, as image/jpeg does
	ref, err := vips.LoadThumbnailFromBuffer(up.data, Side, Side, vips.InterestingCentre, vips.SizeDown, params)
	if err != nil {
		return nil, unreadable()
	}
	defer ref.Close()
	// Scaling down only, an image narrower than Side keeps its width and
	// the crop keeps up to Side of its height: cut the centre square.
	if w, h := ref.Width(), ref.Height(); w != h {
		sq := min(w, h)
		if err := ref.ExtractArea((w-sq)/2, (h-sq)/2, sq, sq); err != nil {
			return nil, unreadable()
		}
	}

	if !ref.HasAlpha() {
		body, _, err := ref.ExportJpeg(&vips.JpegExportParams{StripMetadata: true, Quality: jpegQuality})
		if err != nil {
			return nil, unreadable()
		}
		return &Image{Body: body, ContentType: "image/jpeg", Ext: "jpg"}, nil
	}
	body, _, err := ref.ExportPng(&vips.PngExportParams{StripMetadata: true, Compression: 6, Bitdepth: 8})
	if err != nil {
		return nil, unreadable()
	}
	return opaqueAsJPEG(body)
}

// unreadable is the refusal for pixels libvips could not decode. It decodes
// lazily, while the output is written, so a file that is corrupt past its
// header fails only at the export.
func unreadable() error { return &Refusal{"must be a readable JPEG, PNG or WebP image"} }

// opaqueAsJPEG keeps a PNG avatar only when some pixel is see-through: an
// image with an alpha channel that is opaque everywhere (a screenshot saved
// as RGBA) is stored as JPEG, as the pure-Go build does. The avatar is at
// most Side x Side, so checking it in Go costs little and decodes nothing
// of the upload again.
func opaqueAsJPEG(pngBody []byte) (*Image, error) {
	img, err := png.Decode(bytes.NewReader(pngBody))
	if err != nil {
		return nil, err
	}
	if o, ok := img.(interface{ Opaque() bool }); !ok || !o.Opaque() {
		return &Image{Body: pngBody, ContentType: "image/png", Ext: "png"}, nil
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, asOpaque(img), &jpeg.Options{Quality: jpegQuality}); err != nil {
		return nil, err
	}
	return &Image{Body: buf.Bytes(), ContentType: "image/jpeg", Ext: "jpg"}, nil
}

// asOpaque presents opaque NRGBA pixels as RGBA (identical when opaque),
// which image/jpeg encodes without a conversion per pixel.
func asOpaque(img image.Image) image.Image {
	if n, ok := img.(*image.NRGBA); ok {
		return &image.RGBA{Pix: n.Pix, Stride: n.Stride, Rect: n.Rect}
	}
	return img
}
