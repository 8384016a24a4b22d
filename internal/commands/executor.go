package commands

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/flagbot/flagbot/internal/ld"
	"github.com/flagbot/flagbot/internal/secret"
)

// Defaults for Options' zero values.
const (
	defaultPageSize    = 20
	defaultAuditWindow = 24 * time.Hour
	defaultAuditLimit  = 20
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
}

// Executor runs parsed commands for a Slack user. It is safe for concurrent use.
type Executor struct {
	ws       Workspaces
	clients  ClientFunc
	dir      Directory
	changes  Changes
	policies Policies
	digests  Digests
	opts     Options
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
	opts.BaseURL = strings.TrimRight(opts.BaseURL, "/")
	return &Executor{ws: ws, clients: clients, dir: dir, changes: changes, policies: policies, digests: digests, opts: opts}
}

// Execute runs cmd for actor. Failures are *Error values classified by Kind
// (or a *UsageError); their Msg is safe to show the user.
func (e *Executor) Execute(ctx context.Context, actor Actor, cmd Command) (Result, error) {
	switch c := cmd.(type) {
	case Help:
		return e.help(c)
	case Connect:
		return e.connectModal(ctx, actor)
	case Status:
		return e.status(ctx, actor)
	case Disconnect:
		return e.disconnect(ctx, actor)
	case Config:
		return e.config(ctx, actor, c)
	}
	conn, err := e.connection(ctx, actor)
	if err != nil {
		return nil, err
	}
	client := e.clients(conn.Token)
	switch c := cmd.(type) {
	case Projects:
		return e.projects(ctx, client, conn)
	case Envs:
		return e.envs(ctx, client, conn, c)
	case List:
		return e.list(ctx, client, conn, c)
	case Show:
		return e.show(ctx, client, conn, c)
	case Segments:
		return e.segments(ctx, client, conn, c)
	case Segment:
		return e.segment(ctx, client, conn, c)
	case Contexts:
		return e.contexts(ctx, client, conn, c)
	case Context:
		return e.context(ctx, client, conn, c)
	case Audit:
		return e.audit(ctx, client, conn, c)
	}
	if res, ok, err := e.executeWrite(ctx, actor, conn, client, cmd); ok {
		return res, err
	}
	if res, ok, err := e.executeDigest(ctx, actor, conn, client, cmd); ok {
		return res, err
	}
	return nil, &Error{Kind: KindInternal, Err: fmt.Errorf("commands: no executor for %T", cmd)}
}

func (e *Executor) help(c Help) (Result, error) {
	if c.Topic == "" {
		return HelpResult{Entries: HelpTable()}, nil
	}
	h, ok := LookupHelp(c.Topic)
	if !ok {
		return nil, &UsageError{Msg: fmt.Sprintf("There is no `%s` subcommand.", c.Topic)}
	}
	return HelpResult{Topic: h.Name, Entries: []HelpEntry{h}}, nil
}

// connection returns the actor's workspace connection, or a KindNotConnected
// or KindStoreUnavailable error. No LaunchDarkly call happens without one.
func (e *Executor) connection(ctx context.Context, actor Actor) (Connection, error) {
	conn, err := e.ws.Get(ctx, actor.Workspace)
	switch {
	case errors.Is(err, ErrNotConnected):
		return Connection{}, &Error{Kind: KindNotConnected, Err: err}
	case err != nil:
		return Connection{}, storeError("read workspace connection", err)
	}
	return conn, nil
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

func (e *Executor) connectModal(ctx context.Context, actor Actor) (Result, error) {
	if err := e.requireAdmin(ctx, actor, "connect this workspace to LaunchDarkly"); err != nil {
		return nil, err
	}
	conn, err := e.ws.Get(ctx, actor.Workspace)
	switch {
	case errors.Is(err, ErrNotConnected):
		return ConnectModal{}, nil
	case err != nil:
		return nil, storeError("read workspace connection", err)
	}
	return ConnectModal{DefaultProject: conn.DefaultProject, DefaultEnv: conn.DefaultEnv}, nil
}

// ConnectInput is what an admin submitted in the connect modal.
type ConnectInput struct {
	Token   secret.Secret
	Project string
	Env     string
}

// Connect validates in.Token against LaunchDarkly and stores it for the
// actor's workspace. Problems with a field are *FieldError values, so the
// modal can show them inline; other failures are *Error values.
func (e *Executor) Connect(ctx context.Context, actor Actor, in ConnectInput) (ConnectResult, error) {
	if err := e.requireAdmin(ctx, actor, "connect this workspace to LaunchDarkly"); err != nil {
		return ConnectResult{}, err
	}
	token := secret.Secret(strings.TrimSpace(in.Token.Reveal()))
	project, env := strings.TrimSpace(in.Project), strings.TrimSpace(in.Env)
	switch raw := token.Reveal(); {
	case raw == "":
		return ConnectResult{}, &FieldError{Field: FieldToken, Msg: "Paste a LaunchDarkly access token."}
	case strings.HasPrefix(raw, "sdk-"), strings.HasPrefix(raw, "mob-"):
		return ConnectResult{}, &FieldError{Field: FieldToken, Msg: "That is an SDK or mobile key. Create an access token under Organization settings → Authorization in LaunchDarkly."}
	case strings.ContainsAny(raw, " \t\r\n"):
		return ConnectResult{}, &FieldError{Field: FieldToken, Msg: "An access token has no spaces. Paste just the token."}
	}
	if env != "" && project == "" {
		return ConnectResult{}, &FieldError{Field: FieldProject, Msg: "Choose the project the default environment belongs to."}
	}
	for _, f := range []struct{ field, value string }{{FieldProject, project}, {FieldEnv, env}} {
		if looksLikeSecret(f.value) {
			// Refused before it reaches a request path or a log line.
			return ConnectResult{}, &FieldError{Field: f.field, Msg: "That looks like a token or key, not a key of a project or environment. Paste the access token in the first field."}
		}
	}
	client := e.clients(token)
	id, err := client.CallerIdentity(ctx)
	if err != nil {
		return ConnectResult{}, tokenFieldError(err)
	}
	conn := Connection{
		Token:       token,
		TokenID:     id.TokenID,
		TokenName:   id.TokenName,
		Role:        RoleUnknown,
		ConnectedBy: actor.UserID,
		ConnectedAt: e.opts.Now().UTC(),
	}
	if id.TokenID != "" {
		tok, err := client.GetToken(ctx, id.TokenID)
		switch {
		case err == nil:
			conn.Role = roleOf(tok)
			if tok.Name != "" {
				conn.TokenName = tok.Name
			}
		case errors.Is(err, ld.ErrForbidden), errors.Is(err, ld.ErrNotFound):
			// A narrow custom role may not read its own token: role unknown.
		default:
			return ConnectResult{}, tokenFieldError(err)
		}
	}
	if project != "" {
		envs, err := client.ListEnvironments(ctx, project)
		switch {
		case errors.Is(err, ld.ErrNotFound):
			return ConnectResult{}, &FieldError{Field: FieldProject, Msg: fmt.Sprintf("LaunchDarkly has no project %q (or this token can't see it).", project), Err: err}
		case err != nil:
			return ConnectResult{}, tokenFieldError(err)
		}
		if env != "" {
			key, ok := matchEnv(envs, env)
			if !ok {
				return ConnectResult{}, &FieldError{Field: FieldEnv, Msg: fmt.Sprintf("Project %q has no environment %q. It has: %s.", project, env, strings.Join(envKeys(envs), ", "))}
			}
			env = key
		}
		conn.DefaultProject, conn.DefaultEnv = project, env
	}
	if err := e.ws.Put(ctx, actor.Workspace, conn); err != nil {
		return ConnectResult{}, storeError("store workspace connection", err)
	}
	return ConnectResult{Info: conn.Info()}, nil
}

// looksLikeSecret reports whether s starts like a LaunchDarkly access
// token, SDK key or mobile key.
func looksLikeSecret(s string) bool {
	for _, p := range []string{"api-", "sdk-", "mob-"} {
		if strings.HasPrefix(strings.ToLower(s), p) && len(s) > 20 {
			return true
		}
	}
	return false
}

func roleOf(t ld.Token) string {
	switch strings.ToLower(t.Role) {
	case "reader", "no_access":
		return RoleReader
	case "writer":
		return RoleWriter
	case "admin", "owner":
		return RoleAdmin
	case "":
		if len(t.CustomRoleIDs) > 0 {
			return RoleCustom
		}
		return RoleUnknown
	}
	return RoleCustom
}

func tokenFieldError(err error) error {
	switch {
	case errors.Is(err, ld.ErrUnauthorized):
		return &FieldError{Field: FieldToken, Msg: "LaunchDarkly rejected this token (401). Check that you pasted the whole token and that it has not been reset or deleted.", Err: err}
	case errors.Is(err, ld.ErrForbidden):
		return &FieldError{Field: FieldToken, Msg: "This token may not read from LaunchDarkly (403). Give it at least the Reader role.", Err: err}
	case errors.Is(err, ld.ErrRateLimited):
		return &FieldError{Field: FieldToken, Msg: "LaunchDarkly is rate limiting requests right now. Try again in a minute.", Err: err}
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return &FieldError{Field: FieldToken, Msg: "LaunchDarkly took too long to answer. Try again.", Err: err}
	}
	return &FieldError{Field: FieldToken, Msg: "I couldn't reach LaunchDarkly to check this token. Try again in a minute.", Err: err}
}

func (e *Executor) status(ctx context.Context, actor Actor) (Result, error) {
	conn, err := e.ws.Get(ctx, actor.Workspace)
	switch {
	case errors.Is(err, ErrNotConnected):
		return StatusResult{BaseURL: e.opts.BaseURL}, nil
	case err != nil:
		return nil, storeError("read workspace connection", err)
	}
	return StatusResult{Connected: true, Info: conn.Info(), BaseURL: e.opts.BaseURL}, nil
}

func (e *Executor) disconnect(ctx context.Context, actor Actor) (Result, error) {
	if err := e.requireAdmin(ctx, actor, "disconnect this workspace"); err != nil {
		return nil, err
	}
	conn, err := e.connection(ctx, actor)
	if err != nil {
		return nil, err
	}
	if err := e.ws.Delete(ctx, actor.Workspace); err != nil {
		return nil, storeError("delete workspace connection", err)
	}
	return DisconnectResult{Info: conn.Info()}, nil
}

func (e *Executor) config(ctx context.Context, actor Actor, c Config) (Result, error) {
	if err := e.requireAdmin(ctx, actor, "change this workspace's settings"); err != nil {
		return nil, err
	}
	conn, err := e.connection(ctx, actor)
	if err != nil {
		return nil, err
	}
	client := e.clients(conn.Token)
	var apply func(stored *Connection) error
	switch c.Setting {
	case SettingRequireReason, SettingApprovers, SettingApprovals, SettingApprovalEnvs:
		return e.configPolicy(ctx, actor, client, conn, c)
	case SettingProject:
		envs, err := client.ListEnvironments(ctx, c.Value)
		if err != nil {
			return nil, e.projectError(ctx, client, c.Value, err)
		}
		project := c.Value
		apply = func(stored *Connection) error {
			stored.DefaultProject = project
			if _, ok := matchEnv(envs, stored.DefaultEnv); !ok {
				stored.DefaultEnv = "" // the old default env does not exist in the new project
			}
			return nil
		}
	case SettingEnv:
		if conn.DefaultProject == "" {
			return nil, Errorf(KindInvalid, "Set a default project first: `/flag config project <key>`.")
		}
		envs, err := client.ListEnvironments(ctx, conn.DefaultProject)
		if err != nil {
			return nil, e.projectError(ctx, client, conn.DefaultProject, err)
		}
		key, ok := matchEnv(envs, c.Value)
		if !ok {
			return nil, &Error{Kind: KindNotFound, Msg: fmt.Sprintf("Project `%s` has no environment `%s`.", conn.DefaultProject, c.Value), Suggestions: closest(c.Value, envKeys(envs))}
		}
		c.Value = key
		project := conn.DefaultProject
		apply = func(stored *Connection) error {
			if stored.DefaultProject != project {
				return Errorf(KindConflict, "The default project changed to `%s` while I was checking; run `/flag config env %s` again.", stored.DefaultProject, key)
			}
			stored.DefaultEnv = key
			return nil
		}
	default:
		return nil, &UsageError{Msg: fmt.Sprintf("I can't configure %q.", c.Setting)}
	}
	// Write only what this command changes, on the connection as stored
	// now: an admin may have disconnected or reconnected while LaunchDarkly
	// was being asked, and a whole-connection Put would undo that.
	err = e.ws.Update(ctx, actor.Workspace, func(stored *Connection) error {
		if stored.TokenID != conn.TokenID || !stored.ConnectedAt.Equal(conn.ConnectedAt) || stored.Token != conn.Token {
			return Errorf(KindConflict, "This workspace was reconnected to LaunchDarkly while I was checking; run the command again.")
		}
		return apply(stored)
	})
	var cerr *Error
	switch {
	case errors.As(err, &cerr):
		return nil, err
	case errors.Is(err, ErrNotConnected):
		return nil, &Error{Kind: KindNotConnected, Err: err}
	case err != nil:
		return nil, storeError("store workspace settings", err)
	}
	return ConfigResult{Setting: c.Setting, Value: c.Value}, nil
}

func (e *Executor) projects(ctx context.Context, client LaunchDarkly, conn Connection) (Result, error) {
	ps, err := client.ListProjects(ctx)
	if err != nil {
		return nil, ldError(ctx, err)
	}
	return ProjectsResult{Projects: ps, DefaultProject: conn.DefaultProject, BaseURL: e.opts.BaseURL}, nil
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
	return "", Errorf(KindInvalid, "Which environment? Name one (see `/flag envs`), or ask an admin to set a default with `/flag config env <key>`.")
}

func (e *Executor) envs(ctx context.Context, client LaunchDarkly, conn Connection, c Envs) (Result, error) {
	p, err := project(c.Project, conn)
	if err != nil {
		return nil, err
	}
	envs, err := client.ListEnvironments(ctx, p)
	if err != nil {
		return nil, e.projectError(ctx, client, p, err)
	}
	def := ""
	if p == conn.DefaultProject {
		def = conn.DefaultEnv
	}
	return EnvsResult{Project: p, Envs: envs, DefaultEnv: def}, nil
}

func (e *Executor) list(ctx context.Context, client LaunchDarkly, conn Connection, c List) (Result, error) {
	var err error
	if c.Project, err = project(c.Project, conn); err != nil {
		return nil, err
	}
	if c.Env, err = env(c.Env, conn, false); err != nil {
		return nil, err
	}
	if c.Offset < 0 {
		c.Offset = 0
	}
	page, err := client.ListFlags(ctx, c.Project, ld.FlagListOptions{
		Env: c.Env, Query: c.Words, Tag: c.Tag, Archived: c.Archived,
		Limit: e.opts.PageSize, Offset: c.Offset,
	})
	if err != nil {
		if errors.Is(err, ld.ErrNotFound) || errors.Is(err, ld.ErrBadRequest) {
			return nil, e.scopeError(ctx, client, c.Project, c.Env, err)
		}
		return nil, ldError(ctx, err)
	}
	res := FlagListResult{Query: c, Flags: page.Items, Total: page.TotalCount, BaseURL: e.opts.BaseURL}
	if next := c.Offset + len(page.Items); len(page.Items) > 0 && next < page.TotalCount {
		res.NextOffset = next
	}
	return res, nil
}

func (e *Executor) show(ctx context.Context, client LaunchDarkly, conn Connection, c Show) (Result, error) {
	p, err := project(c.Project, conn)
	if err != nil {
		return nil, err
	}
	envKey, _ := env(c.Env, conn, false)
	flag, err := e.findFlag(ctx, client, p, c.Flag)
	if err != nil {
		return nil, err
	}
	if envKey != "" {
		key, ok := matchFlagEnv(flag, envKey)
		if !ok {
			keys := make([]string, 0, len(flag.Environments))
			for k := range flag.Environments {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			return nil, &Error{Kind: KindNotFound, Msg: fmt.Sprintf("Project `%s` has no environment `%s`.", p, envKey), Suggestions: closest(envKey, keys)}
		}
		envKey = key
	}
	return FlagResult{Project: p, Env: envKey, Flag: flag, BaseURL: e.opts.BaseURL}, nil
}

// findFlag fetches a flag by key, matching the key case-insensitively, and
// on a miss answers KindNotFound with up to three close matches.
func (e *Executor) findFlag(ctx context.Context, client LaunchDarkly, project, key string) (ld.Flag, error) {
	flag, err := client.GetFlag(ctx, project, key)
	if err == nil {
		return flag, nil
	}
	if !errors.Is(err, ld.ErrNotFound) {
		return ld.Flag{}, ldError(ctx, err)
	}
	keys, lerr := e.flagKeys(ctx, client, project)
	if lerr != nil {
		if errors.Is(lerr, ld.ErrNotFound) {
			return ld.Flag{}, e.projectError(ctx, client, project, lerr)
		}
		return ld.Flag{}, ldError(ctx, lerr)
	}
	for _, k := range keys {
		if strings.EqualFold(k, key) && k != key {
			flag, err := client.GetFlag(ctx, project, k)
			if err != nil {
				return ld.Flag{}, ldError(ctx, err)
			}
			return flag, nil
		}
	}
	return ld.Flag{}, &Error{
		Kind:        KindNotFound,
		Msg:         fmt.Sprintf("I can't find flag `%s` in project `%s`.", key, project),
		Suggestions: closest(key, keys),
		Err:         err,
	}
}

// flagKeys lists flag keys in a project, a bounded number of pages.
func (e *Executor) flagKeys(ctx context.Context, client LaunchDarkly, project string) ([]string, error) {
	const limit = 100
	var keys []string
	for page := 0; page < suggestionScanPages; page++ {
		p, err := client.ListFlags(ctx, project, ld.FlagListOptions{Limit: limit, Offset: page * limit})
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

func (e *Executor) segments(ctx context.Context, client LaunchDarkly, conn Connection, c Segments) (Result, error) {
	p, err := project(c.Project, conn)
	if err != nil {
		return nil, err
	}
	en, err := env(c.Env, conn, true)
	if err != nil {
		return nil, err
	}
	segs, err := client.ListSegments(ctx, p, en)
	if err != nil {
		if errors.Is(err, ld.ErrNotFound) {
			return nil, e.scopeError(ctx, client, p, en, err)
		}
		return nil, ldError(ctx, err)
	}
	return SegmentsResult{Project: p, Env: en, Segments: segs}, nil
}

func (e *Executor) segment(ctx context.Context, client LaunchDarkly, conn Connection, c Segment) (Result, error) {
	p, err := project(c.Project, conn)
	if err != nil {
		return nil, err
	}
	en, err := env(c.Env, conn, true)
	if err != nil {
		return nil, err
	}
	seg, err := client.GetSegment(ctx, p, en, c.Key)
	if err == nil {
		return SegmentResult{Project: p, Env: en, Segment: seg}, nil
	}
	if !errors.Is(err, ld.ErrNotFound) {
		return nil, ldError(ctx, err)
	}
	segs, lerr := client.ListSegments(ctx, p, en)
	if lerr != nil {
		if errors.Is(lerr, ld.ErrNotFound) {
			return nil, e.scopeError(ctx, client, p, en, lerr)
		}
		return nil, ldError(ctx, lerr)
	}
	keys := make([]string, 0, len(segs))
	for _, s := range segs {
		if strings.EqualFold(s.Key, c.Key) {
			return SegmentResult{Project: p, Env: en, Segment: s}, nil
		}
		keys = append(keys, s.Key)
	}
	return nil, &Error{Kind: KindNotFound, Msg: fmt.Sprintf("I can't find segment `%s` in `%s/%s`.", c.Key, p, en), Suggestions: closest(c.Key, keys), Err: err}
}

func (e *Executor) contexts(ctx context.Context, client LaunchDarkly, conn Connection, c Contexts) (Result, error) {
	var err error
	if c.Project, err = project(c.Project, conn); err != nil {
		return nil, err
	}
	if c.Env, err = env(c.Env, conn, true); err != nil {
		return nil, err
	}
	recs, err := client.SearchContexts(ctx, c.Project, c.Env, ld.ContextSearch{Filter: contextFilter(c.Words, c.Kind), Limit: e.opts.PageSize})
	if err != nil {
		if errors.Is(err, ld.ErrNotFound) {
			return nil, e.scopeError(ctx, client, c.Project, c.Env, err)
		}
		return nil, ldError(ctx, err)
	}
	return ContextsResult{Project: c.Project, Env: c.Env, Query: c, Contexts: recs}, nil
}

// contextFilter builds a context search filter; quotes in the user's words
// are dropped so they cannot end the quoted value early.
func contextFilter(words, kind string) string {
	clean := func(s string) string { return strings.NewReplacer(`"`, "", `\`, "").Replace(s) }
	var parts []string
	if w := clean(strings.TrimSpace(words)); w != "" {
		parts = append(parts, fmt.Sprintf("q equals %q", w))
	}
	if k := clean(strings.TrimSpace(kind)); k != "" {
		parts = append(parts, fmt.Sprintf("kind equals %q", k))
	}
	return strings.Join(parts, ",")
}

func (e *Executor) context(ctx context.Context, client LaunchDarkly, conn Connection, c Context) (Result, error) {
	p, err := project(c.Project, conn)
	if err != nil {
		return nil, err
	}
	en, err := env(c.Env, conn, true)
	if err != nil {
		return nil, err
	}
	kind := c.Kind
	if kind == "" {
		kind = "user"
	}
	recs, err := client.GetContexts(ctx, p, en, kind, c.Key)
	if err != nil && !errors.Is(err, ld.ErrNotFound) {
		return nil, ldError(ctx, err)
	}
	if len(recs) == 0 {
		return nil, &Error{Kind: KindNotFound, Msg: fmt.Sprintf("LaunchDarkly has not seen context `%s:%s` in `%s/%s`. Try `/flag contexts %s`.", kind, c.Key, p, en, c.Key), Err: err}
	}
	return ContextResult{Project: p, Env: en, Kind: kind, Key: c.Key, Records: recs}, nil
}

func (e *Executor) audit(ctx context.Context, client LaunchDarkly, conn Connection, c Audit) (Result, error) {
	var err error
	if c.Project, err = project(c.Project, conn); err != nil {
		return nil, err
	}
	if c.Since <= 0 {
		c.Since = defaultAuditWindow
	}
	if c.Limit <= 0 {
		c.Limit = defaultAuditLimit
	}
	since := e.opts.Now().Add(-c.Since)
	entries, err := client.ListAuditLog(ctx, ld.AuditLogOptions{
		Spec:  AuditSpec(c.Project, c.Env, c.Flag),
		After: since,
		Limit: c.Limit,
	})
	if err != nil {
		return nil, ldError(ctx, err)
	}
	return AuditResult{Query: c, Since: since, Entries: entries, BaseURL: e.opts.BaseURL}, nil
}

// AuditSpec builds a LaunchDarkly resource specifier for flags in project,
// narrowed to an environment and a flag when given.
func AuditSpec(project, env, flag string) string {
	if env == "" {
		env = "*"
	}
	if flag == "" {
		flag = "*"
	}
	return "proj/" + project + ":env/" + env + ":flag/" + flag
}

// projectError explains a LaunchDarkly failure while reading a project.
func (e *Executor) projectError(ctx context.Context, client LaunchDarkly, project string, err error) error {
	if !errors.Is(err, ld.ErrNotFound) {
		return ldError(ctx, err)
	}
	var keys []string
	if ps, perr := client.ListProjects(ctx); perr == nil {
		for _, p := range ps {
			keys = append(keys, p.Key)
		}
	}
	return &Error{Kind: KindNotFound, Msg: fmt.Sprintf("I can't find project `%s`. `/flag projects` lists them.", project), Suggestions: closest(project, keys), Err: err}
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
			return &Error{Kind: KindNotFound, Msg: fmt.Sprintf("Project `%s` has no environment `%s`.", project, env), Suggestions: closest(env, envKeys(envs)), Err: err}
		}
	}
	return ldError(ctx, err)
}

// ldError classifies a LaunchDarkly client error by kind.
func ldError(ctx context.Context, err error) error {
	var rl *ld.RateLimitError
	var api *ld.APIError
	switch {
	case errors.As(err, &rl):
		return &Error{Kind: KindRateLimited, Err: err}
	case errors.Is(err, ld.ErrUnauthorized):
		return &Error{Kind: KindUnauthorized, Err: err}
	case errors.Is(err, ld.ErrForbidden):
		return &Error{Kind: KindForbidden, Err: err}
	case errors.Is(err, ld.ErrNotFound):
		return &Error{Kind: KindNotFound, Err: err}
	case errors.Is(err, ld.ErrRateLimited):
		return &Error{Kind: KindRateLimited, Err: err}
	case errors.Is(err, ld.ErrConflict):
		return &Error{Kind: KindConflict, Err: err}
	case errors.Is(err, ld.ErrUnavailable):
		return &Error{Kind: KindUnavailable, Err: err}
	case errors.Is(err, context.DeadlineExceeded), ctx.Err() != nil:
		return &Error{Kind: KindTimeout, Err: err}
	case errors.Is(err, ld.ErrBadRequest) && errors.As(err, &api) && api.Message != "":
		return &Error{Kind: KindInvalid, Msg: "LaunchDarkly says: " + api.Message, Err: err}
	}
	return &Error{Kind: KindInternal, Err: err}
}

// storeError classifies a Workspaces failure: whatever went wrong, the
// state store could not be used and nothing was changed.
func storeError(op string, err error) error {
	return &Error{Kind: KindStoreUnavailable, Err: fmt.Errorf("commands: %s: %w", op, err)}
}

func matchEnv(envs []ld.Environment, key string) (string, bool) {
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

func matchFlagEnv(f ld.Flag, key string) (string, bool) {
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

func envKeys(envs []ld.Environment) []string {
	keys := make([]string, len(envs))
	for i, e := range envs {
		keys[i] = e.Key
	}
	return keys
}
