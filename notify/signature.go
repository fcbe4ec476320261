package notify

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Header names of a webhook POST.
const (
	SignatureHeader = "X-Pacer-Signature"
	DeliveryHeader  = "X-Pacer-Delivery"
	EventHeader     = "X-Pacer-Event"
)

// DefaultTolerance is how far a signature's timestamp may be from the
// receiver's clock when [Verify] is given a tolerance of 0.
const DefaultTolerance = 5 * time.Minute

// maxSignatureHeader bounds the header [ParseSignature] reads.
const maxSignatureHeader = 1024

// ErrSignature is wrapped by every error of [Verify] and [ParseSignature].
var ErrSignature = errors.New("bad webhook signature")

// Sign returns the X-Pacer-Signature value for body sent at t:
// "t=<unix seconds>,v1=<hex HMAC-SHA256 of '<unix>.' + body>".
func Sign(secret []byte, t time.Time, body []byte) string {
	ts := t.Unix()
	return fmt.Sprintf("t=%d,v1=%s", ts, hex.EncodeToString(mac(secret, ts, body)))
}

func mac(secret []byte, ts int64, body []byte) []byte {
	h := hmac.New(sha256.New, secret)
	h.Write(strconv.AppendInt(nil, ts, 10))
	h.Write([]byte{'.'})
	h.Write(body)
	return h.Sum(nil)
}

// Signature is a parsed X-Pacer-Signature header.
type Signature struct {
	Timestamp int64    // Unix seconds
	V1        [][]byte // every v1 value; a sender rotating secrets may send several
}

// ParseSignature parses an X-Pacer-Signature value: comma-separated
// key=value pairs, one t (decimal Unix seconds) and at least one v1 (64 hex
// digits). Unknown keys are ignored, for schemes to come. Errors wrap
// [ErrSignature].
func ParseSignature(header string) (Signature, error) {
	if len(header) > maxSignatureHeader {
		return Signature{}, fmt.Errorf("%w: header longer than %d bytes", ErrSignature, maxSignatureHeader)
	}
	var (
		sig   Signature
		haveT bool
	)
	for part := range strings.SplitSeq(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return Signature{}, fmt.Errorf("%w: %q is not key=value", ErrSignature, clip(part))
		}
		switch k {
		case "t":
			if haveT {
				return Signature{}, fmt.Errorf("%w: t given twice", ErrSignature)
			}
			ts, err := strconv.ParseInt(v, 10, 64)
			if err != nil || ts <= 0 || v[0] == '+' {
				return Signature{}, fmt.Errorf("%w: t=%q is not a positive Unix time", ErrSignature, clip(v))
			}
			sig.Timestamp, haveT = ts, true
		case "v1":
			b, err := hex.DecodeString(v)
			if err != nil || len(b) != sha256.Size {
				return Signature{}, fmt.Errorf("%w: v1 is not %d hex digits", ErrSignature, 2*sha256.Size)
			}
			sig.V1 = append(sig.V1, b)
		}
	}
	switch {
	case !haveT:
		return Signature{}, fmt.Errorf("%w: no t", ErrSignature)
	case len(sig.V1) == 0:
		return Signature{}, fmt.Errorf("%w: no v1", ErrSignature)
	}
	return sig, nil
}

// Verify checks an X-Pacer-Signature header against body, as a receiver
// must: the header parses, its timestamp is within tolerance of now (0 means
// [DefaultTolerance]), and one of its v1 values is the HMAC of the
// timestamp and body under secret, compared in constant time. Errors wrap
// [ErrSignature]. An empty secret verifies nothing.
func Verify(secret []byte, header string, body []byte, now time.Time, tolerance time.Duration) error {
	if len(secret) == 0 {
		return fmt.Errorf("%w: no secret to verify with", ErrSignature)
	}
	sig, err := ParseSignature(header)
	if err != nil {
		return err
	}
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	skew := now.Sub(time.Unix(sig.Timestamp, 0))
	if skew > tolerance || skew < -tolerance {
		return fmt.Errorf("%w: timestamp %d is %s away from now", ErrSignature, sig.Timestamp, skew.Round(time.Second))
	}
	want := mac(secret, sig.Timestamp, body)
	for _, v := range sig.V1 {
		if hmac.Equal(v, want) {
			return nil
		}
	}
	return fmt.Errorf("%w: no v1 matches", ErrSignature)
}

// clip shortens s for an error message.
func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
