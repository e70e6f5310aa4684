package routes_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun/dialect"

	"github.com/acme/accounts/internal/testenv"
	"github.com/acme/accounts/storage"
)

// ---- images built for the tests ----

func encodePNG(t *testing.T, img image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// gpsLatitude is the GPS latitude written into the test EXIF block (41°18'36"
// as rationals); finding these bytes in a stored avatar would mean GPS leaked.
var gpsLatitude = []byte{0, 0, 0, 41, 0, 0, 0, 1, 0, 0, 0, 18, 0, 0, 0, 1, 0, 0, 0x0e, 0x10, 0, 0, 0, 100}

// exifBlock is an APP1 Exif payload (big-endian TIFF) with IFD0 holding an
// orientation tag and a pointer to a GPS IFD with a latitude.
func exifBlock(orientation uint16) []byte {
	var b bytes.Buffer
	be := binary.BigEndian
	w16 := func(v uint16) { _ = binary.Write(&b, be, v) }
	w32 := func(v uint32) { _ = binary.Write(&b, be, v) }
	b.WriteString("Exif\x00\x00")
	b.WriteString("MM")
	w16(42)
	w32(8) // IFD0 right after the header
	// IFD0: 2 entries, then the next-IFD offset; it ends at 8+2+24+4 = 38.
	w16(2)
	w16(0x0112) // Orientation, SHORT, 1
	w16(3)
	w32(1)
	w16(orientation)
	w16(0)
	w16(0x8825) // GPSInfo IFD pointer, LONG, 1
	w16(4)
	w32(1)
	w32(38)
	w32(0)
	// GPS IFD at 38: 2 entries; its data follows at 38+2+24+4 = 68.
	w16(2)
	w16(0x0001) // GPSLatitudeRef, ASCII, 2: "N\0"
	w16(2)
	w32(2)
	b.WriteString("N\x00\x00\x00")
	w16(0x0002) // GPSLatitude, RATIONAL, 3
	w16(5)
	w32(3)
	w32(68)
	w32(0)
	b.Write(gpsLatitude)
	return b.Bytes()
}

// withExif splices an APP1 Exif segment right after the JPEG's SOI marker.
func withExif(t *testing.T, jpg []byte, orientation uint16) []byte {
	t.Helper()
	payload := exifBlock(orientation)
	seg := []byte{0xFF, 0xE1, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(len(payload)+2))
	out := append([]byte{}, jpg[:2]...)
	out = append(out, seg...)
	out = append(out, payload...)
	return append(out, jpg[2:]...)
}

// jpegMarkers lists the markers of the segments before the scan data.
func jpegMarkers(t *testing.T, b []byte) []byte {
	t.Helper()
	if len(b) < 4 || b[0] != 0xFF || b[1] != 0xD8 {
		t.Fatalf("not a JPEG: % x", b[:min(len(b), 8)])
	}
	var markers []byte
	for i := 2; i+4 <= len(b); {
		if b[i] != 0xFF {
			t.Fatalf("bad JPEG segment at %d", i)
		}
		m := b[i+1]
		markers = append(markers, m)
		if m == 0xDA { // start of scan: entropy-coded data follows
			return markers
		}
		i += 2 + int(binary.BigEndian.Uint16(b[i+2:]))
	}
	t.Fatal("JPEG without a scan")
	return nil
}

// pngHeaderOnly is a PNG whose IHDR claims w x h but whose data is tiny.
func pngHeaderOnly(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		_ = binary.Write(&b, binary.BigEndian, uint32(len(data)))
		b.WriteString(typ)
		b.Write(data)
		_ = binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(append([]byte(typ), data...)))
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 2 // 8-bit RGB
	chunk("IHDR", ihdr)
	chunk("IDAT", []byte{0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01})
	chunk("IEND", nil)
	return b.Bytes()
}

func testdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// ---- helpers over the Env's object store ----

// fetchAvatar gets an avatar as a browser would: through /uploads on local
// disk, anonymously from the bucket on S3.
func fetchAvatar(t *testing.T, e *testenv.Env, url string) (int, http.Header, []byte) {
	t.Helper()
	if e.S3 == nil {
		r := e.Do(http.MethodGet, url, nil, "")
		return r.Status, r.Header, r.Body
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, body
}

// mustFetchAvatar fetches an avatar, checks its headers and decodes it.
func mustFetchAvatar(t *testing.T, e *testenv.Env, url, contentType string) ([]byte, image.Image) {
	t.Helper()
	status, h, body := fetchAvatar(t, e, url)
	if status != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, status, body)
	}
	if got := h.Get("Content-Type"); got != contentType {
		t.Errorf("Content-Type = %q, want %q", got, contentType)
	}
	if got := h.Get("Cache-Control"); got != storage.ImmutableCacheControl {
		t.Errorf("Cache-Control = %q", got)
	}
	img, _, err := image.Decode(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("stored avatar does not decode: %v", err)
	}
	return body, img
}

// ---- scenarios ----

func avatarBody(filename string, data func(t testing.TB) []byte) func(e *testenv.Env) any {
	return func(e *testenv.Env) any { return testenv.NewMultipart(e.T, "avatar", filename, data(e.T)) }
}

func TestAvatarScenarios(t *testing.T) {
	smallJPEG := func(t testing.TB) []byte {
		var buf bytes.Buffer
		_ = jpeg.Encode(&buf, solidImage(64, 64, color.NRGBA{200, 30, 30, 255}), nil)
		return buf.Bytes()
	}
	noFiles := func(t testing.TB) []byte { return nil }
	testenv.Run(t, []testenv.Scenario{
		{Name: "no token", Method: "PUT", Path: avatarPath, Body: avatarBody("a.jpg", smallJPEG), Status: 401, Code: "unauthorized"},
		{Name: "admin token", Method: "PUT", Path: avatarPath, Body: avatarBody("a.jpg", smallJPEG), Token: adminTokenFor, Status: 403, Code: "forbidden"},
		{
			Name: "a text file named .jpg", Setup: signedIn, Method: "PUT", Path: avatarPath, Token: userToken,
			Body:   avatarBody("photo.jpg", func(testing.TB) []byte { return []byte("just some text, honestly\n") }),
			Status: 415, Code: "unsupported_media_type",
		},
		{
			Name: "a GIF", Setup: signedIn, Method: "PUT", Path: avatarPath, Token: userToken,
			Body: avatarBody("a.gif", func(t testing.TB) []byte {
				var buf bytes.Buffer
				_ = gif.Encode(&buf, solidImage(8, 8, color.White), nil)
				return buf.Bytes()
			}),
			Status: 415, Code: "unsupported_media_type",
		},
		{
			Name: "not multipart", Setup: signedIn, Method: "PUT", Path: avatarPath, Token: userToken,
			Body: func(*testenv.Env) any { return map[string]any{"avatar": "data:image/png;base64,AAAA"} }, Status: 415, Code: "unsupported_media_type",
		},
		{
			Name: "no avatar field", Setup: signedIn, Method: "PUT", Path: avatarPath, Token: userToken,
			Body:   func(e *testenv.Env) any { return testenv.NewMultipart(e.T, "picture", "a.jpg", smallJPEG(e.T)) },
			Status: 400, Code: "validation_failed", Has: []string{`"avatar":"is required"`},
		},
		{
			Name: "empty file", Setup: signedIn, Method: "PUT", Path: avatarPath, Token: userToken,
			Body: avatarBody("a.jpg", noFiles), Status: 400, Code: "validation_failed", Has: []string{`"avatar"`},
		},
		{
			Name: "broken JPEG", Setup: signedIn, Method: "PUT", Path: avatarPath, Token: userToken,
			Body:   avatarBody("a.jpg", func(testing.TB) []byte { return append([]byte{0xFF, 0xD8, 0xFF, 0xE0}, make([]byte, 100)...) }),
			Status: 400, Code: "validation_failed", Has: []string{`"avatar"`},
		},
		{
			Name: "over 40 megapixels by a little", Setup: signedIn, Method: "PUT", Path: avatarPath, Token: userToken,
			Body:   avatarBody("a.png", func(testing.TB) []byte { return pngHeaderOnly(8000, 5001) }),
			Status: 400, Code: "validation_failed", Has: []string{`"avatar":"must be at most 40 megapixels"`},
		},
		{
			Name: "one byte over the size limit", Config: testenv.Config{AvatarMax: 32 << 10}, Setup: signedIn,
			Method: "PUT", Path: avatarPath, Token: userToken,
			Body:   avatarBody("a.jpg", func(testing.TB) []byte { return append([]byte{0xFF, 0xD8, 0xFF}, make([]byte, 32<<10-2)...) }),
			Status: 413, Code: "payload_too_large",
		},
		{
			Name: "far over the size limit", Config: testenv.Config{AvatarMax: 32 << 10}, Setup: signedIn,
			Method: "PUT", Path: avatarPath, Token: userToken,
			Body:   avatarBody("a.jpg", func(testing.TB) []byte { return make([]byte, 512<<10) }),
			Status: 413, Code: "payload_too_large",
		},
		{
			Name: "delete without avatar", Setup: signedIn, Method: "DELETE", Path: avatarPath, Token: userToken,
			Status: 200, Has: []string{`"avatar_url":null`, `"user":{`},
		},
		{Name: "delete without token", Method: "DELETE", Path: avatarPath, Status: 401, Code: "unauthorized"},
	})
}

// TestAvatarHugeHeaderRefusedQuickly sends a PNG of a few bytes that claims
// 30000x30000 (900 MP, 3.6 GB decoded): it must be refused from the header,
// fast, and leave the server healthy.
func TestAvatarHugeHeaderRefusedQuickly(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, testenv.Config{})
	token := e.RegisterUser(e.Email("bomb"))
	start := time.Now()
	r := uploadAvatar(t, e, token, "bomb.png", pngHeaderOnly(30000, 30000))
	if r.Status != 400 || r.ErrorCode() != "validation_failed" || !strings.Contains(string(r.Body), "megapixels") {
		t.Fatalf("30000x30000 header: %d %s", r.Status, r.Body)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("refusing the header took %s", d)
	}
	if r := e.Do("GET", "/healthz", nil, ""); r.Status != 200 {
		t.Fatalf("healthz after the bomb: %d", r.Status)
	}
	mustUploadAvatar(t, e, token, encodeJPEG(t, solidImage(10, 10, color.White)))
	if keys := storedKeys(t, e); len(keys) != 1 {
		t.Fatalf("stored objects: %v", keys)
	}
}

// TestAvatarStripsExifAndAppliesOrientation uploads a JPEG with an EXIF
// block (orientation 6 and a GPS position) and checks the stored avatar: it
// is turned upright, and no EXIF, GPS or other APP segment survives.
func TestAvatarStripsExifAndAppliesOrientation(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, testenv.Config{})
	addr := e.Email("exif")
	token := e.RegisterUser(addr)

	// 200x100: top half red, bottom half blue. Orientation 6 means "rotate
	// 90° clockwise to display": upright it is 100x200 with red on the right.
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
	upload := withExif(t, encodeJPEG(t, src), 6)
	if !bytes.Contains(upload, []byte("Exif\x00\x00")) || !bytes.Contains(upload, gpsLatitude) {
		t.Fatal("the test image lacks its EXIF block")
	}
	if _, err := jpeg.Decode(bytes.NewReader(upload)); err != nil {
		t.Fatalf("the test image does not decode: %v", err)
	}

	url := mustUploadAvatar(t, e, token, upload)
	if !strings.HasSuffix(url, ".jpg") {
		t.Fatalf("an opaque image should be stored as JPEG: %s", url)
	}
	me := getMe(t, e, token)
	if me.User.AvatarURL == nil || *me.User.AvatarURL != url {
		t.Fatalf("GET /users/me avatar_url = %v, want %s", me.User.AvatarURL, url)
	}
	key := objectKey(t, e, url)
	if !strings.HasPrefix(key, "avatars/"+me.User.ID+"/") {
		t.Fatalf("key %q is not under the user's folder", key)
	}

	stored, img := mustFetchAvatar(t, e, url, "image/jpeg")
	for _, m := range jpegMarkers(t, stored) {
		if m >= 0xE1 && m <= 0xEF {
			t.Fatalf("the stored avatar has an APP%d segment", m-0xE0)
		}
	}
	if bytes.Contains(stored, []byte("Exif")) || bytes.Contains(stored, gpsLatitude) {
		t.Fatal("EXIF/GPS bytes survived")
	}
	if b := img.Bounds(); b.Dx() != 100 || b.Dy() != 100 {
		t.Fatalf("stored avatar is %dx%d, want the 100x100 centre square", b.Dx(), b.Dy())
	}
	for _, p := range []struct {
		x, y int
		red  bool
	}{{15, 15, false}, {15, 85, false}, {85, 15, true}, {85, 85, true}} {
		r, _, b, _ := img.At(p.x, p.y).RGBA()
		if isRed := r > b; isRed != p.red {
			t.Errorf("pixel (%d,%d) red=%v, want %v: orientation not applied", p.x, p.y, isRed, p.red)
		}
	}
}

func TestAvatarFormats(t *testing.T) {
	t.Parallel()
	transparent := image.NewNRGBA(image.Rect(0, 0, 300, 200))
	for y := range 200 {
		for x := range 300 {
			transparent.SetNRGBA(x, y, color.NRGBA{10, 200, 10, uint8(x % 256)})
		}
	}
	for _, c := range []struct {
		name        string
		data        func(t *testing.T) []byte
		contentType string
		side        int
	}{
		{"large JPEG is scaled to 512", func(t *testing.T) []byte { return encodeJPEG(t, solidImage(1500, 1000, color.NRGBA{1, 2, 3, 255})) }, "image/jpeg", 512},
		{"small image is not scaled up", func(t *testing.T) []byte { return encodePNG(t, solidImage(40, 30, color.NRGBA{9, 9, 9, 255})) }, "image/jpeg", 30},
		{"PNG with transparency stays PNG", func(t *testing.T) []byte { return encodePNG(t, transparent) }, "image/png", 200},
		{"opaque WebP", func(t *testing.T) []byte { return testdata(t, "opaque.webp") }, "image/jpeg", 1},
		{"transparent WebP", func(t *testing.T) []byte { return testdata(t, "transparent.webp") }, "image/png", 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := testenv.New(t, testenv.Config{})
			token := e.RegisterUser(e.Email("fmt"))
			// The file name says nothing: the bytes decide.
			r := uploadAvatar(t, e, token, "upload.bin", c.data(t))
			if r.Status != 200 {
				t.Fatalf("upload: %d %s", r.Status, r.Body)
			}
			var out struct {
				AvatarURL string `json:"avatar_url"`
			}
			r.Decode(t, &out)
			_, img := mustFetchAvatar(t, e, out.AvatarURL, c.contentType)
			if b := img.Bounds(); b.Dx() != c.side || b.Dy() != c.side {
				t.Fatalf("stored avatar is %dx%d, want %dx%d", b.Dx(), b.Dy(), c.side, c.side)
			}
			if c.contentType == "image/png" {
				if _, _, _, a := img.At(0, 0).RGBA(); a == 0xffff {
					t.Fatal("transparency lost")
				}
			}
		})
	}
}

// TestAvatarOverOneMiBAccepted checks that the JSON routes' 1 MiB limit does
// not apply to the upload, which has the avatar limit (5 MiB by default).
func TestAvatarOverOneMiBAccepted(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, testenv.Config{})
	token := e.RegisterUser(e.Email("big"))
	noise := image.NewNRGBA(image.Rect(0, 0, 1200, 1200))
	if _, err := rand.Read(noise.Pix); err != nil {
		t.Fatal(err)
	}
	for i := 3; i < len(noise.Pix); i += 4 {
		noise.Pix[i] = 0xff
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, noise, &jpeg.Options{Quality: 100}); err != nil {
		t.Fatal(err)
	}
	if buf.Len() <= 1<<20 {
		t.Fatalf("the test image is only %d bytes", buf.Len())
	}
	url := mustUploadAvatar(t, e, token, buf.Bytes())
	if _, img := mustFetchAvatar(t, e, url, "image/jpeg"); img.Bounds().Dx() != 512 {
		t.Fatalf("stored avatar is %v", img.Bounds())
	}
}

// TestAvatarReplaceAndDelete checks the object lifecycle: a replaced avatar's
// object is deleted, and DELETE removes the object and the URL.
func TestAvatarReplaceAndDelete(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, testenv.Config{})
	token := e.RegisterUser(e.Email("replace"))

	first := mustUploadAvatar(t, e, token, encodeJPEG(t, solidImage(50, 50, color.White)))
	if keys := storedKeys(t, e); !slices.Equal(keys, []string{objectKey(t, e, first)}) {
		t.Fatalf("after the first upload: %v", keys)
	}
	second := mustUploadAvatar(t, e, token, encodeJPEG(t, solidImage(50, 50, color.Black)))
	if second == first {
		t.Fatal("a new upload must get a new URL")
	}
	if keys := storedKeys(t, e); !slices.Equal(keys, []string{objectKey(t, e, second)}) {
		t.Fatalf("after replacing: %v (the old object must be gone)", keys)
	}
	if status, _, _ := fetchAvatar(t, e, first); status == http.StatusOK {
		t.Fatal("the replaced avatar is still served")
	}
	mustFetchAvatar(t, e, second, "image/jpeg")

	r := e.Do("DELETE", avatarPath, nil, token)
	if r.Status != 200 || !strings.Contains(string(r.Body), `"avatar_url":null`) {
		t.Fatalf("delete avatar: %d %s", r.Status, r.Body)
	}
	if keys := storedKeys(t, e); len(keys) != 0 {
		t.Fatalf("after delete: %v", keys)
	}
	if me := getMe(t, e, token); me.User.AvatarURL != nil {
		t.Fatalf("avatar_url after delete: %s", *me.User.AvatarURL)
	}
}

// TestAvatarConcurrentUploadsLeaveOneObject races several uploads of one
// user: exactly one object may remain, the one the database points at.
func TestAvatarConcurrentUploadsLeaveOneObject(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, testenv.Config{})
	token := e.RegisterUser(e.Email("race"))
	img := encodeJPEG(t, solidImage(64, 64, color.White))
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if r := uploadAvatar(t, e, token, "a.jpg", img); r.Status != 200 {
				t.Errorf("upload: %d %s", r.Status, r.Body)
			}
		})
	}
	wg.Wait()
	me := getMe(t, e, token)
	if me.User.AvatarURL == nil {
		t.Fatal("no avatar after the uploads")
	}
	if keys := storedKeys(t, e); !slices.Equal(keys, []string{objectKey(t, e, *me.User.AvatarURL)}) {
		t.Fatalf("objects %v, the user points at %s", keys, *me.User.AvatarURL)
	}
}

// TestAvatarDatabaseFailureRemovesNewObject makes the database refuse the
// avatar update and checks that the object just stored is removed again and
// the previous avatar stays.
func TestAvatarDatabaseFailureRemovesNewObject(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, testenv.Config{})
	token := e.RegisterUser(e.Email("dbfail"))
	first := mustUploadAvatar(t, e, token, encodeJPEG(t, solidImage(20, 20, color.White)))

	ctx := context.Background()
	ddl := []string{`CREATE TRIGGER avatar_refused BEFORE UPDATE OF avatar_key ON users
		BEGIN SELECT RAISE(ABORT, 'avatar writes refused'); END`}
	if e.DB.Dialect().Name() == dialect.PG {
		ddl = []string{
			`CREATE FUNCTION avatar_refused() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN RAISE EXCEPTION 'avatar writes refused'; END $$`,
			`CREATE TRIGGER avatar_refused BEFORE UPDATE OF avatar_key ON users
			FOR EACH ROW EXECUTE FUNCTION avatar_refused()`,
		}
	}
	for _, q := range ddl {
		if _, err := e.DB.ExecContext(ctx, q); err != nil {
			t.Fatalf("install trigger: %v", err)
		}
	}

	r := uploadAvatar(t, e, token, "a.jpg", encodeJPEG(t, solidImage(20, 20, color.Black)))
	if r.Status != 500 || r.ErrorCode() != "internal" {
		t.Fatalf("upload with the database refusing: %d %s", r.Status, r.Body)
	}
	if strings.Contains(string(r.Body), "refused") {
		t.Fatalf("the database error leaked: %s", r.Body)
	}
	if keys := storedKeys(t, e); !slices.Equal(keys, []string{objectKey(t, e, first)}) {
		t.Fatalf("objects after the failed update: %v", keys)
	}
	if me := getMe(t, e, token); me.User.AvatarURL == nil || *me.User.AvatarURL != first {
		t.Fatalf("avatar changed: %v", me.User.AvatarURL)
	}
}

// TestAvatarStorageOutage runs the avatar routes against a private MinIO
// that is stopped mid-test: uploads answer 503 and change nothing, and once
// the store is back the previous avatar is still there and uploads work. It
// is not parallel: StartMinIO may set the S3 credentials in the environment.
func TestAvatarStorageOutage(t *testing.T) {
	m := testenv.StartMinIO(t)
	e := testenv.New(t, testenv.Config{S3Endpoint: m.Endpoint})
	addr := e.Email("outage")
	token := e.RegisterUser(addr)
	first := mustUploadAvatar(t, e, token, encodeJPEG(t, solidImage(30, 30, color.White)))
	mustFetchAvatar(t, e, first, "image/jpeg")

	m.Stop()
	start := time.Now()
	r := uploadAvatar(t, e, token, "a.jpg", encodeJPEG(t, solidImage(30, 30, color.Black)))
	if r.Status != 503 || r.ErrorCode() != "unavailable" {
		t.Fatalf("upload with the store down: %d %s", r.Status, r.Body)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("the 503 took %s", d)
	}
	if r := e.Do("DELETE", avatarPath, nil, token); r.Status != 503 || r.ErrorCode() != "unavailable" {
		t.Fatalf("delete with the store down: %d %s", r.Status, r.Body)
	}
	if r := e.Do("GET", "/readyz", nil, ""); r.Status != 503 {
		t.Errorf("readyz with the store down: %d %s", r.Status, r.Body)
	}
	if me := getMe(t, e, token); me.User.AvatarURL == nil || *me.User.AvatarURL != first {
		t.Fatalf("avatar changed during the outage: %v", me.User.AvatarURL)
	}
	if u := storedUser(t, withEmail(e, addr)); u.AvatarKey == nil || *u.AvatarKey != objectKey(t, e, first) {
		t.Fatalf("stored avatar key changed during the outage: %v", u.AvatarKey)
	}

	m.Start()
	mustFetchAvatar(t, e, first, "image/jpeg") // the previous avatar is still served
	if keys := storedKeys(t, e); !slices.Equal(keys, []string{objectKey(t, e, first)}) {
		t.Fatalf("objects after the outage: %v (no orphan allowed)", keys)
	}
	second := mustUploadAvatar(t, e, token, encodeJPEG(t, solidImage(30, 30, color.Black)))
	if keys := storedKeys(t, e); !slices.Equal(keys, []string{objectKey(t, e, second)}) {
		t.Fatalf("objects after recovery: %v", keys)
	}
}

// withEmail points the Env's Vars at the user with this email.
func withEmail(e *testenv.Env, addr string) *testenv.Env {
	e.Vars()["email"] = addr
	return e
}
