package web

import (
	_ "embed"
	"net/http"
)

// openAPI is the API's OpenAPI 3 document. A test checks it with a
// validator, checks every API test's requests and responses against it,
// and checks that every route under /api/v1 (a Handle or HandleFunc call
// with a literal pattern, in any file of this package) is in it: document
// a new route there.
//
//go:embed openapi.json
var openAPI []byte

func (s *Server) apiOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(openAPI)
}
