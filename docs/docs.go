// Package docs holds the OpenAPI contract of the API and serves it: the raw
// document (see Spec) and an interactive reference whose assets are compiled
// into the binary, so the reference works without any outside network access.
package docs

import (
	_ "embed"
	"net/http"

	"github.com/swaggest/swgui"
	"github.com/swaggest/swgui/v5emb"
)

//go:embed openapi.yaml
var spec []byte

// Spec returns the OpenAPI 3.0 document (YAML) of the API. Each call returns a
// fresh copy, so a caller cannot change what the next caller gets.
func Spec() []byte {
	out := make([]byte, len(spec))
	copy(out, spec)
	return out
}

// UIHandler returns an http.Handler serving Swagger UI for the document found
// at specURL (for example "/openapi.yaml"). It must be mounted at basePath
// (for example "/docs"): the page answers at basePath and basePath+"/", and
// its scripts, styles and icons are served from below basePath out of the
// binary (gzip-compressed when the client accepts it).
func UIHandler(title, specURL, basePath string) http.Handler {
	return v5emb.NewHandlerWithConfig(swgui.Config{
		Title:       title,
		SwaggerJSON: specURL,
		BasePath:    basePath,
		// Schemas expanded one level help readers see the bodies at a glance.
		SettingsUI: map[string]string{"defaultModelsExpandDepth": "1"},
	})
}
