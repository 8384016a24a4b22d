package ld_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flagbot/flagbot/internal/ld"
	"github.com/flagbot/flagbot/internal/ld/ldtest"
	"github.com/flagbot/flagbot/internal/secret"
)

const testToken = "api-00000000-1111-2222-3333-SECRETSECRET"

// sleeper records the waits a client asks for instead of sleeping.
type sleeper struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (s *sleeper) Sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.waits = append(s.waits, d)
	return ctx.Err()
}

func (s *sleeper) Waits() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.waits...)
}

// hostGuard is a transport that fails the test for any request to a host
// other than the test server's, a tripwire against following foreign links.
type hostGuard struct {
	t    testing.TB
	host string
	next http.RoundTripper
}

func (g hostGuard) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Host != g.host {
		g.t.Errorf("request to foreign host %q: %s", r.URL.Host, r.URL)
		return nil, errors.New("foreign host")
	}
	return g.next.RoundTrip(r)
}

// newClient returns a client for baseURL with the test token, a recording
// sleeper, and a log buffer at debug level.
func newClient(t *testing.T, baseURL string, opts ld.Options) (*ld.Client, *sleeper, *bytes.Buffer) {
	t.Helper()
	sl := &sleeper{}
	var logBuf bytes.Buffer
	var mu sync.Mutex
	if opts.Sleep == nil {
		opts.Sleep = sl.Sleep
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(&lockedWriter{mu: &mu, w: &logBuf}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if opts.HTTPClient == nil {
		u, err := url.Parse(baseURL)
		if err != nil {
			t.Fatal(err)
		}
		opts.HTTPClient = &http.Client{Timeout: 5 * time.Second, Transport: hostGuard{t: t, host: u.Host, next: http.DefaultTransport}}
	}
	c, err := ld.NewClient(baseURL, opts)
	if err != nil {
		t.Fatalf("NewClient(%q) = %v", baseURL, err)
	}
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		if strings.Contains(logBuf.String(), testToken) {
			t.Errorf("log output contains the token:\n%s", logBuf.String())
		}
	})
	return c.WithToken(secret.Secret(testToken)), sl, &logBuf
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// rawServer starts an httptest server on mux; any path nobody registered
// fails the test.
func rawServer(t *testing.T) (*http.ServeMux, *httptest.Server) {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("unexpected request %s %s", r.Method, r.URL)
		http.Error(w, "unexpected", http.StatusTeapot)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return mux, srv
}

// fakeLD starts an ldtest server that knows testToken.
func fakeLD(t *testing.T) *ldtest.Server {
	t.Helper()
	s := ldtest.NewServer(t)
	s.AddToken(testToken, ldtest.TokenInfo{ID: "tok-1", Name: "flagbot", Role: "reader", MemberID: "m-1"})
	return s
}

// checkNoToken fails the test if err's text holds the token.
func checkNoToken(t *testing.T, err error) {
	t.Helper()
	if err != nil && strings.Contains(err.Error(), testToken) {
		t.Errorf("error %q contains the token", err)
	}
	if err != nil && strings.Contains(fmt.Sprintf("%+v %#v", err, err), testToken) {
		t.Errorf("formatted error contains the token")
	}
}

func TestNewClient(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    string // BaseURL; "" means an error is expected
		wantErr bool
	}{
		{in: "https://app.launchdarkly.com", want: "https://app.launchdarkly.com"},
		{in: "https://app.launchdarkly.com/", want: "https://app.launchdarkly.com"},
		{in: "http://127.0.0.1:8080/ld", want: "http://127.0.0.1:8080/ld"},
		{in: "https://app.eu.launchdarkly.com?x=1#f", want: "https://app.eu.launchdarkly.com"},
		{in: "ftp://app.launchdarkly.com", wantErr: true},
		{in: "app.launchdarkly.com", wantErr: true},
		{in: "https://", wantErr: true},
		{in: "https://user:pw@app.launchdarkly.com", wantErr: true},
		{in: "://bad", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			c, err := ld.NewClient(tt.in, ld.Options{})
			if tt.wantErr {
				if err == nil {
					t.Fatalf("NewClient(%q) = nil error, want one", tt.in)
				}
				if strings.Contains(err.Error(), "pw") {
					t.Errorf("error %q shows URL credentials", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("NewClient(%q) = %v", tt.in, err)
			}
			if got := c.BaseURL(); got != tt.want {
				t.Errorf("BaseURL() = %q, want %q", got, tt.want)
			}
			if got := c.WithToken("x").BaseURL(); got != tt.want {
				t.Errorf("WithToken().BaseURL() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestHeaders(t *testing.T) {
	t.Parallel()
	mux, srv := rawServer(t)
	check := func(r *http.Request, wantContentType string) {
		t.Helper()
		want := map[string]string{
			"Authorization":  testToken,
			"Ld-Api-Version": "20240415",
			"Accept":         "application/json",
			"User-Agent":     "flagbot-test/1.0",
			"Content-Type":   wantContentType,
		}
		for h, v := range want {
			if got := r.Header.Get(h); got != v {
				t.Errorf("%s %s: header %s = %q, want %q", r.Method, r.URL.Path, h, got, v)
			}
		}
	}
	mux.HandleFunc("GET /api/v2/caller-identity", func(w http.ResponseWriter, r *http.Request) {
		check(r, "")
		fmt.Fprint(w, `{"tokenId":"t1","unknownField":{"x":1}}`)
	})
	mux.HandleFunc("POST /api/v2/projects/web/environments/production/contexts/search", func(w http.ResponseWriter, r *http.Request) {
		check(r, "application/json")
		var body map[string]any
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			t.Errorf("decode body: %v", err)
		}
		want := map[string]any{"filter": `q equals "ana"`, "sort": "-ts", "limit": float64(50)}
		if fmt.Sprint(body) != fmt.Sprint(want) {
			t.Errorf("search body = %v, want %v", body, want)
		}
		fmt.Fprint(w, `{"items":[{"context":{"kind":"user","key":"ana"}}]}`)
	})
	c, _, _ := newClient(t, srv.URL, ld.Options{UserAgent: "flagbot-test/1.0"})
	id, err := c.CallerIdentity(t.Context())
	if err != nil || id.TokenID != "t1" {
		t.Fatalf("CallerIdentity() = %+v, %v; want tokenId t1", id, err)
	}
	recs, err := c.SearchContexts(t.Context(), "web", "production", ld.ContextSearch{Filter: `q equals "ana"`, Limit: 500})
	if err != nil || len(recs) != 1 {
		t.Fatalf("SearchContexts() = %v, %v; want 1 record", recs, err)
	}
}

func TestDefaultUserAgentAndNoToken(t *testing.T) {
	t.Parallel()
	mux, srv := rawServer(t)
	mux.HandleFunc("GET /api/v2/caller-identity", func(w http.ResponseWriter, r *http.Request) {
		if got := r.Header.Get("User-Agent"); got != "flagbot" {
			t.Errorf("User-Agent = %q, want flagbot", got)
		}
		if _, ok := r.Header["Authorization"]; ok {
			t.Errorf("a client without token sent Authorization")
		}
		w.WriteHeader(http.StatusUnauthorized)
	})
	c, err := ld.NewClient(srv.URL, ld.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.CallerIdentity(t.Context())
	if !errors.Is(err, ld.ErrUnauthorized) {
		t.Fatalf("CallerIdentity() error = %v, want ErrUnauthorized", err)
	}
	var apiErr *ld.APIError
	if !errors.As(err, &apiErr) || apiErr.Message != "" || apiErr.Status != 401 || apiErr.Path != "/api/v2/caller-identity" || apiErr.Method != "GET" {
		t.Errorf("APIError = %+v, want status 401 with empty message for GET /api/v2/caller-identity", apiErr)
	}
	if !strings.Contains(err.Error(), "Unauthorized") {
		t.Errorf("error %q does not fall back to the status text", err)
	}
}

func TestPathSegmentsEscaped(t *testing.T) {
	t.Parallel()
	mux, srv := rawServer(t)
	var got []string
	var mu sync.Mutex
	record := func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.URL.EscapedPath()+"?"+r.URL.RawQuery)
		mu.Unlock()
		fmt.Fprint(w, `{"key":"k","items":[]}`)
	}
	mux.HandleFunc("/api/v2/", record)
	c, _, _ := newClient(t, srv.URL+"/", ld.Options{})
	ctx := t.Context()
	if _, err := c.GetFlag(ctx, "my proj", "a/b?c", "prod", "stag ing"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetSegment(ctx, "p", "e", "../x"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetContexts(ctx, "p", "e", "user", "ana@example.com/1"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetToken(ctx, "t#1"); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"/api/v2/flags/my%20proj/a%2Fb%3Fc?env=prod&env=stag+ing",
		"/api/v2/segments/p/e/..%2Fx?",
		"/api/v2/projects/p/environments/e/contexts/user/ana@example.com%2F1?",
		"/api/v2/tokens/t%231?",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("paths =\n%q\nwant\n%q", got, want)
	}
}

func TestListProjectsPaging(t *testing.T) {
	t.Parallel()
	s := fakeLD(t)
	for i := range 120 {
		s.AddProject(ld.Project{Key: fmt.Sprintf("p%03d", i)})
	}
	c, _, _ := newClient(t, s.URL(), ld.Options{})
	ps, err := c.ListProjects(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 120 || ps[0].Key != "p000" || ps[119].Key != "p119" {
		t.Fatalf("ListProjects() returned %d projects (first %v), want 120 in order", len(ps), ps[:1])
	}
	reqs := s.Requests()
	var offsets []string
	for _, r := range reqs {
		offsets = append(offsets, r.Query.Get("offset"))
	}
	if fmt.Sprint(offsets) != "[ 50 100]" {
		t.Errorf("page offsets = %q, want first page then 50, 100", offsets)
	}
}

func TestNextLinkToForeignHostStaysOnBase(t *testing.T) {
	t.Parallel()
	mux, srv := rawServer(t)
	var calls []string
	mux.HandleFunc("GET /api/v2/projects/web/environments", func(w http.ResponseWriter, r *http.Request) {
		calls = append(calls, r.URL.RawQuery)
		switch r.URL.Query().Get("offset") {
		case "":
			fmt.Fprint(w, `{"items":[{"key":"a"}],"_links":{"next":{"href":"http://evil.invalid/api/v2/projects/web/environments?limit=1&offset=1"}}}`)
		case "1":
			fmt.Fprint(w, `{"items":[{"key":"b"}],"_links":{"next":{"href":"//evil.invalid/api/v2/projects/web/environments?limit=1&offset=2"}}}`)
		default:
			fmt.Fprint(w, `{"items":[{"key":"c"}],"_links":{}}`)
		}
	})
	c, _, _ := newClient(t, srv.URL, ld.Options{})
	envs, err := c.ListEnvironments(t.Context(), "web")
	if err != nil {
		t.Fatal(err)
	}
	if len(envs) != 3 || envs[2].Key != "c" {
		t.Errorf("ListEnvironments() = %+v, want a, b, c", envs)
	}
	if len(calls) != 3 {
		t.Errorf("calls = %q, want 3 on the base host", calls)
	}
}

func TestNextLinkUnderBasePath(t *testing.T) {
	t.Parallel()
	mux, srv := rawServer(t)
	mux.HandleFunc("GET /proxy/api/v2/projects", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("offset") == "" {
			fmt.Fprint(w, `{"items":[{"key":"a"}],"totalCount":2,"_links":{"next":{"href":"/api/v2/projects?limit=1&offset=1"}}}`)
			return
		}
		fmt.Fprint(w, `{"items":[{"key":"b"}],"totalCount":2}`)
	})
	c, _, _ := newClient(t, srv.URL+"/proxy", ld.Options{})
	ps, err := c.ListProjects(t.Context())
	if err != nil || len(ps) != 2 {
		t.Fatalf("ListProjects() = %v, %v; want 2 projects", ps, err)
	}
}

func TestPagingStopsOnMisbehavingServer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		next      func(n int) string
		wantCalls int
	}{
		{name: "endless next", next: func(n int) string { return fmt.Sprintf("/api/v2/projects?limit=50&offset=%d", n*50) }, wantCalls: 50},
		{name: "self loop", next: func(int) string { return "/api/v2/projects?limit=50&offset=50" }, wantCalls: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			mux, srv := rawServer(t)
			calls := 0
			mux.HandleFunc("GET /api/v2/projects", func(w http.ResponseWriter, r *http.Request) {
				calls++
				fmt.Fprintf(w, `{"items":[{"key":"p%d"}],"_links":{"next":{"href":%q}}}`, calls, tt.next(calls))
			})
			c, _, _ := newClient(t, srv.URL, ld.Options{})
			ps, err := c.ListProjects(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if calls != tt.wantCalls || len(ps) != tt.wantCalls {
				t.Errorf("calls = %d, projects = %d; want %d", calls, len(ps), tt.wantCalls)
			}
		})
	}
}

func TestSegmentsOffsetFallback(t *testing.T) {
	t.Parallel()
	mux, srv := rawServer(t)
	var offsets []string
	mux.HandleFunc("GET /api/v2/segments/web/production", func(w http.ResponseWriter, r *http.Request) {
		off := r.URL.Query().Get("offset")
		offsets = append(offsets, off)
		n, _ := strconv.Atoi(off)
		var items []string
		for i := n; i < min(n+2, 5); i++ {
			items = append(items, fmt.Sprintf(`{"key":"s%d"}`, i))
		}
		// No _links.next, as seen from LaunchDarkly on segment lists.
		fmt.Fprintf(w, `{"items":[%s],"totalCount":5}`, strings.Join(items, ","))
	})
	c, _, _ := newClient(t, srv.URL, ld.Options{})
	segs, err := c.ListSegments(t.Context(), "web", "production")
	if err != nil {
		t.Fatal(err)
	}
	if len(segs) != 5 || segs[4].Key != "s4" {
		t.Errorf("ListSegments() = %+v, want s0..s4", segs)
	}
	if fmt.Sprint(offsets) != "[ 2 4]" {
		t.Errorf("offsets = %q, want [ 2 4]", offsets)
	}
}

func TestRateLimitThenSuccess(t *testing.T) {
	t.Parallel()
	s := fakeLD(t)
	s.AddProject(ld.Project{Key: "web"})
	s.RateLimitNext(2, 3*time.Second)
	c, sl, _ := newClient(t, s.URL(), ld.Options{})
	ps, err := c.ListProjects(t.Context())
	if err != nil || len(ps) != 1 {
		t.Fatalf("ListProjects() = %v, %v; want 1 project", ps, err)
	}
	waits := sl.Waits()
	if len(waits) != 2 {
		t.Fatalf("waits = %v, want 2", waits)
	}
	for _, w := range waits {
		if w < 3*time.Second || w > 3750*time.Millisecond {
			t.Errorf("wait %v, want Retry-After 3s plus at most 25%% jitter", w)
		}
	}
	if n := len(s.Requests()); n != 3 {
		t.Errorf("requests = %d, want 3", n)
	}
}

func TestRateLimitedWritesAreRetried(t *testing.T) {
	t.Parallel()
	s := fakeLD(t)
	s.AddProject(ld.Project{Key: "web"}, ldtest.EnvSpec{Key: "production"})
	s.RateLimitNext(1, time.Second)
	c, sl, _ := newClient(t, s.URL(), ld.Options{})
	if _, err := c.SearchContexts(t.Context(), "web", "production", ld.ContextSearch{}); err != nil {
		t.Fatalf("SearchContexts() after one 429 = %v", err)
	}
	reqs := s.Requests()
	if len(reqs) != 2 || len(sl.Waits()) != 1 {
		t.Fatalf("requests = %d, waits = %v; want 2 requests, 1 wait", len(reqs), sl.Waits())
	}
	if !bytes.Equal(reqs[0].Body, reqs[1].Body) || len(reqs[1].Body) == 0 {
		t.Errorf("retried body %q differs from first %q", reqs[1].Body, reqs[0].Body)
	}
}

func TestRateLimitForever(t *testing.T) {
	t.Parallel()
	s := fakeLD(t)
	s.RateLimitNext(100, 40*time.Second)
	c, sl, _ := newClient(t, s.URL(), ld.Options{MaxRetries: 2, MaxWait: 5 * time.Second})
	_, err := c.CallerIdentity(t.Context())
	var rl *ld.RateLimitError
	if !errors.As(err, &rl) {
		t.Fatalf("CallerIdentity() error = %v, want *RateLimitError", err)
	}
	if !errors.Is(err, ld.ErrRateLimited) || rl.Code != "rate_limited" || rl.RetryAfter != 5*time.Second {
		t.Errorf("error = %+v, want rate_limited with RetryAfter clamped to 5s", rl)
	}
	if n := len(s.Requests()); n != 3 {
		t.Errorf("requests = %d, want 1 + MaxRetries = 3", n)
	}
	for _, w := range sl.Waits() {
		if w != 5*time.Second {
			t.Errorf("wait %v, want MaxWait 5s", w)
		}
	}
	checkNoToken(t, err)
}

func TestServerErrorsRetriedForReadsOnly(t *testing.T) {
	t.Parallel()
	t.Run("GET then success", func(t *testing.T) {
		t.Parallel()
		s := fakeLD(t)
		s.FailNext(2, http.StatusServiceUnavailable, "service_unavailable", "Requested service unavailable")
		c, sl, _ := newClient(t, s.URL(), ld.Options{})
		if _, err := c.CallerIdentity(t.Context()); err != nil {
			t.Fatalf("CallerIdentity() = %v", err)
		}
		waits := sl.Waits()
		if len(waits) != 2 || waits[0] < 250*time.Millisecond || waits[1] < 500*time.Millisecond || waits[1] > 625*time.Millisecond {
			t.Errorf("waits = %v, want about 250ms then 500ms", waits)
		}
	})
	t.Run("GET exhausted", func(t *testing.T) {
		t.Parallel()
		s := fakeLD(t)
		s.FailNext(10, http.StatusBadGateway, "", "")
		c, _, _ := newClient(t, s.URL(), ld.Options{})
		_, err := c.ListProjects(t.Context())
		if !errors.Is(err, ld.ErrUnavailable) {
			t.Fatalf("ListProjects() error = %v, want ErrUnavailable", err)
		}
		if n := len(s.Requests()); n != 4 {
			t.Errorf("requests = %d, want 4", n)
		}
		checkNoToken(t, err)
	})
	t.Run("POST not retried", func(t *testing.T) {
		t.Parallel()
		s := fakeLD(t)
		s.FailNext(1, http.StatusServiceUnavailable, "service_unavailable", "Requested service unavailable")
		c, _, _ := newClient(t, s.URL(), ld.Options{})
		_, err := c.SearchContexts(t.Context(), "web", "production", ld.ContextSearch{})
		if !errors.Is(err, ld.ErrUnavailable) {
			t.Fatalf("SearchContexts() error = %v, want ErrUnavailable", err)
		}
		if n := len(s.Requests()); n != 1 {
			t.Errorf("requests = %d, want 1", n)
		}
	})
}

func TestNetworkFailure(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c, sl, _ := newClient(t, "http://"+addr, ld.Options{})
	_, err = c.GetFlag(t.Context(), "web", "f")
	if !errors.Is(err, ld.ErrUnavailable) {
		t.Fatalf("GetFlag() error = %v, want ErrUnavailable", err)
	}
	if n := len(sl.Waits()); n != 3 {
		t.Errorf("waits = %d, want 3 retries", n)
	}
	checkNoToken(t, err)
}

func TestErrorMapping(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status int
		code   string
		want   error
	}{
		{http.StatusBadRequest, "invalid_request", ld.ErrBadRequest},
		{http.StatusUnauthorized, "unauthorized", ld.ErrUnauthorized},
		{http.StatusForbidden, "forbidden", ld.ErrForbidden},
		{http.StatusNotFound, "not_found", ld.ErrNotFound},
		{http.StatusMethodNotAllowed, "method_not_allowed", ld.ErrMethodNotAllowed},
		{http.StatusConflict, "optimistic_locking_error", ld.ErrConflict},
		{http.StatusUnprocessableEntity, "patch_failed", ld.ErrBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			t.Parallel()
			s := fakeLD(t)
			s.FailNext(1, tt.status, tt.code, "the message")
			c, sl, _ := newClient(t, s.URL(), ld.Options{})
			_, err := c.GetFlag(t.Context(), "web", "f")
			if !errors.Is(err, tt.want) {
				t.Fatalf("GetFlag() error = %v, want %v", err, tt.want)
			}
			var apiErr *ld.APIError
			if !errors.As(err, &apiErr) || apiErr.Status != tt.status || apiErr.Code != tt.code ||
				apiErr.Message != "the message" || apiErr.ID == "" || apiErr.Path != "/api/v2/flags/web/f" {
				t.Errorf("APIError = %+v", apiErr)
			}
			if len(sl.Waits()) != 0 || len(s.Requests()) != 1 {
				t.Errorf("a %d was retried", tt.status)
			}
			checkNoToken(t, err)
		})
	}
}

func TestUnknownResourcesAreNotFound(t *testing.T) {
	t.Parallel()
	s := fakeLD(t)
	s.AddProject(ld.Project{Key: "web"}, ldtest.EnvSpec{Key: "production"})
	c, _, _ := newClient(t, s.URL(), ld.Options{})
	ctx := t.Context()
	calls := map[string]func() error{
		"environments": func() error { _, err := c.ListEnvironments(ctx, "nope"); return err },
		"flag":         func() error { _, err := c.GetFlag(ctx, "web", "nope"); return err },
		"flags":        func() error { _, err := c.ListFlags(ctx, "nope", ld.FlagListOptions{}); return err },
		"segments":     func() error { _, err := c.ListSegments(ctx, "web", "nope"); return err },
		"segment":      func() error { _, err := c.GetSegment(ctx, "web", "production", "nope"); return err },
		"context":      func() error { _, err := c.GetContexts(ctx, "web", "production", "user", "nope"); return err },
		"token":        func() error { _, err := c.GetToken(ctx, "nope"); return err },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, ld.ErrNotFound) {
			t.Errorf("%s: error = %v, want ErrNotFound", name, err)
		}
	}
}

func TestInvalidTokenNeverLeaks(t *testing.T) {
	t.Parallel()
	s := ldtest.NewServer(t) // knows no token at all
	c, _, _ := newClient(t, s.URL(), ld.Options{})
	_, err := c.CallerIdentity(t.Context())
	if !errors.Is(err, ld.ErrUnauthorized) {
		t.Fatalf("CallerIdentity() error = %v, want ErrUnauthorized", err)
	}
	checkNoToken(t, err)
	if got := s.Requests()[0].Token; got != testToken {
		t.Errorf("Authorization = %q, want the raw token", got)
	}
}

func TestOversizedBody(t *testing.T) {
	t.Parallel()
	mux, srv := rawServer(t)
	mux.HandleFunc("GET /api/v2/flags/web/big", func(w http.ResponseWriter, r *http.Request) {
		// A valid JSON document just over the 8 MiB cap.
		fmt.Fprint(w, `{"key":"big","description":"`)
		chunk := strings.Repeat("x", 1<<16)
		for range 8 << 4 {
			fmt.Fprint(w, chunk)
		}
		fmt.Fprint(w, `"}`)
	})
	c, _, _ := newClient(t, srv.URL, ld.Options{})
	f, err := c.GetFlag(t.Context(), "web", "big")
	if err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("GetFlag() = key %q, error %v; want a size error", f.Key, err)
	}
}

func TestOversizedErrorBodyStillClassified(t *testing.T) {
	t.Parallel()
	mux, srv := rawServer(t)
	mux.HandleFunc("GET /api/v2/flags/web/f", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, strings.Repeat("<html>", 50000))
	})
	c, _, _ := newClient(t, srv.URL, ld.Options{})
	_, err := c.GetFlag(t.Context(), "web", "f")
	if !errors.Is(err, ld.ErrForbidden) {
		t.Fatalf("GetFlag() error = %v, want ErrForbidden", err)
	}
	if len(err.Error()) > 200 {
		t.Errorf("error text is %d bytes; the raw body must not be in it", len(err.Error()))
	}
}

func TestContextCancelStopsWaiting(t *testing.T) {
	t.Parallel()
	s := fakeLD(t)
	s.RateLimitNext(5, 10*time.Second)
	c, err := ld.NewClient(s.URL(), ld.Options{}) // real sleep
	if err != nil {
		t.Fatal(err)
	}
	c = c.WithToken(testToken)
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	_, err = c.ListProjects(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("ListProjects() error = %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("cancel took %v to stop the wait", d)
	}
	checkNoToken(t, err)
}

func TestLogsCarryNoToken(t *testing.T) {
	t.Parallel()
	s := fakeLD(t)
	s.FailNext(1, http.StatusServiceUnavailable, "service_unavailable", "down")
	c, _, logs := newClient(t, s.URL(), ld.Options{})
	if _, err := c.CallerIdentity(t.Context()); err != nil {
		t.Fatal(err)
	}
	out := logs.String()
	for _, want := range []string{"path=/api/v2/caller-identity", "status=503", "status=200", "component=ld"} {
		if !strings.Contains(out, want) {
			t.Errorf("log output lacks %q:\n%s", want, out)
		}
	}
	// The cleanup registered by newClient checks the token is absent.
}

func TestNegativeMaxRetriesDisablesRetries(t *testing.T) {
	t.Parallel()
	s := fakeLD(t)
	s.RateLimitNext(1, time.Second)
	c, sl, _ := newClient(t, s.URL(), ld.Options{MaxRetries: -1})
	_, err := c.CallerIdentity(t.Context())
	var rl *ld.RateLimitError
	if !errors.As(err, &rl) || rl.RetryAfter != time.Second {
		t.Fatalf("CallerIdentity() error = %v, want *RateLimitError with RetryAfter 1s", err)
	}
	if len(s.Requests()) != 1 || len(sl.Waits()) != 0 {
		t.Errorf("requests %d, waits %v; want 1 and none", len(s.Requests()), sl.Waits())
	}
}

// TestObserveEveryAttempt: Observe hears each attempt's status with the
// request's context, including the 429s that were retried.
func TestObserveEveryAttempt(t *testing.T) {
	t.Parallel()
	s := fakeLD(t)
	s.AddProject(ld.Project{Key: "web"})
	s.RateLimitNext(2, time.Second)
	type key struct{}
	var (
		mu   sync.Mutex
		seen []string
	)
	c, _, _ := newClient(t, s.URL(), ld.Options{Observe: func(ctx context.Context, status int) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, fmt.Sprintf("%v:%d", ctx.Value(key{}), status))
	}})
	ctx := context.WithValue(t.Context(), key{}, "T1")
	if _, err := c.ListProjects(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetFlag(ctx, "web", "nope"); err == nil {
		t.Fatal("GetFlag of a missing flag succeeded")
	}
	mu.Lock()
	defer mu.Unlock()
	if got, want := strings.Join(seen, " "), "T1:429 T1:429 T1:200 T1:404"; got != want {
		t.Errorf("observed %q, want %q", got, want)
	}
}
