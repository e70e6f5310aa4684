package app

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"time"

	"github.com/disintegration/imaging"
	"golang.org/x/image/webp" // also registers WebP with image.Decode, which imaging uses

	"github.com/acme/accounts/models"
)

// Avatar limits and output, as the API documents them.
const (
	AvatarMaxPixels = 40_000_000
	// AvatarDecodeBudget bounds the pixel memory of the decodes in flight,
	// together: each upload reserves what its header says decoding will take
	// (width x height x bytes per pixel) and waits while others hold the
	// rest. One image costing more than the whole budget is refused, so a
	// small file that inflates to gigabytes never gets decoded. 160 MiB takes
	// a 40 MP 8-bit PNG, or a 20 MP JPEG even when EXIF rotates it.
	AvatarDecodeBudget = 160 << 20
	AvatarSide         = 512
	avatarJPEGQuality  = 85
	// avatarCleanupTimeout bounds removing an object after the request's
	// own work is done or failed; it runs even if the client went away.
	avatarCleanupTimeout = 10 * time.Second
)

// avatarField is the form field (and validation field) of the upload.
const avatarField = "avatar"

// avatarImage is a re-encoded avatar, ready to store.
type avatarImage struct {
	body        []byte
	contentType string
	ext         string
}

// ReplaceAvatar stores data as the user's new avatar and returns its public
// URL. The image is re-encoded, so nothing of the upload but its pixels is
// kept (no EXIF, no GPS). It goes under a new random key; only once the
// database points at it is the previous object deleted. If the storage is
// down the avatar stays as it was; if the database write fails the new object
// is removed again, so no object is ever left without an owner.
func (a *App) ReplaceAvatar(ctx context.Context, u *models.User, data []byte) (string, error) {
	if limit := a.opts.AvatarMaxBytes; limit > 0 && int64(len(data)) > limit {
		return "", fmt.Errorf("avatar of %d bytes over %d: %w", len(data), limit, models.ErrTooLarge)
	}
	up, err := checkAvatar(data)
	if err != nil {
		return "", err
	}
	if err := a.decodeMemory.Acquire(ctx, up.cost); err != nil {
		return "", fmt.Errorf("wait for decode memory: %w", err)
	}
	img, err := a.decodeAvatar(ctx, up)
	a.decodeMemory.Release(up.cost)
	if err != nil {
		return "", err
	}
	key, err := newAvatarKey(u, img.ext)
	if err != nil {
		return "", err
	}
	if err := a.objects.Put(ctx, key, img.body, img.contentType); err != nil {
		// A put that failed on the way back may still have stored the object.
		a.discardObject(ctx, key)
		return "", storageErr("store avatar", err)
	}
	_, old, err := models.SwapUserAvatar(ctx, a.db, u.ID, &key, a.Now())
	if err != nil {
		a.discardObject(ctx, key)
		return "", fmt.Errorf("point user %s at new avatar: %w", u.ID, err)
	}
	if old != nil && *old != key {
		a.discardObject(ctx, *old)
	}
	return a.objects.URL(key), nil
}

// RemoveAvatar deletes the user's avatar and returns the updated user. The
// object goes first: if the storage is down the request fails and the
// profile still shows the avatar, instead of the object being orphaned.
func (a *App) RemoveAvatar(ctx context.Context, u *models.User) (*models.User, error) {
	if u.AvatarKey == nil {
		return u, nil
	}
	if err := a.objects.Delete(ctx, *u.AvatarKey); err != nil {
		return nil, storageErr("delete avatar", err)
	}
	next, old, err := models.SwapUserAvatar(ctx, a.db, u.ID, nil, a.Now())
	if err != nil {
		return nil, fmt.Errorf("clear avatar of user %s: %w", u.ID, err)
	}
	if old != nil && *old != *u.AvatarKey {
		a.discardObject(ctx, *old) // an upload landed in between; it is removed too
	}
	return next, nil
}

// discardObject removes an object that no user points at, logging (not
// returning) a failure: the request's outcome is already decided.
func (a *App) discardObject(ctx context.Context, key string) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), avatarCleanupTimeout)
	defer cancel()
	if err := a.objects.Delete(cctx, key); err != nil {
		a.log.WarnContext(ctx, "object left behind", "key", key, "err", err)
	}
}

// newAvatarKey is avatars/<user id>/<random>.<ext>: a new key per upload, so
// each stored object never changes and can be cached forever.
func newAvatarKey(u *models.User, ext string) (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("avatar key: %w", err)
	}
	return "avatars/" + u.ID.String() + "/" + hex.EncodeToString(b) + "." + ext, nil
}

func storageErr(op string, err error) error {
	if !errors.Is(err, models.ErrUnavailable) {
		err = models.Unavailable("storage", err)
	}
	return fmt.Errorf("%s: %w", op, err)
}

// imageFormat names the upload's format from its first bytes ("" when it
// is none of JPEG, PNG and WebP); the file name and declared type are not
// trusted.
func imageFormat(b []byte) string {
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

// avatarUpload is an upload whose header has been checked: its format and
// what decoding it will cost in memory.
type avatarUpload struct {
	data   []byte
	format string
	cost   int64
}

// checkAvatar reads only the upload's header: format from the bytes, size
// in pixels, and the memory decoding it would take. A small file claiming
// 30000x30000, or a 16-bit image whose pixels would not fit the budget, is
// refused here, before any pixel memory exists.
func checkAvatar(data []byte) (*avatarUpload, error) {
	if len(data) == 0 {
		return nil, models.NewValidationError(avatarField, "must not be empty")
	}
	format := imageFormat(data)
	var decodeConfig func([]byte) (image.Config, error)
	switch format {
	case "jpeg":
		decodeConfig = func(b []byte) (image.Config, error) { return jpeg.DecodeConfig(bytes.NewReader(b)) }
	case "png":
		decodeConfig = func(b []byte) (image.Config, error) { return png.DecodeConfig(bytes.NewReader(b)) }
	case "webp":
		decodeConfig = func(b []byte) (image.Config, error) { return webp.DecodeConfig(bytes.NewReader(b)) }
	default:
		return nil, fmt.Errorf("avatar is not JPEG, PNG or WebP: %w", models.ErrUnsupportedMedia)
	}
	cfg, err := decodeConfig(data)
	if err != nil || cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, models.NewValidationError(avatarField, "must be a readable JPEG, PNG or WebP image")
	}
	if int64(cfg.Width)*int64(cfg.Height) > AvatarMaxPixels {
		return nil, models.NewValidationError(avatarField, "must be at most 40 megapixels")
	}
	cost := decodeCost(format, cfg)
	if cost > AvatarDecodeBudget {
		return nil, models.NewValidationError(avatarField, "has too many pixels for its colour depth: use a smaller or 8-bit image")
	}
	return &avatarUpload{data: data, format: format, cost: cost}, nil
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

// decodeAvatar runs processAvatar in one of the image slots: decoding and
// resizing are CPU-bound, so they run about one per core.
func (a *App) decodeAvatar(ctx context.Context, up *avatarUpload) (*avatarImage, error) {
	if err := a.imageSlots.acquire(ctx, "image"); err != nil {
		return nil, err
	}
	defer a.imageSlots.release()
	return up.decode()
}

// processAvatar checks an upload and turns it into the stored avatar, with
// no bound on memory or CPU: ReplaceAvatar runs the two steps with both.
func processAvatar(data []byte) (*avatarImage, error) {
	up, err := checkAvatar(data)
	if err != nil {
		return nil, err
	}
	return up.decode()
}

// decode turns a checked upload into the stored avatar: EXIF orientation
// applied, centre-cropped to a square, scaled down to at most AvatarSide,
// re-encoded as JPEG (or PNG when it has transparency).
func (up *avatarUpload) decode() (*avatarImage, error) {
	src, err := imaging.Decode(bytes.NewReader(up.data), imaging.AutoOrientation(true))
	if err != nil {
		return nil, models.NewValidationError(avatarField, "must be a readable JPEG, PNG or WebP image")
	}
	out := squareThumbnail(src, AvatarSide)

	var buf bytes.Buffer
	if out.Opaque() {
		// The same pixels seen as *image.RGBA (identical when opaque) take
		// image/jpeg's fast path; *image.NRGBA costs an allocation per pixel.
		rgba := &image.RGBA{Pix: out.Pix, Stride: out.Stride, Rect: out.Rect}
		if err := jpeg.Encode(&buf, rgba, &jpeg.Options{Quality: avatarJPEGQuality}); err != nil {
			return nil, fmt.Errorf("encode avatar: %w", err)
		}
		return &avatarImage{body: buf.Bytes(), contentType: "image/jpeg", ext: "jpg"}, nil
	}
	if err := png.Encode(&buf, out); err != nil {
		return nil, fmt.Errorf("encode avatar: %w", err)
	}
	return &avatarImage{body: buf.Bytes(), contentType: "image/png", ext: "png"}, nil
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
