package testenv

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	verrors "github.com/pb33f/libopenapi-validator/errors"

	"github.com/acme/accounts/docs"
)

// Response is a finished response with its body read.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into a generic map.
func (r *Response) JSON(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("response is not a JSON object: %v\n%s", err, r.Body)
	}
	return m
}

// Decode decodes the body into dst.
func (r *Response) Decode(t testing.TB, dst any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, dst); err != nil {
		t.Fatalf("decode response: %v\n%s", err, r.Body)
	}
}

// ErrorCode is error.code of an error body ("" if none).
func (r *Response) ErrorCode() string {
	var b struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	_ = json.Unmarshal(r.Body, &b)
	return b.Error.Code
}

// contract holds the validator built once from docs/openapi.yaml.
var contract = sync.OnceValues(func() (validator.Validator, error) {
	doc, err := libopenapi.NewDocument(docs.Spec())
	if err != nil {
		return nil, fmt.Errorf("parse openapi.yaml: %w", err)
	}
	v, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		return nil, fmt.Errorf("build validator: %v", errs)
	}
	return v, nil
})

// contractMu serialises validation: the validator caches compiled schemas.
var contractMu sync.Mutex

// Do sends a request through the real router and checks the response against
// the OpenAPI contract. body is JSON-encoded unless it is a string or []byte.
func (e *Env) Do(method, path string, body any, token string) *Response {
	e.T.Helper()
	return e.do(method, path, body, token, nil, true)
}

// DoWith is Do with extra request headers (cookies, CORS).
func (e *Env) DoWith(method, path string, body any, token string, header map[string]string) *Response {
	e.T.Helper()
	return e.do(method, path, body, token, header, true)
}

// DoUncheckedWith is DoWith without the contract check (CORS preflights).
func (e *Env) DoUncheckedWith(method, path string, body any, token string, header map[string]string) *Response {
	e.T.Helper()
	return e.do(method, path, body, token, header, false)
}

// DoUnchecked is Do without the contract check, for requests outside the
// contract on purpose (unknown routes).
func (e *Env) DoUnchecked(method, path string, body any, token string) *Response {
	e.T.Helper()
	return e.do(method, path, body, token, nil, false)
}

// DoWithHeaders is DoWith, for the language and notice tests.
func (e *Env) DoWithHeaders(method, path string, body any, token string, headers map[string]string) *Response {
	e.T.Helper()
	return e.do(method, path, body, token, headers, true)
}

func (e *Env) do(method, path string, body any, token string, header map[string]string, checked bool) *Response {
	e.T.Helper()
	var reader io.Reader
	contentType := "application/json"
	switch b := body.(type) {
	case nil:
	case string:
		reader = strings.NewReader(b)
	case []byte:
		reader = bytes.NewReader(b)
	case *Multipart:
		reader = bytes.NewReader(b.body.Bytes())
		contentType = b.contentType
	default:
		buf, err := json.Marshal(b)
		if err != nil {
			e.T.Fatalf("encode body: %v", err)
		}
		reader = bytes.NewReader(buf)
	}
	req := httptest.NewRequest(method, path, reader)
	if body != nil {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := e.Fiber.Test(req, -1)
	if err != nil {
		e.T.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		e.T.Fatalf("read body: %v", err)
	}
	out := &Response{Status: resp.StatusCode, Header: resp.Header, Body: data}
	if checked {
		e.checkContract(req, resp, data)
	}
	return out
}

// checkContract fails the test when a response does not match the spec,
// so the spec and the code cannot drift apart. Static files and the docs UI
// are outside the contract.
func (e *Env) checkContract(req *http.Request, resp *http.Response, body []byte) {
	e.T.Helper()
	p := req.URL.Path
	if strings.HasPrefix(p, "/uploads/") || strings.HasPrefix(p, "/docs") || p == "/metrics" {
		return
	}
	v, err := contract()
	if err != nil {
		e.T.Fatalf("contract: %v", err)
	}
	// Every answer that carries a token must forbid caches to keep it; a
	// check here covers each token route every test calls.
	if resp.StatusCode < 300 && bytes.Contains(body, []byte(`"refresh_token":`)) && resp.Header.Get("Cache-Control") != "no-store" {
		e.T.Errorf("%s %s -> %d carries a token without Cache-Control: no-store (got %q)", req.Method, p, resp.StatusCode, resp.Header.Get("Cache-Control"))
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	contractMu.Lock()
	ok, errs := v.ValidateHttpResponse(req, resp)
	contractMu.Unlock()
	if !ok {
		e.T.Errorf("%s %s -> %d does not match docs/openapi.yaml:\n%s\nbody: %s", req.Method, p, resp.StatusCode, describe(errs), truncate(body))
	}
}

func describe(errs []*verrors.ValidationError) string {
	var b strings.Builder
	for _, e := range errs {
		fmt.Fprintf(&b, "  - %s: %s\n", e.Message, e.Reason)
		for _, s := range e.SchemaValidationErrors {
			fmt.Fprintf(&b, "      %s: %s\n", s.FieldPath, s.Reason)
		}
	}
	return b.String()
}

func truncate(b []byte) string {
	if len(b) > 600 {
		return string(b[:600]) + "…"
	}
	return string(b)
}

// Multipart is a multipart/form-data body.
type Multipart struct {
	body        bytes.Buffer
	contentType string
}

// NewMultipart builds a body with one file field.
func NewMultipart(t testing.TB, field, filename string, content []byte) *Multipart {
	t.Helper()
	m := &Multipart{}
	w := multipart.NewWriter(&m.body)
	fw, err := w.CreateFormFile(field, filename)
	if err != nil {
		t.Fatalf("multipart: %v", err)
	}
	if _, err := fw.Write(content); err != nil {
		t.Fatalf("multipart: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("multipart: %v", err)
	}
	m.contentType = w.FormDataContentType()
	return m
}
