package jobs_test

import (
	"testing"

	"github.com/pacerhq/pacer/jobs"
	"github.com/pacerhq/pacer/jobs/annotate"
	httpkind "github.com/pacerhq/pacer/jobs/http"
	"github.com/pacerhq/pacer/jobs/tweets"
)

// Every kind describes its params for the form.
func TestKindsDescribeTheirParams(t *testing.T) {
	lookup, _ := tweets.NewLookup(tweets.Config{BaseURL: "http://127.0.0.1:9"})
	ut, _ := tweets.NewUserTweets(tweets.Config{BaseURL: "http://127.0.0.1:9"})
	uf, _ := tweets.NewUserFollowers(tweets.Config{BaseURL: "http://127.0.0.1:9"})
	get, err := httpkind.NewGet(httpkind.Config{AllowHosts: []string{"example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []jobs.Kind{lookup, ut, uf, get, annotate.Kind{}} {
		d, ok := k.(jobs.ParamDescriber)
		if !ok || len(d.Params()) == 0 {
			t.Errorf("%s describes no params", k.Name())
			continue
		}
		for _, p := range d.Params() {
			if p.Name == "" || p.Help == "" || p.Type == "" {
				t.Errorf("%s: param %+v", k.Name(), p)
			}
		}
	}
	if n := len(ut.Params()) - len(uf.Params()); n != 4 {
		t.Errorf("user_tweets has %d params more than user_followers, want its 4 time and id bounds", n)
	}
}
