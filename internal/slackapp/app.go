package slackapp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/flagbot/flagbot/internal/commands"
	"github.com/flagbot/flagbot/internal/secret"
)

// maxIdleConns is how many idle connections to Slack the default HTTP
// client keeps: more than the bot ever has requests in flight.
const maxIdleConns = 64

// Defaults for Options' zero values.
const (
	defaultCommandTimeout = 10 * time.Second
	defaultHTTPTimeout    = 10 * time.Second
	// viewSubmissionBudget is how long a modal submission may work before
	// it must be acknowledged: Slack waits 3 s for a view_submission ack.
	viewSubmissionBudget = 2500 * time.Millisecond
)

// Executor is the core as the Slack transport sees it; *commands.Executor
// implements it. Every subcommand runs through Execute; change commands
// answer with a commands.ChangeResult to post.
type Executor interface {
	Execute(ctx context.Context, actor commands.Actor, cmd commands.Command) (commands.Result, error)
	Connect(ctx context.Context, actor commands.Actor, in commands.ConnectInput) (commands.ConnectResult, error)
	// ConnectChoices checks a token pasted into the connect modal and
	// returns what it sees.
	ConnectChoices(ctx context.Context, actor commands.Actor, in commands.ConnectInput) (commands.ConnectModal, error)
	// SuggestFlags answers the request form's flag picker.
	SuggestFlags(ctx context.Context, actor commands.Actor, project, query string) (commands.FlagSuggestions, error)
	// FlagLink reads a URL as a link to a flag on the configured
	// LaunchDarkly (what unfurls).
	FlagLink(raw string) (commands.FlagLink, bool)
	// Home and Homes build App Home tabs.
	Home(ctx context.Context, actor commands.Actor) commands.HomeResult
	Homes(ctx context.Context, ws commands.Workspace, actors []commands.Actor) []commands.HomeResult
	// RequestChange files the change a submitted request form stands for.
	RequestChange(ctx context.Context, actor commands.Actor, channelID string, cmd commands.Command, dedupeKey string) (commands.ChangeResult, error)

	// The two-person rule: decisions, and where requests are posted.
	Approve(ctx context.Context, actor commands.Actor, id string) (commands.ChangeResult, error)
	ApproveWithKey(ctx context.Context, actor commands.Actor, id, typedKey string) (commands.ChangeResult, error)
	CheckConfirmation(ctx context.Context, actor commands.Actor, id, typedKey string) error
	Reject(ctx context.Context, actor commands.Actor, id string) (commands.ChangeResult, error)
	Cancel(ctx context.Context, actor commands.Actor, id string) (commands.ChangeResult, error)
	Change(ctx context.Context, actor commands.Actor, id string) (commands.Change, error)
	ResumeApproved(ctx context.Context, c commands.Change) (commands.ChangeResult, error)
	RecordPost(ctx context.Context, ws commands.Workspace, id, channelID, ts string) error

	// Undo, the kill switch's sign-off, scheduled changes and who is told.
	RequestUndo(ctx context.Context, actor commands.Actor, id, confirmed string) (commands.Result, error)
	SignOff(ctx context.Context, actor commands.Actor, id string) (commands.ChangeResult, error)
	CancelSchedule(ctx context.Context, actor commands.Actor, id string) (commands.ChangeResult, error)
	ApplyScheduled(ctx context.Context, c commands.Change) (commands.ChangeResult, error)
	Refresh(ctx context.Context, ws commands.Workspace, id string) (commands.ChangeResult, error)
	ApproverDMs(ctx context.Context, c commands.Change) ([]string, error)
	SignoffDMs(ctx context.Context, c commands.Change) ([]string, error)
	RecordDMs(ctx context.Context, ws commands.Workspace, id string, dms []commands.PostRef) error
}

// Users tells who a Slack user is; *Directory implements it.
type Users interface {
	// Who reports whether userID belongs to another organisation than ws
	// (Slack Connect) and whether they are a guest of ws.
	Who(ctx context.Context, ws commands.Workspace, userID string) (outsider, guest bool, err error)
}

// Metrics receives what the transport observes. A nil Metrics in Options
// records nothing.
type Metrics interface {
	// Ack records how long an envelope waited for its ack after dispatch.
	Ack(kind string, d time.Duration)
	// Command records one command's outcome ("ok" or an error kind).
	Command(name, outcome string, d time.Duration)
	// Connected records whether the Socket Mode connection is up.
	Connected(up bool)
	// Reconnected records a Socket Mode connection made after the first.
	Reconnected()
}

// Options tune an App; the zero value is valid.
type Options struct {
	// APIURL is the Slack Web API base ending in "/" (default Slack's).
	APIURL string
	// CommandTimeout bounds one command's work (default 10 s).
	CommandTimeout time.Duration
	// DrainTimeout bounds how long Run waits, after ctx ends, for in-flight
	// commands and approvals to finish (default CommandTimeout plus the
	// reply timeout). Work still running then keeps its lease until the lease
	// expires, and another replica's sweeper finishes it.
	DrainTimeout time.Duration
	// PingInterval is how long the client waits for Slack's pings before it
	// reconnects (default the library's 30 s; tests set it short).
	PingInterval time.Duration
	// HTTPClient is used for the Web API and response_url (default one with
	// a 10 s timeout).
	HTTPClient *http.Client
	// Metrics, if set, receives observations.
	Metrics Metrics
	// InstallURL is the install page of a multi-workspace deployment
	// (FLAGBOT_PUBLIC_URL/slack/install): a workspace without an
	// installation is told to install Flagbot there.
	InstallURL string
	// Now returns the current time (default time.Now), and Sleep waits d or
	// until ctx ends (default a timer): together they let tests run the
	// digest poster's pacing and Retry-After waits without waiting.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
}

// sleepCtx waits d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// App is the running Slack side of Flagbot.
type App struct {
	clients *Clients
	uninst  Uninstaller
	sm      *socketmode.Client
	handler *socketmode.SocketmodeHandler
	exec    Executor
	users   Users
	render  *Renderer
	parser  *commands.Parser
	log     *slog.Logger
	opts    Options
	http    *http.Client

	connected atomic.Bool
	workers   *workers
	// homes remembers who looked at their Home tab, to refresh it.
	homes homeViewers
	// In-flight work: spawn may race with Run's final wait (handlers keep
	// arriving until the socket closes), so a mutex guards the count and
	// drained is closed when it drops to zero while Run waits.
	mu      sync.Mutex
	running int
	drained chan struct{}
	// The newest connection cycles seen connecting and connected (slack-go
	// numbers them from 0); guarded by mu.
	connecting, connectedCount int
	// base is the context in-flight work derives from (with its own
	// deadline). Shutdown does not cancel it, so commands finish instead of
	// being cut off; Run waits for them.
	base context.Context
}

// Uninstaller forgets what Flagbot keeps for an installation once Slack
// says it was removed (app_uninstalled, or tokens_revoked for the bot
// token): *uninstall.Service implements it. inst names the installation
// (no token); forgetting one that is already gone is not an error.
// UninstalledFromTeam is an org-wide installation removed from one
// workspace of its org (team_access_revoked): that workspace's data goes,
// the installation stays.
type Uninstaller interface {
	Uninstalled(ctx context.Context, inst commands.Installation) error
	UninstalledFromTeam(ctx context.Context, ws commands.Workspace) error
}

// New builds an App that connects with appToken, calls the Web API with the
// client of each envelope's installation from clients, runs commands
// through exec, asks users who people are, and hands uninstalls to uninst
// (nil: they are only logged).
func New(appToken secret.Secret, clients *Clients, exec Executor, users Users, uninst Uninstaller, logger *slog.Logger, opts Options) (*App, error) {
	if !strings.HasPrefix(appToken.Reveal(), "xapp-") {
		return nil, errors.New("slackapp: the app-level token must start with xapp-")
	}
	if clients == nil {
		return nil, errors.New("slackapp: no Clients")
	}
	if tok, ok := clients.fixedToken(); ok && !strings.HasPrefix(tok.Reveal(), "xoxb-") {
		return nil, errors.New("slackapp: the bot token must start with xoxb-")
	}
	if opts.CommandTimeout <= 0 {
		opts.CommandTimeout = defaultCommandTimeout
	}
	if opts.DrainTimeout <= 0 {
		opts.DrainTimeout = opts.CommandTimeout + replyTimeout + time.Second
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = newHTTPClient()
	}
	if opts.Metrics == nil {
		opts.Metrics = nopMetrics{}
	}
	logger = logger.With("component", "slack")
	// The Socket Mode client needs only the app-level token: Web API
	// calls go through clients, with each installation's bot token.
	slackOpts := append(apiOptions(&opts), slack.OptionAppLevelToken(appToken.Reveal()))
	api := slack.New("", slackOpts...)
	smOpts := []socketmode.Option{
		socketmode.OptionLog(slogPrinter{log: logger}),
	}
	if opts.PingInterval > 0 {
		smOpts = append(smOpts, socketmode.OptionPingInterval(opts.PingInterval))
	}
	sm := socketmode.New(api, smOpts...)
	a := &App{
		clients: clients,
		uninst:  uninst,
		sm:      sm,
		exec:    exec,
		users:   users,
		render:  NewRenderer(),
		parser:  commands.NewParser(),
		log:     logger,
		opts:    opts,
		http:    opts.HTTPClient,
		base:    context.Background(),

		connecting:     -1,
		connectedCount: -1,
		workers:        newWorkers(workerIdle),
	}
	a.handler = socketmode.NewSocketmodeHandler(sm)
	a.routes(a.handler)
	return a, nil
}

// Run connects to Slack and serves until ctx ends, then waits for in-flight
// commands to finish (each is bounded by the command timeout). It returns
// nil after a clean shutdown and an error if Slack refused the app token.
func (a *App) Run(ctx context.Context) error {
	if err := a.checkBotToken(ctx); err != nil {
		return err
	}
	err := a.handler.RunEventLoopContext(ctx)
	a.connected.Store(false)
	a.opts.Metrics.Connected(false)
	a.mu.Lock()
	var done chan struct{}
	if a.running > 0 {
		done = make(chan struct{})
		a.drained = done
	}
	a.mu.Unlock()
	if done != nil {
		select {
		case <-done:
		case <-time.After(a.opts.DrainTimeout):
			a.log.Warn("shutdown: in-flight commands did not finish in time")
		}
	}
	if ctx.Err() != nil {
		return nil // shut down as asked
	}
	return fmt.Errorf("slackapp: socket mode: %w", err)
}

// ErrBotTokenRejected means Slack refused SLACK_BOT_TOKEN at start.
var ErrBotTokenRejected = errors.New("slackapp: Slack rejected the bot token (SLACK_BOT_TOKEN)")

// checkBotToken calls auth.test once in single-workspace mode, so that a
// wrong bot token stops the bot at start instead of surfacing as "Something
// went wrong" on the first command. A Slack that cannot be reached is only
// logged: the socket loop keeps retrying, and readiness says so. In
// multi-workspace mode there is no one token to check.
func (a *App) checkBotToken(ctx context.Context) error {
	if _, ok := a.clients.fixedToken(); !ok {
		return nil
	}
	api, err := a.clients.For(ctx, commands.Workspace{})
	if err != nil {
		return err
	}
	actx, cancel := context.WithTimeout(ctx, defaultHTTPTimeout)
	defer cancel()
	_, err = api.AuthTestContext(actx)
	var se slack.SlackErrorResponse
	switch {
	case err == nil:
		return nil
	case errors.As(err, &se):
		switch se.Err {
		case "invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired":
			return fmt.Errorf("%w: %s", ErrBotTokenRejected, se.Err)
		}
	}
	a.log.Warn("could not check the bot token with auth.test", "err", err)
	return nil
}

// Connected reports whether the Socket Mode connection is up, for /readyz.
func (a *App) Connected() bool { return a.connected.Load() }

// spawn runs f as tracked in-flight work.
func (a *App) spawn(f func()) {
	a.mu.Lock()
	a.running++
	a.mu.Unlock()
	a.workers.run(func() {
		defer func() {
			if r := recover(); r != nil {
				a.log.Error("handler panicked", "ref", newRef(), "panic", r, "stack", string(debug.Stack()))
			}
			a.mu.Lock()
			a.running--
			if a.running == 0 && a.drained != nil {
				close(a.drained)
				a.drained = nil
			}
			a.mu.Unlock()
		}()
		f()
	})
}

// newHTTPClient returns the default client for the Web API and
// response_url: a timeout, and a transport of its own, so that code closing
// http.DefaultTransport's idle connections cannot cut a request short.
func newHTTPClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	// Keep a connection per reply in flight: the default keeps two per
	// host, so under load most replies dialled afresh.
	t.MaxIdleConns, t.MaxIdleConnsPerHost = maxIdleConns, maxIdleConns
	return &http.Client{Timeout: defaultHTTPTimeout, Transport: t}
}

// slogPrinter adapts slog to the Output(int, string) logger socketmode wants.
type slogPrinter struct{ log *slog.Logger }

// Output logs the library's line at debug level, cut short: the library's
// rare "Ignored %+v" lines print whole events, and an event can carry what a
// user typed into the connect modal.
func (p slogPrinter) Output(_ int, s string) error {
	const maxLen = 160
	s = strings.TrimSpace(s)
	if len(s) > maxLen {
		s = s[:maxLen] + "…"
	}
	p.log.Debug(s, "source", "socketmode")
	return nil
}

var _ interface{ Output(int, string) error } = slogPrinter{}

type nopMetrics struct{}

func (nopMetrics) Ack(string, time.Duration)             {}
func (nopMetrics) Command(string, string, time.Duration) {}
func (nopMetrics) Connected(bool)                        {}
func (nopMetrics) Reconnected()                          {}
