package sandbox

import (
	"strings"
	"testing"
)

func TestPageTokenRoundTrip(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		endpoint string
		user     uint64
		offset   int
	}{
		{EndpointUserFollowers, 42, 1000},
		{EndpointUserTweets, 42, 1000},
		{EndpointUserTweets, 18446744073709551615, 1},
	} {
		tok := encodePageToken(tc.endpoint, tc.user, tc.offset)
		if tok != strings.ToLower(tok) || strings.ContainsAny(tok, "=+/") {
			t.Errorf("token %q: want lower-case base32 without padding", tok)
		}
		if off, err := decodePageToken(tok, tc.endpoint, tc.user, tc.offset+1); err != nil || off != tc.offset {
			t.Errorf("decode(%q) = %d, %v; want %d", tok, off, err, tc.offset)
		}
		if _, err := decodePageToken(tok, tc.endpoint, tc.user, tc.offset); err == nil {
			t.Errorf("token %q accepted past the list's end", tok)
		}
		if _, err := decodePageToken(tok, tc.endpoint, tc.user+1, tc.offset+1); err == nil {
			t.Errorf("token %q accepted for another user", tok)
		}
		other := EndpointUserTweets
		if tc.endpoint == other {
			other = EndpointUserFollowers
		}
		if _, err := decodePageToken(tok, other, tc.user, tc.offset+1); err == nil {
			t.Errorf("token %q accepted for another endpoint", tok)
		}
		// Any one character changed breaks the checksum or the encoding.
		for i := range tok {
			b := []byte(tok)
			b[i] ^= 1
			if _, err := decodePageToken(string(b), tc.endpoint, tc.user, tc.offset+1); err == nil {
				t.Errorf("token %q with byte %d flipped (%q) accepted", tok, i, b)
			}
		}
	}
}

// FuzzDecodePageToken checks that the token decoder never panics and that a
// token it accepts is exactly the one the sandbox issues for that offset.
func FuzzDecodePageToken(f *testing.F) {
	f.Add(encodePageToken(EndpointUserFollowers, 42, 1000), uint64(42), 5000, false)
	f.Add(encodePageToken(EndpointUserTweets, 7, 5), uint64(7), 100, true)
	f.Add("", uint64(1), 10, false)
	f.Add("7140dibdnow9c7btw3w29grvxfcgvpb9n9coehpk7xz5i", uint64(1), 10, true)
	f.Add("cdp3krj0e8g2sqj4", uint64(1), 10, false)
	f.Fuzz(func(t *testing.T, token string, user uint64, n int, tweets bool) {
		endpoint := EndpointUserFollowers
		if tweets {
			endpoint = EndpointUserTweets
		}
		off, err := decodePageToken(token, endpoint, user, n)
		if err != nil {
			return
		}
		if off < 1 || off >= n {
			t.Fatalf("decode(%q) = %d outside [1, %d)", token, off, n)
		}
		if again := encodePageToken(endpoint, user, off); again != token {
			t.Fatalf("decode(%q) = %d, which encodes as %q", token, off, again)
		}
	})
}
