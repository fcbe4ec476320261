package ratelimit_test

import (
	"fmt"

	"github.com/pacerhq/pacer/ratelimit"
)

func ExampleParseLimit() {
	limit, window, err := ratelimit.ParseLimit("900/15m")
	fmt.Println(limit, window, err)
	_, _, err = ratelimit.ParseLimit("900 per quarter hour")
	fmt.Println(err)
	// Output:
	// 900 15m0s <nil>
	// limit "900 per quarter hour": want requests/window, as in 900/15m
}
