package rabbitmq_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/pacerhq/pacer/broker/rabbitmq"
)

// managementURL returns the test server's management API: from
// PACER_TEST_RABBITMQ_MANAGEMENT_URL, else port 15672 of the host of
// PACER_TEST_AMQP_URL with its user. If it does not answer, the test is
// skipped, or fails when CI is set (scripts/test.sh enables the plugin).
func managementURL(t *testing.T) string {
	t.Helper()
	raw := os.Getenv("PACER_TEST_RABBITMQ_MANAGEMENT_URL")
	if raw == "" {
		u, err := url.Parse(testURL(t))
		if err != nil {
			t.Fatalf("PACER_TEST_AMQP_URL: %v", err)
		}
		raw = (&url.URL{Scheme: "http", User: u.User, Host: net.JoinHostPort(u.Hostname(), "15672")}).String()
	}
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("management URL: %v", err)
	}
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Get(u.JoinPath("api", "overview").String())
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return raw
		}
		err = errors.New(resp.Status)
	}
	msg := fmt.Sprintf("the RabbitMQ management API at %s does not answer (%v); enable it with rabbitmq-plugins enable rabbitmq_management", u.Redacted(), err)
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// gauges gathers reg and returns every gauge as "name{value,...}" → value,
// and the gather error.
func gauges(reg *prometheus.Registry) (map[string]float64, error) {
	mfs, err := reg.Gather()
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetType() != dto.MetricType_GAUGE {
			continue
		}
		for _, m := range mf.GetMetric() {
			var vals []string
			for _, lp := range m.GetLabel() {
				vals = append(vals, lp.GetValue())
			}
			out[mf.GetName()+"{"+strings.Join(vals, ",")+"}"] = m.GetGauge().GetValue()
		}
	}
	return out, err
}

// poll calls cond until it returns "" or patience runs out, then fails with
// its last answer.
func poll(t *testing.T, cond func() string) {
	t.Helper()
	deadline := time.Now().Add(patience)
	for {
		why := cond()
		if why == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(why)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// The collector reports what RabbitMQ holds: ready messages and consumers
// over AMQP, the unacknowledged ones from the management API, and this
// process's connections.
func TestQueueCollector(t *testing.T) {
	t.Parallel()
	mgmt := managementURL(t)
	b := newBroker(t, rabbitmq.Config{})
	coll, err := rabbitmq.NewQueueCollector(b, rabbitmq.QueueCollectorConfig{ManagementURL: mgmt})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(coll)
	q := b.Queue()
	if err := b.Publish(t.Context(), 1, 2, 3); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	deliveries, err := b.Consume(ctx, 1) // holds one message unacknowledged
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-deliveries:
	case <-time.After(patience):
		t.Fatal("no delivery")
	}
	want := map[string]float64{
		"pacer_broker_queue_messages_ready{" + q + "}":   2,
		"pacer_broker_queue_consumers{" + q + "}":        1,
		"pacer_broker_queue_messages_unacked{" + q + "}": 1, // after the server's next statistics refresh
		"pacer_broker_connected{publish}":                1,
		"pacer_broker_connected{consume}":                1,
	}
	poll(t, func() string {
		got, err := gauges(reg)
		if err != nil {
			return "gather: " + err.Error()
		}
		for k, v := range want {
			if got[k] != v {
				return fmt.Sprintf("%s = %v, want %v; all gauges: %v", k, got[k], v, got)
			}
		}
		return ""
	})
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint %s: %s", p.Metric, p.Text)
	}
}

// A broken connection is opened again and counted, by role.
func TestReconnectMetrics(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	b := newBroker(t, rabbitmq.Config{Metrics: rabbitmq.NewMetrics(reg), ReconnectMax: 200 * time.Millisecond})
	if n := testutil.CollectAndCount(reg, "pacer_broker_reconnects_total"); n != 2 {
		t.Fatalf("%d reconnect series at start, want 2 (publish, consume)", n)
	}
	ctx, cancel := context.WithTimeout(t.Context(), patience)
	defer cancel()
	if err := b.DropConnections(ctx); err != nil {
		t.Fatal(err)
	}
	want := `# HELP pacer_broker_reconnects_total Connections to RabbitMQ opened again after one was lost, by connection role (publish, consume).
# TYPE pacer_broker_reconnects_total counter
pacer_broker_reconnects_total{conn="consume"} 1
pacer_broker_reconnects_total{conn="publish"} 1
`
	poll(t, func() string {
		if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "pacer_broker_reconnects_total"); err != nil {
			return err.Error()
		}
		return ""
	})
}

// A management API that does not answer fails the scrape visibly, while
// the AMQP figures are still reported; a bad URL is refused up front.
func TestQueueCollectorErrors(t *testing.T) {
	t.Parallel()
	b := newBroker(t, rabbitmq.Config{})
	for _, bad := range []string{"ftp://host", "not a url", "http://"} {
		if _, err := rabbitmq.NewQueueCollector(b, rabbitmq.QueueCollectorConfig{ManagementURL: bad}); err == nil || !strings.Contains(err.Error(), "ManagementURL") {
			t.Errorf("ManagementURL %q: err %v, want one naming the field", bad, err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://user:s3cret@" + ln.Addr().String()
	ln.Close()
	coll, err := rabbitmq.NewQueueCollector(b, rabbitmq.QueueCollectorConfig{ManagementURL: closed, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(coll)
	got, err := gauges(reg)
	if err == nil || !strings.Contains(err.Error(), "pacer_broker_queue_messages_unacked") {
		t.Errorf("gather with the management API down: err %v, want one about the unacked metric", err)
	}
	if err != nil && strings.Contains(err.Error(), "s3cret") {
		t.Errorf("the error shows the password: %v", err)
	}
	if _, ok := got["pacer_broker_queue_messages_ready{"+b.Queue()+"}"]; !ok {
		t.Errorf("ready messages missing when only the management API failed: %v", got)
	}
}

// A management API answer is read for its unacknowledged count only; any
// other input is an error, never a panic or a negative figure.
func FuzzParseQueueStats(f *testing.F) {
	for _, seed := range []string{
		`{"name":"pacer.tasks","messages_unacknowledged":3,"messages_ready":7}`,
		`{"name":"pacer.tasks"}`,
		`{"messages_unacknowledged":-1}`,
		`{"messages_unacknowledged":1e3}`,
		`[]`, ``, `{`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		n, ok, err := rabbitmq.ParseQueueStats(strings.NewReader(in))
		if err != nil && (ok || n != 0) {
			t.Fatalf("%q: error %v with n %d ok %v", in, err, n, ok)
		}
		if n < 0 || (!ok && n != 0) {
			t.Fatalf("%q: n %d ok %v", in, n, ok)
		}
	})
}
