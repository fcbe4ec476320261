package httpkind

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/pacerhq/pacer/hostlist"
)

func TestLinkNext(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		values []string
		want   string
		ok     bool
	}{
		{"github", []string{`<https://api.github.com/x?page=2>; rel="next", <https://api.github.com/x?page=5>; rel="last"`}, "https://api.github.com/x?page=2", true},
		{"next not first", []string{`<a>; rel="prev", <b>; rel="next"`}, "b", true},
		{"several rels", []string{`<c>; title="x"; rel="next last"`}, "c", true},
		{"unquoted", []string{`<d>;rel=next`}, "d", true},
		{"second header", []string{`<a>; rel="prev"`, `<e>; rel="NEXT"`}, "e", true},
		{"none", []string{`<a>; rel="prev"`}, "", false},
		{"broken", []string{`<a; rel="next"`}, "", false},
		{"empty", nil, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, ok := linkNext(tc.values)
			if got != tc.want || ok != tc.ok {
				t.Fatalf("linkNext = %q, %v, want %q, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestLookupPath(t *testing.T) {
	t.Parallel()
	tests := []struct {
		body, path, want string
		ok, err          bool
	}{
		{`{"meta":{"next_cursor":"abc"}}`, "meta.next_cursor", "abc", true, false},
		{`{"meta":{"next_cursor":12345678901234567890}}`, "meta.next_cursor", "12345678901234567890", true, false},
		{`{"meta":{"next_cursor":null}}`, "meta.next_cursor", "", false, false},
		{`{"meta":{}}`, "meta.next_cursor", "", false, false},
		{`{"meta":{"next_cursor":""}}`, "meta.next_cursor", "", false, false},
		{`{"pages":[{"c":"x"}]}`, "pages.0.c", "x", true, false},
		{`{"pages":[{"c":"x"}]}`, "pages.01.c", "", false, false},
		{`{"meta":"s"}`, "meta.next", "", false, false},
		{`{"meta":{"next":true}}`, "meta.next", "", false, true},
		{`not json`, "a", "", false, true},
	}
	for _, tc := range tests {
		segs, err := parsePath(tc.path)
		if err != nil {
			t.Fatal(err)
		}
		got, ok, err := lookupPath([]byte(tc.body), segs)
		if got != tc.want || ok != tc.ok || (err != nil) != tc.err {
			t.Errorf("lookupPath(%s, %s) = %q, %v, %v", tc.body, tc.path, got, ok, err)
		}
	}
}

func FuzzItemLine(f *testing.F) {
	for _, s := range []string{"", "1460323737035677698", "  user:42  ", "# comment", "a\tb", "é/ü?x=1", "\xff", "a\x00b", strings.Repeat("x", 600)} {
		f.Add(s)
	}
	loopback, err := hostlist.Parse([]string{"127.0.0.1"})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, line string) {
		item, ok, err := ParseItemLine(line)
		if err != nil {
			if ok || item != "" {
				t.Fatalf("error %v with item %q ok %v", err, item, ok)
			}
			return
		}
		if !ok {
			if item != "" {
				t.Fatalf("no item, but %q", item)
			}
			return
		}
		if item == "" || len(item) > MaxItemLength || !utf8.ValidString(item) || item != strings.TrimSpace(item) || item[0] == '#' {
			t.Fatalf("item %q", item)
		}
		for _, r := range item {
			if unicode.IsControl(r) {
				t.Fatalf("item %q holds a control character", item)
			}
		}
		if err := checkItem(item); err != nil {
			t.Fatalf("checkItem(%q) = %v", item, err)
		}
		// Every item makes a URL that stays on its host.
		u, err := checkURL(expand("http://127.0.0.1/a/{id}?q={id}", item), loopback)
		if err != nil || u.Hostname() != "127.0.0.1" {
			t.Fatalf("item %q: url %v, %v", item, u, err)
		}
		if got := u.Query().Get("q"); got != item {
			t.Fatalf("item %q: query q = %q", item, got)
		}
	})
}

func FuzzJSONPath(f *testing.F) {
	for _, s := range [][2]string{
		{`{"meta":{"next_cursor":"abc","result_count":10}}`, "meta.next_cursor"},
		{`{"response_metadata":{"next_cursor":"dXNlcjpVMEc5V0ZYTlo="}}`, "response_metadata.next_cursor"},
		{`{"paging":{"cursors":{"after":"QVFIUm"}},"data":[]}`, "paging.cursors.after"},
		{`{"a":[1,{"b":2}]}`, "a.1.b"},
		{`[]`, "0"},
		{`{"a":1}`, "a..b"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, body, path string) {
		segs, err := parsePath(path)
		if err != nil {
			return
		}
		if len(segs) == 0 || len(segs) > maxPathSegments {
			t.Fatalf("parsePath(%q) = %d segments", path, len(segs))
		}
		cursor, ok, err := lookupPath([]byte(body), segs)
		if err != nil && ok || ok && cursor == "" || !ok && cursor != "" {
			t.Fatalf("lookupPath = %q, %v, %v", cursor, ok, err)
		}
	})
}
