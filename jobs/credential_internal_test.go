package jobs

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// TestCredentialHeader checks that a credential's token goes in the header
// it names: "Authorization: Bearer" by default, raw in any other header.
func TestCredentialHeader(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, header, wantName, wantValue string
	}{
		{"default", "", "Authorization", "Bearer tok"},
		{"authorization", "authorization", "Authorization", "Bearer tok"},
		{"api key", "X-Api-Key", "X-Api-Key", "tok"},
		{"api key lower case", "x-api-key", "X-Api-Key", "tok"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := make(chan http.Header, 1)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got <- r.Header.Clone()
			}))
			defer srv.Close()
			var sent atomic.Int64
			now := time.Now
			client := &http.Client{Transport: &upstreamTransport{
				base: http.DefaultTransport, name: "c",
				creds:   []Credential{{Name: "c", Token: "tok", Header: tc.header}},
				retired: &retiredSet{names: map[string]bool{}, loaded: now(), refresh: time.Hour, now: now},
				sent:    &sent, log: slog.New(slog.DiscardHandler), now: now,
			}}
			resp, err := client.Get(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			h := <-got
			if v := h.Get(tc.wantName); v != tc.wantValue {
				t.Errorf("%s = %q, want %q", tc.wantName, v, tc.wantValue)
			}
			if tc.wantName != "Authorization" && h.Get("Authorization") != "" {
				t.Errorf("Authorization = %q, want none", h.Get("Authorization"))
			}
			if sent.Load() != 1 {
				t.Errorf("sent = %d, want 1", sent.Load())
			}
		})
	}
}
