package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"runtime"
	"time"

	"github.com/acme/accounts/internal/avatarimage"
	"github.com/acme/accounts/models"
)

const (
	// collectAfterDecode is the decode size past which its memory is
	// collected at once (see ReplaceAvatar); smaller ones are left to the
	// garbage collector's pacing.
	collectAfterDecode = 16 << 20
	// avatarCleanupTimeout bounds removing an object after the request's
	// own work is done or failed; it runs even if the client went away.
	avatarCleanupTimeout = 10 * time.Second
)

// avatarField is the form field (and validation field) of the upload.
const avatarField = "avatar"

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
	up, err := avatarimage.Check(data)
	if err != nil {
		return "", avatarErr(err)
	}
	if err := a.decodeMemory.Acquire(ctx, up.Cost); err != nil {
		return "", fmt.Errorf("wait for decode memory: %w", err)
	}
	img, err := a.decodeAvatar(ctx, up)
	if up.Cost >= collectAfterDecode {
		// The decoded pixels are garbage now. Collect them before the next
		// decode may start, so it reuses their pages: left to the pacer,
		// the heap would grow to twice the last live size (a decode's worth
		// more) before a collection, and the budget would bound nothing.
		runtime.GC()
	}
	a.decodeMemory.Release(up.Cost)
	if err != nil {
		return "", err
	}
	key, err := newAvatarKey(u, img.Ext)
	if err != nil {
		return "", err
	}
	if err := a.objects.Put(ctx, key, img.Body, img.ContentType); err != nil {
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

// decodeAvatar decodes in one of the image slots: decoding and resizing are
// CPU-bound, so they run about one per core.
func (a *App) decodeAvatar(ctx context.Context, up *avatarimage.Upload) (*avatarimage.Image, error) {
	if err := a.imageSlots.Enter(ctx); err != nil {
		return nil, err
	}
	defer a.imageSlots.Leave()
	img, err := up.Decode()
	return img, avatarErr(err)
}

// avatarErr puts the image pipeline's refusals in the domain's words.
func avatarErr(err error) error {
	var refusal *avatarimage.Refusal
	switch {
	case err == nil:
		return nil
	case errors.As(err, &refusal):
		return models.NewValidationError(avatarField, refusal.Reason)
	case errors.Is(err, avatarimage.ErrUnsupported):
		return fmt.Errorf("avatar: %w", models.ErrUnsupportedMedia)
	}
	return fmt.Errorf("encode avatar: %w", err)
}
