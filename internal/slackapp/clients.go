package slackapp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/flagbot/flagbot/internal/commands"
	"github.com/flagbot/flagbot/internal/secret"
)

// Installations finds the installation that serves a workspace: its bot
// token is what every Web API call for that workspace sends. In
// multi-workspace mode *tokenstore.Store implements it; in single-workspace
// mode SingleWorkspace does. Installation returns an error wrapping
// commands.ErrNotInstalled when nothing serves ws, one matching
// commands.ErrUnreadable when the stored installation cannot be decrypted,
// and any other error when the store failed.
type Installations interface {
	Installation(ctx context.Context, ws commands.Workspace) (commands.Installation, error)
}

// SingleWorkspace is single-workspace mode's Installations: every
// workspace is served by botToken (SLACK_BOT_TOKEN).
func SingleWorkspace(botToken secret.Secret) Installations { return singleWorkspace{token: botToken} }

type singleWorkspace struct{ token secret.Secret }

func (s singleWorkspace) Installation(_ context.Context, ws commands.Workspace) (commands.Installation, error) {
	return commands.Installation{TeamID: ws.TeamID, EnterpriseID: ws.EnterpriseID, BotToken: s.token}, nil
}

// How long a workspace's resolved client is reused before its installation
// is read again, and how many workspaces the cache holds. A reinstall
// (a new token) or an uninstall seen by another replica takes effect here
// within clientTTL; the replica that handles it forgets at once.
const (
	clientTTL         = 30 * time.Second
	maxCachedClients  = 5000
	notInstalledShort = "Flagbot isn't installed in this workspace (any more), so it can't act here."
)

// Clients hands out the Web API client of the installation that serves a
// workspace: the one place Flagbot gets a *slack.Client for a call. App,
// Directory and DigestSlack share one. Clients are cached per workspace for
// clientTTL and shared per bot token (an org-wide installation serves many
// workspaces with one client); both caches are bounded. It is safe for
// concurrent use.
type Clients struct {
	installs   Installations
	slackOpts  []slack.Option
	installURL string
	now        func() time.Time

	mu      sync.Mutex
	byWS    map[commands.Workspace]cachedClient
	byToken map[string]*slack.Client
}

type cachedClient struct {
	api  *slack.Client
	inst commands.Installation // without its token
	at   time.Time
}

// NewClients returns the Clients that resolve workspaces with installs and
// call the Web API at opts.APIURL through opts.HTTPClient.
// opts.InstallURL, when set, is named in the answer to a workspace without
// an installation.
func NewClients(installs Installations, opts Options) *Clients {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Clients{
		installs:   installs,
		slackOpts:  apiOptions(&opts),
		installURL: opts.InstallURL,
		now:        opts.Now,
		byWS:       make(map[commands.Workspace]cachedClient),
		byToken:    make(map[string]*slack.Client),
	}
}

// apiOptions returns the slack-go options for opts' Web API base and HTTP
// client, filling in the default client.
func apiOptions(opts *Options) []slack.Option {
	if opts.HTTPClient == nil {
		opts.HTTPClient = newHTTPClient()
	}
	o := []slack.Option{slack.OptionHTTPClient(opts.HTTPClient)}
	if opts.APIURL != "" {
		if !strings.HasSuffix(opts.APIURL, "/") {
			opts.APIURL += "/"
		}
		o = append(o, slack.OptionAPIURL(opts.APIURL))
	}
	return o
}

// For returns the client for ws's installation. Its error is a
// *commands.Error: of kind KindUnavailable with a message saying Flagbot is
// not installed (wrapping commands.ErrNotInstalled), KindUnreadable-like
// internal when the stored installation cannot be read, or
// KindStoreUnavailable when the store failed. It never calls Slack.
func (c *Clients) For(ctx context.Context, ws commands.Workspace) (*slack.Client, error) {
	now := c.now()
	c.mu.Lock()
	e, ok := c.byWS[ws]
	c.mu.Unlock()
	if ok && now.Sub(e.at) < clientTTL {
		return e.api, nil
	}
	inst, err := c.installs.Installation(ctx, ws)
	if err != nil {
		return nil, c.installError(ws, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	api := c.byToken[inst.BotToken.Reveal()]
	if api == nil {
		if len(c.byToken) >= maxCachedClients {
			clear(c.byToken)
		}
		api = slack.New(inst.BotToken.Reveal(), c.slackOpts...)
		c.byToken[inst.BotToken.Reveal()] = api
	}
	if len(c.byWS) >= maxCachedClients {
		for k, v := range c.byWS {
			if now.Sub(v.at) >= clientTTL {
				delete(c.byWS, k)
			}
		}
		if len(c.byWS) >= maxCachedClients {
			clear(c.byWS)
		}
	}
	inst.BotToken = ""
	c.byWS[ws] = cachedClient{api: api, inst: inst, at: now}
	return api, nil
}

// installError classifies a failed installation lookup for ws.
func (c *Clients) installError(ws commands.Workspace, err error) error {
	err = fmt.Errorf("slackapp: installation for team %s: %w", ws.TeamID, err)
	switch {
	case errors.Is(err, commands.ErrNotInstalled):
		msg := commands.Textf(notInstalledShort + " Ask an admin to install it again.")
		if c.installURL != "" {
			msg = commands.Textf(notInstalledShort+" Ask an admin to install it again at %s.", commands.Link(c.installURL, c.installURL))
		}
		return &commands.Error{Kind: commands.KindUnavailable, Msg: msg, Err: err}
	case errors.Is(err, commands.ErrUnreadable):
		return &commands.Error{Kind: commands.KindInternal, Msg: commands.Textf(
			"Flagbot's stored installation in this workspace can't be read with the current encryption key. Ask an admin to install Flagbot again."), Err: err}
	}
	return &commands.Error{Kind: commands.KindStoreUnavailable, Err: err}
}

// Forget drops every cached client of inst's workspaces (on this replica;
// others re-read within clientTTL), after it was uninstalled.
func (c *Clients) Forget(inst commands.Installation) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for ws, e := range c.byWS {
		if inst.Serves(ws) || (e.inst.TeamID == inst.TeamID && e.inst.EnterpriseID == inst.EnterpriseID && e.inst.EnterpriseInstall == inst.EnterpriseInstall) {
			delete(c.byWS, ws)
		}
	}
}

// ForgetWorkspace drops the cached client of ws on this replica.
func (c *Clients) ForgetWorkspace(ws commands.Workspace) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.byWS, ws)
}

// fixedToken returns the one token of single-workspace mode, for auth.test
// at start; ok is false in multi-workspace mode.
func (c *Clients) fixedToken() (secret.Secret, bool) {
	if s, ok := c.installs.(singleWorkspace); ok {
		return s.token, true
	}
	return "", false
}

// httpClientOf returns the HTTP client opts would use, for the few calls
// made outside a workspace (oauth.v2.access).
func httpClientOf(opts Options) *http.Client {
	if opts.HTTPClient != nil {
		return opts.HTTPClient
	}
	return newHTTPClient()
}
