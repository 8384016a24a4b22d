package slackapp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/slack-go/slack"

	"github.com/flagbot/flagbot/internal/commands"
	"github.com/flagbot/flagbot/internal/secret"
)

// Installations finds the installation that serves a workspace: its bot
// token is what every Web API call for that workspace sends. Clients asks
// it before every call, so it must answer from memory: in multi-workspace
// mode *tokenstore.Cache implements it (installations cached in memory,
// with a reinstall or uninstall on any replica seen by every other one at
// once); in single-workspace mode SingleWorkspace does. Installation
// returns an error wrapping
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

// maxCachedClients bounds how many bot tokens' clients Clients keeps;
// notInstalledShort starts the answer in a workspace no installation
// serves.
const (
	maxCachedClients  = 5000
	notInstalledShort = "Flagbot isn't installed in this workspace (any more), so it can't act here."
)

// Clients hands out the Web API client of the installation that serves a
// workspace: the one place Flagbot gets a *slack.Client for a call. App,
// Directory and DigestSlack share one. It asks Installations for the
// workspace's installation on every call, so a reinstall's new token or an
// uninstall is used as soon as Installations knows it; it keeps no
// installation itself. Clients are shared per bot token (an org-wide
// installation serves many workspaces with one client), at most
// maxCachedClients of them. It is safe for concurrent use.
type Clients struct {
	installs   Installations
	slackOpts  []slack.Option
	installURL string

	mu      sync.Mutex
	byToken map[string]*slack.Client
}

// NewClients returns the Clients that resolve workspaces with installs and
// call the Web API at opts.APIURL through opts.HTTPClient.
// opts.InstallURL, when set, is named in the answer to a workspace without
// an installation.
func NewClients(installs Installations, opts Options) *Clients {
	return &Clients{
		installs:   installs,
		slackOpts:  apiOptions(&opts),
		installURL: opts.InstallURL,
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
	inst, err := c.installs.Installation(ctx, ws)
	if err != nil {
		return nil, c.installError(ws, err)
	}
	token := inst.BotToken.Reveal()
	c.mu.Lock()
	defer c.mu.Unlock()
	api := c.byToken[token]
	if api == nil {
		if len(c.byToken) >= maxCachedClients {
			clear(c.byToken)
		}
		api = slack.New(token, c.slackOpts...)
		c.byToken[token] = api
	}
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
