package httpkind

import "github.com/pacerhq/pacer/jobs"

// Params describes an http_get job's params for the submission form.
func (g *Get) Params() []jobs.Param {
	return []jobs.Param{
		{Name: "url_template", Type: jobs.ParamString, Help: "a request per id: an http(s) URL with {id} where each id goes"},
		{Name: "start_url", Type: jobs.ParamString, Help: "or pages: the first page's URL (no ids then)"},
		{Name: "cursor_path", Type: jobs.ParamString, Help: "pages: dotted JSON path to the next page's cursor, e.g. meta.next_cursor"},
		{Name: "cursor_param", Type: jobs.ParamString, Help: "pages: the cursor's query parameter (default cursor)"},
		{Name: "follow_link", Type: jobs.ParamBool, Help: "pages: follow the Link header's rel=next instead"},
		{Name: "max_pages", Type: jobs.ParamInt, Help: "pages: stop after this many; empty for no cap"},
		{Name: "headers", Type: jobs.ParamHeaders, Help: "extra request headers, one \"Name: value\" a line (no Authorization or Cookie)"},
	}
}
