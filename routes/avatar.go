package routes

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"strconv"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	"github.com/acme/accounts/middleware"
	"github.com/acme/accounts/models"
)

type avatarURLJSON struct {
	AvatarURL string `json:"avatar_url"`
}

// putAvatar takes the image from the multipart field "avatar" and hands it
// to the app, which checks its size and trusts neither its name nor its
// declared type.
func (h userHandlers) putAvatar(c *fiber.Ctx) error {
	data, err := h.avatarUpload(c)
	if err != nil {
		return err
	}
	url, err := h.app.ReplaceAvatar(c.UserContext(), currentUser(c), data)
	if err != nil {
		return err
	}
	return c.JSON(avatarURLJSON{AvatarURL: url})
}

// errBodyOverLimit is what cappedReader answers past its limit.
var errBodyOverLimit = errors.New("body over its limit")

// cappedReader reads a request body up to limit bytes and fails past it.
// It tells its own failures (over the limit, a broken or timed-out stream)
// apart from a malformed multipart body found by the reader above it.
type cappedReader struct {
	r       io.Reader
	n       int64
	limit   int64
	over    bool
	readErr error
	eof     bool
}

func (r *cappedReader) Read(p []byte) (int, error) {
	if r.over {
		return 0, errBodyOverLimit
	}
	if r.readErr != nil {
		return 0, r.readErr
	}
	// One byte past the limit is enough to know the body is too large.
	if rest := r.limit + 1 - r.n; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := r.r.Read(p)
	r.n += int64(n)
	if r.n > r.limit {
		r.over = true
		return 0, errBodyOverLimit
	}
	switch {
	case err == io.EOF:
		r.eof = true
	case err != nil:
		r.readErr = err
	}
	return n, err
}

// avatarUpload reads the body as it arrives, once: the multipart stream is
// parsed directly, the "avatar" file part is read into one buffer and every
// other part is discarded. Holding the body, then a parsed form, then the
// file would keep each upload in memory three times over. The whole body is
// bounded by h.avatarLimit (CheckBody has already refused a declared length
// past it); past it the answer is 413 and the connection is closed.
func (h userHandlers) avatarUpload(c *fiber.Ctx) ([]byte, error) {
	req := c.Request()
	body := &cappedReader{limit: int64(h.avatarLimit)}
	if req.IsBodyStream() {
		body.r = c.Context().RequestBodyStream()
	} else {
		body.r = bytes.NewReader(req.Body())
	}
	// A body left partly unread would be taken for the next request.
	defer func() {
		if !body.eof {
			c.Context().SetConnectionClose()
		}
	}()

	contentType := c.Get(fiber.HeaderContentType)
	mediaType, params, err := mime.ParseMediaType(contentType)
	if err != nil || mediaType != fiber.MIMEMultipartForm {
		return nil, fmt.Errorf("avatar body of type %q: %w", contentType, models.ErrUnsupportedMedia)
	}
	malformed := models.NewValidationError("avatar", "must be sent as a multipart/form-data file field")
	if params["boundary"] == "" {
		return nil, malformed
	}
	// failed turns an error met while reading into the answer: the body's
	// own failures first, since a multipart error may only be their echo.
	failed := func(err error) error {
		switch {
		case body.over:
			return middleware.TooLarge(c, h.avatarLimit)
		case body.readErr != nil:
			return middleware.UnreadableBody(c)
		}
		return malformed
	}

	mr := multipart.NewReader(body, params["boundary"])
	var data []byte
	files := 0
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, failed(err)
		}
		// As in a parsed form, a file is a part with a file name; a plain
		// value named "avatar" does not count as one.
		if part.FormName() != "avatar" || part.FileName() == "" {
			_, err = io.Copy(io.Discard, part)
		} else if files++; files == 1 {
			data, err = readPart(part, h.avatarSizeHint(req, part, body.n))
		} else {
			_, err = io.Copy(io.Discard, part)
		}
		if err != nil {
			return nil, failed(err)
		}
	}
	// Whatever follows the closing boundary still counts toward the limit.
	if _, err := io.Copy(io.Discard, body); err != nil {
		return nil, failed(err)
	}
	switch {
	case files == 0:
		return nil, models.NewValidationError("avatar", "is required")
	case files > 1:
		return nil, models.NewValidationError("avatar", "must be a single file")
	}
	return data, nil
}

// avatarSizeHint is the size to allocate for the avatar part up front: the
// part's own Content-Length if it has one, else what is left of the request's
// declared length after the read bytes (the file plus its framing, and the
// multipart reader's look-ahead), never more than the limit. Zero when
// neither is known.
func (h userHandlers) avatarSizeHint(req *fasthttp.Request, part *multipart.Part, read int64) int {
	size := 0
	if n, err := strconv.Atoi(part.Header.Get(fiber.HeaderContentLength)); err == nil && n >= 0 {
		size = n + 1 // room to see the end without growing
	} else if n := req.Header.ContentLength(); n > 0 {
		size = n - int(read) + multipartLookahead
	}
	return min(size, h.avatarLimit+1)
}

// multipartLookahead bounds what a multipart.Reader reads ahead of the part
// it returns (its buffer's size).
const multipartLookahead = 4096

// readPart reads r into one buffer of capacity size, growing it only if the
// part turns out larger (or size is unknown).
func readPart(r io.Reader, size int) ([]byte, error) {
	buf := make([]byte, 0, max(size, 512))
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

func (h userHandlers) deleteAvatar(c *fiber.Ctx) error {
	u, err := h.app.RemoveAvatar(c.UserContext(), currentUser(c))
	if err != nil {
		return err
	}
	return c.JSON(userEnvelopeJSON{User: h.user(u)})
}
