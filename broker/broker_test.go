package broker_test

import (
	"strconv"
	"testing"

	"github.com/pacerhq/pacer/broker"
)

// FuzzDecodeTaskID feeds DecodeTaskID arbitrary message bodies: it must
// never panic, must accept only positive decimal integers, and what it
// accepts must survive a round trip through EncodeTaskID.
func FuzzDecodeTaskID(f *testing.F) {
	for _, seed := range []string{
		// What EncodeTaskID writes.
		"1", "42", "1234567", "9223372036854775807",
		// Out of range, zero, signs and padding.
		"9223372036854775808", "99999999999999999999", "0", "00", "-1", "+1",
		"007", " 1", "1 ", "1\n", "1e3", "0x1F", "1_000",
		// Foreign messages: JSON, a UUID, binary, empty.
		`{"task_id":1}`, "3f2c9a4e-5b1d-4c8e-9a0f-1e2d3c4b5a69", "\x00", "\xff\xfe", "",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		id, err := broker.DecodeTaskID(body)
		if err != nil {
			if id != 0 {
				t.Fatalf("DecodeTaskID(%q) = %d with error %v, want 0", body, id, err)
			}
			return
		}
		if id <= 0 {
			t.Fatalf("DecodeTaskID(%q) = %d, want a positive id", body, id)
		}
		for _, c := range body {
			if c < '0' || c > '9' {
				t.Fatalf("DecodeTaskID(%q) accepted a non-digit body", body)
			}
		}
		if want, _ := strconv.ParseInt(string(body), 10, 64); id != want {
			t.Fatalf("DecodeTaskID(%q) = %d, want %d", body, id, want)
		}
		again, err := broker.DecodeTaskID(broker.EncodeTaskID(id))
		if err != nil || again != id {
			t.Fatalf("round trip of %d: %d, %v", id, again, err)
		}
	})
}
