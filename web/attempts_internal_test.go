package web

import (
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// Concurrent attempts cannot overdraw a client's allowance: each takes its
// attempt before the token is compared.
func TestAttemptsConcurrent(t *testing.T) {
	now := time.Now()
	a := newAttempts(func() time.Time { return now })
	var wg sync.WaitGroup
	var mu sync.Mutex
	went := 0
	for range 100 {
		wg.Go(func() {
			if a.take("192.0.2.1") == 0 {
				mu.Lock()
				went++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if went != failBurst {
		t.Fatalf("%d of 100 concurrent attempts went ahead, want %d", went, failBurst)
	}
	if wait := a.take("192.0.2.1"); wait <= 0 || wait > failRefill {
		t.Fatalf("wait %v, want (0, %v]", wait, failRefill)
	}
	a.giveBack("192.0.2.1")
	if wait := a.take("192.0.2.1"); wait != 0 {
		t.Fatalf("after a right token: wait %v", wait)
	}
}

// The clients tracked stay bounded, and a client that failed recently is
// kept while others whose allowance refilled are forgotten.
func TestAttemptsBounded(t *testing.T) {
	now := time.Now()
	a := newAttempts(func() time.Time { return now })
	for range failBurst {
		a.take("attacker")
	}
	now = now.Add(time.Second)
	for i := range failClients - 1 {
		a.take(string(rune(0x1000 + i)))
		a.giveBack(string(rune(0x1000 + i))) // a right token: full again
	}
	a.take("one more")
	if len(a.clients) > failClients {
		t.Fatalf("%d clients tracked, cap %d", len(a.clients), failClients)
	}
	if a.take("attacker") == 0 {
		t.Fatal("making room forgot a client that is still throttled")
	}
	for i := range 3 * failClients {
		a.take(string(rune(0x1000 + i)))
	}
	if len(a.clients) > failClients {
		t.Fatalf("%d clients tracked, cap %d", len(a.clients), failClients)
	}
}

func TestClientOf(t *testing.T) {
	for addr, want := range map[string]string{
		"192.0.2.7:4000":              "192.0.2.7",
		"[::ffff:192.0.2.7]:4000":     "192.0.2.7",
		"[2001:db8:1:2:3:4:5:6]:4000": "2001:db8:1:2::/64",
		"[2001:db8:1:2:ffff::1]:4000": "2001:db8:1:2::/64",
		"[2001:db8:1:3::1]:4000":      "2001:db8:1:3::/64",
		"@":                           "@",
	} {
		if got := clientOf(&http.Request{RemoteAddr: addr}); got != want {
			t.Errorf("clientOf(%q) = %q, want %q", addr, got, want)
		}
	}
}

// FuzzLoopbackHost: a Host header passes only when the name in it is
// localhost or a loopback address, as a URL parser reads it.
func FuzzLoopbackHost(f *testing.F) {
	for _, s := range []string{"localhost:8080", "127.0.0.1", "[::1]:80", "::1", "", "rebind.example", "127.0.0.1.rebind.example", "localhost.", "[::ffff:127.0.0.1]:1", "[::1%lo]:8", "0x7f.1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, host string) {
		if !loopbackHost(host) || host == "" {
			return
		}
		u, err := url.Parse("http://" + host + "/")
		if err != nil {
			return // no browser sends it
		}
		name := u.Hostname()
		ip, err := netip.ParseAddr(name)
		if !strings.EqualFold(name, "localhost") && (err != nil || !ip.Unmap().IsLoopback()) {
			t.Fatalf("loopbackHost(%q) passed; its name is %q", host, name)
		}
	})
}
