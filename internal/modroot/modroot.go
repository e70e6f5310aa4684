// Package modroot finds the module's root folder from a test's working
// directory (its package folder), for tests that read or write files of the
// repository. It imports nothing of the product, so any package's tests,
// config's included, can use it.
package modroot

import (
	"errors"
	"os"
	"path/filepath"
)

// Dir is the nearest folder at or above the working directory that holds a
// go.mod.
func Dir() (string, error) {
	dir, err := filepath.Abs(".")
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod at or above the working directory")
		}
		dir = parent
	}
}
