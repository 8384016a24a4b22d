package commands

import (
	"context"
	"time"

	"github.com/flagbot/flagbot/internal/ld"
	"github.com/flagbot/flagbot/internal/secret"
)

// LaunchDarkly is the part of LaunchDarkly's REST API the read commands use.
// Implementations return errors that match ld's sentinels (ld.ErrNotFound,
// ld.ErrUnauthorized, ...) through errors.Is; *ld.Client implements it.
type LaunchDarkly interface {
	CallerIdentity(ctx context.Context) (ld.CallerIdentity, error)
	GetToken(ctx context.Context, id string) (ld.Token, error)
	ListProjects(ctx context.Context) ([]ld.Project, error)
	ListEnvironments(ctx context.Context, project string) ([]ld.Environment, error)
	ListFlags(ctx context.Context, project string, opts ld.FlagListOptions) (ld.FlagPage, error)
	GetFlag(ctx context.Context, project, key string, envs ...string) (ld.Flag, error)
	ListSegments(ctx context.Context, project, env string) ([]ld.Segment, error)
	GetSegment(ctx context.Context, project, env, key string) (ld.Segment, error)
	SearchContexts(ctx context.Context, project, env string, opts ld.ContextSearch) ([]ld.ContextRecord, error)
	GetContexts(ctx context.Context, project, env, kind, key string) ([]ld.ContextRecord, error)
	ListAuditLog(ctx context.Context, opts ld.AuditLogOptions) ([]ld.AuditEntry, error)

	// Writes, used only after a second person approved.
	PatchFlag(ctx context.Context, project, key string, p ld.SemanticPatch) (ld.Flag, error)
	CreateFlag(ctx context.Context, project string, f ld.NewFlag) (ld.Flag, error)
	DeleteFlag(ctx context.Context, project, key string) error
	// CreateApprovalRequest hands a change to LaunchDarkly's own approval
	// flow, after PatchFlag answered ld.ErrMethodNotAllowed.
	CreateApprovalRequest(ctx context.Context, project, key, env string, in ld.ApprovalRequestInput) (ld.ApprovalRequest, error)
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

// Actor is the Slack user running a command.
type Actor struct {
	Workspace
	UserID string
	// ChannelID is the channel the command was run in, when known.
	ChannelID string
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
// when the workspace has none; any other error means the store is
// unavailable. Delete of a missing connection is not an error.
//
// Update changes ws's connection atomically: it calls fn with the stored
// connection and stores what fn leaves in it, unless the connection was
// replaced or removed in between, in which case it calls fn again on the
// fresh value (a few times at most). fn must be cheap and free of I/O; an
// error from fn is returned as is and nothing is written. Update returns an
// error wrapping ErrNotConnected when ws has no connection at write time.
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
	// DisplayName returns a user's name as people know it in Slack.
	DisplayName(ctx context.Context, userID string) (string, error)
	// GroupMembers lists the user IDs in a Slack user group.
	GroupMembers(ctx context.Context, groupID string) ([]string, error)
}
