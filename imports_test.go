package pacer_test

import (
	"bytes"
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/pacerhq/pacer"

// rule says which pacer packages a package may import (by path relative to
// the module; "*" in a rule means any subpackage of what precedes it) and
// which third-party modules it alone may use.
type rule struct {
	pkg   string   // relative path; a trailing "/*" matches its subpackages
	allow []string // pacer packages it may import
}

// The import directions of STYLE.md, "Dependency direction".
var rules = []rule{
	{"store", nil},
	{"store/postgres", []string{"store"}},
	{"store/sqlite", []string{"store"}},
	{"store/storetest", []string{"store"}},
	{"store/postgres/pgtest", nil},
	{"broker", nil},
	{"broker/rabbitmq", []string{"broker"}},
	{"broker/inproc", []string{"broker"}},
	{"broker/brokertest", []string{"broker"}},
	{"ratelimit", nil},
	{"sandbox", nil},
	{"hostlist", nil},
	{"notify", []string{"hostlist"}},
	{"notify/notifytest", []string{"notify"}},
	{"dashboards", nil},
	{"jobs", []string{"ratelimit", "store", "broker", "notify"}},
	{"jobs/*", []string{"jobs", "ratelimit", "hostlist"}},
	{"web", []string{"jobs", "store"}},
	{"cmd/pacer", []string{"*"}},
	{"", nil}, // this package
}

// owners: third-party import prefix → the only package allowed to import it.
var owners = map[string][]string{
	"github.com/jmoiron/sqlx":        {"store/postgres"},
	"github.com/lib/pq":              {"store/postgres", "store/postgres/pgtest"},
	"github.com/rabbitmq/amqp091-go": {"broker/rabbitmq"},
	"golang.org/x/time/rate":         {"ratelimit"},
	"modernc.org/sqlite":             {"store/sqlite"},
	"github.com/pressly/goose":       {"store/postgres", "store/sqlite"},
	"github.com/adhocore/gronx":      {"jobs"},
}

type listed struct {
	ImportPath string
	Imports    []string
}

func TestImportDirections(t *testing.T) {
	out, err := exec.Command("go", "list", "-json", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	seen := 0
	for {
		var p listed
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		seen++
		rel := strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")
		r, ok := ruleFor(rel)
		if !ok {
			t.Errorf("package %s has no import rule: add it to rules (STYLE.md says where a new package belongs)", rel)
			continue
		}
		for _, imp := range p.Imports {
			if dep, ours := strings.CutPrefix(imp, module+"/"); ours || imp == module {
				if !allowed(r.allow, dep) {
					t.Errorf("%s imports %s; it may import only %v", rel, dep, r.allow)
				}
				continue
			}
			for prefix, pkgs := range owners {
				if strings.HasPrefix(imp, prefix) && !contains(pkgs, rel) {
					t.Errorf("%s imports %s, which only %v may import", rel, imp, pkgs)
				}
			}
			if rel == "sandbox" && strings.Contains(strings.SplitN(imp, "/", 2)[0], ".") {
				t.Errorf("sandbox imports %s; it must use the standard library only", imp)
			}
		}
	}
	if seen < 10 {
		t.Fatalf("go list found %d packages; the check is not looking at the module", seen)
	}
}

func ruleFor(rel string) (rule, bool) {
	for _, r := range rules {
		if r.pkg == rel {
			return r, true
		}
	}
	for _, r := range rules {
		if parent, ok := strings.CutSuffix(r.pkg, "/*"); ok && strings.HasPrefix(rel, parent+"/") && !strings.Contains(strings.TrimPrefix(rel, parent+"/"), "/") {
			return r, true
		}
	}
	return rule{}, false
}

func allowed(allow []string, dep string) bool {
	for _, a := range allow {
		if a == "*" || a == dep {
			return true
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestImportRulesCatchViolations proves the checker is not vacuous.
func TestImportRulesCatchViolations(t *testing.T) {
	tests := []struct {
		pkg, dep string
		want     bool
	}{
		{"web", "store/postgres", false},
		{"web", "broker", false},
		{"web", "jobs/tweets", false},
		{"jobs", "jobs/tweets", false},
		{"jobs/tweets", "store", false},
		{"store", "ratelimit", false},
		{"jobs/tweets", "jobs", true},
		{"web", "jobs", true},
		{"cmd/pacer", "store/postgres", true},
	}
	for _, tt := range tests {
		r, ok := ruleFor(tt.pkg)
		if !ok {
			t.Fatalf("no rule for %s", tt.pkg)
		}
		if got := allowed(r.allow, tt.dep); got != tt.want {
			t.Errorf("%s → %s allowed = %v, want %v", tt.pkg, tt.dep, got, tt.want)
		}
	}
}
