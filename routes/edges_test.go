package routes_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"image/color"
	"io"
	"log/slog"
	"mime/multipart"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/acme/accounts/internal/testenv"
	"github.com/acme/accounts/migrations"
)

// listen serves e on a real socket, for requests a well-behaved client
// cannot send (partial bodies, malformed headers, oversized header blocks).
func listen(t *testing.T, e *testenv.Env) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = e.Fiber.Listener(ln) }()
	t.Cleanup(func() { _ = e.Fiber.ShutdownWithTimeout(5 * time.Second) })
	return ln.Addr().String()
}

// rawExchange writes head (and then body, if any) on a new connection and
// reads one answer. A server that waited for more than was sent would make
// the read hit its deadline and the test fail.
func rawExchange(t *testing.T, addr, head string, body io.Reader) (*http.Response, []byte) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, head); err != nil {
		t.Fatal(err)
	}
	if body != nil {
		// The server may answer and close before all of it is written.
		go func() { _, _ = io.Copy(conn, body) }()
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to %.60q: %v", head, err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, b
}

func wantError(t *testing.T, what string, resp *http.Response, body []byte, status int, code string) {
	t.Helper()
	if resp.StatusCode != status || !bytes.Contains(body, []byte(`"code":"`+code+`"`)) {
		t.Fatalf("%s: %d %s, want %d %s", what, resp.StatusCode, body, status, code)
	}
	wantSecurityHeaders(t, what, resp.Header)
}

func wantSecurityHeaders(t *testing.T, what string, h http.Header) {
	t.Helper()
	for k, v := range map[string]string{"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY"} {
		if h.Get(k) != v {
			t.Errorf("%s: %s = %q, want %q", what, k, h.Get(k), v)
		}
	}
}

// TestBodiesOverTheLimitAreNotRead: a JSON route refuses a body past 1 MiB
// as soon as it knows, without reading it: a declared length is refused
// after the headers and the server's first 8 KiB read (the test sends
// 16 KiB of 5 MiB and gets its 413),
// a chunked body after at most 1 MiB, and the connection is closed rather
// than drained. Compressed bodies are refused too (a small gzip can expand
// to gigabytes).
func TestBodiesOverTheLimitAreNotRead(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, testenv.Config{})
	addr := listen(t, e)

	head := "POST " + pathLogin + " HTTP/1.1\r\nHost: api\r\nContent-Type: application/json\r\nContent-Length: 5242880\r\n\r\n"
	resp, body := rawExchange(t, addr, head+strings.Repeat("x", 16<<10), nil)
	wantError(t, "declared 5 MiB", resp, body, 413, "payload_too_large")
	if !resp.Close {
		t.Errorf("declared 5 MiB: the connection stays open to a sender of 5 MiB")
	}

	// The avatar route takes large bodies, but only from a signed-in user
	// within their upload limit: a stranger's 5 MiB is refused unread.
	head = "PUT " + avatarPath + " HTTP/1.1\r\nHost: api\r\nContent-Type: multipart/form-data; boundary=x\r\nContent-Length: 5242880\r\n\r\n"
	resp, body = rawExchange(t, addr, head+strings.Repeat("x", 16<<10), nil)
	wantError(t, "anonymous 5 MiB avatar", resp, body, 401, "unauthorized")

	chunk := fmt.Sprintf("%x\r\n%s\r\n", 64<<10, strings.Repeat("y", 64<<10))
	head = "POST " + pathLogin + " HTTP/1.1\r\nHost: api\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
	resp, body = rawExchange(t, addr, head, strings.NewReader(strings.Repeat(chunk, 20)))
	wantError(t, "chunked 1.25 MiB", resp, body, 413, "payload_too_large")

	r := e.DoWith("POST", pathLogin, map[string]any{"email": e.Email("gz"), "password": testenv.Password}, "", map[string]string{"Content-Encoding": "gzip"})
	if r.Status != 415 || r.ErrorCode() != "unsupported_media_type" {
		t.Fatalf("gzip body: %d %s", r.Status, r.Body)
	}

	// A body under the limit, sent in chunks, is read and used as usual.
	in := fmt.Sprintf(`{"email":%q,"password":"wrong password"}`, e.Email("chunked"))
	head = "POST " + pathLogin + " HTTP/1.1\r\nHost: api\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
	resp, body = rawExchange(t, addr, head, strings.NewReader(fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(in), in)))
	wantError(t, "small chunked body", resp, body, 400, "invalid_credentials")
}

// TestOversizedHeadersAndURLs: a URL past 8 KiB is 414 and a header block
// past the read buffer 431, both in the error shape with the security
// headers; neither is logged as a server error (the 5xx branch of the error
// handler is the only one that logs at ERROR).
func TestOversizedHeadersAndURLs(t *testing.T) {
	t.Parallel()
	logs := &recordLog{}
	e := testenv.New(t, testenv.Config{ServerLog: slog.New(logs)})
	addr := listen(t, e)

	head := "GET " + pathMe + "?pad=" + strings.Repeat("a", 10<<10) + " HTTP/1.1\r\nHost: api\r\n\r\n"
	resp, body := rawExchange(t, addr, head, nil)
	wantError(t, "10 KiB URL", resp, body, 414, "uri_too_long")

	head = "GET " + pathMe + " HTTP/1.1\r\nHost: api\r\nX-Padding: " + strings.Repeat("b", 20<<10) + "\r\n\r\n"
	resp, body = rawExchange(t, addr, head, nil)
	wantError(t, "20 KiB header", resp, body, 431, "headers_too_large")

	if n := logs.count(slog.LevelError); n != 0 {
		t.Fatalf("%d ERROR lines for oversized requests, want none", n)
	}

	// Under both limits the same request is served.
	head = "GET /healthz?pad=" + strings.Repeat("a", 4<<10) + " HTTP/1.1\r\nHost: api\r\nX-Padding: " + strings.Repeat("b", 4<<10) + "\r\n\r\n"
	if resp, body := rawExchange(t, addr, head, nil); resp.StatusCode != 200 {
		t.Fatalf("4 KiB URL and header: %d %s", resp.StatusCode, body)
	}
}

// TestMalformedRequestIsNotEchoed: a request the server cannot parse gets a
// 400 in the error shape that repeats nothing of the request, so a token in
// its headers never ends up in a body a script or a log can read.
func TestMalformedRequestIsNotEchoed(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, testenv.Config{})
	addr := listen(t, e)
	head := "POST " + pathLogin + " HTTP/1.1\r\nHost: api\r\nAuthorization: Bearer secret-token-value\r\nContent-Length: 12abc\r\n\r\n"
	resp, body := rawExchange(t, addr, head, nil)
	wantError(t, "bad Content-Length", resp, body, 400, "validation_failed")
	if bytes.Contains(body, []byte("secret-token-value")) || bytes.Contains(bytes.ToLower(body), []byte("authorization")) {
		t.Fatalf("the answer echoes the request: %s", body)
	}
}

// TestSecurityHeadersOnEveryAnswer: success, error and token answers carry
// the security headers; token bodies are never cached.
func TestSecurityHeadersOnEveryAnswer(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, testenv.Config{})
	for _, path := range []string{"/healthz", "/api/v1/nope", pathMe} {
		r := e.DoUnchecked("GET", path, nil, "")
		wantSecurityHeaders(t, path, r.Header)
	}
	addr := e.Email("headers")
	e.RegisterUser(addr)
	if r := e.Do("POST", pathLogin, map[string]any{"email": addr, "password": testenv.Password}, ""); r.Status != 200 {
		t.Fatalf("login: %d %s", r.Status, r.Body)
	}
	r := e.Do("POST", pathLoginVerify, map[string]any{"email": addr, "code": e.Code(addr)}, "")
	if r.Status != 200 || r.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("token body: %d, Cache-Control %q", r.Status, r.Header.Get("Cache-Control"))
	}
	wantSecurityHeaders(t, "token body", r.Header)
}

// TestTextWithNULOrBadUTF8IsRefused: such text is a validation error before
// any flow runs, so no code is mailed or consumed for a request that the
// database would refuse later (PostgreSQL rejects NUL in text).
func TestTextWithNULOrBadUTF8IsRefused(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, testenv.Config{})
	addr := e.Email("nul")
	body := registerBody(addr)
	body["first_name"] = "Ali\x00"
	r := e.Do("POST", pathRegister, body, "")
	if r.Status != 400 || r.ErrorCode() != "validation_failed" || !strings.Contains(string(r.Body), `"first_name"`) {
		t.Fatalf("NUL in first_name: %d %s", r.Status, r.Body)
	}
	raw := []byte(`{"first_name":"Ali` + "\xff\xfe" + `","last_name":"V","email":"` + addr + `","password":"` + testenv.Password + `"}`)
	r = e.DoUnchecked("POST", pathRegister, raw, "")
	if r.Status != 400 || r.ErrorCode() != "validation_failed" {
		t.Fatalf("invalid UTF-8: %d %s", r.Status, r.Body)
	}
	if n := len(e.Mails(addr)); n != 0 {
		t.Fatalf("%d mails sent for refused registrations", n)
	}

	tok := e.RegisterUser(addr)
	r = e.Do("POST", "/api/v1/products", map[string]any{"name": "a\x00b", "price": 1, "currency": "UZS"}, tok)
	if r.Status != 400 || !strings.Contains(string(r.Body), `"name"`) {
		t.Fatalf("NUL in product name: %d %s", r.Status, r.Body)
	}
	r = e.Do("PATCH", pathMe, map[string]any{"last_name": "x\x00"}, tok)
	if r.Status != 400 || !strings.Contains(string(r.Body), `"last_name"`) {
		t.Fatalf("NUL in last_name: %d %s", r.Status, r.Body)
	}
	// An escaped backslash before "u0000" is no NUL.
	r = e.Do("PATCH", pathMe, map[string]any{"last_name": `back\u0000slash`}, tok)
	if r.Status != 200 {
		t.Fatalf("literal backslash-u0000: %d %s", r.Status, r.Body)
	}
}

// TestDroppedDatabaseIs503AndKeepsTheCode: a database that disappears
// (dropped: every connection is cut and reconnecting finds no database,
// SQLSTATE 3D000) is an outage, not a bug, and the verify step puts its code
// back, so the same code works once the database is there again.
func TestDroppedDatabaseIs503AndKeepsTheCode(t *testing.T) {
	t.Parallel()
	testenv.NeedReal(t, "database", "dropping a database needs PostgreSQL; the embedded run covers a closed database in TestDatabaseDownKeepsTheCode")
	e := testenv.New(t, testenv.Config{OwnDatabase: true})
	ctx := context.Background()
	addr := e.Email("dropped")
	if r := e.Do("POST", pathRegister, registerBody(addr), ""); r.Status != 200 {
		t.Fatalf("register: %d %s", r.Status, r.Body)
	}
	code := e.Code(addr)

	admin := testenv.AdminDB(t)
	if _, err := admin.ExecContext(ctx, "DROP DATABASE "+e.DatabaseName+" WITH (FORCE)"); err != nil {
		t.Fatal(err)
	}
	r := e.Do("POST", pathRegisterVerify, map[string]any{"email": addr, "code": code}, "")
	if r.Status != 503 || r.ErrorCode() != "unavailable" {
		t.Fatalf("verify with the database dropped: %d %s", r.Status, r.Body)
	}

	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+e.DatabaseName); err != nil {
		t.Fatal(err)
	}
	if _, err := migrations.Up(ctx, e.DB); err != nil {
		t.Fatalf("migrate the new database: %v", err)
	}
	if r := e.Do("POST", pathRegisterVerify, map[string]any{"email": addr, "code": code}, ""); r.Status != 200 {
		t.Fatalf("verify with the same code once the database is back: %d %s", r.Status, r.Body)
	}
}

// chunked frames body as a chunked transfer of pieces of size bytes; end
// adds the closing chunk.
func chunked(body []byte, size int, end bool) string {
	var b strings.Builder
	for len(body) > 0 {
		n := min(size, len(body))
		fmt.Fprintf(&b, "%x\r\n%s\r\n", n, body[:n])
		body = body[n:]
	}
	if end {
		b.WriteString("0\r\n\r\n")
	}
	return b.String()
}

// multipartBody is a multipart/form-data body with a text field of
// textSize bytes (none if 0) before the avatar file.
func multipartBody(t *testing.T, textSize int, avatar []byte) (contentType string, body []byte) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	if textSize > 0 {
		if err := w.WriteField("note", strings.Repeat("n", textSize)); err != nil {
			t.Fatal(err)
		}
	}
	fw, err := w.CreateFormFile("avatar", "a.jpg")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = fw.Write(avatar)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return w.FormDataContentType(), buf.Bytes()
}

// TestAvatarUploadStreamed: the upload is parsed as it arrives, so it works
// sent in chunks, with the file after other parts, and a body without a
// declared length is refused once it passes the limit, without the server
// waiting for the rest of it.
func TestAvatarUploadStreamed(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, testenv.Config{})
	addr := listen(t, e)
	jpg := encodeJPEG(t, solidImage(64, 64, color.White))
	put := func(token, contentType string) string {
		return "PUT " + avatarPath + " HTTP/1.1\r\nHost: api\r\nAuthorization: Bearer " + token + "\r\nContent-Type: " + contentType + "\r\n"
	}
	wantAvatar := func(what string, resp *http.Response, body []byte) {
		t.Helper()
		if resp.StatusCode != 200 || !bytes.Contains(body, []byte(`"avatar_url":"`)) {
			t.Fatalf("%s: %d %s", what, resp.StatusCode, body)
		}
	}

	ct, body := multipartBody(t, 0, jpg)
	head := put(e.RegisterUser(e.Email("chunked")), ct) + "Transfer-Encoding: chunked\r\n\r\n"
	resp, out := rawExchange(t, addr, head, strings.NewReader(chunked(body, 1000, true)))
	wantAvatar("chunked upload", resp, out)

	// 4 MiB of text first: the file is found after it, within the 5 MiB limit,
	// both with a declared length and in chunks.
	ct, body = multipartBody(t, 4<<20, jpg)
	head = put(e.RegisterUser(e.Email("afterText")), ct) + fmt.Sprintf("Content-Length: %d\r\n\r\n", len(body))
	resp, out = rawExchange(t, addr, head, bytes.NewReader(body))
	wantAvatar("avatar after 4 MiB of text", resp, out)
	head = put(e.RegisterUser(e.Email("afterTextChunked")), ct) + "Transfer-Encoding: chunked\r\n\r\n"
	resp, out = rawExchange(t, addr, head, strings.NewReader(chunked(body, 64<<10, true)))
	wantAvatar("chunked avatar after 4 MiB of text", resp, out)

	// Discarded parts count toward the limit too.
	ct, body = multipartBody(t, 6<<20, jpg)
	head = put(e.RegisterUser(e.Email("textOver")), ct) + "Transfer-Encoding: chunked\r\n\r\n"
	resp, out = rawExchange(t, addr, head, strings.NewReader(chunked(body, 64<<10, true)))
	wantError(t, "chunked 6 MiB of text", resp, out, 413, "payload_too_large")

	// A file past the limit, in chunks: the client sends 64 KiB past the
	// limit and then waits, never ending the body; an answer proves the
	// server read no further than that.
	const limit = 5<<20 + 64<<10
	ct, body = multipartBody(t, 0, make([]byte, limit+64<<10))
	head = put(e.RegisterUser(e.Email("over")), ct) + "Transfer-Encoding: chunked\r\n\r\n"
	resp, out = rawExchange(t, addr, head, strings.NewReader(chunked(body[:limit+64<<10], 64<<10, false)))
	wantError(t, "chunked upload past the limit", resp, out, 413, "payload_too_large")
	if !resp.Close {
		t.Errorf("chunked upload past the limit: the connection stays open")
	}
}
