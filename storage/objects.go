package storage

import (
	"errors"
	"fmt"
	"mime"
	"path"
	"strings"
)

// errInvalidKey rejects object keys that could escape the object root.
var errInvalidKey = errors.New("invalid object key")

// maxKeyLen keeps keys well inside file-name and S3 key limits.
const maxKeyLen = 512

// validKey accepts only relative, clean keys of [A-Za-z0-9/._-] with no
// empty segment and none starting with "." (so no "." or ".."), so a key can
// never address a file outside the object root (no path traversal), never
// names a hidden or temporary file, and needs no escaping in a URL.
func validKey(key string) error {
	if key == "" || len(key) > maxKeyLen {
		return fmt.Errorf("%w: %q", errInvalidKey, key)
	}
	for _, r := range key {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9',
			r == '/', r == '.', r == '_', r == '-':
		default:
			return fmt.Errorf("%w: %q", errInvalidKey, key)
		}
	}
	for _, seg := range strings.Split(key, "/") {
		if seg == "" || strings.HasPrefix(seg, ".") {
			return fmt.Errorf("%w: %q", errInvalidKey, key)
		}
	}
	return nil
}

// contentTypeOf guesses a content type from the key's extension; the image
// types are listed so the answer does not depend on the host's mime tables.
func contentTypeOf(key string) string {
	ext := strings.ToLower(path.Ext(key))
	switch ext {
	case ".jpg", ".jpeg":
		return "image/jpeg"
	case ".png":
		return "image/png"
	case ".webp":
		return "image/webp"
	case ".gif":
		return "image/gif"
	}
	if t := mime.TypeByExtension(ext); t != "" {
		return t
	}
	return "application/octet-stream"
}

// joinURL joins a public base and a key with exactly one slash.
func joinURL(base, key string) string {
	return strings.TrimRight(base, "/") + "/" + key
}
