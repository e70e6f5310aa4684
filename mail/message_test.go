package mail

import "testing"

func TestExtractCode(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, text, want string
	}{
		{"alone", "Hello\n\n123456\n\nBye", "123456"},
		{"crlf", "Hello\r\n\r\n654321\r\nBye\r\n", "654321"},
		{"padded", "Hello\n   000111  \n", "000111"},
		{"last line without newline", "Your code:\n987654", "987654"},
		{"first of two", "111111\n222222\n", "111111"},
		{"inline only", "Your code is 123456 today", ""},
		{"too short", "12345\n", ""},
		{"too long", "1234567\n", ""},
		{"not digits", "12345a\n", ""},
		{"empty", "", ""},
	}
	for _, tc := range cases {
		if got := ExtractCode(tc.text); got != tc.want {
			t.Errorf("%s: ExtractCode = %q, want %q", tc.name, got, tc.want)
		}
	}
}
