package tweets

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/pacerhq/pacer/jobs"
)

// BatchSize is how many ids one tweet lookup request carries: X's maximum.
const BatchSize = 100

// MaxLineLength is the longest line, in bytes without its line ending, that
// an id file may hold. An id has at most 19 digits, so anything much longer
// is not an id file; the limit keeps one bad line from filling memory.
const MaxLineLength = 1024

// ParseIDLine reads one line of an id file. A line holds one tweet id: 1 to
// 19 ASCII digits, not zero. Everything from the first '#' on is a comment,
// and spaces around the id are ignored, so "1460323737035677698  # a reply"
// is the id 1460323737035677698; a line that is blank once its comment is
// removed holds no id.
//
// ParseIDLine returns the id in canonical form (no leading zeros, so "007"
// and "7" are the same tweet) and ok true; "" and ok false for a line without
// an id; or an error whose text says what is wrong with the line, in words a
// user can act on (the caller adds the line number).
func ParseIDLine(line string) (id string, ok bool, err error) {
	if i := strings.IndexByte(line, '#'); i >= 0 {
		line = line[:i]
	}
	line = strings.TrimSpace(line)
	if line == "" {
		return "", false, nil
	}
	for i := 0; i < len(line); i++ {
		if line[i] < '0' || line[i] > '9' {
			return "", false, fmt.Errorf("%q is not a tweet id (digits only)", clip(line, 40))
		}
	}
	if len(line) > 19 {
		return "", false, fmt.Errorf("%q is not a tweet id (at most 19 digits)", clip(line, 40))
	}
	n, err := strconv.ParseUint(line, 10, 64)
	if err != nil { // unreachable: 19 digits always fit in a uint64
		return "", false, fmt.Errorf("%q is not a tweet id (too large)", line)
	}
	if n == 0 {
		return "", false, fmt.Errorf("%q is not a tweet id (ids start at 1)", line)
	}
	return strconv.FormatUint(n, 10), true, nil
}

// checkIDs checks a task's ids: 1 to BatchSize canonical tweet ids.
func checkIDs(ids []string) error {
	if len(ids) == 0 || len(ids) > BatchSize {
		return fmt.Errorf("task has %d ids, want 1 to %d", len(ids), BatchSize)
	}
	for _, id := range ids {
		got, ok, err := ParseIDLine(id)
		if err != nil {
			return err
		}
		if !ok || got != id {
			return errors.New("task id " + strconv.Quote(clip(id, 40)) + " is not a canonical tweet id")
		}
	}
	return nil
}

// scanIDs calls fn with each id of an id file, in order, and returns its
// first error as it is. It reads as [Lookup.Plan] describes; noun ("tweet",
// "user") names what the ids are in the errors for bad lines.
func scanIDs(ctx context.Context, items io.Reader, noun string, fn func(id string) error) error {
	if items == nil {
		return jobs.Invalid("ids", "no ids given")
	}
	parse := func(line string) (string, bool, error) {
		id, ok, err := ParseIDLine(line)
		if err != nil {
			return "", false, errors.New(strings.Replace(err.Error(), "a tweet id", "a "+noun+" id", 1))
		}
		return id, ok, nil
	}
	return jobs.ReadItems(ctx, items, MaxLineLength, parse, fn)
}
