package config

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/acme/accounts/internal/modroot"
)

var (
	// ${JWT_SECRET:-value} and ${JWT_SECRET-value}: a compose or shell default.
	secretDefault = regexp.MustCompile(`\$\{JWT_SECRET:?-([^}]*)\}`)
	// Any other ${JWT_SECRET...} (such as :? with its message) names no value.
	secretExpansion = regexp.MustCompile(`\$\{JWT_SECRET[^}]*\}`)
	// JWT_SECRET=value (env files, shell) and JWT_SECRET: value (YAML),
	// where the value may be bare.
	secretAssignment = regexp.MustCompile(`\bJWT_SECRET[ \t]*[=:][ \t]*(` + quoted + `|[^\s"'` + "`" + `,;)}]+)`)
	// "JWT_SECRET": "value" (a Go, JSON or TypeScript map) and
	// Setenv("JWT_SECRET", "value"): code, so only a string literal is a
	// value, not a variable (and not the message of p.fail("JWT_SECRET", …)).
	secretKeyed = regexp.MustCompile(`(?:["']JWT_SECRET["'][ \t]*:|Setenv\([ \t]*["']JWT_SECRET["'][ \t]*,)[ \t]*(` + quoted + `)`)
	// JWTSecret: "value" or JWTSecret = []byte("value"): Config.JWTSecret,
	// the field config.Load fills from JWT_SECRET, and the Options fields of
	// the same name that carry it.
	secretField = regexp.MustCompile(`\bJWTSecret[ \t]*:?=?[ \t]*(?:\[\]byte\()?(` + quoted + `)`)
)

// quoted is a string literal in double, single or back quotes.
const quoted = `"[^"\n]*"|'[^'\n]*'|` + "`[^`]*`"

// jwtSecretsIn returns the literal JWT_SECRET values in text. Values that
// are themselves expansions ($JWT_SECRET, $(openssl …)) are no values.
func jwtSecretsIn(text string) []string {
	var out []string
	for _, m := range secretDefault.FindAllStringSubmatch(text, -1) {
		out = append(out, m[1])
	}
	text = secretExpansion.ReplaceAllString(text, "")
	for _, re := range []*regexp.Regexp{secretAssignment, secretKeyed, secretField} {
		for _, m := range re.FindAllStringSubmatch(text, -1) {
			v := m[1]
			if len(v) >= 2 && strings.ContainsRune(`"'`+"`", rune(v[0])) {
				v = v[1 : len(v)-1]
			}
			if v != "" && !strings.HasPrefix(v, "$") {
				out = append(out, v)
			}
		}
	}
	return out
}

func TestJWTSecretsIn(t *testing.T) {
	text := "JWT_SECRET=one\n" +
		"  JWT_SECRET: 'two' # comment\n" +
		"JWT_SECRET: ${JWT_SECRET:-three}\n" +
		"JWT_SECRET: ${JWT_SECRET:?set JWT_SECRET: to something}\n" +
		"export JWT_SECRET=\"four\" OTHER=x\n" +
		"JWT_SECRET=$(openssl rand -hex 32) JWT_SECRET=$JWT_SECRET\n" +
		"getenv(\"JWT_SECRET\") `JWT_SECRET` (required)\n" +
		"env := map[string]string{\"JWT_SECRET\": \"five\", \"X\": \"y\"}\n" +
		"{'JWT_SECRET': 'six'} t.Setenv(\"JWT_SECRET\", `seven`)\n" +
		"\"JWT_SECRET\": secret, \"JWT_SECRET\": drawSecret(t)\n" +
		"p.fail(\"JWT_SECRET\", \"must be at least 32 bytes\")\n" +
		"Options{JWTSecret: []byte(\"eight\")} conf.JWTSecret = \"nine\"\n" +
		"JWTSecret: cfg.JWTSecret, JWTSecret: e.Secret\n" +
		"exec.Command(\"x\").Env = []string{\"JWT_SECRET=ten\"}\n"
	got := strings.Join(jwtSecretsIn(text), ",")
	if got != "three,one,two,four,ten,five,six,seven,eight,nine" {
		t.Fatalf("found %q", got)
	}
}

// moduleRoot is the folder of go.mod above the package.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := modroot.Dir()
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// repositoryFiles lists the project's own files: git's tracked and new
// (not ignored) files, or,
// outside a git checkout, every file except dependencies and local
// configuration (.env holds the operator's real secret, not an example).
func repositoryFiles(t *testing.T, root string) []string {
	t.Helper()
	if out, err := exec.Command("git", "-C", root, "ls-files", "-z", "--cached", "--others", "--exclude-standard").Output(); err == nil && len(out) > 0 {
		var files []string
		for _, f := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
			files = append(files, filepath.Join(root, filepath.FromSlash(f)))
		}
		return files
	}
	var files []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch {
		case d.IsDir() && (d.Name() == ".git" || d.Name() == "node_modules"):
			return filepath.SkipDir
		case !d.IsDir() && d.Name() != ".env":
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// Every JWT_SECRET value written anywhere in the repository (examples,
// compose defaults, README, scripts) is public, so production must refuse
// it: by the strength rules or by knownSecret. A new example value that
// passes both fails here until it is added to knownSecret.
func TestEveryJWTSecretInTheRepositoryIsRefused(t *testing.T) {
	root := moduleRoot(t)
	t.Chdir(t.TempDir())           // Load must not read the developer's .env
	found := map[string][]string{} // value -> files
	for _, path := range repositoryFiles(t, root) {
		data, err := os.ReadFile(path)
		if err != nil {
			if os.IsNotExist(err) {
				continue // deleted in the working tree but still tracked
			}
			t.Fatal(err)
		}
		if bytes.IndexByte(data, 0) >= 0 {
			continue // binary
		}
		rel, _ := filepath.Rel(root, path)
		for _, v := range jwtSecretsIn(string(data)) {
			found[v] = append(found[v], filepath.ToSlash(rel))
		}
	}
	var example bool
	for v, files := range found {
		t.Logf("JWT_SECRET value of %d bytes in %s", len(v), strings.Join(files, ", "))
		for _, f := range files {
			example = example || f == ".env.example"
		}
		if _, err := Load(env(production(t, map[string]string{"JWT_SECRET": v}))); err == nil || !strings.Contains(err.Error(), "JWT_SECRET") {
			t.Errorf("JWT_SECRET %q from %s is accepted in production; add it to knownSecret", v, strings.Join(files, ", "))
		}
	}
	// The scan must see the placeholder operators copy, or it proves nothing.
	if !example {
		t.Errorf("no JWT_SECRET value found in .env.example (values found: %d)", len(found))
	}
}
