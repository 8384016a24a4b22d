package commands

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Defaults for Options' zero values.
const (
	defaultPageSize    = 20
	defaultAuditWindow = 24 * time.Hour
	defaultAuditLimit  = 20
	defaultApprovalTTL = 24 * time.Hour
	defaultSignoffTTL  = 24 * time.Hour
	maxSuggestions     = 3
	// suggestionScanPages bounds how many pages of flags a "did you mean"
	// lookup reads after a miss (100 flags a page).
	suggestionScanPages = 5
)

// Options tune an Executor; the zero value is valid.
type Options struct {
	// BaseURL is LaunchDarkly's base URL, for links into its UI.
	BaseURL string
	// PageSize is the number of flags on one `/flag list` page (default 20).
	PageSize int
	// Now returns the current time (default time.Now).
	Now func() time.Time
	// ApprovalTTL is how long a requested change waits for approval
	// (default 24h).
	ApprovalTTL time.Duration
	// NewID returns a new unguessable change ID (default: 128 random bits
	// from crypto/rand, base32).
	NewID func() string
	// ApplyLease is how long an attempt's claim on an approved change
	// lasts unless renewed (default 30s); a stopped replica's change is
	// resumed by the first sweep after it ran out.
	ApplyLease time.Duration
	// UnclaimedAfter is how long a change approved without a lease waits
	// before it is resumed (default 10m).
	UnclaimedAfter time.Duration
	// FinishTimeout bounds retrying to record an applied change's outcome
	// while the store fails (default 5s), even after the command's own
	// deadline.
	FinishTimeout time.Duration
	// Catalog bounds the flag catalog that answers flag pickers.
	Catalog CatalogOptions
	// SignoffTTL is how long someone has to sign off a break-glass kill
	// (default 24h); a reminder goes out halfway.
	SignoffTTL time.Duration
	// ScheduleGrace is how late a scheduled change is still applied when
	// no replica was running at its time (default 1h); later it is missed.
	ScheduleGrace time.Duration
}

// Executor runs parsed commands for a Slack user: it holds what commands
// need (the stores, LaunchDarkly clients, the Slack directory) and the rules
// every command shares. It is safe for concurrent use.
type Executor struct {
	ws       Workspaces
	clients  ClientFunc
	dir      Directory
	changes  Changes
	policies Policies
	digests  Digests
	opts     Options
	catalog  *flagCatalog

	// notice collects what one Execute call has to say besides its result
	// (defaults chosen on first use). Execute runs each command on a copy
	// of the Executor with its own notice; it is nil elsewhere.
	notice *Text
}

// NewExecutor returns an Executor that keeps connections in ws, talks to
// LaunchDarkly through clients made by clients, asks dir about Slack users,
// keeps changes awaiting approval in changes under the workspaces' policies,
// and digest subscriptions in digests.
func NewExecutor(ws Workspaces, clients ClientFunc, dir Directory, changes Changes, policies Policies, digests Digests, opts Options) *Executor {
	if opts.PageSize <= 0 {
		opts.PageSize = defaultPageSize
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.ApprovalTTL <= 0 {
		opts.ApprovalTTL = defaultApprovalTTL
	}
	if opts.NewID == nil {
		opts.NewID = newChangeID
	}
	if opts.ApplyLease <= 0 {
		opts.ApplyLease = defaultApplyLease
	}
	if opts.UnclaimedAfter <= 0 {
		opts.UnclaimedAfter = defaultUnclaimedAfter
	}
	if opts.FinishTimeout <= 0 {
		opts.FinishTimeout = defaultFinishTimeout
	}
	if opts.SignoffTTL <= 0 {
		opts.SignoffTTL = defaultSignoffTTL
	}
	if opts.ScheduleGrace <= 0 {
		opts.ScheduleGrace = defaultScheduleGrace
	}
	opts.BaseURL = strings.TrimRight(opts.BaseURL, "/")
	return &Executor{ws: ws, clients: clients, dir: dir, changes: changes, policies: policies, digests: digests, opts: opts,
		catalog: newFlagCatalog(opts.Catalog)}
}

// Execute runs cmd for actor, for every subcommand alike: reads answer,
// change commands file a request under the two-person rule (posted in
// actor.ChannelID, deduplicated by actor.RequestKey). People of another
// organisation (actor.Outsider) may read help and nothing else: they get a
// KindOutsider error and nothing reaches LaunchDarkly or the stores.
//
// Failures are *Error values classified by Kind (or a *UsageError); their
// Msg is safe to show the user. When the command did something on the way
// that the user should hear about (the workspace's defaults were chosen on
// first use), the result is a Noticed wrapping the command's own, or the
// *Error carries it as Notice.
func (e *Executor) Execute(ctx context.Context, actor Actor, cmd Command) (Result, error) {
	if _, help := cmd.(Help); actor.Outsider && !help {
		return nil, outsiderError()
	}
	call := *e
	call.notice = new(Text)
	res, err := cmd.Run(ctx, &call, actor)
	if n := *call.notice; !n.IsZero() {
		if err != nil {
			return nil, withNotice(err, n)
		}
		return Noticed{Result: res, Notice: n}, nil
	}
	return res, err
}

// RequestChange files the change cmd as actor, posted in channelID, with
// dedupeKey identifying the delivery that carried it: Execute with those
// set on actor, returning the change. cmd must be a ChangeCommand.
func (e *Executor) RequestChange(ctx context.Context, actor Actor, channelID string, cmd Command, dedupeKey string) (ChangeResult, error) {
	if _, ok := cmd.(ChangeCommand); !ok {
		return ChangeResult{}, &Error{Kind: KindInternal, Err: fmt.Errorf("commands: %s is not a change", cmd.Name())}
	}
	actor.ChannelID, actor.RequestKey = channelID, dedupeKey
	res, err := e.Execute(ctx, actor, cmd)
	if err != nil {
		return ChangeResult{}, err
	}
	res, _ = SplitNotice(res)
	cr, ok := res.(ChangeResult)
	if !ok {
		return ChangeResult{}, &Error{Kind: KindInternal, Err: fmt.Errorf("commands: %s returned %T, not a change", cmd.Name(), res)}
	}
	return cr, nil
}

func outsiderError() error {
	return Errorf(KindOutsider, "Flagbot acts for the workspace that installed it, so people from other organisations in this channel can't use it. `/flag help` still works.")
}

// now returns the current time in UTC.
func (e *Executor) now() time.Time { return e.opts.Now().UTC() }

// connection returns the actor's workspace connection, or a
// KindNotConnected, KindUnreadable or KindStoreUnavailable error. No
// LaunchDarkly call happens without one.
func (e *Executor) connection(ctx context.Context, ws Workspace) (Connection, error) {
	conn, err := e.ws.Get(ctx, ws)
	switch {
	case errors.Is(err, ErrNotConnected):
		return Connection{}, &Error{Kind: KindNotConnected, Err: err}
	case errors.Is(err, ErrUnreadable):
		return Connection{}, &Error{Kind: KindUnreadable, Err: err}
	case err != nil:
		return Connection{}, storeError("read workspace connection", err)
	}
	return conn, nil
}

// connected returns the actor's connection and a LaunchDarkly client made
// from its token. A connection stored without a default project gets one
// here, on first use (adoptDefaults).
func (e *Executor) connected(ctx context.Context, actor Actor) (Connection, LaunchDarkly, error) {
	conn, err := e.connection(ctx, actor.Workspace)
	if err != nil {
		return Connection{}, nil, err
	}
	client := e.clients(conn.Token)
	if conn.DefaultProject == "" {
		conn = e.adoptDefaults(ctx, actor.Workspace, conn, client)
	}
	return conn, client, nil
}

func (e *Executor) requireAdmin(ctx context.Context, actor Actor, what string) error {
	ok, err := e.dir.IsAdmin(ctx, actor)
	if err != nil {
		if ctx.Err() != nil {
			return &Error{Kind: KindTimeout, Err: err}
		}
		return &Error{Kind: KindInternal, Err: fmt.Errorf("commands: check admin: %w", err)}
	}
	if !ok {
		return Errorf(KindNotAdmin, "Only workspace admins and Flagbot admins can %s.", what)
	}
	return nil
}

// project resolves the project a command works in.
func project(given string, conn Connection) (string, error) {
	if given != "" {
		return given, nil
	}
	if conn.DefaultProject != "" {
		return conn.DefaultProject, nil
	}
	return "", Errorf(KindInvalid, "Which project? Add `--project <key>` (see `/flag projects`), or ask an admin to set a default with `/flag config project <key>`.")
}

// env resolves the environment a command works in; required says whether
// a missing one is an error.
func env(given string, conn Connection, required bool) (string, error) {
	if given != "" {
		return given, nil
	}
	if conn.DefaultEnv != "" || !required {
		return conn.DefaultEnv, nil
	}
	e := Errorf(KindInvalid, "Which environment? Name one (see `/flag envs`), or ask an admin to set a default with `/flag config env <key>`.")
	e.Field = FieldEnv
	return "", e
}

// findFlag fetches a flag by key, matching the key case-insensitively, and
// on a miss answers KindNotFound with up to three close matches.
func (e *Executor) findFlag(ctx context.Context, client LaunchDarkly, project, key string) (Flag, error) {
	flag, err := client.GetFlag(ctx, project, key)
	if err == nil {
		return flag, nil
	}
	if KindOf(err) != KindNotFound {
		return Flag{}, serviceError(ctx, err)
	}
	keys, lerr := e.flagKeys(ctx, client, project)
	if lerr != nil {
		if KindOf(lerr) == KindNotFound {
			return Flag{}, e.projectError(ctx, client, project, lerr)
		}
		return Flag{}, serviceError(ctx, lerr)
	}
	for _, k := range keys {
		if strings.EqualFold(k, key) && k != key {
			flag, err := client.GetFlag(ctx, project, k)
			if err != nil {
				return Flag{}, serviceError(ctx, err)
			}
			return flag, nil
		}
	}
	return Flag{}, &Error{
		Kind:        KindNotFound,
		Msg:         Textf("I can't find flag `%s` in project `%s`.", key, project),
		Suggestions: closest(key, keys),
		Err:         err,
		Field:       FieldFlag,
	}
}

// flagKeys lists flag keys in a project, a bounded number of pages.
func (e *Executor) flagKeys(ctx context.Context, client LaunchDarkly, project string) ([]string, error) {
	const limit = 100
	var keys []string
	for page := 0; page < suggestionScanPages; page++ {
		p, err := client.ListFlags(ctx, project, FlagQuery{Limit: limit, Offset: page * limit})
		if err != nil {
			return nil, err
		}
		for _, f := range p.Items {
			keys = append(keys, f.Key)
		}
		if len(p.Items) < limit || len(keys) >= p.TotalCount {
			break
		}
	}
	return keys, nil
}

// projectError explains a LaunchDarkly failure while reading a project.
func (e *Executor) projectError(ctx context.Context, client LaunchDarkly, project string, err error) error {
	if KindOf(err) != KindNotFound {
		return serviceError(ctx, err)
	}
	var keys []string
	if ps, perr := client.ListProjects(ctx); perr == nil {
		for _, p := range ps {
			keys = append(keys, p.Key)
		}
	}
	return &Error{Kind: KindNotFound, Msg: Textf("I can't find project `%s`. `/flag projects` lists them.", project), Suggestions: closest(project, keys), Err: err}
}

// scopeError explains a 404 (or 400) on a project/environment-scoped list:
// the project or the environment does not exist.
func (e *Executor) scopeError(ctx context.Context, client LaunchDarkly, project, env string, err error) error {
	envs, perr := client.ListEnvironments(ctx, project)
	if perr != nil {
		return e.projectError(ctx, client, project, perr)
	}
	if env != "" {
		if _, ok := matchEnv(envs, env); !ok {
			return noEnvError(project, env, envKeys(envs))
		}
	}
	return serviceError(ctx, err)
}

func noEnvError(project, env string, keys []string) error {
	return &Error{Kind: KindNotFound, Msg: Textf("Project `%s` has no environment `%s`.", project, env), Suggestions: closest(env, keys), Field: FieldEnv}
}

// serviceError classifies a LaunchDarkly failure by kind: the kind its
// *RemoteError carries, KindTimeout when the context ran out, and
// LaunchDarkly's own message for a request it found invalid.
func serviceError(ctx context.Context, err error) error {
	var re *RemoteError
	switch {
	case errors.As(err, &re) && re.Kind == KindInvalid && re.Message != "":
		return &Error{Kind: KindInvalid, Msg: Textf("LaunchDarkly says: %s", re.Message), Err: err}
	case errors.As(err, &re):
		return &Error{Kind: re.Kind, Err: err}
	case errors.Is(err, context.DeadlineExceeded), ctx.Err() != nil:
		return &Error{Kind: KindTimeout, Err: err}
	}
	return &Error{Kind: KindInternal, Err: err}
}

// storeError classifies a state store failure: whatever went wrong, the
// store could not be used and nothing was changed.
func storeError(op string, err error) error {
	return &Error{Kind: KindStoreUnavailable, Err: fmt.Errorf("commands: %s: %w", op, err)}
}

func matchEnv(envs []Environment, key string) (string, bool) {
	if key == "" {
		return "", false
	}
	for _, e := range envs {
		if strings.EqualFold(e.Key, key) {
			return e.Key, true
		}
	}
	return "", false
}

func matchFlagEnv(f Flag, key string) (string, bool) {
	if _, ok := f.Environments[key]; ok {
		return key, true
	}
	for k := range f.Environments {
		if strings.EqualFold(k, key) {
			return k, true
		}
	}
	return "", false
}

func envKeys(envs []Environment) []string {
	keys := make([]string, len(envs))
	for i, e := range envs {
		keys[i] = e.Key
	}
	return keys
}
