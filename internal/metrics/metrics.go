package metrics

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Metrics is one set of Flagbot's metrics. Each bot process makes its own,
// so tests can run several side by side.
type Metrics struct {
	acks       histogramVec
	commands   counterVec
	durations  histogramVec
	connected  gauge
	reconnects counter
	ld         counterVec
	sweeps     counterVec
	sweptAt    gauge
	stuck      gauge

	families []*family // sorted by name
	readProc func() procStats
	pending  atomic.Pointer[pendingSource]
	lastSize atomic.Int64 // of the last exposition, to size the next

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

// New returns a Metrics with Flagbot's metrics and the Go runtime and
// process metrics the package documentation lists.
func New() *Metrics {
	m := &Metrics{
		acks:       newHistogramVec([]float64{.0005, .001, .0025, .005, .01, .05, .1, .5, 1}, "kind"),
		commands:   newCounterVec("command", "outcome"),
		durations:  newHistogramVec([]float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}, "command"), // client_golang's DefBuckets
		ld:         newCounterVec("workspace", "outcome"),
		sweeps:     newCounterVec("outcome"),
		readProc:   newProcReader(),
		workspaces: map[string]bool{},
	}
	m.families = append(runtimeFamilies(),
		m.acks.family("flagbot_slack_ack_seconds", "Time to write a Socket Mode ack, by envelope kind."),
		m.commands.family("flagbot_commands_total", "Commands run, by name and outcome (ok or an error kind)."),
		m.durations.family("flagbot_command_duration_seconds", "Time from ack to reply, by command."),
		m.connected.family("flagbot_slack_connected", "1 while the Socket Mode connection is up."),
		m.reconnects.family("flagbot_slack_reconnects_total", "Socket Mode connections made after the first (Slack asked, or the connection dropped)."),
		m.ld.family("flagbot_launchdarkly_responses_total",
			"LaunchDarkly API attempts by workspace (team ID; the first 50 seen, then \"other\"; \"none\" for work of no workspace) and outcome: ok, client_error, rate_limited (429), server_error, unreachable."),
		m.sweeps.family("flagbot_sweeps_total", "Expiry sweeps tried by this replica: swept (it held the lock), skipped (another replica did), failed."),
		m.sweptAt.family("flagbot_sweep_last_success_timestamp_seconds",
			"When this replica last finished a sweep (Unix time); alert on the maximum over replicas falling behind."),
		m.stuck.family("flagbot_stuck_changes", "Approved changes nobody was applying, found by this replica's last sweep (each is resumed)."),
		&family{name: "flagbot_pending_changes", help: "Change requests waiting for approval, across all workspaces, by age.",
			typ: typeGauge, collect: m.collectPending},
	)
	sortFamilies(m.families)
	return m
}

// Ack records the time spent writing an ack.
func (m *Metrics) Ack(kind string, d time.Duration) {
	m.acks.observe(key{kind}, d.Seconds())
}

// Command records one command's outcome and duration.
func (m *Metrics) Command(name, outcome string, d time.Duration) {
	m.commands.inc(key{name, outcome})
	m.durations.observe(key{name}, d.Seconds())
}

// Connected records whether the Socket Mode connection is up.
func (m *Metrics) Connected(up bool) {
	if up {
		m.connected.set(1)
	} else {
		m.connected.set(0)
	}
}

// Reconnected records a Socket Mode connection made after the first.
func (m *Metrics) Reconnected() { m.reconnects.inc() }

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
	m.ld.inc(key{m.workspaceLabel(team), outcome})
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
		m.sweeps.inc(key{"failed"})
	case !swept:
		m.sweeps.inc(key{"skipped"})
	default:
		m.sweeps.inc(key{"swept"})
		m.sweptAt.set(float64(at.UnixNano()) / 1e9)
		m.stuck.set(float64(stuck))
	}
}

// Pending sets how flagbot_pending_changes{age} is counted at each scrape
// (bounded by timeout): count returns one number per PendingAges bucket. A
// failed count is logged and leaves the series out of that scrape. Until
// Pending is called the series are left out.
func (m *Metrics) Pending(count func(ctx context.Context) ([]int64, error), timeout time.Duration, log *slog.Logger) {
	m.pending.Store(&pendingSource{count: count, timeout: timeout, log: log})
}

type pendingSource struct {
	count   func(ctx context.Context) ([]int64, error)
	timeout time.Duration
	log     *slog.Logger
}

func (m *Metrics) collectPending(w *writer) {
	p := m.pending.Load()
	if p == nil {
		return
	}
	ctx, cancel := context.WithTimeout(w.ctx, p.timeout)
	defer cancel()
	counts, err := p.count(ctx)
	if err != nil || len(counts) != len(PendingAges) {
		p.log.Warn("metrics: could not count pending changes", "err", err)
		return
	}
	ages := newVec[int64]([]string{"age"}, nil)
	for i, age := range PendingAges {
		*ages.with(key{age}) = counts[i]
	}
	for _, s := range ages.sorted() {
		w.sample("", s.labels, "", float64(s.val))
	}
}

// contentType is the text exposition format's, version 0.0.4.
const contentType = "text/plain; version=0.0.4; charset=utf-8"

// Handler serves the metrics in the Prometheus text format, to GET and
// HEAD requests.
func (m *Metrics) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		body := m.expose(r.Context())
		w.Header().Set("Content-Type", contentType)
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		if r.Method == http.MethodGet {
			_, _ = w.Write(body) // an error means the scraper went away
		}
	})
}

// expose writes the whole exposition. ctx bounds the callbacks' I/O.
func (m *Metrics) expose(ctx context.Context) []byte {
	w := &writer{ctx: ctx, buf: make([]byte, 0, m.lastSize.Load()+512),
		rt: readRuntime(), proc: m.readProc()}
	for _, f := range m.families {
		w.begin(f)
		f.collect(w)
	}
	m.lastSize.Store(int64(len(w.buf)))
	return w.buf
}
