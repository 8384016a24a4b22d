package slackapp

import (
	"context"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/flagbot/flagbot/internal/commands"
	"github.com/flagbot/flagbot/internal/secret"
)

// BotScopes returns the bot scopes Flagbot asks for, in the install URL and
// in the manifests (manifest.yml, manifest.multi.yml; a test checks they
// agree). See the README for what each is for.
func BotScopes() []string {
	return []string{"commands", "chat:write", "users:read", "usergroups:read", "channels:read", "groups:read",
		"channels:history", "groups:history", "links:read", "links:write"}
}

// Paths the install listener serves.
const (
	InstallPath  = "/slack/install"
	RedirectPath = "/slack/oauth_redirect"
)

const (
	stateCookie     = "flagbot_oauth_state"
	exchangeTimeout = 10 * time.Second
	// The install page starts at most installBurst installs at once and
	// installRate a second after that, per replica: each start stores a
	// state in Redis for stateTTL, so an unauthenticated flood must not
	// fill it.
	installBurst = 60
	installRate  = 1.0
)

// InstallConfig is what the install listener needs from the Slack app's
// Basic Information page and the deployment.
type InstallConfig struct {
	ClientID     string
	ClientSecret secret.Secret
	// PublicURL is the externally reachable base of the install listener,
	// such as https://flagbot.example.com: the redirect URL is
	// PublicURL + RedirectPath, and must be listed in the app's OAuth
	// settings. With a path (https://example.com/flagbot) the proxy in
	// front strips it: the listener serves /slack/... at its root.
	PublicURL string
}

// InstallStore keeps installations; *tokenstore.Store implements it.
type InstallStore interface {
	PutInstallation(ctx context.Context, inst commands.Installation) error
}

// StateStore keeps the nonces of started installs for stateTTL and spends
// each once; *redisstore.Store implements it. Take reports whether key
// existed (of concurrent Takes exactly one sees true).
type StateStore interface {
	SetIfAbsent(ctx context.Context, key string, val []byte, ttl time.Duration) (bool, error)
	Take(ctx context.Context, key string) (bool, error)
}

// Installer serves the OAuth install flow of a multi-workspace deployment:
// GET /slack/install shows an "Add to Slack" page whose link carries a
// fresh state (also set in a cookie), and GET /slack/oauth_redirect checks
// that state and exchanges Slack's code for the installation's bot token
// with oauth.v2.access, then stores it. Every failure answers a page that
// says what to do, and logs the detail under a reference id the page
// shows; no token, code or state is ever logged or shown.
type Installer struct {
	cfg      InstallConfig
	installs InstallStore
	states   StateStore
	log      *slog.Logger
	http     *http.Client
	apiURL   string // for oauth.v2.access
	authURL  string // Slack's authorize page
	redirect string
	secure   bool   // cookies only over https
	cookie   string // the cookie's path: /slack/ under the public URL's path
	stateKey []byte
	esc      *strings.Replacer // newHTMLEscaper
	now      func() time.Time

	mu     sync.Mutex
	tokens float64
	last   time.Time
}

// NewInstaller returns the install flow for cfg. installs stores what
// Slack returns, states keeps the started installs' nonces. opts.APIURL is
// the Web API base (Slack's authorize page is found beside it, so GovSlack
// and the fake work); opts.HTTPClient, opts.Now apply.
func NewInstaller(cfg InstallConfig, installs InstallStore, states StateStore, logger *slog.Logger, opts Options) (*Installer, error) {
	if cfg.ClientID == "" || cfg.ClientSecret.Empty() {
		return nil, errors.New("slackapp: the installer needs the app's client id and client secret")
	}
	pub, err := url.Parse(strings.TrimRight(cfg.PublicURL, "/"))
	if err != nil || (pub.Scheme != "http" && pub.Scheme != "https") || pub.Host == "" {
		return nil, fmt.Errorf("slackapp: the installer's public URL must be an http(s) URL, not %q", cfg.PublicURL)
	}
	apiURL := opts.APIURL
	if apiURL == "" {
		apiURL = slack.APIURL
	}
	if !strings.HasSuffix(apiURL, "/") {
		apiURL += "/"
	}
	api, err := url.Parse(apiURL)
	if err != nil || api.Host == "" {
		return nil, fmt.Errorf("slackapp: bad Slack API URL %q", apiURL)
	}
	auth := *api
	auth.Path = strings.TrimSuffix(strings.TrimSuffix(api.Path, "/"), "/api") + "/oauth/v2/authorize"
	auth.RawQuery, auth.Fragment = "", ""
	key, err := hkdf.Key(sha256.New, []byte(cfg.ClientSecret.Reveal()), nil, "flagbot oauth state v1", 32)
	if err != nil {
		return nil, fmt.Errorf("slackapp: derive the state key: %w", err)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Installer{
		cfg: cfg, installs: installs, states: states,
		log:      logger.With("component", "install"),
		http:     httpClientOf(opts),
		apiURL:   apiURL,
		authURL:  auth.String(),
		redirect: pub.String() + RedirectPath,
		secure:   pub.Scheme == "https",
		cookie:   strings.TrimRight(pub.Path, "/") + "/slack/",
		stateKey: key,
		esc:      newHTMLEscaper(),
		now:      opts.Now,
		tokens:   installBurst,
	}, nil
}

// InstallURL is the install page's public URL.
func (i *Installer) InstallURL() string {
	return strings.TrimSuffix(i.redirect, RedirectPath) + InstallPath
}

// RedirectURL is the URL Slack sends the browser back to: list it under
// the app's OAuth & Permissions → Redirect URLs.
func (i *Installer) RedirectURL() string { return i.redirect }

// Handler serves the install page and the redirect.
func (i *Installer) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+InstallPath, i.serveInstall)
	mux.HandleFunc("GET "+RedirectPath, i.serveRedirect)
	return mux
}

// allow takes one install start from the rate limiter.
func (i *Installer) allow() bool {
	i.mu.Lock()
	defer i.mu.Unlock()
	now := i.now()
	if !i.last.IsZero() {
		i.tokens = min(installBurst, i.tokens+now.Sub(i.last).Seconds()*installRate)
	}
	i.last = now
	if i.tokens < 1 {
		return false
	}
	i.tokens--
	return true
}

// serveInstall starts an install: a fresh state, stored and set in the
// browser's cookie, and the page with the Add to Slack link.
func (i *Installer) serveInstall(w http.ResponseWriter, r *http.Request) {
	ref := newRef()
	if !i.allow() {
		i.log.WarnContext(r.Context(), "install page rate-limited", "ref", ref)
		i.render(w, http.StatusTooManyRequests, pageData{Title: "Too many installs at once",
			Lines: []string{"Too many installs were started in the last minute. Wait a minute, then reload this page."}, Ref: ref})
		return
	}
	nonce, err := newNonce()
	if err != nil {
		i.fail(w, r, ref, "make an oauth state", err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), exchangeTimeout)
	defer cancel()
	if ok, err := i.states.SetIfAbsent(ctx, stateKey(nonce), []byte("1"), stateTTL); err != nil || !ok {
		if err == nil {
			err = errors.New("nonce already stored")
		}
		i.log.ErrorContext(ctx, "could not store an oauth state", "ref", ref, "err", err)
		i.render(w, http.StatusServiceUnavailable, pageData{Title: "Flagbot can't start an install right now",
			Lines: []string{"Its state store is unavailable. Try again in a minute."}, Ref: ref})
		return
	}
	state := signState(i.stateKey, nonce, i.now().Add(stateTTL))
	http.SetCookie(w, &http.Cookie{
		Name: stateCookie, Value: state, Path: i.cookie, MaxAge: int(stateTTL / time.Second),
		HttpOnly: true, Secure: i.secure, SameSite: http.SameSiteLaxMode,
	})
	q := url.Values{
		"client_id":    {i.cfg.ClientID},
		"scope":        {strings.Join(BotScopes(), ",")},
		"user_scope":   {""},
		"redirect_uri": {i.redirect},
		"state":        {state},
	}
	i.render(w, http.StatusOK, pageData{
		Title: "Add Flagbot to Slack",
		Lines: []string{
			"Flagbot brings LaunchDarkly feature flags into Slack: browse flags with /flag, and change them behind a two-person rule.",
			"Slack will ask you to pick the workspace (or, for an Enterprise Grid org, the whole org) and to allow what Flagbot needs: its /flag command, posting messages, and reading users, user groups and channels.",
		},
		Button:     "Add to Slack",
		ButtonLink: (i.authURL + "?" + q.Encode()),
		Note:       "The link works once, in this browser, for 10 minutes.",
	})
}

// serveRedirect finishes an install Slack sent the browser back from.
func (i *Installer) serveRedirect(w http.ResponseWriter, r *http.Request) {
	ref := newRef()
	ctx, cancel := context.WithTimeout(r.Context(), exchangeTimeout)
	defer cancel()
	q := r.URL.Query()
	log := i.log.With("ref", ref)
	nonce, stateErr := verifyState(i.stateKey, q.Get("state"), i.now())
	if slackErr := q.Get("error"); slackErr != "" {
		if stateErr == nil {
			_, _ = i.states.Take(ctx, stateKey(nonce)) // spent either way
		}
		log.InfoContext(ctx, "install not approved in Slack", "slack_error", truncate(slackErr, 64))
		i.clearCookie(w)
		i.render(w, http.StatusOK, pageData{Title: "Flagbot was not installed",
			Lines:  []string{"The install was cancelled in Slack, so nothing changed. To install Flagbot after all, start again."},
			Button: "Start again", ButtonLink: (i.InstallURL()), Ref: ref})
		return
	}
	if stateErr != nil {
		log.InfoContext(ctx, "install refused: bad oauth state", "reason", stateErr.Error())
		i.restart(w, http.StatusBadRequest, ref, "This install link has expired or isn't valid",
			"Install links work for 10 minutes.")
		return
	}
	c, err := r.Cookie(stateCookie)
	if err != nil || !hmac.Equal([]byte(c.Value), []byte(q.Get("state"))) {
		log.InfoContext(ctx, "install refused: the state cookie is missing or another install's")
		i.restart(w, http.StatusBadRequest, ref, "This install was started in another browser or tab",
			"For your safety an install must finish where it started: the browser tab that opened the install page last.")
		return
	}
	taken, err := i.states.Take(ctx, stateKey(nonce))
	if err != nil {
		log.ErrorContext(ctx, "could not spend an oauth state", "err", err)
		i.render(w, http.StatusServiceUnavailable, pageData{Title: "Flagbot can't finish the install right now",
			Lines:  []string{"Its state store is unavailable, so nothing was stored. Try again in a minute."},
			Button: "Start again", ButtonLink: (i.InstallURL()), Ref: ref})
		return
	}
	if !taken {
		log.InfoContext(ctx, "install refused: the oauth state was already used or has expired")
		i.restart(w, http.StatusBadRequest, ref, "This install link was already used",
			"Each install link works once.")
		return
	}
	code := q.Get("code")
	if code == "" {
		log.InfoContext(ctx, "install refused: Slack sent no code")
		i.restart(w, http.StatusBadRequest, ref, "Slack sent no authorization code", "")
		return
	}
	resp, err := slack.GetOAuthV2ResponseContext(ctx, i.http, i.cfg.ClientID, i.cfg.ClientSecret.Reveal(), code, i.redirect, slack.OAuthOptionAPIURL(i.apiURL))
	if err != nil {
		log.ErrorContext(ctx, "oauth.v2.access failed", "err", scrubSecret(err.Error(), code, i.cfg.ClientSecret.Reveal()))
		i.restart(w, http.StatusBadGateway, ref, "Slack didn't accept the install",
			"Nothing was stored. This happens when the link was opened twice or Slack is having trouble.")
		return
	}
	inst, problem := installationFrom(resp, i.now())
	if problem != "" {
		log.ErrorContext(ctx, "oauth.v2.access answered something Flagbot can't use", "problem", problem,
			"team_id", resp.Team.ID, "enterprise_id", resp.Enterprise.ID)
		i.render(w, http.StatusBadGateway, pageData{Title: "Flagbot can't use this install", Lines: []string{problem}, Ref: ref})
		return
	}
	if err := i.installs.PutInstallation(ctx, inst); err != nil {
		log.ErrorContext(ctx, "could not store an installation", "installation", inst.String(), "err", err)
		i.restart(w, http.StatusServiceUnavailable, ref, "Flagbot couldn't store the install",
			"Its state store is unavailable or failing.")
		return
	}
	if missing := missingScopes(inst.Scopes); len(missing) > 0 {
		log.WarnContext(ctx, "installed without some of the scopes Flagbot needs", "missing", strings.Join(missing, ","))
	}
	log.InfoContext(ctx, "installed", "installation", inst.String(), "team_id", inst.TeamID, "enterprise_id", inst.EnterpriseID,
		"is_enterprise_install", inst.EnterpriseInstall, "installed_by", inst.InstalledBy, "scopes", inst.Scopes)
	i.clearCookie(w)
	i.render(w, http.StatusOK, installedPage(inst))
}

// installationFrom turns oauth.v2.access's answer into an installation, or
// says what is wrong with it (a sentence for the page).
func installationFrom(resp *slack.OAuthV2Response, now time.Time) (commands.Installation, string) {
	switch {
	case resp.RefreshToken != "" || resp.ExpiresIn > 0:
		return commands.Installation{}, "This Slack app has token rotation turned on, and Flagbot needs tokens that do not expire. " +
			"Turn it off under OAuth & Permissions → Advanced token security in the app's settings, then install again."
	case !strings.HasPrefix(resp.AccessToken, "xoxb-") || (resp.TokenType != "" && resp.TokenType != "bot"):
		return commands.Installation{}, "Slack returned no bot token. Check that the app has a bot user, then install again."
	case resp.IsEnterpriseInstall && resp.Enterprise.ID == "":
		return commands.Installation{}, "Slack named no Enterprise Grid org for an org-wide install. Install again."
	case !resp.IsEnterpriseInstall && resp.Team.ID == "":
		return commands.Installation{}, "Slack named no workspace for the install. Install again."
	}
	inst := commands.Installation{
		TeamID: resp.Team.ID, TeamName: resp.Team.Name,
		EnterpriseID: resp.Enterprise.ID, EnterpriseName: resp.Enterprise.Name, EnterpriseInstall: resp.IsEnterpriseInstall,
		BotToken: secret.Secret(resp.AccessToken), BotUserID: resp.BotUserID, AppID: resp.AppID,
		Scopes: resp.Scope, InstalledBy: resp.AuthedUser.ID, InstalledAt: now.UTC(),
	}
	if inst.EnterpriseInstall {
		inst.TeamID, inst.TeamName = "", ""
	}
	return inst, ""
}

// missingScopes lists the BotScopes that granted (comma-separated) lacks.
func missingScopes(granted string) []string {
	have := strings.Split(granted, ",")
	var missing []string
	for _, s := range BotScopes() {
		if !slices.Contains(have, s) {
			missing = append(missing, s)
		}
	}
	return missing
}

func installedPage(inst commands.Installation) pageData {
	if inst.EnterpriseInstall {
		name := inst.EnterpriseName
		if name == "" {
			name = inst.EnterpriseID
		}
		return pageData{Title: "Flagbot is installed in " + name, Lines: []string{
			"Flagbot now serves every workspace of the org.",
			"Each workspace connects its own LaunchDarkly token: in each, an admin of that workspace (or of the org) runs /flag connect.",
		}}
	}
	name := inst.TeamName
	if name == "" {
		name = inst.TeamID
	}
	return pageData{Title: "Flagbot is installed in " + name, Lines: []string{
		"Next, connect LaunchDarkly: in Slack, a workspace admin runs /flag connect and pastes a LaunchDarkly access token.",
		"Then anyone can try /flag help.",
	}}
}

// restart answers a failed redirect with a page that offers to start
// again.
func (i *Installer) restart(w http.ResponseWriter, status int, ref, title, why string) {
	lines := []string{"Nothing was installed. Start the install again from the install page."}
	if why != "" {
		lines = append([]string{why}, lines...)
	}
	i.clearCookie(w)
	i.render(w, status, pageData{Title: title, Lines: lines, Button: "Start again", ButtonLink: (i.InstallURL()), Ref: ref})
}

func (i *Installer) fail(w http.ResponseWriter, r *http.Request, ref, what string, err error) {
	i.log.ErrorContext(r.Context(), "install page failed", "ref", ref, "what", what, "err", err)
	i.render(w, http.StatusInternalServerError, pageData{Title: "Something went wrong", Lines: []string{"Try again in a minute."}, Ref: ref})
}

func (i *Installer) clearCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: stateCookie, Value: "", Path: i.cookie, MaxAge: -1, HttpOnly: true, Secure: i.secure, SameSite: http.SameSiteLaxMode})
}

// pageData is one page of the install flow.
type pageData struct {
	Title      string
	Lines      []string
	Button     string
	ButtonLink string // an absolute URL this package built
	Note       string
	Ref        string
}

func (i *Installer) render(w http.ResponseWriter, status int, p pageData) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	w.WriteHeader(status)
	if _, err := io.WriteString(w, renderPage(i.esc, p)); err != nil {
		i.log.Warn("install page: write failed", "err", err)
	}
}

// scrubSecret removes secrets from s (an error text).
func scrubSecret(s string, secrets ...string) string {
	for _, sec := range secrets {
		if sec != "" {
			s = strings.ReplaceAll(s, sec, "[REDACTED]")
		}
	}
	return s
}

// newHTMLEscaper escapes text for HTML text and double-quoted attributes
// as html/template does.
func newHTMLEscaper() *strings.Replacer {
	return strings.NewReplacer("\x00", "\uFFFD", `"`, "&#34;", "&", "&amp;", "'", "&#39;", "+", "&#43;", "<", "&lt;", ">", "&gt;")
}

// renderPage is p as a page of the install flow: no script, no external
// resource. It is written by hand, not with html/template (see
// TestInstallPageMatchesTemplate), because text/template makes the linker
// keep every exported method of every type: 9 MB of the binary.
func renderPage(htmlEscaper *strings.Replacer, p pageData) string {
	var b strings.Builder
	b.WriteString(pageHead1)
	b.WriteString(htmlEscaper.Replace(p.Title))
	b.WriteString(pageHead2)
	b.WriteString(htmlEscaper.Replace(p.Title))
	b.WriteString("</h1>\n")
	for _, l := range p.Lines {
		b.WriteString("<p>" + htmlEscaper.Replace(l) + "</p>\n")
	}
	if p.Button != "" {
		b.WriteString(`<p><a class="button" href="` + htmlEscaper.Replace(p.ButtonLink) + `">` + htmlEscaper.Replace(p.Button) + "</a></p>\n")
	}
	if p.Note != "" {
		b.WriteString(`<p class="note">` + htmlEscaper.Replace(p.Note) + "</p>\n")
	}
	if p.Ref != "" {
		b.WriteString(`<p class="ref">Reference: ` + htmlEscaper.Replace(p.Ref) + "</p>\n")
	}
	b.WriteString("</body>\n</html>\n")
	return b.String()
}

const pageHead1 = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>`

const pageHead2 = ` · Flagbot</title>
<style>
body{font-family:-apple-system,BlinkMacSystemFont,"Segoe UI",Roboto,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#1d1c1d;line-height:1.5}
h1{font-size:1.5rem}
a.button{display:inline-block;margin:1rem 0;padding:.6rem 1.2rem;border-radius:6px;background:#4a154b;color:#fff;text-decoration:none;font-weight:bold}
.note,.ref{color:#616061;font-size:.9rem}
</style>
</head>
<body>
<h1>`
