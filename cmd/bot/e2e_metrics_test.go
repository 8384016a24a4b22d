package main

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// metricLines returns the /metrics lines of the named series (with
// labels), without comments.
func metricLines(t *testing.T, b *bot, names ...string) map[string]string {
	t.Helper()
	_, body := b.get(t, "/metrics")
	got := map[string]string{}
	for line := range strings.SplitSeq(body, "\n") {
		for _, n := range names {
			if strings.HasPrefix(line, n) {
				series, value, _ := strings.Cut(line, " ")
				got[series] = value
			}
		}
	}
	return got
}

// wantMetric fails unless series has value, polling briefly (sweeps and
// reconnects happen in the background).
func wantMetric(t *testing.T, b *bot, series, value string) {
	t.Helper()
	name, _, _ := strings.Cut(series, "{")
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := metricLines(t, b, name)
		if got[series] == value {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("%s = %q, want %s; have %v", series, got[series], value, got)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestOperatorMetrics is issue 13's alerting list: pending requests by
// age, sweeps, Slack reconnects and LaunchDarkly outcomes per workspace.
func TestOperatorMetrics(t *testing.T) {
	sl, lds := newApprovalSlack(t), newLD(t)
	b := connected(t, sl, lds, writerToken)

	b.command(t, teamID, userID, "show dark-mode")
	// Every request so far (checking the token at connect, then show)
	// was answered 200, for this workspace.
	wantMetric(t, b, `flagbot_launchdarkly_responses_total{outcome="ok",workspace="`+teamID+`"}`, strconv.Itoa(len(lds.Requests())))
	lds.RateLimitNext(1, time.Millisecond)
	b.command(t, teamID, userID, "show dark-mode")
	wantMetric(t, b, `flagbot_launchdarkly_responses_total{outcome="rate_limited",workspace="`+teamID+`"}`, "1")
	b.command(t, teamID, userID, "show no-such-flag")
	wantMetric(t, b, `flagbot_launchdarkly_responses_total{outcome="client_error",workspace="`+teamID+`"}`, "1")

	wantMetric(t, b, `flagbot_pending_changes{age="under_1h"}`, "0")
	b.request(t, userID, "on dark-mode production")
	wantMetric(t, b, `flagbot_pending_changes{age="under_1h"}`, "1")
	wantMetric(t, b, `flagbot_pending_changes{age="over_6h"}`, "0")

	wantMetric(t, b, `flagbot_sweeps_total{outcome="swept"}`, "1")
	if v := metricLines(t, b, "flagbot_sweep_last_success_timestamp_seconds")["flagbot_sweep_last_success_timestamp_seconds"]; v == "" || v == "0" {
		t.Errorf("flagbot_sweep_last_success_timestamp_seconds = %q, want the time of the first sweep", v)
	}

	wantMetric(t, b, "flagbot_slack_reconnects_total", "0")
	sl.Disconnect("refresh_requested")
	wantMetric(t, b, "flagbot_slack_reconnects_total", "1")
}
