package web

import (
	"embed"
	"io/fs"
	"net/http"
)

// staticFS holds the stylesheet and the live-update script: plain files,
// no build step.
//
//go:embed static
var staticFS embed.FS

// staticHandler serves /static/ from staticFS.
func staticHandler() http.Handler {
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		panic(err) // the embed pattern above guarantees the directory
	}
	fs := http.StripPrefix("/static/", http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=300")
		fs.ServeHTTP(w, r)
	})
}
