package jobs_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/pacerhq/pacer/jobs"
)

func TestReadItems(t *testing.T) {
	parse := func(line string) (string, bool, error) {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
			return "", false, nil
		case strings.Contains(line, "!"):
			return "", false, errors.New("no bangs")
		}
		return line, true, nil
	}
	tests := []struct {
		name, in string
		want     string // items joined by |, or the error
	}{
		{"lines, CRLF, BOM, blanks and comments", "\uFEFFa\r\n\n# note\nb\nc", "a|b|c"},
		{"a refused line is named", "a\nb!\n", "ids: line 2: no bangs"},
		{"a long line is named", "a\n" + strings.Repeat("x", 11) + "\n", "ids: line 2: longer than 10 bytes"},
		{"a line at the limit passes", strings.Repeat("x", 10), strings.Repeat("x", 10)},
		{"nothing", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			err := jobs.ReadItems(t.Context(), strings.NewReader(tt.in), 10, parse, func(item string) error {
				got = append(got, item)
				return nil
			})
			out := strings.Join(got, "|")
			if err != nil {
				out = err.Error()
				var ve *jobs.ValidationError
				if !errors.As(err, &ve) {
					t.Fatalf("error %v is not a validation error", err)
				}
			}
			if out != tt.want {
				t.Fatalf("ReadItems = %q, want %q", out, tt.want)
			}
		})
	}
	stop := errors.New("stop")
	if err := jobs.ReadItems(t.Context(), strings.NewReader("a\nb\n"), 10, parse, func(string) error { return stop }); err != stop {
		t.Fatalf("fn's error came back as %v", err)
	}
}

func TestBatch(t *testing.T) {
	var got []string
	total, err := jobs.Batch(3, func(add func(string) error) error {
		for _, it := range []string{"a", "b", "a", "c", "d", "d", "e", "a"} {
			if err := add(it); err != nil {
				return err
			}
		}
		return nil
	}, func(batch []string) error {
		got = append(got, strings.Join(batch, ","))
		return nil
	})
	// Repeats within a batch drop; across batches ("a" again) they stay.
	if err != nil || total != 6 || strings.Join(got, "|") != "a,b,c|d,e,a" {
		t.Fatalf("Batch = %d, %v, %q", total, err, got)
	}
	stop := errors.New("stop")
	if _, err := jobs.Batch(1, func(add func(string) error) error { return add("x") }, func([]string) error { return stop }); err != stop {
		t.Fatalf("emit's error came back as %v", err)
	}
}
