package commands

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"
)

// ChangeStatus is where a change stands under the two-person rule.
type ChangeStatus string

// The statuses of a change. Pending is the only one that can be approved,
// rejected or cancelled; Approved means enough approvals arrived and the
// change is being applied; the rest are final.
const (
	StatusPending    ChangeStatus = "pending"
	StatusApproved   ChangeStatus = "approved"
	StatusApplied    ChangeStatus = "applied"
	StatusRejected   ChangeStatus = "rejected"
	StatusCancelled  ChangeStatus = "cancelled"
	StatusExpired    ChangeStatus = "expired"
	StatusStale      ChangeStatus = "stale"       // LaunchDarkly changed since the request; not applied
	StatusFailed     ChangeStatus = "failed"      // LaunchDarkly refused the write; not applied
	StatusLDApproval ChangeStatus = "ld_approval" // handed to LaunchDarkly's own approval flow
)

// Final reports whether s can no longer change.
func (s ChangeStatus) Final() bool { return s != StatusPending && s != StatusApproved }

// DiffLine is one line of a change's human-readable diff.
type DiffLine struct {
	Field  string `json:"field"`
	Before string `json:"before"`
	After  string `json:"after"`
}

// Approval is one person's approval of a change.
type Approval struct {
	UserID string    `json:"user_id"`
	At     time.Time `json:"at"`
}

// Change is a requested flag change waiting for, or decided by, a second
// person. It holds exactly what will be sent to LaunchDarkly.
type Change struct {
	ID          string     `json:"id"` // unguessable
	Workspace   Workspace  `json:"workspace"`
	ChannelID   string     `json:"channel_id"`
	MessageTS   string     `json:"message_ts,omitempty"` // the posted request, for chat.update
	RequesterID string     `json:"requester_id"`
	CommandText string     `json:"command_text"`
	Kind        ChangeKind `json:"kind"`
	Project     string     `json:"project"`
	Env         string     `json:"env,omitempty"` // empty for flag-wide changes
	Flag        string     `json:"flag"`
	// Exactly one of Patch, NewFlag and Delete describes the write.
	Patch   *Patch   `json:"patch,omitempty"`
	NewFlag *NewFlag `json:"new_flag,omitempty"`
	Delete  bool     `json:"delete,omitempty"`
	// Versions at request time; a moved version makes the change stale.
	FlagVersion int `json:"flag_version"`
	EnvVersion  int `json:"env_version"`

	Diff              []DiffLine   `json:"diff"`
	Reason            string       `json:"reason,omitempty"`
	CreatedAt         time.Time    `json:"created_at"`
	ExpiresAt         time.Time    `json:"expires_at"`
	Status            ChangeStatus `json:"status"`
	RequiredApprovals int          `json:"required_approvals"`
	Approvals         []Approval   `json:"approvals,omitempty"`
	DecidedBy         string       `json:"decided_by,omitempty"` // who rejected or cancelled
	DecidedAt         time.Time    `json:"decided_at,omitzero"`
	// Outcome explains a final status: LaunchDarkly's message on failure,
	// what moved on stale, the LaunchDarkly approval link, ...
	Outcome Text `json:"outcome,omitempty"`
	// Lease says who is applying an approved change (state, not stored in
	// the request's body).
	Lease Lease `json:"-"`
}

// Claim asks for the right to apply an approved change: Owner names the
// attempt (unique per attempt), For is how long the right lasts unless
// renewed.
type Claim struct {
	Owner string
	For   time.Duration
}

// Lease is the right to apply one approved change. Each claim of a change
// gets the next Fence number; only the holder of the current fence may
// record that the write is being sent (Sent) or finish the change, so an
// attempt whose lease lapsed and was taken over can no longer act.
type Lease struct {
	Owner string
	Fence int64
	Until time.Time
	// Sent is the fence of the last attempt that recorded it was about to
	// send the write to LaunchDarkly: 0 means nothing was ever sent, so
	// the change can be applied afresh; otherwise the write may have
	// landed and whoever resumes the change must find out first.
	Sent int64
}

// Errors returned by Changes. Each is matched with errors.Is.
var (
	ErrChangeNotFound  = errors.New("change not found")
	ErrSelfApproval    = errors.New("requester cannot approve their own change")
	ErrAlreadyApproved = errors.New("already approved by this user")
	ErrDecided         = errors.New("change already decided")
	ErrExpired         = errors.New("change expired")
	ErrNotRequester    = errors.New("only the requester can cancel")
	// ErrClaimed: another attempt holds a live lease on the change.
	ErrClaimed = errors.New("change is being applied by another attempt")
	// ErrLeaseLost: the caller's lease lapsed and another attempt claimed
	// the change (or it was finished); the caller must stop.
	ErrLeaseLost = errors.New("lease on change lost")
)

// Changes stores changes and enforces the two-person rule. Every state
// change is one atomic step, safe across goroutines and bot replicas.
// Failures of the store itself are returned wrapped and match none of the
// errors above.
type Changes interface {
	// Create stores c (Status pending, ID set by the caller) to expire at
	// c.ExpiresAt. If a change with the same dedupeKey exists in the
	// workspace it returns that one and created=false (a redelivered
	// envelope makes one change).
	Create(ctx context.Context, c Change, dedupeKey string) (stored Change, created bool, err error)
	// Get returns a change; ErrChangeNotFound if unknown.
	Get(ctx context.Context, ws Workspace, id string) (Change, error)
	// Approve records approver's approval at now and returns the change as
	// it stands afterwards. approvedNow is true for exactly one call: the
	// one whose approval completed the required count and moved it to
	// StatusApproved; in the same atomic step that call is given the lease
	// claim asks for (fence 1; a zero claim leaves it unclaimed). Errors:
	// ErrSelfApproval, ErrAlreadyApproved, ErrExpired, ErrChangeNotFound,
	// and ErrDecided (with the change returned, so the caller can say who
	// decided it).
	Approve(ctx context.Context, ws Workspace, id, approver string, now time.Time, claim Claim) (c Change, approvedNow bool, err error)
	// Claim takes the lease on approved change id for claim, with the next
	// fence, unless another attempt's lease is still live at now
	// (ErrClaimed). A change approved without a claim may be claimed only
	// once its approval is older than unclaimedAfter. ErrDecided when it
	// is no longer approved.
	Claim(ctx context.Context, ws Workspace, id string, claim Claim, now time.Time, unclaimedAfter time.Duration) (Change, error)
	// Renew extends the lease of fence by claim.For from now and, with
	// sent, records that this attempt is about to send the write.
	// ErrLeaseLost when fence is no longer the change's current lease (or
	// the change was finished).
	Renew(ctx context.Context, ws Workspace, id string, fence int64, claim Claim, now time.Time, sent bool) (Change, error)
	// Reject and Cancel decide a pending change. Cancel is for the
	// requester only (ErrNotRequester). ErrDecided and ErrExpired as above.
	Reject(ctx context.Context, ws Workspace, id, by string, now time.Time) (Change, error)
	Cancel(ctx context.Context, ws Workspace, id, by string, now time.Time) (Change, error)
	// Finish moves an approved change to a final status (applied, failed,
	// stale or ld_approval) with an outcome, exactly once, for the holder
	// of lease fence (0 for a change never claimed); ErrDecided if it is
	// not StatusApproved, ErrLeaseLost if fence is not its current lease.
	Finish(ctx context.Context, ws Workspace, id string, fence int64, status ChangeStatus, outcome Text, now time.Time) (Change, error)
	// SetMessage records where the request was posted.
	SetMessage(ctx context.Context, ws Workspace, id, channelID, ts string) error
	// Pending lists the workspace's pending changes, oldest first.
	Pending(ctx context.Context, ws Workspace) ([]Change, error)
	// History lists the workspace's most recent final changes, newest
	// first, at most limit (the store keeps the last 50), only those for
	// flag when flag is not empty.
	History(ctx context.Context, ws Workspace, flag string, limit int) ([]Change, error)
}

// Policy is a workspace's approval policy, set with `/flag config`. It
// fails closed: every change in every environment of every project,
// present or future, waits for approval, except in the environments an
// admin exempted (never a critical one).
type Policy struct {
	RequireReason bool   `json:"require_reason,omitempty"`
	ApproverGroup string `json:"approver_group,omitempty"` // Slack user group ID; empty: anyone in the workspace
	// Approvals is the number of approvals (1 to 5) required per
	// environment key; missing means 1.
	Approvals map[string]int `json:"approvals,omitempty"`
	// ExemptEnvs lists, per project key, the environments whose changes
	// apply at once (and are still posted). An environment LaunchDarkly
	// marks critical needs approval even when listed.
	ExemptEnvs map[string][]string `json:"exempt_envs,omitempty"`
	// GuestsMayRequest lets single- and multi-channel guests request
	// changes. Guests may never approve, reject or sign off.
	GuestsMayRequest bool `json:"guests_may_request,omitempty"`
	// LegacyApprovalEnvs is the approval-envs setting of versions before
	// approval was the default. It grants nothing any more: it is kept so
	// that `/flag config` can say what it was until an admin sets
	// exempt-envs.
	LegacyApprovalEnvs []string `json:"approval_envs,omitempty"`
}

// Exempt reports whether pol exempts env of project from approval, as far
// as the policy says (criticality is LaunchDarkly's to say).
func (pol Policy) Exempt(project, env string) bool {
	if env == "" {
		return false // flag-wide changes touch every environment
	}
	return slices.ContainsFunc(pol.ExemptEnvs[project], func(x string) bool { return strings.EqualFold(x, env) })
}

// Policies stores each workspace's approval policy. Policy returns the
// zero Policy when none is stored.
//
// Update changes ws's policy atomically: it calls fn with the stored
// policy and stores what fn leaves in it, unless the policy changed in
// between, in which case it calls fn again on the fresh one (a few times at
// most), so concurrent edits of different settings never lose each other.
// fn must be cheap and free of I/O; an error from fn is returned as is and
// nothing is written. It returns the policy as stored.
type Policies interface {
	Policy(ctx context.Context, ws Workspace) (Policy, error)
	Update(ctx context.Context, ws Workspace, fn func(p *Policy) error) (Policy, error)
}
