package jsonbody

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

type sample struct {
	Email    string         `json:"email"`
	Password *string        `json:"password"`
	N        int            `json:"n"`
	Tags     []string       `json:"tags"`
	Nested   map[string]any `json:"nested"`
}

func TestDecodeNamesTheField(t *testing.T) {
	t.Parallel()
	for body, want := range map[string]string{
		``:                                   "body",
		`[]`:                                 "body",
		`{`:                                  "body",
		`{"n":"3"}`:                          "n",
		"{\"email\":\"\xff\"}":               "body",
		`{"email":"a\u0000b"}`:               "email",
		`{"tags":["x","\u0000"]}`:            "tags",
		`{"nested":{"deep":"\u0000"}}`:       "nested",
		`{"a\u0000":1}`:                      "body",
		`{"email":"ok","password":"\u0000"}`: "password",
	} {
		var dst sample
		var fe *FieldError
		if err := Decode([]byte(body), &dst); !errors.As(err, &fe) || fe.Field != want {
			t.Errorf("%q: %v, want a field error on %q", body, err, want)
		}
	}
	var dst sample
	if err := Decode([]byte(`{"email":"back\\u0000slash","n":2}`), &dst); err != nil || dst.Email != `back\u0000slash` {
		t.Fatalf("an escaped backslash before u0000 is text: %v %q", err, dst.Email)
	}
	if err := DecodeOptional([]byte("  "), &dst); err != nil {
		t.Fatalf("empty optional body: %v", err)
	}
}

// FuzzDecode: any body either decodes or is a FieldError (never another
// error, never a panic), and a body that decodes is valid UTF-8 with no NUL
// in any string it filled.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"email":"a@b.co","password":"correct horse","n":3,"tags":["x"]}`,
		`{"email":"a\u0000b"}`, `{"email":"back\\u0000slash"}`, `{"tags":["\u0000"]}`,
		`{"a\u0000":1}`, "{\"email\":\"\xff\"}", `[]`, `"str"`, `{"n":"3"}`, `{"n":1e400}`,
		`{`, ``, `   `, `null`, `{"nested":{"deep":"\u0000"}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var in sample
		err := Decode(body, &in)
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("%q: not a field error: %v", body, err)
			}
			return
		}
		if !utf8.Valid(body) {
			t.Fatalf("%q: invalid UTF-8 decoded", body)
		}
		strs := append([]string{in.Email}, in.Tags...)
		if in.Password != nil {
			strs = append(strs, *in.Password)
		}
		for _, s := range strs {
			if strings.ContainsRune(s, 0) {
				t.Fatalf("%q: decoded a NUL", body)
			}
		}
	})
}
