package commands

import "time"

// Command is a parsed `/flag` subcommand. Parse returns one of the types in
// this file; Executor.Execute runs it.
type Command interface {
	// Name is the subcommand's name as listed in help, e.g. "show".
	Name() string
}

// Output holds the options every read command shares.
type Output struct {
	// Share posts the answer in the channel instead of only to the caller.
	Share bool
}

// Shared reports whether the answer should be posted in the channel.
func (o Output) Shared() bool { return o.Share }

// IsShared reports whether cmd asked for its answer to be posted in channel.
func IsShared(cmd Command) bool {
	s, ok := cmd.(interface{ Shared() bool })
	return ok && s.Shared()
}

// Help asks for the command list, or for one subcommand's help when Topic is set.
type Help struct{ Topic string }

// Connect opens the modal in which an admin pastes a LaunchDarkly token.
type Connect struct{}

// Status shows whether and how the workspace is connected.
type Status struct{}

// Disconnect forgets the workspace's LaunchDarkly token.
type Disconnect struct{}

// Setting names a workspace setting changed by `/flag config`.
type Setting string

// The workspace settings `/flag config` can change.
const (
	SettingProject Setting = "project"
	SettingEnv     Setting = "env"
	// The approval policy (see Policy).
	SettingRequireReason Setting = "require-reason" // Value "on" or "off"
	SettingApprovers     Setting = "approvers"      // Value a Slack user group ID; "" lets anyone approve
	SettingApprovals     Setting = "approvals"      // Env and Count
	SettingApprovalEnvs  Setting = "approval-envs"  // Envs; nil (Value "all") means every environment
)

// maxApprovals is the most approvals `config approvals` may require.
const maxApprovals = 5

// Config sets a workspace default or a part of its approval policy.
type Config struct {
	Setting Setting
	Value   string
	Env     string   // SettingApprovals: the environment
	Count   int      // SettingApprovals: approvals required, 1 to 5
	Envs    []string // SettingApprovalEnvs: the environments needing approval
}

// Projects lists the account's projects.
type Projects struct{ Output }

// Envs lists a project's environments.
type Envs struct {
	Project string
	Output
}

// List lists flags, optionally filtered.
type List struct {
	Project  string
	Env      string
	Words    string // free text matched against key and name
	Tag      string
	Archived bool
	Offset   int // paging offset, set by the "Next page" button
	Output
}

// Show shows one flag in detail.
type Show struct {
	Project string
	Env     string
	Flag    string
	Output
}

// Segments lists segments in an environment.
type Segments struct {
	Project string
	Env     string
	Output
}

// Segment shows one segment.
type Segment struct {
	Project string
	Env     string
	Key     string
	Output
}

// Contexts searches contexts seen in an environment.
type Contexts struct {
	Project string
	Env     string
	Words   string
	Kind    string
	Output
}

// Context shows one context by kind and key.
type Context struct {
	Project string
	Env     string
	Kind    string
	Key     string
	Output
}

// Audit lists recent audit-log entries.
type Audit struct {
	Project string
	Flag    string
	Env     string
	Since   time.Duration // zero means the default window
	Limit   int           // zero means the default
	Output
}

// Name implements Command.
func (Help) Name() string       { return "help" }
func (Connect) Name() string    { return "connect" }
func (Status) Name() string     { return "status" }
func (Disconnect) Name() string { return "disconnect" }
func (Config) Name() string     { return "config" }
func (Projects) Name() string   { return "projects" }
func (Envs) Name() string       { return "envs" }
func (List) Name() string       { return "list" }
func (Show) Name() string       { return "show" }
func (Segments) Name() string   { return "segments" }
func (Segment) Name() string    { return "segment" }
func (Contexts) Name() string   { return "contexts" }
func (Context) Name() string    { return "context" }
func (Audit) Name() string      { return "audit" }
