package commands

import (
	"context"
	"fmt"

	"github.com/flagbot/flagbot/internal/ld"
)

// Write commands change LaunchDarkly. None of them applies directly: each
// is validated against LaunchDarkly, stored as a pending Change and applied
// only after a second person approves (or at once, for environments the
// workspace left out of `/flag config approval-envs`).
//
// How a transport runs them: Parse the text; if IsWrite(cmd), call
// Executor.RequestChange with the channel the command came from and a key
// that identifies the Slack envelope (so a redelivered envelope makes one
// change); otherwise call Execute. Execute refuses write commands with a
// KindInternal *Error, because it knows neither the channel nor the
// envelope. Button clicks call Approve, Reject and Cancel with the change's
// ID. `pending`, `history` and the policy settings of `config` are ordinary
// commands run by Execute.

// WriteOptions are the options every write command takes.
type WriteOptions struct {
	Project string // --project; empty means the workspace's default project
	Reason  string // --reason; why the change is wanted, shown to approvers and in LaunchDarkly's audit log
}

// On turns a flag on in one environment.
type On struct {
	Flag string
	Env  string // empty means the workspace's default environment
	WriteOptions
}

// Off turns a flag off in one environment.
type Off struct {
	Flag string
	Env  string
	WriteOptions
}

// Serve sets the variation a flag serves by default (its fallthrough) in
// one environment. Variation is named by its name, its value or its index.
type Serve struct {
	Flag      string
	Variation string
	Env       string
	WriteOptions
}

// RolloutWeight is one variation's share of a percentage rollout.
type RolloutWeight struct {
	Variation string // name, value or index
	Weight    int    // thousandths of a percent: 25000 is 25%
}

// Rollout sets a flag's default (fallthrough) to a percentage rollout. The
// weights sum to 100000.
type Rollout struct {
	Flag    string
	Weights []RolloutWeight
	Env     string
	WriteOptions
}

// OffVariation sets the variation a flag serves while it is off.
type OffVariation struct {
	Flag      string
	Variation string
	Env       string
	WriteOptions
}

// ContextRef names one context: its kind (user when none was typed) and key.
type ContextRef struct {
	Kind string
	Key  string
}

// Target adds contexts to, or removes them from, a variation's individual
// targets.
type Target struct {
	Flag      string
	Remove    bool // false: add
	Variation string
	Contexts  []ContextRef
	Env       string
	WriteOptions
}

// The kinds of flag Create makes.
const (
	FlagKindBoolean = "boolean"
	FlagKindString  = "string"
	FlagKindNumber  = "number"
	FlagKindJSON    = "json"
)

// Create creates a flag (off in every environment).
type Create struct {
	Key        string
	FlagName   string   // empty means the key
	FlagKind   string   // one of the FlagKind constants; boolean when not given
	Variations []string // values as typed; empty means true,false for a boolean flag
	Tags       []string
	Temporary  bool
	WriteOptions
}

// Archive archives a flag in every environment.
type Archive struct {
	Flag string
	WriteOptions
}

// Restore restores an archived flag.
type Restore struct {
	Flag string
	WriteOptions
}

// Delete deletes a flag from every environment, for good. (The Slack layer
// asks the approver to type the flag key before approving.)
type Delete struct {
	Flag string
	WriteOptions
}

// Pending lists the workspace's changes waiting for approval.
type Pending struct{}

// History lists the workspace's decided changes, newest first, only those
// of Flag when it is set.
type History struct{ Flag string }

// Name implements Command.
func (On) Name() string           { return "on" }
func (Off) Name() string          { return "off" }
func (Serve) Name() string        { return "serve" }
func (Rollout) Name() string      { return "rollout" }
func (OffVariation) Name() string { return "offvariation" }
func (Target) Name() string       { return "target" }
func (Create) Name() string       { return "create" }
func (Archive) Name() string      { return "archive" }
func (Restore) Name() string      { return "restore" }
func (Delete) Name() string       { return "delete" }
func (Pending) Name() string      { return "pending" }
func (History) Name() string      { return "history" }

func (c On) writeOptions() WriteOptions           { return c.WriteOptions }
func (c Off) writeOptions() WriteOptions          { return c.WriteOptions }
func (c Serve) writeOptions() WriteOptions        { return c.WriteOptions }
func (c Rollout) writeOptions() WriteOptions      { return c.WriteOptions }
func (c OffVariation) writeOptions() WriteOptions { return c.WriteOptions }
func (c Target) writeOptions() WriteOptions       { return c.WriteOptions }
func (c Create) writeOptions() WriteOptions       { return c.WriteOptions }
func (c Archive) writeOptions() WriteOptions      { return c.WriteOptions }
func (c Restore) writeOptions() WriteOptions      { return c.WriteOptions }
func (c Delete) writeOptions() WriteOptions       { return c.WriteOptions }

// writeCommand is implemented by the commands that change LaunchDarkly.
type writeCommand interface {
	Command
	writeOptions() WriteOptions
}

// IsWrite reports whether cmd changes LaunchDarkly, so that it must go
// through Executor.RequestChange rather than Execute.
func IsWrite(cmd Command) bool {
	_, ok := cmd.(writeCommand)
	return ok
}

// ChangeResult is the outcome of a request, an approval, a rejection or a
// cancellation: the change as it stands afterwards.
type ChangeResult struct {
	Change Change
	// Created is false when RequestChange found the change already stored
	// under the same dedupe key (a redelivered envelope): post nothing new.
	Created bool
	// Applied is true when the write was applied at once, without approval,
	// because its environment is not in the workspace's approval-envs.
	// Change.Status is then StatusApplied and the change is not stored.
	Applied bool
	// ApprovedNow is true for the one Approve call whose approval completed
	// the count; Change.Status then tells what applying it did (applied,
	// stale, failed or ld_approval).
	ApprovedNow bool
	// Flag is the flag as LaunchDarkly returned it after an applied change
	// (zero otherwise, and after a delete).
	Flag ld.Flag
	// FlagURL links to the flag in LaunchDarkly's UI ("" after a delete).
	FlagURL string
	// LDApprovalURL links to the LaunchDarkly approval request created when
	// LaunchDarkly required its own approval (StatusLDApproval).
	LDApprovalURL string
}

// PendingResult lists the workspace's pending changes, oldest first.
type PendingResult struct{ Changes []Change }

// HistoryResult lists decided changes, newest first; Flag is the filter.
type HistoryResult struct {
	Flag    string
	Changes []Change
}

func (ChangeResult) result()  {}
func (PendingResult) result() {}
func (HistoryResult) result() {}

// RequestChange validates the write cmd against LaunchDarkly and the
// workspace's policy and stores it as a pending change posted in
// channelID. dedupeKey identifies the Slack envelope: a second call with
// the same key returns the stored change with Created false. An empty
// dedupeKey never deduplicates.
//
// Errors (*Error): KindForbidden for a read-only token (nothing stored),
// KindInvalid for a missing required reason or a write LaunchDarkly would
// refuse (unknown variation, a context already served another variation,
// ...), KindNotFound for an unknown project, environment or flag,
// KindStoreUnavailable when the change could not be stored, and the
// LaunchDarkly kinds of Execute.
func (e *Executor) RequestChange(ctx context.Context, actor Actor, channelID string, cmd Command, dedupeKey string) (ChangeResult, error) {
	return e.requestChange(ctx, actor, channelID, cmd, dedupeKey)
}

// Approve records actor's approval of change id. When it completes the
// required count it re-reads the flag and applies the change (or marks it
// stale, failed, or handed to LaunchDarkly's own approvals) and returns it
// with ApprovedNow set.
//
// Errors (*Error): KindNotFound for an unknown id (or one from another
// workspace), KindForbidden for the requester or someone outside the
// approver group, KindConflict when actor already approved, the change was
// already decided (the message says by whom) or it expired.
func (e *Executor) Approve(ctx context.Context, actor Actor, id string) (ChangeResult, error) {
	return e.approve(ctx, actor, id)
}

// Reject rejects pending change id. Anyone who may approve it may reject
// it. Errors as Approve.
func (e *Executor) Reject(ctx context.Context, actor Actor, id string) (ChangeResult, error) {
	return e.decide(ctx, actor, id, false)
}

// Cancel withdraws pending change id; only its requester may (KindForbidden
// otherwise). Errors as Approve.
func (e *Executor) Cancel(ctx context.Context, actor Actor, id string) (ChangeResult, error) {
	return e.decide(ctx, actor, id, true)
}

// executeWrite runs pending and history and refuses the write commands,
// which go through RequestChange; ok is false for any other command.
func (e *Executor) executeWrite(ctx context.Context, actor Actor, _ Connection, _ LaunchDarkly, cmd Command) (res Result, ok bool, err error) {
	switch c := cmd.(type) {
	case Pending:
		res, err := e.pending(ctx, actor)
		return res, true, err
	case History:
		res, err := e.history(ctx, actor, c)
		return res, true, err
	}
	if IsWrite(cmd) {
		return nil, true, &Error{Kind: KindInternal, Err: fmt.Errorf("commands: %s is a write: run it with RequestChange", cmd.Name())}
	}
	return nil, false, nil
}
