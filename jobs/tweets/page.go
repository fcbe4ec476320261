package tweets

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// pageItem is one object of a page: its id and the object, compacted.
type pageItem struct {
	id   string
	data json.RawMessage
}

// pageResponse is a decoded 200 answer for one page of a paginated list.
type pageResponse struct {
	items     []pageItem
	nextToken string // "" on the last page
}

// maxTokenLen bounds the pagination tokens pacer stores and sends: X's are
// a few dozen characters, so a longer one is a broken answer.
const maxTokenLen = 512

// maxItemIDLen bounds an object's id, which becomes part of a row key.
const maxItemIDLen = 64

// decodePage decodes the body of a 200 answer to GET /2/users/:id/tweets or
// /followers. The body must be a JSON object; "data", if present and not
// null, a list of objects, of which those without a string (or numeric) id
// of 1 to 64 bytes are skipped and repeats of an id are dropped (the first
// wins); "meta", if present and not null, an object whose "next_token", if
// present and not null, is a string of at most 512 bytes. includes and
// errors are ignored.
func decodePage(body []byte) (pageResponse, error) {
	var r pageResponse
	var top struct {
		Data json.RawMessage `json:"data"`
		Meta json.RawMessage `json:"meta"`
	}
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' {
		return r, errors.New("response is not a JSON object")
	}
	if err := json.Unmarshal(body, &top); err != nil {
		return r, err
	}
	if len(top.Meta) > 0 && string(top.Meta) != "null" {
		var meta struct {
			NextToken json.RawMessage `json:"next_token"`
		}
		if top.Meta[0] != '{' || json.Unmarshal(top.Meta, &meta) != nil {
			return r, errors.New(`"meta" is not an object`)
		}
		if t := meta.NextToken; len(t) > 0 && string(t) != "null" {
			if t[0] != '"' || json.Unmarshal(t, &r.nextToken) != nil {
				return r, errors.New(`"meta"."next_token" is not a string`)
			}
			if len(r.nextToken) > maxTokenLen {
				return r, fmt.Errorf(`"meta"."next_token" is longer than %d bytes`, maxTokenLen)
			}
		}
	}
	var data []json.RawMessage
	if len(top.Data) > 0 && string(top.Data) != "null" {
		if top.Data[0] != '[' {
			return r, errors.New(`"data" is not a list`)
		}
		if err := json.Unmarshal(top.Data, &data); err != nil {
			return r, fmt.Errorf(`"data": %w`, err)
		}
	}
	seen := make(map[string]struct{}, len(data))
	for i, d := range data {
		var obj map[string]json.RawMessage
		if len(d) == 0 || d[0] != '{' || json.Unmarshal(d, &obj) != nil {
			return r, fmt.Errorf(`"data"[%d] is not an object`, i)
		}
		id := jsonString(obj["id"])
		if id == "" || len(id) > maxItemIDLen {
			continue
		}
		if _, dup := seen[id]; dup {
			continue
		}
		seen[id] = struct{}{}
		var buf bytes.Buffer
		if err := json.Compact(&buf, d); err != nil {
			return r, fmt.Errorf(`"data"[%d]: %w`, i, err)
		}
		r.items = append(r.items, pageItem{id: id, data: buf.Bytes()})
	}
	return r, nil
}
