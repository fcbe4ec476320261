package jobs

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ReadItems reads an item file, one item per line, and calls fn with each
// item in order; the kinds' Plan methods share it, so that every kind reads
// item files the same way. Lines may end in \n or \r\n, and a UTF-8 byte
// order mark before the first is ignored. parse turns a line into an item,
// reports a line to skip (blank, a comment) with ok false, or refuses it
// with an error whose text says why.
//
// A refused line, or one longer than maxLine bytes, is a *ValidationError
// for "ids" naming the line ("line 7: ..."). fn's errors are returned as
// they are; a read error is wrapped, naming the line. ReadItems checks ctx
// every few thousand lines.
func ReadItems(ctx context.Context, r io.Reader, maxLine int, parse func(line string) (item string, ok bool, err error), fn func(item string) error) error {
	sc := bufio.NewScanner(r)
	// Room for the line ending, so that exactly maxLine bytes pass.
	sc.Buffer(make([]byte, 0, 512), maxLine+2)
	line := 0
	for sc.Scan() {
		line++
		text := sc.Text()
		if line == 1 {
			text = strings.TrimPrefix(text, "\uFEFF")
		}
		if len(text) > maxLine {
			return Invalid("ids", "line %d: longer than %d bytes", line, maxLine)
		}
		if line%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		item, ok, err := parse(text)
		if err != nil {
			return Invalid("ids", "line %d: %v", line, err)
		}
		if !ok {
			continue
		}
		if err := fn(item); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return Invalid("ids", "line %d: longer than %d bytes", line+1, maxLine)
		}
		return fmt.Errorf("read items at line %d: %w", line+1, err)
	}
	return nil
}

// Batch groups the items read feeds it into batches of up to size, in
// order, dropping an item repeated within one batch (across batches it is
// not remembered, so memory stays bounded), and calls emit with each batch,
// which emit may not keep. It returns how many items it emitted, and the
// first error of read or emit as it is.
func Batch(size int, read func(add func(item string) error) error, emit func(batch []string) error) (int, error) {
	batch := make([]string, 0, size)
	inBatch := make(map[string]struct{}, size)
	total := 0
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if err := emit(batch); err != nil {
			return err
		}
		total += len(batch)
		batch = batch[:0]
		clear(inBatch)
		return nil
	}
	err := read(func(item string) error {
		if _, dup := inBatch[item]; dup {
			return nil
		}
		inBatch[item] = struct{}{}
		batch = append(batch, item)
		if len(batch) == size {
			return flush()
		}
		return nil
	})
	if err != nil {
		return total, err
	}
	return total, flush()
}

// TextItems returns a line parser for [ReadItems] that the kinds whose items
// are free text share (http_get's ids, annotate's items). A line holds one
// item: text of 1 to maxLen bytes of valid UTF-8 without control
// characters, spaces around it ignored. A line that is blank, or whose first
// non-space character is '#', holds no item: there are no comments after an
// item, as '#' may be part of one. Its errors say what is wrong with the
// line in words a user can act on (ReadItems adds the line number).
func TextItems(maxLen int) func(line string) (item string, ok bool, err error) {
	return func(line string) (string, bool, error) {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			return "", false, nil
		}
		if len(line) > maxLen {
			return "", false, fmt.Errorf("item is longer than %d bytes", maxLen)
		}
		if !utf8.ValidString(line) {
			return "", false, errors.New("item is not valid UTF-8")
		}
		for _, r := range line {
			if unicode.IsControl(r) {
				return "", false, fmt.Errorf("item %s holds a control character", strconv.QuoteToASCII(clipText(line, 40)))
			}
		}
		return line, true, nil
	}
}
