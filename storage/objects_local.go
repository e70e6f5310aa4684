package storage

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/acme/accounts/models"
)

// DefaultLocalPublicBase is where LocalObjects are served when no public base
// is given.
const DefaultLocalPublicBase = "/uploads"

// LocalObjects keeps objects as files under one directory (DATA_DIR/uploads),
// for running without an object store. The HTTP layer serves them with Open.
type LocalObjects struct {
	dir        string
	publicBase string
}

// NewLocalObjects creates dir when missing and returns the store. URLs are
// publicBase + "/" + key; an empty publicBase means DefaultLocalPublicBase.
func NewLocalObjects(dir, publicBase string) (*LocalObjects, error) {
	if dir == "" {
		return nil, errors.New("local objects: empty directory")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("local objects: %w", err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, fmt.Errorf("local objects: create %s: %w", abs, err)
	}
	if publicBase == "" {
		publicBase = DefaultLocalPublicBase
	}
	return &LocalObjects{dir: abs, publicBase: publicBase}, nil
}

// Put writes body under key. It writes a temporary file and renames it into
// place, so a reader never sees a half-written object. contentType is not
// stored: Open derives it from the key's extension.
func (l *LocalObjects) Put(ctx context.Context, key string, body []byte, contentType string) error {
	if err := validKey(key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return models.Unavailable("storage", err)
	}
	dst := l.path(key)
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return models.Unavailable("storage", fmt.Errorf("put %s: %w", key, err))
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".tmp-*")
	if err != nil {
		return models.Unavailable("storage", fmt.Errorf("put %s: %w", key, err))
	}
	if err := writeAndClose(tmp, body); err != nil {
		_ = os.Remove(tmp.Name())
		return models.Unavailable("storage", fmt.Errorf("put %s: %w", key, err))
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		_ = os.Remove(tmp.Name())
		return models.Unavailable("storage", fmt.Errorf("put %s: %w", key, err))
	}
	return nil
}

func writeAndClose(f *os.File, body []byte) error {
	_, err := f.Write(body)
	if err == nil {
		err = f.Chmod(0o644) // CreateTemp makes 0600; objects are public anyway
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// Delete removes the object under key; a missing object is not an error.
func (l *LocalObjects) Delete(ctx context.Context, key string) error {
	if err := validKey(key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return models.Unavailable("storage", err)
	}
	if err := os.Remove(l.path(key)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return models.Unavailable("storage", fmt.Errorf("delete %s: %w", key, err))
	}
	return nil
}

// URL returns the public URL of key.
func (l *LocalObjects) URL(key string) string {
	return joinURL(l.publicBase, key)
}

// Ping reports whether the directory is still there.
func (l *LocalObjects) Ping(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return models.Unavailable("storage", err)
	}
	fi, err := os.Stat(l.dir)
	if err != nil {
		return models.Unavailable("storage", err)
	}
	if !fi.IsDir() {
		return models.Unavailable("storage", fmt.Errorf("%s is not a directory", l.dir))
	}
	return nil
}

// Open opens the object under key for serving and returns its content type.
// An invalid key or a missing object is models.ErrNotFound, so a crafted
// path answers 404 like any unknown file.
func (l *LocalObjects) Open(key string) (*os.File, string, error) {
	if err := validKey(key); err != nil {
		return nil, "", fmt.Errorf("%w: %w", models.ErrNotFound, err)
	}
	f, err := os.Open(l.path(key))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, "", fmt.Errorf("open %s: %w", key, models.ErrNotFound)
		}
		return nil, "", models.Unavailable("storage", fmt.Errorf("open %s: %w", key, err))
	}
	fi, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, "", models.Unavailable("storage", fmt.Errorf("open %s: %w", key, err))
	}
	if !fi.Mode().IsRegular() {
		_ = f.Close()
		return nil, "", fmt.Errorf("open %s: %w", key, models.ErrNotFound)
	}
	return f, contentTypeOf(key), nil
}

func (l *LocalObjects) path(key string) string {
	return filepath.Join(l.dir, filepath.FromSlash(key))
}
