package metrics

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
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
