// Package metrics holds Flagbot's Prometheus collectors. It exists so that
// the Prometheus client library has one home: other packages report through
// small interfaces (slackapp.Metrics) and never import Prometheus.
package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics is one registry of Flagbot's collectors. Each bot process makes
// its own, so tests can run several side by side.
type Metrics struct {
	reg       *prometheus.Registry
	acks      *prometheus.HistogramVec
	commands  *prometheus.CounterVec
	durations *prometheus.HistogramVec
	connected prometheus.Gauge
}

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
	}
	m.reg.MustRegister(m.acks, m.commands, m.durations, m.connected,
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

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}
