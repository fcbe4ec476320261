package ratelimit_test

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

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

func ExampleNewMetrics() {
	reg := prometheus.NewRegistry()
	m := ratelimit.NewMetrics(reg, []ratelimit.Quota{{Key: "x-app", Limit: 900, Window: 15 * time.Minute}})
	_ = ratelimit.Config{Metrics: m} // and a Ledger, for NewLimiter
	// Declared quotas have series from the start: the limit, the window,
	// and zero waits, throttles, throttled seconds and rejections, and no
	// throttled period.
	fmt.Println(testutil.CollectAndCount(reg), testutil.CollectAndCount(reg, "pacer_ratelimit_limit"))
	// Output:
	// 7 1
}
