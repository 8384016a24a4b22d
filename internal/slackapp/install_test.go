package slackapp

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/flagbot/flagbot/internal/commands"
	"github.com/flagbot/flagbot/internal/secret"
	"github.com/flagbot/flagbot/internal/slackfake"
)

// memStates is a StateStore in memory, on the test's clock.
type memStates struct {
	mu   sync.Mutex
	now  func() time.Time
	keys map[string]time.Time // key -> expiry
	fail error
}

func (m *memStates) SetIfAbsent(_ context.Context, key string, _ []byte, ttl time.Duration) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return false, m.fail
	}
	if exp, ok := m.keys[key]; ok && m.now().Before(exp) {
		return false, nil
	}
	m.keys[key] = m.now().Add(ttl)
	return true, nil
}

func (m *memStates) Take(_ context.Context, key string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return false, m.fail
	}
	exp, ok := m.keys[key]
	delete(m.keys, key)
	return ok && m.now().Before(exp), nil
}

// memInstalls records installations.
type memInstalls struct {
	mu   sync.Mutex
	got  []commands.Installation
	fail error
}

func (m *memInstalls) PutInstallation(_ context.Context, inst commands.Installation) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	m.got = append(m.got, inst)
	return nil
}

func (m *memInstalls) all() []commands.Installation {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]commands.Installation(nil), m.got...)
}

// installRig is the install listener in front of a fake Slack, with a
// settable clock and a log.
type installRig struct {
	slack    *slackfake.Server
	inst     *Installer
	srv      *httptest.Server
	states   *memStates
	installs *memInstalls
	logs     *bytes.Buffer
	mu       sync.Mutex
	now      time.Time
}

func (r *installRig) clock() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.now
}

func (r *installRig) advance(d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.now = r.now.Add(d)
}

func newInstallRig(t *testing.T) *installRig {
	t.Helper()
	r := &installRig{slack: slackfake.New(t, slackfake.Options{}), installs: &memInstalls{}, logs: &bytes.Buffer{},
		now: time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)}
	r.slack.AddTeam(slackfake.Team{ID: "T0NEW", Name: "New Team"})
	r.slack.AddTeam(slackfake.Team{ID: "T0GRID", Name: "Grid Team", EnterpriseID: "E0ORG", EnterpriseName: "Big Org"})
	r.states = &memStates{now: r.clock, keys: map[string]time.Time{}}
	mux := http.NewServeMux()
	r.srv = httptest.NewServer(mux)
	t.Cleanup(r.srv.Close)
	var err error
	r.inst, err = NewInstaller(InstallConfig{ClientID: slackfake.DefaultClientID, ClientSecret: slackfake.DefaultClientSecret, PublicURL: r.srv.URL + "/"},
		r.installs, r.states, slog.New(slog.NewJSONHandler(syncWriter{&r.mu, r.logs}, nil)), Options{APIURL: r.slack.APIURL(), Now: r.clock})
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle("/", r.inst.Handler())
	return r
}

// syncWriter guards a buffer the handlers log into.
type syncWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (s syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func (r *installRig) log() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.logs.String()
}

// browser is a web browser: cookies, no automatic redirects.
type browser struct {
	c *http.Client
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// get fetches u and returns the status, the body and the redirect target.
func (b *browser) get(t *testing.T, u string) (int, string, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body), resp.Header.Get("Location")
}

// addLink finds the Add to Slack link in a page.
func addLink(page string) []string {
	return regexp.MustCompile(`<a class="button" href="([^"]+)">Add to Slack</a>`).FindStringSubmatch(page)
}

// start opens the install page and returns the Add to Slack link.
func (r *installRig) start(t *testing.T, b *browser) string {
	t.Helper()
	status, body, _ := b.get(t, r.srv.URL+InstallPath)
	m := addLink(body)
	if status != http.StatusOK || m == nil {
		t.Fatalf("install page = %d:\n%s", status, body)
	}
	return strings.ReplaceAll(m[1], "&amp;", "&")
}

// approve follows the link to Slack's authorize page and returns where
// Slack sends the browser back.
func (r *installRig) approve(t *testing.T, b *browser, link string) string {
	t.Helper()
	status, body, loc := b.get(t, link)
	if status != http.StatusFound || !strings.HasPrefix(loc, r.srv.URL+RedirectPath+"?") {
		t.Fatalf("authorize = %d to %q: %s", status, loc, body)
	}
	return loc
}

// normalize makes a page stable for its golden file: the state, the
// reference id and the test server's address vary.
func normalize(page string, r *installRig) string {
	page = regexp.MustCompile(`state=v1\.[A-Za-z0-9_.%-]+`).ReplaceAllString(page, "state=STATE")
	page = regexp.MustCompile(`Reference: [0-9a-f]{6}`).ReplaceAllString(page, "Reference: REF")
	page = regexp.MustCompile(`redirect_uri=[^&"]+`).ReplaceAllString(page, "redirect_uri=REDIRECT")
	page = strings.ReplaceAll(page, r.slack.URL(), "SLACK")
	return strings.ReplaceAll(page, r.srv.URL, "PUBLIC_URL")
}

func goldenHTML(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name+".html")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run go test -update to create it): %v", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from %s:\n%s", name, path, got)
	}
}

// TestInstallHappyPath: the install page, Slack's approval, and the
// redirect store exactly what Slack granted, sealed by the store, and say
// what to do next.
func TestInstallHappyPath(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		auth slackfake.Authorization
		want func(tok string, r *installRig) commands.Installation
	}{
		{"workspace", slackfake.Authorization{TeamID: "T0NEW", UserID: "UANA"}, func(tok string, r *installRig) commands.Installation {
			return commands.Installation{TeamID: "T0NEW", TeamName: "New Team", BotToken: secret.Secret(tok), BotUserID: "UB0NEW",
				AppID: slackfake.AppID, Scopes: strings.Join(BotScopes(), ","), InstalledBy: "UANA", InstalledAt: r.clock()}
		}},
		{"org-wide", slackfake.Authorization{EnterpriseID: "E0ORG", EnterpriseInstall: true, UserID: "WORGADMIN"}, func(tok string, r *installRig) commands.Installation {
			return commands.Installation{EnterpriseID: "E0ORG", EnterpriseName: "Big Org", EnterpriseInstall: true, BotToken: secret.Secret(tok),
				BotUserID: "UBE0ORG", AppID: slackfake.AppID, Scopes: strings.Join(BotScopes(), ","), InstalledBy: "WORGADMIN", InstalledAt: r.clock()}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := newInstallRig(t)
			b := newBrowser(t)
			status, page, _ := b.get(t, r.srv.URL+InstallPath)
			if status != http.StatusOK {
				t.Fatalf("install page: %d", status)
			}
			if tt.name == "workspace" {
				goldenHTML(t, "install_page", normalize(page, r))
			}
			link := strings.ReplaceAll(addLink(page)[1], "&amp;", "&")
			u, _ := url.Parse(link)
			if got := u.Scheme + "://" + u.Host + u.Path; got != r.slack.AuthorizeURL() {
				t.Errorf("the link goes to %s, want Slack's authorize page %s", got, r.slack.AuthorizeURL())
			}
			if q := u.Query(); q.Get("client_id") != slackfake.DefaultClientID || q.Get("scope") != strings.Join(BotScopes(), ",") ||
				q.Get("redirect_uri") != r.srv.URL+RedirectPath {
				t.Errorf("authorize query = %v", q)
			}
			r.slack.NextAuthorization(tt.auth)
			status, page, _ = b.get(t, r.approve(t, b, link))
			if status != http.StatusOK {
				t.Fatalf("redirect = %d:\n%s", status, page)
			}
			got := r.installs.all()
			if len(got) != 1 {
				t.Fatalf("stored %d installations, want 1", len(got))
			}
			served := tt.auth.TeamID
			if served == "" {
				served = "T0GRID"
			}
			slackSide, ok := r.slack.Installed(served)
			if !ok {
				t.Fatal("the fake Slack has no installation")
			}
			if want := tt.want(slackSide.Token, r); got[0] != want {
				t.Errorf("stored %+v,\nwant   %+v", got[0], want)
			}
			goldenHTML(t, "install_done_"+tt.name, normalize(page, r))
			for _, s := range []string{slackSide.Token, slackfake.DefaultClientSecret} {
				if strings.Contains(r.log(), s) || strings.Contains(page, s) {
					t.Errorf("a secret reached the log or the page")
				}
			}
			if !strings.Contains(r.log(), `"msg":"installed"`) {
				t.Errorf("no installed line in the log:\n%s", r.log())
			}
		})
	}
}

// TestInstallRefusals: every way a redirect can go wrong answers a page
// saying what to do, stores nothing, and logs the reason under the page's
// reference.
func TestInstallRefusals(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		run    func(t *testing.T, r *installRig) (status int, page string)
		status int
		title  string
		logs   string
	}{
		{"denied in Slack", func(t *testing.T, r *installRig) (int, string) {
			b := newBrowser(t)
			r.slack.NextAuthorization(slackfake.Authorization{Deny: true})
			s, p, _ := b.get(t, r.approve(t, b, r.start(t, b)))
			return s, p
		}, http.StatusOK, "Flagbot was not installed", `"slack_error":"access_denied"`},
		{"replayed state", func(t *testing.T, r *installRig) (int, string) {
			b := newBrowser(t)
			back := r.approve(t, b, r.start(t, b))
			if s, p, _ := b.get(t, back); s != http.StatusOK {
				t.Fatalf("first redirect = %d: %s", s, p)
			}
			// The same redirect again, cookie set again as an attacker with
			// the whole URL would.
			u, _ := url.Parse(back)
			b.c.Jar.SetCookies(u, []*http.Cookie{{Name: stateCookie, Value: u.Query().Get("state"), Path: "/slack/"}})
			s, p, _ := b.get(t, back)
			return s, p
		}, http.StatusBadRequest, "This install link was already used", "already used or has expired"},
		{"expired state", func(t *testing.T, r *installRig) (int, string) {
			b := newBrowser(t)
			back := r.approve(t, b, r.start(t, b))
			r.advance(stateTTL + time.Second)
			s, p, _ := b.get(t, back)
			return s, p
		}, http.StatusBadRequest, "This install link has expired or isn&#39;t valid", `"reason":"slackapp: oauth state has expired"`},
		{"forged state", func(t *testing.T, r *installRig) (int, string) {
			b := newBrowser(t)
			back := r.approve(t, b, r.start(t, b))
			u, _ := url.Parse(back)
			q := u.Query()
			st := q.Get("state")
			q.Set("state", st[:len(st)-2]+"AA")
			u.RawQuery = q.Encode()
			s, p, _ := b.get(t, u.String())
			return s, p
		}, http.StatusBadRequest, "This install link has expired or isn&#39;t valid", "signature does not match"},
		{"cookie from another browser", func(t *testing.T, r *installRig) (int, string) {
			attacker, victim := newBrowser(t), newBrowser(t)
			back := r.approve(t, attacker, r.start(t, attacker))
			r.start(t, victim) // the victim has a cookie of their own
			s, p, _ := victim.get(t, back)
			return s, p
		}, http.StatusBadRequest, "This install was started in another browser or tab", "the state cookie is missing or another install"},
		{"no cookie at all", func(t *testing.T, r *installRig) (int, string) {
			attacker := newBrowser(t)
			back := r.approve(t, attacker, r.start(t, attacker))
			s, p, _ := newBrowser(t).get(t, back)
			return s, p
		}, http.StatusBadRequest, "This install was started in another browser or tab", "the state cookie is missing"},
		{"Slack refuses the code", func(t *testing.T, r *installRig) (int, string) {
			b := newBrowser(t)
			back := r.approve(t, b, r.start(t, b))
			r.slack.FailNext("oauth.v2.access", 1, "invalid_code")
			s, p, _ := b.get(t, back)
			return s, p
		}, http.StatusBadGateway, "Slack didn&#39;t accept the install", "invalid_code"},
		{"the store fails", func(t *testing.T, r *installRig) (int, string) {
			b := newBrowser(t)
			back := r.approve(t, b, r.start(t, b))
			r.installs.fail = errors.New("redis down")
			s, p, _ := b.get(t, back)
			return s, p
		}, http.StatusServiceUnavailable, "Flagbot couldn&#39;t store the install", "redis down"},
		{"no state store to start", func(t *testing.T, r *installRig) (int, string) {
			r.states.fail = errors.New("redis down")
			s, p, _ := newBrowser(t).get(t, r.srv.URL+InstallPath)
			return s, p
		}, http.StatusServiceUnavailable, "Flagbot can&#39;t start an install right now", "redis down"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := newInstallRig(t)
			before := len(r.installs.all())
			status, page := tt.run(t, r)
			if status != tt.status || !strings.Contains(page, "<h1>"+tt.title+"</h1>") {
				t.Errorf("page = %d %q, want %d with title %q:\n%s", status, page, tt.status, tt.title, page)
			}
			if n := len(r.installs.all()) - before; n != 0 && tt.name != "replayed state" {
				t.Errorf("stored %d installations", n)
			}
			ref := regexp.MustCompile(`Reference: ([0-9a-f]{6})`).FindStringSubmatch(page)
			if ref == nil || !strings.Contains(r.log(), `"ref":"`+ref[1]+`"`) || !strings.Contains(r.log(), tt.logs) {
				t.Errorf("the log has no line with the page's reference %v and %q:\n%s", ref, tt.logs, r.log())
			}
			if strings.Contains(r.log(), slackfake.DefaultClientSecret) || strings.Contains(r.log(), "slackfakecode") || strings.Contains(r.log(), "xoxb-") {
				t.Errorf("the log shows a secret, code or token:\n%s", r.log())
			}
		})
	}
}

type slackOAuth = slack.OAuthV2Response

// TestInstallRefusesRotatingTokens: a token that expires (token rotation
// on) is not stored, and the page says how to fix the app.
func TestInstallRefusesRotatingTokens(t *testing.T) {
	t.Parallel()
	resp := &slackOAuth{AccessToken: "xoxb-1", TokenType: "bot", RefreshToken: "xoxe-1", ExpiresIn: 43200}
	resp.Team.ID = "T1"
	if _, problem := installationFrom(resp, time.Now()); !strings.Contains(problem, "token rotation") {
		t.Errorf("problem = %q, want token rotation named", problem)
	}
	user := &slackOAuth{AccessToken: "xoxp-1", TokenType: "user"}
	user.Team.ID = "T1"
	if _, problem := installationFrom(user, time.Now()); !strings.Contains(problem, "no bot token") {
		t.Errorf("a user token: problem = %q", problem)
	}
	org := &slackOAuth{AccessToken: "xoxb-1", IsEnterpriseInstall: true}
	if _, problem := installationFrom(org, time.Now()); !strings.Contains(problem, "no Enterprise Grid org") {
		t.Errorf("an org-wide install without an org: problem = %q", problem)
	}
}

// TestInstallPageRateLimit: a flood of install starts is refused before
// it fills Redis; the budget comes back with time.
func TestInstallPageRateLimit(t *testing.T) {
	t.Parallel()
	r := newInstallRig(t)
	b := newBrowser(t)
	for i := range installBurst {
		if s, _, _ := b.get(t, r.srv.URL+InstallPath); s != http.StatusOK {
			t.Fatalf("start %d: %d", i, s)
		}
	}
	if s, p, _ := b.get(t, r.srv.URL+InstallPath); s != http.StatusTooManyRequests || !strings.Contains(p, "Too many installs") {
		t.Errorf("start past the burst = %d", s)
	}
	r.advance(2 * time.Second)
	if s, _, _ := b.get(t, r.srv.URL+InstallPath); s != http.StatusOK {
		t.Errorf("start after a pause = %d", s)
	}
	r.states.mu.Lock()
	n := len(r.states.keys)
	r.states.mu.Unlock()
	if n != installBurst+1 {
		t.Errorf("%d states stored, want %d", n, installBurst+1)
	}
}

func TestNewInstallerRefuses(t *testing.T) {
	t.Parallel()
	for name, cfg := range map[string]InstallConfig{
		"no client id":     {ClientSecret: "s", PublicURL: "https://x.example"},
		"no secret":        {ClientID: "1.2", PublicURL: "https://x.example"},
		"no public url":    {ClientID: "1.2", ClientSecret: "s"},
		"not a public url": {ClientID: "1.2", ClientSecret: "s", PublicURL: "flagbot.example.com"},
	} {
		if _, err := NewInstaller(cfg, &memInstalls{}, &memStates{}, nil, Options{}); err == nil {
			t.Errorf("%s: NewInstaller accepted %+v", name, cfg)
		}
	}
	in, err := NewInstaller(InstallConfig{ClientID: "1.2", ClientSecret: "s", PublicURL: "https://flagbot.example.com/"}, &memInstalls{}, &memStates{}, nil,
		Options{APIURL: "https://slack-gov.com/api/"})
	if err != nil {
		t.Fatal(err)
	}
	if in.InstallURL() != "https://flagbot.example.com/slack/install" || in.RedirectURL() != "https://flagbot.example.com/slack/oauth_redirect" ||
		in.authURL != "https://slack-gov.com/oauth/v2/authorize" || !in.secure {
		t.Errorf("installer = %q %q %q secure %v", in.InstallURL(), in.RedirectURL(), in.authURL, in.secure)
	}
}

// TestInstallCookie: the state cookie is HttpOnly, SameSite=Lax, scoped to
// /slack/, lives as long as the state, and is Secure behind https.
func TestInstallCookie(t *testing.T) {
	t.Parallel()
	for pub, path := range map[string]string{"https://flagbot.example.com": "/slack/", "http://127.0.0.1:3000": "/slack/", "https://example.com/flagbot/": "/flagbot/slack/"} {
		states := &memStates{now: time.Now, keys: map[string]time.Time{}}
		in, err := NewInstaller(InstallConfig{ClientID: "1.2", ClientSecret: "s", PublicURL: pub}, &memInstalls{}, states, nil, Options{})
		if err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		in.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, InstallPath, nil))
		cookies := rec.Result().Cookies()
		if len(cookies) != 1 {
			t.Fatalf("%s: cookies %v", pub, cookies)
		}
		c := cookies[0]
		secure := strings.HasPrefix(pub, "https://")
		if c.Name != stateCookie || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != path || c.MaxAge != 600 || c.Secure != secure {
			t.Errorf("%s: cookie %+v; want HttpOnly, SameSite=Lax, Path %s, Max-Age 600, Secure %v", pub, c, path, secure)
		}
		if _, err := verifyState(in.stateKey, c.Value, time.Now()); err != nil {
			t.Errorf("%s: the cookie holds no valid state: %v", pub, err)
		}
		h := rec.Result().Header
		if h.Get("Cache-Control") != "no-store" || !strings.Contains(h.Get("Content-Security-Policy"), "default-src 'none'") || h.Get("Referrer-Policy") != "no-referrer" {
			t.Errorf("%s: headers %v", pub, h)
		}
	}
}
