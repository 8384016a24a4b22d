package commands

import (
	"time"

	"github.com/flagbot/flagbot/internal/ld"
)

// Result is what a command produced: plain data that a transport renders.
// Every result type in this file implements it.
type Result interface{ result() }

// HelpEntry describes one subcommand; the help table is a list of these.
type HelpEntry struct {
	Name     string
	Usage    string   // e.g. "show <flag> [env]"
	Summary  string   // one sentence
	Examples []string // full texts after "/flag ", e.g. "show new-checkout production"
	Admin    bool     // only admins may run it
}

// HelpResult lists subcommands; with Topic set it holds that one entry.
type HelpResult struct {
	Topic   string
	Entries []HelpEntry
}

// ConnectModal asks the transport to open the connect modal, prefilled.
type ConnectModal struct {
	DefaultProject string
	DefaultEnv     string
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

// ConnectResult reports a successful connection.
type ConnectResult struct{ Info ConnectionInfo }

// StatusResult reports the workspace's connection; Connected is false when
// there is none.
type StatusResult struct {
	Connected bool
	Info      ConnectionInfo
	BaseURL   string
}

// DisconnectResult reports that a connection was removed.
type DisconnectResult struct{ Info ConnectionInfo }

// ConfigResult reports a changed workspace default or policy setting. For
// policy settings Policy is the workspace's whole policy afterwards.
type ConfigResult struct {
	Setting Setting
	Value   string
	Env     string
	Count   int
	Envs    []string
	Policy  Policy
}

// ProjectsResult lists projects.
type ProjectsResult struct {
	Projects       []ld.Project
	DefaultProject string
	BaseURL        string
}

// EnvsResult lists a project's environments.
type EnvsResult struct {
	Project    string
	Envs       []ld.Environment
	DefaultEnv string
}

// FlagListResult is one page of flags.
type FlagListResult struct {
	Query      List // the command with project and env resolved
	Flags      []ld.Flag
	Total      int
	NextOffset int // 0 when this is the last page
	BaseURL    string
}

// FlagResult shows one flag. Env is the environment in focus; the flag's
// Environments map holds every environment that was fetched.
type FlagResult struct {
	Project string
	Env     string
	Flag    ld.Flag
	BaseURL string
}

// SegmentsResult lists segments.
type SegmentsResult struct {
	Project  string
	Env      string
	Segments []ld.Segment
}

// SegmentResult shows one segment.
type SegmentResult struct {
	Project string
	Env     string
	Segment ld.Segment
}

// ContextsResult lists contexts found by a search.
type ContextsResult struct {
	Project  string
	Env      string
	Query    Contexts
	Contexts []ld.ContextRecord
}

// ContextResult shows one context (one record per application that saw it).
type ContextResult struct {
	Project string
	Env     string
	Kind    string
	Key     string
	Records []ld.ContextRecord
}

// AuditResult lists audit-log entries, newest first.
type AuditResult struct {
	Query   Audit // with defaults filled in
	Since   time.Time
	Entries []ld.AuditEntry
	BaseURL string
}

func (HelpResult) result()       {}
func (ConnectModal) result()     {}
func (ConnectResult) result()    {}
func (StatusResult) result()     {}
func (DisconnectResult) result() {}
func (ConfigResult) result()     {}
func (ProjectsResult) result()   {}
func (EnvsResult) result()       {}
func (FlagListResult) result()   {}
func (FlagResult) result()       {}
func (SegmentsResult) result()   {}
func (SegmentResult) result()    {}
func (ContextsResult) result()   {}
func (ContextResult) result()    {}
func (AuditResult) result()      {}
