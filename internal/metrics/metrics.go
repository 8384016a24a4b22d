// Package metrics holds Flagbot's Prometheus collectors. It exists so that
// the Prometheus client library has one home: other packages report through
// small interfaces (slackapp.Metrics) and never import Prometheus.
package metrics

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics is one registry of Flagbot's collectors. Each bot process makes
// its own, so tests can run several side by side.
type Metrics struct {
	reg        *prometheus.Registry
	acks       *prometheus.HistogramVec
	commands   *prometheus.CounterVec
	durations  *prometheus.HistogramVec
	connected  prometheus.Gauge
	reconnects prometheus.Counter
	ld         *prometheus.CounterVec
	sweeps     *prometheus.CounterVec
	sweptAt    prometheus.Gauge
	stuck      prometheus.Gauge

	mu         sync.Mutex
	workspaces map[string]bool // workspace label values in use
}

// MaxWorkspaceLabels bounds the workspace label's values: the first
// workspaces seen get their own series, later ones share "other".
const MaxWorkspaceLabels = 50

// PendingAges names the buckets of flagbot_pending_changes, youngest
// first; Pending's callback returns counts in this order.
var PendingAges = []string{"under_1h", "1h_to_6h", "over_6h"}

// PendingBounds are the ages between PendingAges' buckets.
var PendingBounds = []time.Duration{time.Hour, 6 * time.Hour}

// New returns a Metrics with Go runtime and process collectors registered.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		acks: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "flagbot_slack_ack_seconds",
			Help:    "Time to write a Socket Mode ack, by envelope kind.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .05, .1, .5, 1},
		}, []string{"kind"}),
		commands: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "flagbot_commands_total",
			Help: "Commands run, by name and outcome (ok or an error kind).",
		}, []string{"command", "outcome"}),
		durations: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "flagbot_command_duration_seconds",
			Help:    "Time from ack to reply, by command.",
			Buckets: prometheus.DefBuckets,
		}, []string{"command"}),
		connected: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "flagbot_slack_connected",
			Help: "1 while the Socket Mode connection is up.",
		}),
		reconnects: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "flagbot_slack_reconnects_total",
			Help: "Socket Mode connections made after the first (Slack asked, or the connection dropped).",
		}),
		ld: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "flagbot_launchdarkly_responses_total",
			Help: "LaunchDarkly API attempts by workspace (team ID; the first 50 seen, then \"other\"; \"none\" for work of no workspace) and outcome: ok, client_error, rate_limited (429), server_error, unreachable.",
		}, []string{"workspace", "outcome"}),
		sweeps: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "flagbot_sweeps_total",
			Help: "Expiry sweeps tried by this replica: swept (it held the lock), skipped (another replica did), failed.",
		}, []string{"outcome"}),
		sweptAt: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "flagbot_sweep_last_success_timestamp_seconds",
			Help: "When this replica last finished a sweep (Unix time); alert on the maximum over replicas falling behind.",
		}),
		stuck: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "flagbot_stuck_changes",
			Help: "Approved changes nobody was applying, found by this replica's last sweep (each is resumed).",
		}),
		workspaces: map[string]bool{},
	}
	m.reg.MustRegister(m.acks, m.commands, m.durations, m.connected, m.reconnects, m.ld, m.sweeps, m.sweptAt, m.stuck,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Ack records the time spent writing an ack.
func (m *Metrics) Ack(kind string, d time.Duration) {
	m.acks.WithLabelValues(kind).Observe(d.Seconds())
}

// Command records one command's outcome and duration.
func (m *Metrics) Command(name, outcome string, d time.Duration) {
	m.commands.WithLabelValues(name, outcome).Inc()
	m.durations.WithLabelValues(name).Observe(d.Seconds())
}

// Connected records whether the Socket Mode connection is up.
func (m *Metrics) Connected(up bool) {
	if up {
		m.connected.Set(1)
	} else {
		m.connected.Set(0)
	}
}

// Reconnected records a Socket Mode connection made after the first.
func (m *Metrics) Reconnected() { m.reconnects.Inc() }

// LaunchDarkly records one LaunchDarkly API attempt for the workspace team
// ("" when the work was for none): its HTTP status, 0 when no answer came.
func (m *Metrics) LaunchDarkly(team string, status int) {
	outcome := "ok"
	switch {
	case status == 0:
		outcome = "unreachable"
	case status == http.StatusTooManyRequests:
		outcome = "rate_limited"
	case status >= 500:
		outcome = "server_error"
	case status >= 400:
		outcome = "client_error"
	}
	m.ld.WithLabelValues(m.workspaceLabel(team), outcome).Inc()
}

// workspaceLabel bounds the workspace label's values.
func (m *Metrics) workspaceLabel(team string) string {
	if team == "" {
		return "none"
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.workspaces[team] {
		return team
	}
	if len(m.workspaces) >= MaxWorkspaceLabels {
		return "other"
	}
	m.workspaces[team] = true
	return team
}

// Swept records one sweep: whether this replica held the lock, when it
// started, how many stuck changes it found, and its error.
func (m *Metrics) Swept(swept bool, at time.Time, stuck int, err error) {
	switch {
	case err != nil:
		m.sweeps.WithLabelValues("failed").Inc()
	case !swept:
		m.sweeps.WithLabelValues("skipped").Inc()
	default:
		m.sweeps.WithLabelValues("swept").Inc()
		m.sweptAt.Set(float64(at.UnixNano()) / 1e9)
		m.stuck.Set(float64(stuck))
	}
}

// Pending registers flagbot_pending_changes{age}, counted by count at each
// scrape (bounded by timeout): count returns one number per PendingAges
// bucket. A failed count is logged and leaves the series out of that
// scrape.
func (m *Metrics) Pending(count func(ctx context.Context) ([]int64, error), timeout time.Duration, log *slog.Logger) {
	m.reg.MustRegister(&pendingCollector{count: count, timeout: timeout, log: log,
		desc: prometheus.NewDesc("flagbot_pending_changes",
			"Change requests waiting for approval, across all workspaces, by age.", []string{"age"}, nil)})
}

type pendingCollector struct {
	count   func(ctx context.Context) ([]int64, error)
	timeout time.Duration
	log     *slog.Logger
	desc    *prometheus.Desc
}

func (c *pendingCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *pendingCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	counts, err := c.count(ctx)
	if err != nil || len(counts) != len(PendingAges) {
		c.log.Warn("metrics: could not count pending changes", "err", err)
		return
	}
	for i, age := range PendingAges {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(counts[i]), age)
	}
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}
