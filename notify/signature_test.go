package notify_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pacerhq/pacer/notify"
)

var secret = []byte("s3cret")

func TestSignVerify(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_800_000_000, 0)
	body := []byte(`{"job_id":1}`)
	good := notify.Sign(secret, now, body)
	if !strings.HasPrefix(good, "t=1800000000,v1=") || len(good) != len("t=1800000000,v1=")+64 {
		t.Fatalf("Sign = %q", good)
	}
	tests := []struct {
		name   string
		secret []byte
		header string
		body   string
		now    time.Time
		ok     bool
	}{
		{"good", secret, good, string(body), now, true},
		{"good within tolerance", secret, good, string(body), now.Add(4 * time.Minute), true},
		{"good, rotated secrets", secret, notify.Sign([]byte("old"), now, body) + "," + strings.Split(good, ",")[1], string(body), now, true},
		{"unknown key ignored", secret, good + ",v0=zz", string(body), now, true},
		{"body changed", secret, good, `{"job_id":2}`, now, false},
		{"other secret", []byte("other"), good, string(body), now, false},
		{"no secret", nil, good, string(body), now, false},
		{"too old", secret, good, string(body), now.Add(6 * time.Minute), false},
		{"from the future", secret, good, string(body), now.Add(-6 * time.Minute), false},
		{"timestamp changed", secret, strings.Replace(good, "t=1800000000", "t=1800000001", 1), string(body), now, false},
		{"empty", secret, "", string(body), now, false},
		{"no v1", secret, "t=1800000000", string(body), now, false},
		{"no t", secret, strings.Split(good, ",")[1], string(body), now, false},
		{"short v1", secret, "t=1800000000,v1=abcd", string(body), now, false},
		{"t twice", secret, good + ",t=1800000000", string(body), now, false},
		{"negative t", secret, "t=-5,v1=" + strings.Repeat("0", 64), string(body), now, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := notify.Verify(tc.secret, tc.header, []byte(tc.body), tc.now, 0)
			if (err == nil) != tc.ok {
				t.Fatalf("Verify = %v, want ok %v", err, tc.ok)
			}
			if err != nil && !errors.Is(err, notify.ErrSignature) {
				t.Fatalf("Verify error %v does not wrap ErrSignature", err)
			}
		})
	}
}

// FuzzParseSignature checks that the parser of a header a receiver gets
// from anyone never panics, and that what it accepts round-trips.
func FuzzParseSignature(f *testing.F) {
	f.Add("t=1800000000,v1=" + strings.Repeat("ab", 32))
	f.Add("t=1,v1=" + strings.Repeat("00", 32) + ",v1=" + strings.Repeat("ff", 32))
	f.Add("v1=,t=")
	f.Add("t=+1,v1=x")
	f.Add(",,,")
	f.Fuzz(func(t *testing.T, header string) {
		sig, err := notify.ParseSignature(header)
		if err != nil {
			if !errors.Is(err, notify.ErrSignature) {
				t.Fatalf("error %v does not wrap ErrSignature", err)
			}
			return
		}
		if sig.Timestamp <= 0 || len(sig.V1) == 0 {
			t.Fatalf("accepted %q as %+v", header, sig)
		}
		for _, v := range sig.V1 {
			if len(v) != 32 {
				t.Fatalf("v1 of %d bytes accepted", len(v))
			}
		}
	})
}

// A receiver checks each POST with Verify, over the body exactly as it
// arrived, before it trusts anything in it.
func ExampleVerify() {
	secret := []byte("the secret from PACER_WEBHOOK_SECRET")
	body := []byte(`{"delivery_id":"7","event":"job.succeeded","job_id":42}`)
	sent := time.Unix(1_800_000_000, 0)
	header := notify.Sign(secret, sent, body) // what pacer puts in X-Pacer-Signature

	fmt.Println(notify.Verify(secret, header, body, sent.Add(time.Second), 0))
	fmt.Println(notify.Verify(secret, header, []byte(`{"job_id":43}`), sent, 0) != nil)
	// Output:
	// <nil>
	// true
}
