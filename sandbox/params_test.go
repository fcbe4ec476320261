package sandbox

import (
	"strconv"
	"strings"
	"testing"
)

func TestParseIDs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    []uint64
		wantErr string
	}{
		{"1", []uint64{1}, ""},
		{"1460323737035677698,20,0", []uint64{1460323737035677698, 20, 0}, ""},
		{"9999999999999999999", []uint64{9999999999999999999}, ""},
		{"", nil, "can not be empty"},
		{"1,,2", nil, "value [] does not match"},
		{"-1", nil, "value [-1] does not match"},
		{"+1", nil, "value [+1] does not match"},
		{"1 ", nil, "value [1 ] does not match"},
		{"١٢", nil, "does not match"}, // Arabic-Indic digits are not ASCII
		{"12345678901234567890", nil, "does not match"},
		{strings.Repeat("1,", 100) + "1", nil, "list [101] is not between 1 and 100"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			got, err := parseIDs(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("parseIDs(%q) = %v, %v; want error containing %q", tc.in, got, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseIDs(%q): %v", tc.in, err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("parseIDs(%q) = %v, want %v", tc.in, got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("parseIDs(%q) = %v, want %v", tc.in, got, tc.want)
				}
			}
		})
	}
}

// FuzzParseIDs checks that the ids parameter parser never panics, accepts
// only 1 to 100 ids of 1 to 19 digits, and loses nothing it accepts.
func FuzzParseIDs(f *testing.F) {
	for _, s := range []string{
		"1460323737035677698,1460323737035677699",
		"20",
		"1,2,3,",
		"",
		"12a",
		" 1",
		"0",
		"9999999999999999999",
		"18446744073709551616",
		strings.Repeat("1460323737035677698,", 99) + "1",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ids, err := parseIDs(s)
		if err != nil {
			if _, ok := err.(*paramError); !ok {
				t.Fatalf("parseIDs(%q) error %T, want *paramError", s, err)
			}
			if ids != nil {
				t.Fatalf("parseIDs(%q) returned ids with an error", s)
			}
			return
		}
		if len(ids) < 1 || len(ids) > MaxIDs {
			t.Fatalf("parseIDs(%q) accepted %d ids", s, len(ids))
		}
		parts := strings.Split(s, ",")
		if len(parts) != len(ids) {
			t.Fatalf("parseIDs(%q) = %d ids from %d values", s, len(ids), len(parts))
		}
		for i, p := range parts {
			if len(p) < 1 || len(p) > 19 || strings.Trim(p, "0123456789") != "" {
				t.Fatalf("parseIDs(%q) accepted %q", s, p)
			}
			if n, err := strconv.ParseUint(p, 10, 64); err != nil || n != ids[i] {
				t.Fatalf("parseIDs(%q)[%d] = %d, want %q", s, i, ids[i], p)
			}
		}
	})
}
