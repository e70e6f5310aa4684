package modroot

import (
	"os"
	"path/filepath"
	"testing"
)

func TestDirIsTheModuleRoot(t *testing.T) {
	dir, err := Dir()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "internal", "modroot", "modroot.go")); err != nil {
		t.Fatalf("Dir() = %s, which does not hold this package: %v", dir, err)
	}
}
