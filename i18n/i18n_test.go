package i18n

import (
	"encoding/json"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

// pluralForms are the CLDR plural categories each language needs for whole
// numbers (Russian distinguishes 1, 2-4 and 5+; "other" covers fractions).
var pluralForms = map[string][]string{
	English: {"one", "other"},
	Uzbek:   {"one", "other"},
	Russian: {"few", "many", "one", "other"},
}

func readLocale(t *testing.T, loc string) map[string]any {
	t.Helper()
	b, err := localeFS.ReadFile("locales/" + loc + ".json")
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s.json: %v", loc, err)
	}
	return m
}

var varRe = regexp.MustCompile(`\{\{\s*\.(\w+)\s*\}\}`)

func vars(v any) []string {
	var texts []string
	switch x := v.(type) {
	case string:
		texts = []string{x}
	case map[string]any:
		for _, s := range x {
			texts = append(texts, s.(string))
		}
	}
	set := map[string]bool{}
	for _, s := range texts {
		for _, m := range varRe.FindAllStringSubmatch(s, -1) {
			set[m[1]] = true
		}
	}
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Every language has exactly the messages English has, with the same
// variables and every plural form its grammar needs: a gap fails here rather
// than showing English (or an id) to a reader of Uzbek or Russian.
func TestEveryLocaleIsComplete(t *testing.T) {
	t.Parallel()
	en := readLocale(t, English)
	for _, loc := range Locales() {
		m := readLocale(t, loc)
		for id, ev := range en {
			v, ok := m[id]
			if !ok {
				t.Errorf("%s: missing %q", loc, id)
				continue
			}
			if got, want := vars(v), vars(ev); !slices.Equal(got, want) {
				t.Errorf("%s %q uses variables %v, English uses %v", loc, id, got, want)
			}
			forms, plural := v.(map[string]any)
			if _, enPlural := ev.(map[string]any); plural != enPlural {
				t.Errorf("%s %q: plural in one language but not the other", loc, id)
			}
			if plural {
				var keys []string
				for k, s := range forms {
					keys = append(keys, k)
					if strings.TrimSpace(s.(string)) == "" {
						t.Errorf("%s %q: empty %s form", loc, id, k)
					}
				}
				sort.Strings(keys)
				if !slices.Equal(keys, pluralForms[loc]) {
					t.Errorf("%s %q has plural forms %v, want %v", loc, id, keys, pluralForms[loc])
				}
			} else if strings.TrimSpace(v.(string)) == "" {
				t.Errorf("%s %q is empty", loc, id)
			}
		}
		for id := range m {
			if _, ok := en[id]; !ok {
				t.Errorf("%s: %q is not in English", loc, id)
			}
		}
	}
	c := mustNew(t, English)
	for _, loc := range Locales() {
		for id := range en {
			if !c.Has(loc, id) {
				t.Errorf("catalog: %s lacks %q", loc, id)
			}
		}
	}
}

func mustNew(t *testing.T, def string) *Catalog {
	t.Helper()
	c, err := New(def)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestNegotiate(t *testing.T) {
	t.Parallel()
	c := mustNew(t, English)
	cases := []struct{ header, want string }{
		{"", ""},
		{"ru", Russian},
		{"ru-RU,ru;q=0.9,en-US;q=0.8,en;q=0.7", Russian},
		{"uz-Latn-UZ", Uzbek},
		{"uz", Uzbek},
		{"en-GB", English},
		{"de-DE", ""},
		{"de;q=1, ru;q=0.5", Russian},
		{"en;q=0.3, ru;q=0.8, uz;q=0.9", Uzbek},
		{"en;q=0.8, ru;q=0.9", Russian},
		{"ru;q=0, en;q=0.1", English},
		{"ru;q=0", ""},
		{"*", ""},
		{"not a language tag!!", ""},
		{"fr, de", ""},
	}
	for _, tc := range cases {
		if got := c.Negotiate(tc.header); got != tc.want {
			t.Errorf("Negotiate(%q) = %q, want %q", tc.header, got, tc.want)
		}
	}
}

func TestPick(t *testing.T) {
	t.Parallel()
	c := mustNew(t, Russian)
	if c.Default() != Russian {
		t.Fatalf("default %q", c.Default())
	}
	cases := []struct{ account, request, want string }{
		{Uzbek, English, Uzbek},
		{"", English, English},
		{"", "", Russian},
		{"xx", "", Russian},
		{"", "de", Russian},
	}
	for _, tc := range cases {
		if got := c.Pick(tc.account, tc.request); got != tc.want {
			t.Errorf("Pick(%q, %q) = %q, want %q", tc.account, tc.request, got, tc.want)
		}
	}
	if _, err := New("de"); err == nil {
		t.Error("New(de) accepted an unsupported default")
	}
}

func TestValid(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"uz", "ru", "en"} {
		if !Valid(s) {
			t.Errorf("Valid(%q) = false", s)
		}
	}
	for _, s := range []string{"", "EN", "uz-Cyrl", "de", "en-US", " ru"} {
		if Valid(s) {
			t.Errorf("Valid(%q) = true", s)
		}
	}
}

// Russian takes a different noun form after 1, 2-4 and 5-20 (and again after
// 21, 22, 25), which English-style "one/other" would get wrong.
func TestPluralForms(t *testing.T) {
	t.Parallel()
	c := mustNew(t, English)
	cases := []struct {
		loc  string
		d    time.Duration
		want string
	}{
		{Russian, time.Minute, "через 1 минуту"},
		{Russian, 2 * time.Minute, "через 2 минуты"},
		{Russian, 5 * time.Minute, "через 5 минут"},
		{Russian, 11 * time.Minute, "через 11 минут"},
		{Russian, 21 * time.Minute, "через 21 минуту"},
		{Russian, 24 * time.Minute, "через 24 минуты"},
		{Russian, 45 * time.Second, "через 45 секунд"},
		{Russian, 2 * time.Hour, "через 2 часа"},
		{English, time.Minute, "in 1 minute"},
		{English, 5 * time.Minute, "in 5 minutes"},
		{English, 1500 * time.Millisecond, "in 2 seconds"},
		{Uzbek, 5 * time.Minute, "5 daqiqadan soʻng"},
		{Uzbek, time.Hour, "1 soatdan soʻng"},
	}
	for _, tc := range cases {
		if got := c.In(tc.loc, tc.d); got != tc.want {
			t.Errorf("In(%s, %s) = %q, want %q", tc.loc, tc.d, got, tc.want)
		}
	}
	fors := []struct {
		loc  string
		d    time.Duration
		want string
	}{
		{Russian, time.Minute, "1 минуту"},
		{Russian, 3 * time.Minute, "3 минуты"},
		{Russian, 10 * time.Minute, "10 минут"},
		{Russian, 90 * time.Second, "1 минуту"},
		{Russian, 30 * time.Second, "1 минуту"},
		{English, 10 * time.Minute, "10 minutes"},
		{English, time.Hour, "1 hour"},
		{Uzbek, 10 * time.Minute, "10 daqiqa"},
	}
	for _, tc := range fors {
		if got := c.For(tc.loc, tc.d); got != tc.want {
			t.Errorf("For(%s, %s) = %q, want %q", tc.loc, tc.d, got, tc.want)
		}
	}
}

func TestTemplatesFillEveryVariable(t *testing.T) {
	t.Parallel()
	c := mustNew(t, English)
	en := readLocale(t, English)
	data := map[string]any{"AppName": "Kassa", "Wait": "W", "Validity": "V", "Time": "T", "IP": "I", "Client": "C", "Until": "U"}
	for _, loc := range Locales() {
		for id, v := range en {
			var got string
			if _, plural := v.(map[string]any); plural {
				got = c.N(loc, id, 7, data)
			} else {
				got = c.T(loc, id, data)
			}
			if got == id || strings.Contains(got, "<no value>") || strings.Contains(got, "{{") {
				t.Errorf("%s %q rendered as %q", loc, id, got)
			}
		}
	}
	if got := c.T(Uzbek, "no.such.id", nil); got != "no.such.id" {
		t.Errorf("unknown id rendered as %q", got)
	}
}

func TestRequestContext(t *testing.T) {
	t.Parallel()
	ctx := WithRequest(t.Context(), Russian)
	if FromRequest(ctx) != Russian || FromRequest(t.Context()) != "" {
		t.Fatal("request locale not carried by the context")
	}
}
