package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
)

var (
	apiDocOnce   sync.Once
	apiDoc       *openapi3.T
	apiRouter    routers.Router
	apiDocErr    error
	apiDocSource []byte
)

// loadAPIDoc loads web/openapi.json and validates it as an OpenAPI 3
// document.
func loadAPIDoc(t testing.TB) (*openapi3.T, routers.Router) {
	t.Helper()
	apiDocOnce.Do(func() {
		if apiDocSource, apiDocErr = os.ReadFile("openapi.json"); apiDocErr != nil {
			return
		}
		if apiDoc, apiDocErr = openapi3.NewLoader().LoadFromData(apiDocSource); apiDocErr != nil {
			return
		}
		if apiDocErr = apiDoc.Validate(context.Background()); apiDocErr != nil {
			return
		}
		apiRouter, apiDocErr = legacy.NewRouter(apiDoc)
	})
	if apiDocErr != nil {
		t.Fatalf("openapi.json: %v", apiDocErr)
	}
	return apiDoc, apiRouter
}

// validator checks every /api/v1 exchange against the OpenAPI document: the
// response always (its status must be documented), the request when the
// server accepted it. What it finds, env's cleanup reports.
type validator struct {
	router routers.Router
	next   http.Handler
	mu     sync.Mutex
	errs   []string
}

func newValidator(t testing.TB, next http.Handler) *validator {
	_, router := loadAPIDoc(t)
	v := &validator{router: router, next: next}
	t.Cleanup(func() {
		v.mu.Lock()
		defer v.mu.Unlock()
		for _, e := range v.errs {
			t.Errorf("OpenAPI: %s", e)
		}
	})
	return v
}

func (v *validator) fail(format string, args ...any) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.errs) < 20 {
		v.errs = append(v.errs, strings.TrimSpace(fmt.Sprintf(format, args...)))
	}
}

func (v *validator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.URL.Path, "/api/v1/") {
		v.next.ServeHTTP(w, r)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	rec := httptest.NewRecorder()
	v.next.ServeHTTP(rec, r)
	for k, vs := range rec.Header() {
		w.Header()[k] = vs
	}
	w.WriteHeader(rec.Code)
	w.Write(rec.Body.Bytes())

	req := r.Clone(context.Background())
	req.Body = io.NopCloser(bytes.NewReader(body))
	route, params, err := v.router.FindRoute(req)
	if err != nil {
		if rec.Code < 300 {
			v.fail("%s %s answered %d but is not in the document: %v", r.Method, r.URL.Path, rec.Code, err)
		}
		return
	}
	ctype, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: &openapi3filter.Options{
		AuthenticationFunc: openapi3filter.NoopAuthenticationFunc,
		// Form bodies carry streamed files; their fields are checked by
		// the server's own tests.
		ExcludeRequestBody: ctype != "application/json",
	}}
	if rec.Code < 300 {
		if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
			v.fail("%s %s was accepted (%d) but breaks the document: %v", r.Method, r.URL, rec.Code, err)
		}
	}
	rtype, _, _ := mime.ParseMediaType(rec.Header().Get("Content-Type"))
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: rec.Code, Header: rec.Header(),
		Options: &openapi3filter.Options{IncludeResponseStatus: true, ExcludeResponseBody: rtype == "application/x-ndjson"}}
	out.SetBodyBytes(rec.Body.Bytes())
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		v.fail("%s %s answered %d, which breaks the document: %v\n%s", r.Method, r.URL, rec.Code, err, clip(rec.Body.String()))
	}
	if rtype == "application/x-ndjson" && rec.Code == 200 {
		// Each line is a Result.
		schema := apiDocResult()
		for i, line := range bytes.Split(bytes.TrimSpace(rec.Body.Bytes()), []byte("\n")) {
			if len(line) == 0 {
				continue
			}
			var val any
			if err := json.Unmarshal(line, &val); err != nil {
				v.fail("%s line %d: %v", r.URL, i+1, err)
				return
			}
			if err := schema.VisitJSON(val); err != nil {
				v.fail("%s line %d breaks the Result schema: %v", r.URL, i+1, err)
				return
			}
		}
	}
}

func apiDocResult() *openapi3.Schema { return apiDoc.Components.Schemas["Result"].Value }

func clip(s string) string {
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}

// The document is a valid OpenAPI 3 document, served as it is checked in.
func TestOpenAPIDocument(t *testing.T) {
	loadAPIDoc(t)
	e := newEnv(t, withToken)
	resp, body := e.do(t, "GET", "/api/v1/openapi.json", "", nil, bearer...)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" || body != string(apiDocSource) {
		t.Fatalf("served document: %s %s", resp.Status, resp.Header.Get("Content-Type"))
	}
	// The validation can fail: a response off the document is reported.
	v := &validator{router: apiRouter, next: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"jobs":[{"id":"one"}]}`))
	})}
	v.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/api/v1/jobs", nil))
	if len(v.errs) != 1 {
		t.Fatalf("a response off the document passed: %v", v.errs)
	}
}

var routePattern = regexp.MustCompile(`^(GET|POST|PUT|PATCH|DELETE) (/api/v1/\S*)$`)

// Every route registered under /api/v1, in any file of the package, is in
// the document; every path in the document is served.
func TestEveryAPIRouteIsDocumented(t *testing.T) {
	doc, _ := loadAPIDoc(t)
	files, _ := filepath.Glob("*.go")
	var routes [][2]string
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) == 0 {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || (sel.Sel.Name != "Handle" && sel.Sel.Name != "HandleFunc") {
				return true
			}
			lit, ok := call.Args[0].(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			pattern, _ := strconv.Unquote(lit.Value)
			if m := routePattern.FindStringSubmatch(pattern); m != nil {
				routes = append(routes, [2]string{m[1], m[2]})
			}
			return true
		})
	}
	if len(routes) < 10 {
		t.Fatalf("found only %d API routes: %v", len(routes), routes)
	}
	for _, r := range routes {
		found := false
		for path, item := range doc.Paths.Map() {
			if segmentsMatch(r[1], path) && item.GetOperation(r[0]) != nil {
				found = true
			}
		}
		if !found {
			t.Errorf("route %s %s is not in web/openapi.json: document it there", r[0], r[1])
		}
	}
	// The other way: each documented operation reaches a handler of pacer's
	// (a JSON answer), not the mux's "404 page not found" or 405.
	e := newEnv(t, withToken)
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			concrete := strings.NewReplacer("{id}", "1", "{name}", "nobody").Replace(path)
			resp, body := e.do(t, method, concrete, "application/json", strings.NewReader("{}"), bearer...)
			if resp.StatusCode == http.StatusMethodNotAllowed || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/") {
				t.Errorf("documented %s %s is not served: %s %q", method, path, resp.Status, clip(body))
			}
		}
	}
}

// segmentsMatch reports whether a mux pattern's path and a document path
// name the same route: the same segments, a wildcard matching anything.
func segmentsMatch(pattern, path string) bool {
	a, b := strings.Split(pattern, "/"), strings.Split(path, "/")
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		wild := strings.HasPrefix(a[i], "{") || strings.HasPrefix(b[i], "{")
		if !wild && a[i] != b[i] {
			return false
		}
	}
	return true
}
