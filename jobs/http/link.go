package httpkind

import "strings"

// linkNext returns the target of the first rel="next" link in Link header
// values (RFC 8288), as written: `<https://api.example.org/x?page=2>;
// rel="next"`. rel may list several relations ("next last").
func linkNext(values []string) (string, bool) {
	for _, v := range values {
		for v != "" {
			lt := strings.IndexByte(v, '<')
			if lt < 0 {
				break
			}
			gt := strings.IndexByte(v[lt:], '>')
			if gt < 0 {
				break
			}
			target := v[lt+1 : lt+gt]
			rest := v[lt+gt+1:]
			end := strings.IndexByte(rest, '<')
			if end < 0 {
				end = len(rest)
			}
			params := rest[:end]
			v = rest[end:]
			for _, p := range strings.Split(params, ";") {
				name, value, ok := strings.Cut(strings.TrimSpace(strings.TrimRight(strings.TrimSpace(p), ",")), "=")
				if !ok || !strings.EqualFold(strings.TrimSpace(name), "rel") {
					continue
				}
				value = strings.Trim(strings.TrimSpace(value), `"`)
				for _, rel := range strings.Fields(value) {
					if strings.EqualFold(rel, "next") {
						return target, true
					}
				}
			}
		}
	}
	return "", false
}
