package metrics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// TestWorkspaceLabelIsBounded: the first MaxWorkspaceLabels workspaces get
// their own series; the rest share "other"; work of no workspace is "none".
func TestWorkspaceLabelIsBounded(t *testing.T) {
	m := New()
	for i := range MaxWorkspaceLabels + 20 {
		m.LaunchDarkly(fmt.Sprintf("T%03d", i), 200)
	}
	m.LaunchDarkly("T000", 429)
	m.LaunchDarkly("", 0)
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	series := 0
	var lines []string
	for line := range strings.SplitSeq(rec.Body.String(), "\n") {
		if strings.HasPrefix(line, "flagbot_launchdarkly_responses_total{") {
			series++
			lines = append(lines, line)
		}
	}
	if series != MaxWorkspaceLabels+3 {
		t.Errorf("%d series, want %d (one per first workspace, other, T000's 429, none)", series, MaxWorkspaceLabels+3)
	}
	for _, want := range []string{
		`flagbot_launchdarkly_responses_total{outcome="ok",workspace="other"} 20`,
		`flagbot_launchdarkly_responses_total{outcome="rate_limited",workspace="T000"} 1`,
		`flagbot_launchdarkly_responses_total{outcome="unreachable",workspace="none"} 1`,
	} {
		found := false
		for _, l := range lines {
			found = found || l == want
		}
		if !found {
			t.Errorf("no line %s", want)
		}
	}
}

// scrape serves one GET /metrics and returns the body.
func scrape(t testing.TB, m *Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /metrics = %d", rec.Code)
	}
	if got := rec.Header().Get("Content-Type"); got != "text/plain; version=0.0.4; charset=utf-8" {
		t.Errorf("Content-Type = %q", got)
	}
	return rec.Body.String()
}

// TestExposition parses a whole exposition with Prometheus's own text
// parser and checks exact lines: client_golang's output for the same
// observations, label escaping and a histogram included.
func TestExposition(t *testing.T) {
	t.Parallel()
	m := New()
	m.Ack("slash_commands", 3*time.Millisecond)
	m.Command("show", "ok", 20*time.Millisecond)
	m.Command("on", "not_found", 2*time.Second)
	m.Command("on", "not_found", 20*time.Second)
	m.Connected(true)
	m.LaunchDarkly("T1", 200)
	m.LaunchDarkly("a\"b\\c\nd", 500)
	m.Swept(true, time.Unix(1700000000, 123456789), 2, nil)
	m.Pending(func(context.Context) ([]int64, error) { return []int64{1, 2, 3}, nil }, time.Second, slog.New(slog.DiscardHandler))
	body := scrape(t, m)

	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, body)
	}
	for name, typ := range map[string]dto.MetricType{
		"flagbot_command_duration_seconds":             dto.MetricType_HISTOGRAM,
		"flagbot_commands_total":                       dto.MetricType_COUNTER,
		"flagbot_launchdarkly_responses_total":         dto.MetricType_COUNTER,
		"flagbot_pending_changes":                      dto.MetricType_GAUGE,
		"flagbot_slack_ack_seconds":                    dto.MetricType_HISTOGRAM,
		"flagbot_slack_connected":                      dto.MetricType_GAUGE,
		"flagbot_slack_reconnects_total":               dto.MetricType_COUNTER,
		"flagbot_stuck_changes":                        dto.MetricType_GAUGE,
		"flagbot_sweep_last_success_timestamp_seconds": dto.MetricType_GAUGE,
		"flagbot_sweeps_total":                         dto.MetricType_COUNTER,
		"go_goroutines":                                dto.MetricType_GAUGE,
		"go_info":                                      dto.MetricType_GAUGE,
		"go_memstats_heap_alloc_bytes":                 dto.MetricType_GAUGE,
		"go_memstats_sys_bytes":                        dto.MetricType_GAUGE,
		"go_threads":                                   dto.MetricType_GAUGE,
	} {
		if f := fams[name]; f == nil || f.GetType() != typ {
			t.Errorf("family %s = %v, want type %v", name, f, typ)
		}
	}
	if d := fams["flagbot_command_duration_seconds"]; d != nil {
		for _, s := range d.GetMetric() {
			if h := s.GetHistogram(); h.GetSampleCount() == 0 || len(h.GetBucket()) != 12 {
				t.Errorf("duration histogram %v: want 12 buckets (DefBuckets, +Inf) and a count", s)
			}
		}
	}

	lines := strings.Split(body, "\n")
	for _, want := range []string{
		`# HELP flagbot_launchdarkly_responses_total LaunchDarkly API attempts by workspace (team ID; the first 50 seen, then "other"; "none" for work of no workspace) and outcome: ok, client_error, rate_limited (429), server_error, unreachable.
# TYPE flagbot_launchdarkly_responses_total counter
flagbot_launchdarkly_responses_total{outcome="ok",workspace="T1"} 1
flagbot_launchdarkly_responses_total{outcome="server_error",workspace="a\"b\\c\nd"} 1`,
		`# HELP flagbot_command_duration_seconds Time from ack to reply, by command.
# TYPE flagbot_command_duration_seconds histogram
flagbot_command_duration_seconds_bucket{command="on",le="0.005"} 0
flagbot_command_duration_seconds_bucket{command="on",le="0.01"} 0
flagbot_command_duration_seconds_bucket{command="on",le="0.025"} 0
flagbot_command_duration_seconds_bucket{command="on",le="0.05"} 0
flagbot_command_duration_seconds_bucket{command="on",le="0.1"} 0
flagbot_command_duration_seconds_bucket{command="on",le="0.25"} 0
flagbot_command_duration_seconds_bucket{command="on",le="0.5"} 0
flagbot_command_duration_seconds_bucket{command="on",le="1"} 0
flagbot_command_duration_seconds_bucket{command="on",le="2.5"} 1
flagbot_command_duration_seconds_bucket{command="on",le="5"} 1
flagbot_command_duration_seconds_bucket{command="on",le="10"} 1
flagbot_command_duration_seconds_bucket{command="on",le="+Inf"} 2
flagbot_command_duration_seconds_sum{command="on"} 22
flagbot_command_duration_seconds_count{command="on"} 2
flagbot_command_duration_seconds_bucket{command="show",le="0.005"} 0`,
		`flagbot_slack_ack_seconds_bucket{kind="slash_commands",le="0.0025"} 0
flagbot_slack_ack_seconds_bucket{kind="slash_commands",le="0.005"} 1`,
		`flagbot_commands_total{command="on",outcome="not_found"} 2
flagbot_commands_total{command="show",outcome="ok"} 1`,
		`# HELP flagbot_pending_changes Change requests waiting for approval, across all workspaces, by age.
# TYPE flagbot_pending_changes gauge
flagbot_pending_changes{age="1h_to_6h"} 2
flagbot_pending_changes{age="over_6h"} 3
flagbot_pending_changes{age="under_1h"} 1`,
		"flagbot_slack_connected 1",
		"flagbot_slack_reconnects_total 0",
		"flagbot_stuck_changes 2",
		"flagbot_sweep_last_success_timestamp_seconds 1.7000000001234567e+09",
		`flagbot_sweeps_total{outcome="swept"} 1`,
		`go_info{version="` + runtime.Version() + `"} 1`,
	} {
		if !containsLines(lines, strings.Split(want, "\n")) {
			t.Errorf("no lines\n%s\nin\n%s", want, body)
		}
	}

	// Families come sorted by name, each once.
	var names []string
	for _, l := range lines {
		if name, ok := strings.CutPrefix(l, "# TYPE "); ok {
			name, _, _ = strings.Cut(name, " ")
			names = append(names, name)
		}
	}
	if !slices.IsSorted(names) || len(slices.Compact(slices.Clone(names))) != len(names) {
		t.Errorf("families out of order or repeated: %v", names)
	}
	if len(names) != len(fams) {
		t.Errorf("%d # TYPE lines, %d families parsed", len(names), len(fams))
	}
}

// containsLines reports whether want appears in lines as consecutive whole
// lines.
func containsLines(lines, want []string) bool {
	for i := range lines {
		if i+len(want) <= len(lines) && slices.Equal(lines[i:i+len(want)], want) {
			return true
		}
	}
	return false
}

// TestProcessMetrics: on Linux the process_* metrics are all there, with
// values that make sense for this process.
func TestProcessMetrics(t *testing.T) {
	t.Parallel()
	if runtime.GOOS != "linux" {
		t.Skip("process metrics are read from /proc")
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(scrape(t, New())))
	if err != nil {
		t.Fatal(err)
	}
	value := func(name string) float64 {
		f := fams[name]
		if f == nil || len(f.GetMetric()) != 1 {
			t.Errorf("no %s", name)
			return 0
		}
		s := f.GetMetric()[0]
		return s.GetGauge().GetValue() + s.GetCounter().GetValue()
	}
	now := float64(time.Now().Unix())
	for _, tt := range []struct {
		name     string
		min, max float64
	}{
		{"process_cpu_seconds_total", 0, 3600},
		{"process_resident_memory_bytes", 1 << 20, 1 << 34},
		{"process_virtual_memory_bytes", 1 << 20, 1 << 48},
		{"process_start_time_seconds", now - 3600, now + 1},
		{"process_open_fds", 3, 1 << 20},
		{"process_max_fds", 3, 1 << 64},
		{"go_goroutines", 1, 1 << 20},
		{"go_threads", 1, 1 << 20},
		{"go_memstats_heap_alloc_bytes", 1, 1 << 34},
		{"go_memstats_sys_bytes", 1 << 20, 1 << 34},
	} {
		if v := value(tt.name); v < tt.min || v > tt.max {
			t.Errorf("%s = %g, want between %g and %g", tt.name, v, tt.min, tt.max)
		}
	}
	if f := fams["process_cpu_seconds_total"]; f.GetType() != dto.MetricType_COUNTER {
		t.Errorf("process_cpu_seconds_total is a %v, want a counter", f.GetType())
	}
}

// TestPendingCountFails: a failed count leaves flagbot_pending_changes out
// of that scrape, # HELP and # TYPE included; so does never calling Pending.
func TestPendingCountFails(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		count func(context.Context) ([]int64, error)
	}{
		{"not set", nil},
		{"error", func(context.Context) ([]int64, error) { return nil, errors.New("redis down") }},
		{"wrong length", func(context.Context) ([]int64, error) { return []int64{1}, nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := New()
			if tt.count != nil {
				m.Pending(tt.count, time.Second, slog.New(slog.DiscardHandler))
			}
			if body := scrape(t, m); strings.Contains(body, "flagbot_pending_changes") {
				t.Errorf("flagbot_pending_changes written:\n%s", body)
			}
		})
	}
}

// TestHandlerMethods: GET and HEAD only.
func TestHandlerMethods(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		method   string
		code     int
		wantBody bool
	}{
		{"GET", http.StatusOK, true},
		{"HEAD", http.StatusOK, false},
		{"POST", http.StatusMethodNotAllowed, false},
	} {
		rec := httptest.NewRecorder()
		New().Handler().ServeHTTP(rec, httptest.NewRequest(tt.method, "/metrics", nil))
		if rec.Code != tt.code || strings.Contains(rec.Body.String(), "go_info") != tt.wantBody {
			t.Errorf("%s /metrics = %d %q, want %d (body %v)", tt.method, rec.Code, rec.Body.String(), tt.code, tt.wantBody)
		}
	}
}

// TestConcurrent observes from several goroutines while scraping; run
// under -race. Every observation is counted.
func TestConcurrent(t *testing.T) {
	t.Parallel()
	m := New()
	const workers, each = 4, 200
	var wg sync.WaitGroup
	for i := range workers {
		wg.Go(func() {
			for j := range each {
				m.Command(fmt.Sprintf("c%d", j%3), "ok", time.Millisecond)
				m.Ack("slash_commands", time.Millisecond)
				m.LaunchDarkly(fmt.Sprintf("T%d", i), 200)
			}
		})
	}
	for range 5 {
		scrape(t, m)
	}
	wg.Wait()
	body := scrape(t, m)
	if want := fmt.Sprintf(`flagbot_slack_ack_seconds_count{kind="slash_commands"} %d`, workers*each); !slices.Contains(strings.Split(body, "\n"), want) {
		t.Errorf("no line %s", want)
	}
}

// TestObservationsDoNotAllocate: once a series exists, the per-command
// calls allocate nothing.
func TestObservationsDoNotAllocate(t *testing.T) {
	m := New()
	observeCommand(m)
	if n := testing.AllocsPerRun(100, func() { observeCommand(m) }); n != 0 {
		t.Errorf("%v allocations per command, want 0", n)
	}
}

// observeCommand makes the calls the bot makes for one slash command.
func observeCommand(m *Metrics) {
	m.Ack("slash_commands", 700*time.Microsecond)
	m.LaunchDarkly("T0123456", 200)
	m.Command("show", "ok", 45*time.Millisecond)
}

// BenchmarkObserveCommand measures the calls the bot makes for one slash
// command: an ack, a LaunchDarkly request and the command's outcome.
func BenchmarkObserveCommand(b *testing.B) {
	m := New()
	b.ReportAllocs()
	for b.Loop() {
		observeCommand(m)
	}
}

// BenchmarkScrape measures one exposition with a few dozen series.
func BenchmarkScrape(b *testing.B) {
	m := New()
	for i := range 20 {
		m.Command(fmt.Sprintf("c%d", i%10), "ok", time.Duration(i)*time.Millisecond)
		m.LaunchDarkly(fmt.Sprintf("T%d", i), 200)
	}
	b.ReportAllocs()
	for b.Loop() {
		m.expose(b.Context())
	}
}
