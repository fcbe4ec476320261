// Package notifytest gives tests the receiving ends of notifications: a
// webhook [Receiver] that verifies signatures and can fail on cue, and a
// small [SMTPServer] on loopback that speaks EHLO, STARTTLS, AUTH PLAIN,
// MAIL, RCPT, DATA and QUIT. Both listen on 127.0.0.1 only.
//
// It imports notify and the standard library only.
package notifytest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/pacerhq/pacer/notify"
)

// Fault is how a [Receiver] answers one POST instead of accepting it.
type Fault int

// Faults.
const (
	// Fail500 answers 500 Internal Server Error.
	Fail500 Fault = iota + 1
	// Drop closes the connection without an answer.
	Drop
)

// Delivery is one POST a [Receiver] accepted (2xx) or refused.
type Delivery struct {
	ID       string // X-Pacer-Delivery
	Event    string // X-Pacer-Event
	Body     []byte
	Accepted bool
	// VerifyErr is what notify.Verify said of its signature: nil when it
	// was signed with the receiver's secret.
	VerifyErr error
	// ContentType is the request's Content-Type.
	ContentType string
}

// Receiver is a webhook receiver on 127.0.0.1. It is safe for concurrent
// use.
type Receiver struct {
	// URL is where to POST.
	URL    string
	secret []byte

	mu      sync.Mutex
	faults  []Fault
	all     []Delivery
	arrived chan struct{}
}

// NewReceiver starts a Receiver that verifies signatures with secret and
// answers the first POSTs with faults, in order, then 204 No Content. It
// stops in t.Cleanup.
func NewReceiver(t testing.TB, secret []byte, faults ...Fault) *Receiver {
	t.Helper()
	r := &Receiver{secret: secret, faults: faults, arrived: make(chan struct{}, 1)}
	srv := httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(srv.Close)
	r.URL = srv.URL + "/hook"
	return r
}

func (r *Receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	d := Delivery{
		ID: req.Header.Get(notify.DeliveryHeader), Event: req.Header.Get(notify.EventHeader), Body: body,
		ContentType: req.Header.Get("Content-Type"),
		VerifyErr:   notify.Verify(r.secret, req.Header.Get(notify.SignatureHeader), body, time.Now(), 0),
	}
	r.mu.Lock()
	var fault Fault
	if len(r.faults) > 0 {
		fault, r.faults = r.faults[0], r.faults[1:]
	}
	d.Accepted = fault == 0 && req.Method == http.MethodPost
	r.all = append(r.all, d)
	r.mu.Unlock()
	defer r.notify()
	switch {
	case fault == Drop:
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
				return
			}
		}
		panic(http.ErrAbortHandler)
	case fault == Fail500:
		http.Error(w, "receiver down", http.StatusInternalServerError)
	case req.Method != http.MethodPost:
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

func (r *Receiver) notify() {
	select {
	case r.arrived <- struct{}{}:
	default:
	}
}

// Deliveries returns every POST received so far, in arrival order.
func (r *Receiver) Deliveries() []Delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Delivery(nil), r.all...)
}

// Accepted returns the POSTs answered 2xx.
func (r *Receiver) Accepted() []Delivery {
	var out []Delivery
	for _, d := range r.Deliveries() {
		if d.Accepted {
			out = append(out, d)
		}
	}
	return out
}

// WaitAccepted waits until at least n POSTs were accepted, or fails t after
// timeout, and returns them.
func (r *Receiver) WaitAccepted(t testing.TB, n int, timeout time.Duration) []Delivery {
	t.Helper()
	deadline := time.After(timeout)
	for {
		if got := r.Accepted(); len(got) >= n {
			return got
		}
		select {
		case <-r.arrived:
		case <-time.After(50 * time.Millisecond): // a POST may land between the check and the wait
		case <-deadline:
			t.Fatalf("receiver: %d POSTs accepted after %s, want %d (all: %d)", len(r.Accepted()), timeout, n, len(r.Deliveries()))
		}
	}
}

// SelfSigned returns a server TLS config with a fresh self-signed
// certificate for 127.0.0.1 and localhost, the pool that trusts it, and the
// certificate in PEM (for a CA file).
func SelfSigned(t testing.TB) (*tls.Config, *x509.CertPool, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "notifytest"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	conf := &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}}}
	return conf, pool, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}
