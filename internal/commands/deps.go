package commands

import (
	"context"
	"time"

	"github.com/flagbot/flagbot/internal/secret"
)

// The narrow views of LaunchDarkly the core uses; internal/ld implements
// them all (ld.Service). Every method returns errors whose chain holds a
// *RemoteError for a failure LaunchDarkly caused (its Kind is KindNotFound
// for an unknown project, environment, flag, segment or context,
// KindUnauthorized for a rejected token, and so on), or the context's own
// error when ctx ended first.

// TokenChecker reads what a token is.
type TokenChecker interface {
	CallerIdentity(ctx context.Context) (CallerIdentity, error)
	GetToken(ctx context.Context, id string) (Token, error)
}

// ProjectReader reads projects and their environments.
type ProjectReader interface {
	ListProjects(ctx context.Context) ([]Project, error)
	ListEnvironments(ctx context.Context, project string) ([]Environment, error)
}

// FlagReader reads flags. GetFlag's envs limit the environments returned
// (none: all of them).
type FlagReader interface {
	ListFlags(ctx context.Context, project string, q FlagQuery) (FlagPage, error)
	GetFlag(ctx context.Context, project, key string, envs ...string) (Flag, error)
}

// FlagWriter changes flags; used only after the two-person rule allowed it
// (or a break-glass path that records why).
type FlagWriter interface {
	// PatchFlag applies p. A write LaunchDarkly wants reviewed in its own
	// approval flow fails with an error matching ErrApprovalRequired.
	PatchFlag(ctx context.Context, project, key string, p Patch) (Flag, error)
	CreateFlag(ctx context.Context, project string, f NewFlag) (Flag, error)
	DeleteFlag(ctx context.Context, project, key string) error
	// CreateApprovalRequest hands a change to LaunchDarkly's own approval
	// flow, after PatchFlag answered ErrApprovalRequired.
	CreateApprovalRequest(ctx context.Context, project, key, env string, in ApprovalRequestInput) (ApprovalRequest, error)
}

// SegmentReader reads segments.
type SegmentReader interface {
	ListSegments(ctx context.Context, project, env string) ([]SegmentRecord, error)
	GetSegment(ctx context.Context, project, env, key string) (SegmentRecord, error)
}

// ContextReader reads contexts LaunchDarkly has seen.
type ContextReader interface {
	SearchContexts(ctx context.Context, project, env string, q ContextQuery) ([]ContextRecord, error)
	GetContexts(ctx context.Context, project, env, kind, key string) ([]ContextRecord, error)
}

// AuditLog reads LaunchDarkly's audit log, newest first.
type AuditLog interface {
	ListAuditLog(ctx context.Context, q AuditQuery) ([]AuditEntry, error)
}

// LaunchDarkly is every view at once: what one workspace's client offers.
type LaunchDarkly interface {
	TokenChecker
	ProjectReader
	FlagReader
	FlagWriter
	SegmentReader
	ContextReader
	AuditLog
}

// ClientFunc returns a LaunchDarkly client that authenticates with token.
// Each workspace's calls go through a client made from its own token.
type ClientFunc func(token secret.Secret) LaunchDarkly

// Workspace identifies a Slack workspace (and its Enterprise Grid org, where
// there is one).
type Workspace struct {
	TeamID       string
	EnterpriseID string
}

// Actor is the person running a command, and where.
type Actor struct {
	Workspace
	UserID string
	// ChannelID is the channel the command was run in, when known.
	ChannelID string
	// Outsider is true for a user of another organisation (a Slack Connect
	// channel): such users may read help and nothing else. Every transport
	// entry point sets it; the core enforces it.
	Outsider bool
	// Guest is true for a single- or multi-channel guest of the workspace:
	// guests never approve, reject or sign off, and request changes only
	// where the workspace's policy lets them. Every transport entry point
	// sets it; the core enforces it.
	Guest bool
	// RequestKey identifies the delivery that carried the command: a
	// redelivery of the same request repeats it, so a change is filed
	// once. Empty means never deduplicate.
	RequestKey string
}

// Connection is a workspace's stored LaunchDarkly connection.
type Connection struct {
	Token          secret.Secret
	TokenID        string
	TokenName      string
	Role           string
	DefaultProject string
	DefaultEnv     string
	ConnectedBy    string
	ConnectedAt    time.Time
}

// Info returns what may be shown about c.
func (c Connection) Info() ConnectionInfo {
	return ConnectionInfo{
		TokenName:      c.TokenName,
		Role:           c.Role,
		Last4:          c.Token.Last4(),
		DefaultProject: c.DefaultProject,
		DefaultEnv:     c.DefaultEnv,
		ConnectedBy:    c.ConnectedBy,
		ConnectedAt:    c.ConnectedAt,
	}
}

// Workspaces stores each workspace's connection. Get returns ErrNotConnected
// when the workspace has none, and an error matching ErrUnreadable when it
// has one that cannot be decrypted; any other error means the store is
// unavailable. Put and Delete never read the stored connection, so they
// work on an unreadable one. Delete of a missing connection is not an
// error.
//
// Update changes ws's connection atomically: it calls fn with the stored
// connection and stores what fn leaves in it, unless the connection was
// replaced or removed in between, in which case it calls fn again on the
// fresh value (a few times at most). fn must be cheap and free of I/O; an
// error from fn is returned as is and nothing is written. Update returns an
// error wrapping ErrNotConnected when ws has no connection at write time,
// and one matching ErrUnreadable as Get does.
type Workspaces interface {
	Get(ctx context.Context, ws Workspace) (Connection, error)
	Put(ctx context.Context, ws Workspace, c Connection) error
	Delete(ctx context.Context, ws Workspace) error
	Update(ctx context.Context, ws Workspace, fn func(c *Connection) error) error
}

// Directory answers questions about Slack users.
type Directory interface {
	// IsAdmin reports whether a may connect, disconnect and configure the
	// workspace.
	IsAdmin(ctx context.Context, a Actor) (bool, error)
	// DisplayName returns a user's name as people know it in Slack; ws
	// is the workspace asking (whose installation Slack is asked with).
	DisplayName(ctx context.Context, ws Workspace, userID string) (string, error)
	// GroupMembers lists the user IDs in a Slack user group of ws.
	GroupMembers(ctx context.Context, ws Workspace, groupID string) ([]string, error)
}

// workspaceKey is the context key of WithWorkspace.
type workspaceKey struct{}

// WithWorkspace returns ctx marked as work for ws, so that what happens on
// its behalf deep down (a LaunchDarkly request, say) can be counted per
// workspace without every call passing it along.
func WithWorkspace(ctx context.Context, ws Workspace) context.Context {
	return context.WithValue(ctx, workspaceKey{}, ws)
}

// WorkspaceFrom returns the workspace ctx was marked with by WithWorkspace.
func WorkspaceFrom(ctx context.Context) (Workspace, bool) {
	ws, ok := ctx.Value(workspaceKey{}).(Workspace)
	return ws, ok
}
