package commands

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/flagbot/flagbot/internal/secret"
)

// Connect opens the modal in which an admin pastes a LaunchDarkly token.
// The modal's submission runs Executor.Connect.
type Connect struct{}

// ConnectModal asks the transport to open the connect modal, prefilled.
// Once the pasted token was checked (ConnectChoices), Checked is set and
// Projects and Envs hold what it sees, for the modal to offer as choices,
// with the defaults Flagbot would pick selected.
type ConnectModal struct {
	DefaultProject string
	DefaultEnv     string
	Checked        bool
	TokenName      string
	Role           string
	Projects       []Project
	Envs           []Environment
}

// ConnectionInfo is what Flagbot shows about a stored connection; it never
// holds the token itself.
type ConnectionInfo struct {
	TokenName      string
	Role           string // reader, writer, admin, custom or unknown
	Last4          string
	DefaultProject string
	DefaultEnv     string
	ConnectedBy    string // Slack user ID
	ConnectedAt    time.Time
}

// CanWrite reports whether the token's role allows flag changes as far as
// Flagbot can tell (custom and unknown roles are given the benefit of the
// doubt; LaunchDarkly has the last word).
func (c ConnectionInfo) CanWrite() bool { return c.Role != RoleReader }

// The roles Flagbot distinguishes.
const (
	RoleReader  = "reader"
	RoleWriter  = "writer"
	RoleAdmin   = "admin"
	RoleCustom  = "custom"
	RoleUnknown = "unknown"
)

// ConnectResult reports a successful connection. Defaults says how its
// default project and environment were chosen: typed in the modal, or
// inferred from what the token sees.
type ConnectResult struct {
	Info     ConnectionInfo
	Defaults DefaultsChoice
}

func (ConnectModal) result()  {}
func (ConnectResult) result() {}

// Name implements Command.
func (Connect) Name() string { return "connect" }

func connectSpec() subcommand {
	return subcommand{
		entry: HelpEntry{
			Name:     "connect",
			Usage:    "connect",
			Summary:  "Connects this workspace to LaunchDarkly: opens a form in which you paste an access token.",
			Examples: []string{"connect"},
			Admin:    true,
		},
		parse: noArgs(Connect{}),
	}
}

// Run implements Command: it checks the actor may connect and returns the
// modal to open, prefilled with the current defaults.
func (Connect) Run(ctx context.Context, x *Executor, actor Actor) (Result, error) {
	if err := x.requireAdmin(ctx, actor, "connect this workspace to LaunchDarkly"); err != nil {
		return nil, err
	}
	conn, err := x.ws.Get(ctx, actor.Workspace)
	switch {
	case errors.Is(err, ErrNotConnected), errors.Is(err, ErrUnreadable):
		// Nothing to prefill: connecting replaces an unreadable token.
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
// actor's workspace, with in.Project and in.Env as its defaults when typed
// (they must exist) or else defaults inferred from what the token sees:
// the only project, the one with key "default" or the first by name, and
// its "production" environment or its first critical one. Problems with a
// field are *FieldError values, so the modal can show them inline; other
// failures are *Error values.
func (e *Executor) Connect(ctx context.Context, actor Actor, in ConnectInput) (ConnectResult, error) {
	if actor.Outsider {
		return ConnectResult{}, &FieldError{Field: FieldToken, Msg: Notation("Only members of this workspace can connect it."), Err: outsiderError()}
	}
	if err := e.requireAdmin(ctx, actor, "connect this workspace to LaunchDarkly"); err != nil {
		return ConnectResult{}, err
	}
	token := secret.Secret(strings.TrimSpace(in.Token.Reveal()))
	project, env := strings.TrimSpace(in.Project), strings.TrimSpace(in.Env)
	switch raw := token.Reveal(); {
	case raw == "":
		return ConnectResult{}, fieldError(FieldToken, "Paste a LaunchDarkly access token.")
	case strings.HasPrefix(raw, "sdk-"), strings.HasPrefix(raw, "mob-"):
		return ConnectResult{}, fieldError(FieldToken, "That is an SDK or mobile key. Create an access token under Organization settings → Authorization in LaunchDarkly.")
	case strings.ContainsAny(raw, " \t\r\n"):
		return ConnectResult{}, fieldError(FieldToken, "An access token has no spaces. Paste just the token.")
	}
	if env != "" && project == "" {
		return ConnectResult{}, fieldError(FieldProject, "Choose the project the default environment belongs to.")
	}
	for _, f := range []struct{ field, value string }{{FieldProject, project}, {FieldEnv, env}} {
		if looksLikeSecret(f.value) {
			// Refused before it reaches a request path or a log line.
			return ConnectResult{}, fieldError(f.field, "That looks like a token or key, not a key of a project or environment. Paste the access token in the first field.")
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
		ConnectedAt: e.now(),
	}
	if id.TokenID != "" {
		tok, err := client.GetToken(ctx, id.TokenID)
		switch k := KindOf(err); {
		case err == nil:
			conn.Role = roleOf(tok)
			if tok.Name != "" {
				conn.TokenName = tok.Name
			}
		case k == KindForbidden, k == KindNotFound:
			// A narrow custom role may not read its own token: role unknown.
		default:
			return ConnectResult{}, tokenFieldError(err)
		}
	}
	d, err := inferDefaults(ctx, client, project, env)
	if err != nil {
		var fe *FieldError
		if errors.As(err, &fe) {
			return ConnectResult{}, fe
		}
		return ConnectResult{}, tokenFieldError(err)
	}
	conn.DefaultProject, conn.DefaultEnv = d.Project, d.Env
	if err := e.ws.Put(ctx, actor.Workspace, conn); err != nil {
		return ConnectResult{}, storeError("store workspace connection", err)
	}
	return ConnectResult{Info: conn.Info(), Defaults: d}, nil
}

// ConnectChoices checks a token pasted into the connect modal, before it
// is submitted, and returns the modal again with the projects the token
// sees and the environments of in.Project (typed or chosen as Connect
// would), so an admin picks defaults from a list. Nothing is stored.
// Errors are Connect's.
func (e *Executor) ConnectChoices(ctx context.Context, actor Actor, in ConnectInput) (ConnectModal, error) {
	if actor.Outsider {
		return ConnectModal{}, outsiderError()
	}
	if err := e.requireAdmin(ctx, actor, "connect this workspace to LaunchDarkly"); err != nil {
		return ConnectModal{}, err
	}
	token := secret.Secret(strings.TrimSpace(in.Token.Reveal()))
	if raw := token.Reveal(); raw == "" || looksLikeSDKKey(raw) || strings.ContainsAny(raw, " \t\r\n") {
		return ConnectModal{}, fieldError(FieldToken, "Paste a LaunchDarkly access token.")
	}
	client := e.clients(token)
	id, err := client.CallerIdentity(ctx)
	if err != nil {
		return ConnectModal{}, tokenFieldError(err)
	}
	m := ConnectModal{Checked: true, TokenName: id.TokenName, Role: RoleUnknown}
	if id.TokenID != "" {
		if tok, err := client.GetToken(ctx, id.TokenID); err == nil {
			m.Role = roleOf(tok)
			if tok.Name != "" {
				m.TokenName = tok.Name
			}
		}
	}
	projects, err := client.ListProjects(ctx)
	if err != nil {
		if KindOf(err) == KindForbidden {
			return ConnectModal{Checked: true, TokenName: m.TokenName, Role: m.Role, DefaultProject: in.Project, DefaultEnv: in.Env}, nil
		}
		return ConnectModal{}, tokenFieldError(err)
	}
	m.Projects = projects
	d, envs, err := chooseDefaults(ctx, client, projects, nil, strings.TrimSpace(in.Project), "")
	if err != nil {
		var fe *FieldError
		if errors.As(err, &fe) {
			return m, fe
		}
		return ConnectModal{}, tokenFieldError(err)
	}
	m.DefaultProject, m.DefaultEnv, m.Envs = d.Project, d.Env, envs
	return m, nil
}

func looksLikeSDKKey(s string) bool {
	return strings.HasPrefix(s, "sdk-") || strings.HasPrefix(s, "mob-")
}

func fieldError(field, msg string) *FieldError {
	return &FieldError{Field: field, Msg: Notation(msg)}
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

func roleOf(t Token) string {
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
	switch KindOf(err) {
	case KindUnauthorized:
		return &FieldError{Field: FieldToken, Msg: Notation("LaunchDarkly rejected this token (401). Check that you pasted the whole token and that it has not been reset or deleted."), Err: err}
	case KindForbidden:
		return &FieldError{Field: FieldToken, Msg: Notation("This token may not read from LaunchDarkly (403). Give it at least the Reader role."), Err: err}
	case KindRateLimited:
		return &FieldError{Field: FieldToken, Msg: Notation("LaunchDarkly is rate limiting requests right now. Try again in a minute."), Err: err}
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return &FieldError{Field: FieldToken, Msg: Notation("LaunchDarkly took too long to answer. Try again."), Err: err}
	}
	return &FieldError{Field: FieldToken, Msg: Notation("I couldn't reach LaunchDarkly to check this token. Try again in a minute."), Err: err}
}
