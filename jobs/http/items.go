package httpkind

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"

	"github.com/pacerhq/pacer/jobs"
)

// MaxItemLength is the longest item, in bytes, once spaces around it are
// trimmed. An item becomes part of a URL and a row key, so it stays short.
const MaxItemLength = 512

// maxLineLength bounds a line read from an item file, spaces included, so
// that one bad line cannot fill memory.
const maxLineLength = 4 * MaxItemLength

// ParseItemLine reads one line of an item file: an item of 1 to
// [MaxItemLength] bytes, as [jobs.TextItems] reads it. It returns the item
// and ok true; "" and ok false for a line without one (blank, or a '#'
// comment); or an error whose text says what is wrong with the line.
var ParseItemLine = jobs.TextItems(MaxItemLength)

// checkItem reports whether item is one ParseItemLine returns as it is.
func checkItem(item string) error {
	got, ok, err := ParseItemLine(item)
	if err != nil {
		return err
	}
	if !ok || got != item {
		return fmt.Errorf("%s is not an item", strconv.QuoteToASCII(clip(item, 40)))
	}
	return nil
}

// scanItems calls fn with each item of an item file, in order, and returns
// its first error as it is. Lines may end in \n or \r\n; a UTF-8 byte order
// mark is ignored. A bad line is a *jobs.ValidationError for "ids" naming
// the line.
func scanItems(ctx context.Context, items io.Reader, fn func(item string) error) error {
	return jobs.ReadItems(ctx, items, maxLineLength, ParseItemLine, fn)
}

// clip shortens s to at most n bytes for an error message, on a rune
// boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
