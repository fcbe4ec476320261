package httpkind_test

import (
	"encoding/json"
	"fmt"

	httpkind "github.com/pacerhq/pacer/jobs/http"
)

// An http_get job may reach only the hosts of the allowlist.
func ExampleNewGet() {
	k, err := httpkind.NewGet(httpkind.Config{AllowHosts: []string{"api.example.org", "*.example.com"}})
	if err != nil {
		panic(err)
	}
	params, err := k.Prepare(json.RawMessage(`{"start_url":"https://v2.example.com/items","cursor_path":"meta.next_cursor"}`))
	fmt.Println(string(params), err)
	_, err = k.Prepare(json.RawMessage(`{"url_template":"https://evil.example/items/{id}"}`))
	fmt.Println(err)
	// Output:
	// {"start_url":"https://v2.example.com/items","cursor_path":"meta.next_cursor","cursor_param":"cursor"} <nil>
	// params.url_template: host evil.example is not on the allowlist (allowed: api.example.org, *.example.com)
}
