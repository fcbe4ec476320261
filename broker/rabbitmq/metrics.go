package rabbitmq

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	amqp "github.com/rabbitmq/amqp091-go"
)

// The connection roles, the values of the conn label.
const (
	connPublish = "publish"
	connConsume = "consume"
)

// Metrics are the broker's event metrics. Use NewMetrics and hand the result
// to [Config.Metrics]; a nil *Metrics records nothing.
type Metrics struct {
	reconnects *prometheus.CounterVec
}

// NewMetrics registers pacer_broker_reconnects_total{conn} on reg, with
// both connection roles (publish, consume) starting at zero.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{reconnects: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "pacer_broker_reconnects_total",
		Help: "Connections to RabbitMQ opened again after one was lost, by connection role (publish, consume).",
	}, []string{"conn"})}
	reg.MustRegister(m.reconnects)
	for _, c := range []string{connPublish, connConsume} {
		m.reconnects.WithLabelValues(c)
	}
	return m
}

func (m *Metrics) reconnected(conn string) {
	if m != nil {
		m.reconnects.WithLabelValues(conn).Inc()
	}
}

// QueueCollectorConfig configures a QueueCollector.
type QueueCollectorConfig struct {
	// ManagementURL is the base URL of the RabbitMQ management HTTP API
	// (the rabbitmq_management plugin), as in http://user:pass@host:15672,
	// where the user may read the queue. Optional: without it the collector
	// reports no unacknowledged count, which AMQP itself does not tell. Its
	// password is never logged nor put in an error.
	ManagementURL string
	// Timeout bounds each scrape's questions to the server. Default 5s.
	Timeout time.Duration
	// HTTPClient asks the management API. Default: a client of its own,
	// without keep-alives.
	HTTPClient *http.Client
}

// QueueCollector reports the broker's queue as RabbitMQ sees it, asking the
// server at scrape time:
//
//   - pacer_broker_queue_messages_ready{queue} and
//     pacer_broker_queue_consumers{queue}, from a passive queue declare
//     over AMQP (see [Broker.Depth]);
//   - pacer_broker_queue_messages_unacked{queue}, from the management API
//     when [QueueCollectorConfig.ManagementURL] is set. RabbitMQ refreshes
//     those figures every 5 seconds (collect_statistics_interval), and a
//     queue has none until its first refresh: the series is missing then;
//   - pacer_broker_connected{conn}, 1 while this process's publish or
//     consume connection is up, from the driver's own state (no question
//     to the server).
//
// A question that fails or outlasts the timeout reports an invalid metric,
// so that the failure shows instead of a stale or zero figure.
type QueueCollector struct {
	b       *Broker
	cfg     QueueCollectorConfig
	mgmt    *url.URL // without its userinfo
	user    *url.Userinfo
	vhost   string
	ready   *prometheus.Desc
	cons    *prometheus.Desc
	unacked *prometheus.Desc
	conn    *prometheus.Desc
}

// NewQueueCollector returns a collector of b's queue. It returns an error
// naming the field if cfg.ManagementURL is not an http(s) URL.
func NewQueueCollector(b *Broker, cfg QueueCollectorConfig) (*QueueCollector, error) {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Second
	}
	if cfg.HTTPClient == nil {
		// A scrape every few seconds needs no pooled connection, and none
		// is left behind when pacer stops.
		cfg.HTTPClient = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	}
	c := &QueueCollector{
		b: b, cfg: cfg,
		ready: prometheus.NewDesc("pacer_broker_queue_messages_ready",
			"Messages in the queue ready for delivery, as RabbitMQ reports them.", []string{"queue"}, nil),
		cons: prometheus.NewDesc("pacer_broker_queue_consumers",
			"Consumers subscribed to the queue, as RabbitMQ reports them (one per pacer work process).", []string{"queue"}, nil),
		unacked: prometheus.NewDesc("pacer_broker_queue_messages_unacked",
			"Messages delivered to consumers and not yet acknowledged, from the RabbitMQ management API.", []string{"queue"}, nil),
		conn: prometheus.NewDesc("pacer_broker_connected",
			"1 while this process's connection to RabbitMQ is up, by role (publish, consume).", []string{"conn"}, nil),
	}
	if cfg.ManagementURL != "" {
		u, err := url.Parse(cfg.ManagementURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, errors.New("rabbitmq queue collector: ManagementURL: not an http(s) URL with a host")
		}
		c.user, u.User = u.User, nil
		c.mgmt = u
		uri, err := amqp.ParseURI(b.cfg.URL)
		if err != nil {
			return nil, fmt.Errorf("rabbitmq queue collector: broker URL: %w", err)
		}
		c.vhost = uri.Vhost
	}
	return c, nil
}

// Describe implements prometheus.Collector.
func (c *QueueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.ready
	ch <- c.cons
	ch <- c.unacked // described always, collected with a ManagementURL only
	ch <- c.conn
}

// Collect implements prometheus.Collector.
func (c *QueueCollector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range []*session{c.b.pub, c.b.sub} {
		s.mu.Lock()
		up := s.conn != nil && !s.conn.IsClosed()
		s.mu.Unlock()
		v := 0.0
		if up {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(c.conn, prometheus.GaugeValue, v, s.name)
	}

	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.Timeout)
	defer cancel()
	queue := c.b.cfg.Queue
	ready, consumers, err := c.b.Depth(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.ready, err)
		ch <- prometheus.NewInvalidMetric(c.cons, err)
	} else {
		ch <- prometheus.MustNewConstMetric(c.ready, prometheus.GaugeValue, float64(ready), queue)
		ch <- prometheus.MustNewConstMetric(c.cons, prometheus.GaugeValue, float64(consumers), queue)
	}
	if c.mgmt == nil {
		return
	}
	unacked, ok, err := c.managementUnacked(ctx)
	switch {
	case err != nil:
		ch <- prometheus.NewInvalidMetric(c.unacked, err)
	case ok:
		ch <- prometheus.MustNewConstMetric(c.unacked, prometheus.GaugeValue, float64(unacked), queue)
	}
}

// managementUnacked asks the management API for the queue's unacknowledged
// messages; ok is false while the server has no statistics for it yet.
func (c *QueueCollector) managementUnacked(ctx context.Context) (n int64, ok bool, err error) {
	// The vhost is escaped whole: the default one, "/", is %2F.
	u := strings.TrimSuffix(c.mgmt.String(), "/") + "/api/queues/" + url.PathEscape(c.vhost) + "/" + url.PathEscape(c.b.cfg.Queue)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, false, fmt.Errorf("rabbitmq management API: %w", err)
	}
	if c.user != nil {
		pass, _ := c.user.Password()
		req.SetBasicAuth(c.user.Username(), pass)
	}
	resp, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		return 0, false, fmt.Errorf("rabbitmq management API: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, false, fmt.Errorf("rabbitmq management API: GET %s: %s", u, resp.Status)
	}
	n, ok, err = parseQueueStats(resp.Body)
	if err != nil {
		return 0, false, fmt.Errorf("rabbitmq management API: GET %s: %w", u, err)
	}
	return n, ok, nil
}

// parseQueueStats reads a queue object of the management API (at most
// 1 MiB) and returns its messages_unacknowledged; ok is false if the object
// has none yet. A negative count is an error.
func parseQueueStats(r io.Reader) (n int64, ok bool, err error) {
	var q struct {
		Unacked *int64 `json:"messages_unacknowledged"`
	}
	if err := json.NewDecoder(io.LimitReader(r, 1<<20)).Decode(&q); err != nil {
		return 0, false, fmt.Errorf("decode the queue: %w", err)
	}
	if q.Unacked == nil {
		return 0, false, nil
	}
	if *q.Unacked < 0 {
		return 0, false, fmt.Errorf("messages_unacknowledged %d is negative", *q.Unacked)
	}
	return *q.Unacked, true, nil
}
