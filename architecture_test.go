package main

import (
	"go/build"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// layers lists, for each package of the product, the packages of the product
// it may import (tests aside). The direction is main → internal/server (the
// composition root, the only place that knows every concrete backend) →
// routes → middleware / app → models, storage, mail. A new arrow must be
// added here on purpose, with its reason in the code.
var layers = map[string][]string{
	".":                    {"app", "config", "internal/periodic", "internal/server", "models"},
	"internal/server":      {"app", "config", "i18n", "internal/tracing", "mail", "middleware", "migrations", "models", "routes", "storage"},
	"routes":               {"app", "docs", "i18n", "internal/jsonbody", "middleware", "models", "routes/dashboard"},
	"routes/dashboard":     {"app", "middleware", "models"},
	"middleware":           {"models"},
	"app":                  {"i18n", "internal/avatarimage", "internal/parse", "internal/work", "mail", "models", "storage"},
	"storage":              {"models"},
	"mail":                 {"i18n", "internal/parse", "models"},
	"models":               {},
	"config":               {},
	"i18n":                 {},
	"migrations":           {},
	"docs":                 {},
	"internal/avatarimage": {},
	"internal/jsonbody":    {},
	"internal/modroot":     {},
	"internal/parse":       {},
	"internal/periodic":    {},
	"internal/tracing":     {},
	"internal/work":        {},
}

const module = "github.com/acme/accounts/"

func TestImportsFollowTheLayers(t *testing.T) {
	for dir, allowed := range layers {
		pkg, err := build.ImportDir(filepath.FromSlash(dir), 0)
		if err != nil {
			t.Errorf("%s: %v", dir, err)
			continue
		}
		for _, imp := range pkg.Imports {
			own, ok := strings.CutPrefix(imp, module)
			if !ok {
				continue
			}
			if !slices.Contains(allowed, own) {
				t.Errorf("%s imports %s: not an arrow of the layers (architecture_test.go)", dir, own)
			}
		}
	}
}

// TestEveryPackageHasALayer keeps the table complete: a new package must say
// where it sits.
func TestEveryPackageHasALayer(t *testing.T) {
	for _, root := range []string{".", "internal", "routes"} {
		matches, _ := filepath.Glob(filepath.Join(root, "*"))
		for _, dir := range append(matches, ".") {
			dir = filepath.ToSlash(dir)
			if strings.HasPrefix(dir, "internal/testenv") || strings.HasPrefix(dir, "bench") || strings.HasPrefix(dir, "clients") {
				continue // test support, the benchmark module and the TypeScript client
			}
			pkg, err := build.ImportDir(dir, 0)
			if err != nil || len(pkg.GoFiles) == 0 || pkg.Name == "" {
				continue
			}
			if _, ok := layers[dir]; !ok {
				t.Errorf("package %s has no entry in the layers table", dir)
			}
		}
	}
}
