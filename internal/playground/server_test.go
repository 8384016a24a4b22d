package playground

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/flagbot/flagbot/internal/ld/ldfake"
	"github.com/flagbot/flagbot/internal/slackfake"
)

// newTestServer serves the page for a seeded demo on httptest.
func newTestServer(t *testing.T) (*httptest.Server, *slackfake.Server, *ldfake.Server) {
	t.Helper()
	sl := slackfake.New(t, slackfake.Options{})
	demo := SeedSlack(sl)
	lds := ldfake.New()
	if err := SeedLaunchDarkly(lds, time.Now()); err != nil {
		t.Fatal(err)
	}
	s, err := New(sl, lds, demo, Options{})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(hs.Close)
	return hs, sl, lds
}

func TestPageLists(t *testing.T) {
	t.Parallel()
	hs, _, _ := newTestServer(t)
	resp, err := http.Get(hs.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, want := range []string{
		`<label for="acting-as">Acting as</label>`, `<select id="acting-as">`,
		`<option value="U0ANA">Ana Alves (workspace admin)</option>`, `<option value="U0EVE">Eve Partner (Slack Connect, Partner Co)</option>`,
		`<textarea id="message" aria-label="Message"`, DemoWriterToken, DemoReaderToken, `<option value="mobile">Mobile app</option>`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
		t.Errorf("Content-Security-Policy = %q", csp)
	}
}

func TestAPIGuards(t *testing.T) {
	t.Parallel()
	hs, sl, _ := newTestServer(t)
	post := func(host, contentType, marker, body string) int {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, hs.URL+"/api/compose", strings.NewReader(body))
		if host != "" {
			req.Host = host
		}
		req.Header.Set("Content-Type", contentType)
		if marker != "" {
			req.Header.Set("X-Playground", marker)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	ok := `{"user":"U0BO","text":"hello"}`
	tests := []struct {
		name                      string
		host, ctype, marker, body string
		want                      int
	}{
		{"fine", "", "application/json", "1", ok, http.StatusOK},
		{"localhost", "localhost:8088", "application/json", "1", ok, http.StatusOK},
		{"rebound DNS name", "evil.example:8088", "application/json", "1", ok, http.StatusForbidden},
		{"form post from another site", "", "text/plain", "", ok, http.StatusBadRequest},
		{"no marker", "", "application/json", "", ok, http.StatusBadRequest},
		{"unknown user", "", "application/json", "1", `{"user":"U0NOBODY","text":"x"}`, http.StatusBadRequest},
		{"bad JSON", "", "application/json", "1", `{`, http.StatusBadRequest},
	}
	for _, tt := range tests {
		if got := post(tt.host, tt.ctype, tt.marker, tt.body); got != tt.want {
			t.Errorf("%s: status %d, want %d", tt.name, got, tt.want)
		}
	}
	if msgs := sl.Messages(DemoChannel, DemoMember); len(msgs) != 2 {
		t.Errorf("messages = %+v, want the two accepted ones", msgs)
	}
}

// TestEventsStream reads the SSE stream: a first state, then a new one when
// a message arrives and when LaunchDarkly changes.
func TestEventsStream(t *testing.T) {
	t.Parallel()
	hs, sl, lds := newTestServer(t)
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, hs.URL+"/events?user="+DemoAdmin, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type = %q", ct)
	}
	events := make(chan state, 8)
	go func() {
		defer close(events)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<22)
		for sc.Scan() {
			if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				var st state
				if json.Unmarshal([]byte(data), &st) == nil {
					events <- st
				}
			}
		}
	}()
	next := func(what string) state {
		t.Helper()
		select {
		case st, ok := <-events:
			if !ok {
				t.Fatalf("stream ended waiting for %s", what)
			}
			return st
		case <-time.After(3 * time.Second):
			t.Fatalf("no state event for %s", what)
		}
		return state{}
	}
	first := next("the first state")
	if len(first.Channel) != 0 || !strings.Contains(first.LD, `data-flag="new-checkout"`) {
		t.Fatalf("first state = %+v", first)
	}
	if err := sl.Compose(DemoMember, DemoChannel, "<b>hi</b> *there*"); err != nil {
		t.Fatal(err)
	}
	st := next("the message")
	if len(st.Channel) != 1 || !strings.Contains(st.Channel[0].HTML, "&lt;b&gt;hi&lt;/b&gt; <strong>there</strong>") {
		t.Errorf("channel = %+v", st.Channel)
	}
	lds.AddAuditEntry(ldAuditEntry("Someone turned on the flag"))
	if st := next("the audit entry"); !strings.Contains(st.LD, "Someone turned on the flag") {
		t.Errorf("LaunchDarkly panel lacks the new entry")
	}
}
