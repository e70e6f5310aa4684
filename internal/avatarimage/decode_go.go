//go:build !vips

package avatarimage

import (
	"bytes"
	"image"
	"image/jpeg"
	"image/png"

	"github.com/disintegration/imaging"
)

// Decode turns a checked upload into the stored avatar: EXIF orientation
// applied, centre-cropped to a square, scaled down to at most Side,
// re-encoded as JPEG (or PNG when it has transparency).
func (up *Upload) Decode() (*Image, error) {
	src, err := imaging.Decode(bytes.NewReader(up.data), imaging.AutoOrientation(true))
	if err != nil {
		return nil, &Refusal{"must be a readable JPEG, PNG or WebP image"}
	}
	out := squareThumbnail(src, Side)

	var buf bytes.Buffer
	if out.Opaque() {
		// The same pixels seen as *image.RGBA (identical when opaque) take
		// image/jpeg's fast path; *image.NRGBA costs an allocation per pixel.
		rgba := &image.RGBA{Pix: out.Pix, Stride: out.Stride, Rect: out.Rect}
		if err := jpeg.Encode(&buf, rgba, &jpeg.Options{Quality: jpegQuality}); err != nil {
			return nil, err
		}
		return &Image{Body: buf.Bytes(), ContentType: "image/jpeg", Ext: "jpg"}, nil
	}
	if err := png.Encode(&buf, out); err != nil {
		return nil, err
	}
	return &Image{Body: buf.Bytes(), ContentType: "image/png", Ext: "png"}, nil
}

// squareThumbnail is the centred square of src scaled to at most side. The
// square is a view into the decoded pixels (imaging.Fill would copy it
// whole first), so the only large allocation stays the decode itself.
func squareThumbnail(src image.Image, side int) *image.NRGBA {
	b := src.Bounds()
	sq := min(b.Dx(), b.Dy())
	side = min(sq, side)
	viewer, ok := src.(interface {
		SubImage(image.Rectangle) image.Image
	})
	if !ok {
		return imaging.Fill(src, side, side, imaging.Center, imaging.Lanczos)
	}
	origin := b.Min.Add(image.Pt((b.Dx()-sq)/2, (b.Dy()-sq)/2))
	square := viewer.SubImage(image.Rectangle{Min: origin, Max: origin.Add(image.Pt(sq, sq))})
	return imaging.Resize(square, side, side, imaging.Lanczos)
}
