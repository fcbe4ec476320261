package sandbox_test

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/pacerhq/pacer/sandbox"
)

// TestTexts: a tweet named in Config.Texts has that text, byte for byte, in
// a lookup and in its author's timeline; the other tweets keep theirs.
func TestTexts(t *testing.T) {
	t.Parallel()
	const markup = `<script>alert(1)</script> & "quotes"`
	timeline := sandbox.UserTweetID(42, 0)
	_, srv := serve(t, sandbox.Config{MissingPercent: -1, Texts: map[uint64]string{21: markup, timeline: "newest"}})

	_, plain := serve(t, sandbox.Config{MissingPercent: -1})
	text := func(base, path string) map[string]string {
		t.Helper()
		resp, body := get(t, base+path, "tok")
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d %s", path, resp.StatusCode, body)
		}
		var page struct {
			Data []struct{ ID, Text string } `json:"data"`
		}
		if err := json.Unmarshal(body, &page); err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		for _, d := range page.Data {
			m[d.ID] = d.Text
		}
		return m
	}
	// The markup comes as the characters themselves, as JSON allows, not
	// as Go's \u003c escapes.
	if _, body := get(t, srv.URL+"/2/tweets?ids=21", "tok"); !strings.Contains(string(body), `"text":"<script>alert(1)</script> & \"quotes\""`) {
		t.Fatalf("lookup body %s does not carry the markup as it is", body)
	}
	got, want := text(srv.URL, "/2/tweets?ids=20,21&tweet.fields=entities"), text(plain.URL, "/2/tweets?ids=20,21")
	if got["21"] != markup || got["20"] != want["20"] || want["21"] == markup {
		t.Fatalf("texts %q, want 21 to be %q and 20 as without Texts (%q)", got, markup, want["20"])
	}
	id := strconv.FormatUint(timeline, 10)
	if got := text(srv.URL, "/2/users/42/tweets"); got[id] != "newest" || len(got) < 2 {
		t.Fatalf("timeline texts %q, want tweet %s to be %q", got, id, "newest")
	}

	_, err := sandbox.New(sandbox.Config{Texts: map[uint64]string{7: ""}})
	if err == nil || !strings.Contains(err.Error(), "texts: 7: empty text") {
		t.Fatalf("New with an empty text: error %v", err)
	}
}
