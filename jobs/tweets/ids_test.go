package tweets

import (
	"strconv"
	"strings"
	"testing"
)

func TestParseIDLine(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		line    string
		id      string
		ok      bool
		wantErr string
	}{
		{"id", "1460323737035677698", "1460323737035677698", true, ""},
		{"spaces", "  \t1460323737035677698 \r", "1460323737035677698", true, ""},
		{"trailing comment", "20 # jack's first", "20", true, ""},
		{"comment without space", "20#x", "20", true, ""},
		{"leading zeros", "0007", "7", true, ""},
		{"19 digits", "9999999999999999999", "9999999999999999999", true, ""},
		{"blank", "", "", false, ""},
		{"spaces only", " \t ", "", false, ""},
		{"comment", "# tweets of 2021", "", false, ""},
		{"indented comment", "   # x", "", false, ""},
		{"letters", "12a", "", false, `"12a" is not a tweet id (digits only)`},
		{"two ids", "1 2", "", false, `"1 2" is not a tweet id (digits only)`},
		{"csv", "1,2", "", false, `"1,2" is not a tweet id (digits only)`},
		{"sign", "-5", "", false, `"-5" is not a tweet id (digits only)`},
		{"url", "https://x.com/jack/status/20", "", false, "(digits only)"},
		{"non-ASCII digits", "١٢٣", "", false, "(digits only)"},
		{"20 digits", "12345678901234567890", "", false, `"12345678901234567890" is not a tweet id (at most 19 digits)`},
		{"zero", "0", "", false, `"0" is not a tweet id (ids start at 1)`},
		{"zeros", "000", "", false, `"000" is not a tweet id (ids start at 1)`},
		{"long junk is clipped", strings.Repeat("x", 500), "", false, `"` + strings.Repeat("x", 40) + `…" is not a tweet id`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			id, ok, err := ParseIDLine(tc.line)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ParseIDLine(%q) = %q, %v, %v; want error %q", tc.line, id, ok, err, tc.wantErr)
				}
				if ok || id != "" {
					t.Fatalf("ParseIDLine(%q) returned an id with its error", tc.line)
				}
				return
			}
			if err != nil || id != tc.id || ok != tc.ok {
				t.Fatalf("ParseIDLine(%q) = %q, %v, %v; want %q, %v, nil", tc.line, id, ok, err, tc.id, tc.ok)
			}
		})
	}
}

// FuzzParseIDLine checks that the id line parser never panics and that
// what it accepts is a canonical, non-zero id of at most 19 digits that
// parses back to itself.
func FuzzParseIDLine(f *testing.F) {
	for _, s := range []string{
		"1460323737035677698",
		"1460323737035677698\r",
		"  20  # jack's first tweet",
		"# ids collected 2024-05-01",
		"",
		"0",
		"0007",
		"12a",
		"9999999999999999999",
		"18446744073709551615",
		"18446744073709551616",
		"\uFEFF1460323737035677698",
		"https://x.com/jack/status/20",
		"1460323737035677698,1460323737035677699",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		id, ok, err := ParseIDLine(line)
		if err != nil {
			if ok || id != "" {
				t.Fatalf("ParseIDLine(%q) = %q, %v with error %v", line, id, ok, err)
			}
			if len(err.Error()) > 200 {
				t.Fatalf("ParseIDLine(%q): error of %d bytes", line, len(err.Error()))
			}
			return
		}
		if !ok {
			if id != "" {
				t.Fatalf("ParseIDLine(%q) = %q without ok", line, id)
			}
			code, _, _ := strings.Cut(line, "#")
			if strings.TrimSpace(code) != "" {
				t.Fatalf("ParseIDLine(%q) skipped a line with content", line)
			}
			return
		}
		if len(id) < 1 || len(id) > 19 || id[0] == '0' || strings.Trim(id, "0123456789") != "" {
			t.Fatalf("ParseIDLine(%q) = %q: not a canonical id", line, id)
		}
		n, err := strconv.ParseUint(id, 10, 64)
		if err != nil || strconv.FormatUint(n, 10) != id {
			t.Fatalf("ParseIDLine(%q) = %q does not round-trip", line, id)
		}
		if again, ok, err := ParseIDLine(id); again != id || !ok || err != nil {
			t.Fatalf("ParseIDLine(%q) = %q, %v, %v; not idempotent", id, again, ok, err)
		}
	})
}
