package web

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"
)

// Wrong admin tokens are limited per client, so that the token cannot be
// guessed at the speed of the network: each client may present failBurst
// wrong tokens at once, then one more every failRefill. The login form and
// the API's Bearer header draw on the same allowance.
const (
	failBurst  = 10
	failRefill = 6 * time.Second
	// failClients caps how many clients are tracked at once; a client whose
	// allowance is full again is forgotten first.
	failClients = 4096
)

// attempts is a token bucket per client, which only wrong tokens drain. A
// check takes a token before the admin token is compared and a right token
// gives it back, so that concurrent requests cannot overdraw a bucket.
type attempts struct {
	now     func() time.Time
	mu      sync.Mutex
	clients map[string]*allowance
}

type allowance struct {
	left float64
	at   time.Time
}

func newAttempts(now func() time.Time) *attempts {
	return &attempts{now: now, clients: map[string]*allowance{}}
}

// take takes one attempt for client. It returns 0 when the attempt may go
// ahead, or how long the client must wait before its next one.
func (a *attempts) take(client string) time.Duration {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	b := a.clients[client]
	if b == nil {
		if len(a.clients) >= failClients {
			a.forgetSome(now)
		}
		b = &allowance{left: failBurst, at: now}
		a.clients[client] = b
	}
	b.refill(now)
	if b.left < 1 {
		return time.Duration((1 - b.left) * float64(failRefill))
	}
	b.left--
	return 0
}

// giveBack returns the attempt a right token took.
func (a *attempts) giveBack(client string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if b := a.clients[client]; b != nil {
		b.left = min(b.left+1, failBurst)
	}
}

// forgetSome drops the clients whose allowance is full again, and if none
// is, one client: the map stays bounded, and a client is forgotten only
// when failClients others have failed since.
func (a *attempts) forgetSome(now time.Time) {
	for k, b := range a.clients {
		if b.refill(now); b.left >= failBurst {
			delete(a.clients, k)
		}
	}
	for k := range a.clients {
		if len(a.clients) < failClients {
			break
		}
		delete(a.clients, k)
	}
}

func (b *allowance) refill(now time.Time) {
	if d := now.Sub(b.at); d > 0 {
		b.left = min(b.left+float64(d)/float64(failRefill), failBurst)
	}
	b.at = now
}

// clientOf names the client of r for the allowance: its IP address, or for
// IPv6 its /64, which one client commonly holds whole.
func clientOf(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	ip = ip.Unmap()
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}

// throttledError is a client that presented too many wrong tokens: 429,
// with Retry-After.
type throttledError struct {
	field string
	wait  time.Duration
}

func (e *throttledError) Error() string {
	return fmt.Sprintf("too many wrong tokens from this address; try again in %ss", e.retryAfter())
}

// retryAfter is the wait in whole seconds, rounded up, for Retry-After.
func (e *throttledError) retryAfter() string {
	return strconv.FormatInt(int64((e.wait+time.Second-1)/time.Second), 10)
}
