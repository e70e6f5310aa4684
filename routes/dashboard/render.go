package dashboard

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/acme/accounts/models"
)

//go:embed templates static
var files embed.FS

// pages are the parsed templates, one set per page: the layout and the
// partials plus the page's own content.
type pages map[string]*template.Template

var funcs = template.FuncMap{
	"when": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") },
	"day":  func(t time.Time) string { return t.UTC().Format("2 Jan 2006") },
	// short names an id by its last characters: UUIDv7 ids start with
	// their time, so ids of the same minute share their first ones.
	"short": func(id fmt.Stringer) string { s := id.String(); return "…" + s[max(len(s)-8, 0):] },
	"fullName": func(u models.User) string {
		if n := strings.TrimSpace(u.FirstName + " " + u.LastName); n != "" {
			return n
		}
		return "—"
	},
	"price": func(p models.Product) string {
		// The smallest unit of the currency, as the API stores it.
		return strconv.FormatInt(p.Price, 10) + " " + p.Currency
	},
	"query": func(kv ...string) string {
		v := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] != "" {
				v.Set(kv[i], kv[i+1])
			}
		}
		if len(v) == 0 {
			return ""
		}
		return "?" + v.Encode()
	},
}

// mustParsePages parses the embedded templates. They are part of the binary
// and covered by the tests, so a failure here is a bug in the build.
func mustParsePages() pages {
	base := template.Must(template.New("layout").Funcs(funcs).ParseFS(files, "templates/layout.html", "templates/partials/*.html"))
	names, err := fs.Glob(files, "templates/pages/*.html")
	if err != nil {
		panic(err)
	}
	out := pages{}
	for _, n := range names {
		t := template.Must(template.Must(base.Clone()).ParseFS(files, n))
		out[strings.TrimSuffix(path.Base(n), ".html")] = t
	}
	return out
}

// view is what every page template receives.
type view struct {
	Title   string
	Admin   *models.Admin // the signed-in admin; nil on the sign-in pages
	CSRF    string
	Nav     string // the menu entry to highlight
	Notice  string // a success message after an action
	Problem *problem
	Data    any
}

// Field is the message for one form field, "" when it is fine.
func (v view) Field(name string) string {
	if v.Problem == nil {
		return ""
	}
	return v.Problem.Fields[name]
}

func (h *handlers) render(c *fiber.Ctx, status int, page string, v view) error {
	t, ok := h.pages[page]
	if !ok {
		return fiber.ErrInternalServerError
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		return err
	}
	c.Status(status)
	c.Type("html", "utf-8")
	return c.Send(buf.Bytes())
}

// serveStatic serves the embedded stylesheet and icons.
func serveStatic(c *fiber.Ctx) error {
	name := c.Params("name")
	b, err := files.ReadFile("static/" + path.Base(name))
	if err != nil {
		return fiber.ErrNotFound
	}
	c.Type(strings.TrimPrefix(path.Ext(name), "."))
	c.Set(fiber.HeaderCacheControl, "public, max-age=3600")
	return c.Send(b)
}
