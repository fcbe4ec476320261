package main

import (
	"bytes"
	"strings"
	"testing"
)

// The metrics flags are checked before any connection is opened, and the
// errors name the flag without quoting a password.
func TestMetricsFlags(t *testing.T) {
	env := func(string) string { return "" }
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"work", "-metrics-listen", "9464"}, "-metrics-listen: \"9464\" is not host:port"},
		{[]string{"work", "-rabbitmq-management-url", "ftp://guest:s3cret@host"}, "-rabbitmq-management-url: not an http(s) URL"},
		{[]string{"serve", "-rabbitmq-management-url", "guest:s3cret@host:15672"}, "-rabbitmq-management-url: not an http(s) URL"},
	} {
		err := run(t.Context(), tc.args, env, nil, &bytes.Buffer{}, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%v: err %v, want %q and no password", tc.args, err, tc.want)
		}
	}
	// A worker is scrapable by default, on loopback.
	var usage bytes.Buffer
	_ = run(t.Context(), []string{"work", "-h"}, env, nil, &bytes.Buffer{}, &usage)
	if !strings.Contains(usage.String(), "(default 127.0.0.1:9464)") || !strings.Contains(usage.String(), "PACER_RABBITMQ_MANAGEMENT_URL") {
		t.Errorf("work -h does not show the metrics defaults:\n%s", usage.String())
	}
}

// Any -rabbitmq-management-url is accepted or refused without a panic, and
// the error never quotes it (it may hold a password).
func FuzzValidManagementURL(f *testing.F) {
	for _, seed := range []string{"", "http://guest:guest@127.0.0.1:15672", "https://h", "ftp://u:pw@h", "http://", "::", "http://[::1"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		err := validManagementURL(raw)
		if err != nil && err.Error() != "-rabbitmq-management-url: not an http(s) URL with a host" {
			t.Fatalf("the error says more than the constant reason, maybe the URL: %v", err)
		}
		if raw == "" && err != nil {
			t.Fatalf("empty: %v", err)
		}
	})
}
