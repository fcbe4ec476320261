package httpkind

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

// maxPathLength and maxPathSegments bound a cursor_path.
const (
	maxPathLength   = 256
	maxPathSegments = 32
)

// parsePath splits a dotted JSON path such as "meta.next_cursor" into its
// segments. A segment is an object key or, where the value is a list, a
// decimal index ("data.0.id"). Keys that hold a '.' cannot be named.
func parsePath(path string) ([]string, error) {
	if path == "" {
		return nil, errors.New("empty")
	}
	if len(path) > maxPathLength {
		return nil, fmt.Errorf("longer than %d bytes", maxPathLength)
	}
	for _, r := range path {
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			return nil, errors.New("holds a control character or invalid UTF-8")
		}
	}
	segs := strings.Split(path, ".")
	if len(segs) > maxPathSegments {
		return nil, fmt.Errorf("more than %d segments", maxPathSegments)
	}
	for _, s := range segs {
		if s == "" {
			return nil, fmt.Errorf("%q has an empty segment; write keys joined by single dots, as meta.next_cursor", path)
		}
	}
	return segs, nil
}

// lookupPath finds the value at path in a JSON document and returns it as a
// cursor: a string as it is, a number as written. A value that is absent,
// null or "" gives ok false: there is no next page. Any other value (true, an
// object, a list) is an error, as is a body that is not JSON.
func lookupPath(body []byte, segs []string) (cursor string, ok bool, err error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return "", false, fmt.Errorf("body is not JSON: %w", err)
	}
	for _, s := range segs {
		switch x := v.(type) {
		case map[string]any:
			v, ok = x[s]
			if !ok {
				return "", false, nil
			}
		case []any:
			i, err := strconv.Atoi(s)
			if err != nil || i < 0 || i >= len(x) || s != strconv.Itoa(i) {
				return "", false, nil
			}
			v = x[i]
		default:
			return "", false, nil
		}
	}
	switch x := v.(type) {
	case nil:
		return "", false, nil
	case string:
		return x, x != "", nil
	case json.Number:
		return x.String(), true, nil
	case bool:
		return "", false, errors.New("value is a boolean, not a string or a number")
	case []any:
		return "", false, errors.New("value is a list, not a string or a number")
	default:
		return "", false, errors.New("value is an object, not a string or a number")
	}
}
