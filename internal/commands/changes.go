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
// change is being applied; Scheduled means it was approved and waits for
// its time (ApplyAt); the rest are final.
const (
	StatusPending    ChangeStatus = "pending"
	StatusApproved   ChangeStatus = "approved"
	StatusScheduled  ChangeStatus = "scheduled" // approved; applies at ApplyAt
	StatusApplied    ChangeStatus = "applied"
	StatusRejected   ChangeStatus = "rejected"
	StatusCancelled  ChangeStatus = "cancelled"
	StatusExpired    ChangeStatus = "expired"
	StatusStale      ChangeStatus = "stale"       // LaunchDarkly changed since the request; not applied
	StatusFailed     ChangeStatus = "failed"      // LaunchDarkly refused the write; not applied
	StatusLDApproval ChangeStatus = "ld_approval" // handed to LaunchDarkly's own approval flow
	StatusMissed     ChangeStatus = "missed"      // scheduled, but no replica ran within the grace period; not applied
)

// Final reports whether s can no longer change.
func (s ChangeStatus) Final() bool {
	return s != StatusPending && s != StatusApproved && s != StatusScheduled
}

// Live reports whether a change in status s may still be applied: it waits
// for approval, is being applied or waits for its time.
func (s ChangeStatus) Live() bool { return !s.Final() }

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

	// UndoOf is the request this change undoes (Undo, or Revert of a
	// kill); it names it in LaunchDarkly's audit log.
	UndoOf string `json:"undo_of,omitempty"`
	// ApplyAt is when the change applies once approved (--at, --in); zero
	// means as soon as it is approved.
	ApplyAt time.Time `json:"apply_at,omitzero"`
	// Exempt is set for a change applied without approval because an
	// admin exempted its environment (exempt-envs).
	Exempt bool `json:"exempt,omitempty"`
	// Emergency is set for a break-glass `/flag kill`: applied at once for
	// a member of the responders group, to be signed off by someone else
	// by SignoffDue.
	Emergency  bool      `json:"emergency,omitempty"`
	SignoffDue time.Time `json:"signoff_due,omitzero"`

	// The rest is state, not stored in the request's body.

	// Lease says who is applying an approved change.
	Lease Lease `json:"-"`
	// Undo is how to undo the change, recorded when it was applied (nil
	// for kinds that have no undo and for changes applied by versions that
	// did not record it).
	Undo *UndoPlan `json:"-"`
	// UndoneBy is the ID of the latest undo request filed for this change.
	UndoneBy string `json:"-"`
	// SignedOffBy and SignedOffAt say who signed an emergency change off.
	SignedOffBy string    `json:"-"`
	SignedOffAt time.Time `json:"-"`
	// Signoff is how far an unsigned emergency change's reminders went.
	Signoff SignoffStage `json:"-"`
	// DMs are the direct messages that told approvers about the request,
	// updated with it.
	DMs []PostRef `json:"-"`
}

// SignoffStage is how far the reminders of an emergency change that
// nobody signed off went.
type SignoffStage int

// The sign-off stages: none yet, reminded at half the sign-off time, and
// overdue once it ran out.
const (
	SignoffWaiting SignoffStage = iota
	SignoffReminded
	SignoffOverdue
)

// NeedsSignoff reports whether c is an applied emergency change nobody
// has signed off yet.
func (c Change) NeedsSignoff() bool {
	return c.Emergency && c.Status == StatusApplied && c.SignedOffBy == ""
}

// PostRef is where a message was posted: a channel (or a user's direct
// messages) and its timestamp.
type PostRef struct {
	Channel string `json:"ch"`
	TS      string `json:"ts"`
}

// UndoPlan is how to undo an applied change, recorded from the flag as it
// was just before the write: the kind of the inverse change and what it
// sets back, by variation ID (indexes may move), and the versions the flag
// had right after the write, against which a later undo checks whether the
// flag changed since.
type UndoPlan struct {
	Kind ChangeKind `json:"kind"`
	// VariationID is the variation served by default (serve), while off
	// (offvariation) or the targets' variation (target).
	VariationID string `json:"variation_id,omitempty"`
	// Weights is a rollout's weight by variation ID (rollout), with its
	// context kind and bucketing attribute.
	Weights            map[string]int `json:"weights,omitempty"`
	RolloutContextKind string         `json:"rollout_context_kind,omitempty"`
	RolloutBucketBy    string         `json:"rollout_bucket_by,omitempty"`
	// Remove and Contexts are the targets to remove or add back (target).
	Remove   bool         `json:"remove,omitempty"`
	Contexts []ContextRef `json:"contexts,omitempty"`
	// FlagVersion and EnvVersion are the versions right after the write.
	FlagVersion int `json:"flag_version"`
	EnvVersion  int `json:"env_version"`
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
	// ErrConfirmDelete: approving a deletion needs the flag's key typed.
	ErrConfirmDelete = errors.New("deleting the flag needs its key typed to confirm")
	// ErrClaimed: another attempt holds a live lease on the change.
	ErrClaimed = errors.New("change is being applied by another attempt")
	// ErrLeaseLost: the caller's lease lapsed and another attempt claimed
	// the change (or it was finished); the caller must stop.
	ErrLeaseLost = errors.New("lease on change lost")
	// ErrNotDue: a scheduled change's time has not come yet.
	ErrNotDue = errors.New("scheduled change not due yet")
	// ErrUndoLinked: another undo request was linked to the change
	// since the caller read it.
	ErrUndoLinked = errors.New("change already has another undo request")
	// ErrNoSignoff: the change is no emergency change waiting for a
	// sign-off (or was signed off already: the change says by whom).
	ErrNoSignoff = errors.New("change needs no sign-off")
)

// Changes stores changes and enforces the two-person rule. Every state
// change is one atomic step, safe across goroutines and bot replicas.
// Failures of the store itself are returned wrapped and match none of the
// errors above.
type Changes interface {
	// Create stores c (Status pending, ID set by the caller) to expire at
	// c.ExpiresAt. If a change with the same dedupeKey exists in the
	// workspace it returns that one and created=false (a redelivered
	// envelope makes one change). Halfway to its expiry, a change still
	// pending is handed once to the sweeper's reminder.
	Create(ctx context.Context, c Change, dedupeKey string) (stored Change, created bool, err error)
	// CreateApproved stores c as approved at once, with no approval (an
	// exempt environment, or an emergency change), giving the caller the
	// lease claim asks for (fence 1); or, when c.ApplyAt is after
	// c.CreatedAt, as scheduled for that time, unclaimed. Dedupe as Create.
	CreateApproved(ctx context.Context, c Change, dedupeKey string, claim Claim) (stored Change, created bool, err error)
	// Get returns a change; ErrChangeNotFound if unknown.
	Get(ctx context.Context, ws Workspace, id string) (Change, error)
	// Approve records approver's approval at now and returns the change as
	// it stands afterwards. approvedNow is true for exactly one call: the
	// one whose approval completed the required count and moved it to
	// StatusApproved; in the same atomic step that call is given the lease
	// claim asks for (fence 1; a zero claim leaves it unclaimed). A change
	// whose ApplyAt is after now moves to StatusScheduled instead, with no
	// lease, until ClaimScheduled takes it at its time. Errors:
	// ErrSelfApproval, ErrAlreadyApproved, ErrExpired, ErrChangeNotFound,
	// and ErrDecided (with the change returned, so the caller can say who
	// decided it). A pending change that deletes its flag is approved only
	// with deleteConfirmed (the approver typed its key); without it the
	// answer is ErrConfirmDelete, with the change, and nothing is recorded.
	// The store checks that itself, so that an approval is one round trip
	// with no read before it.
	Approve(ctx context.Context, ws Workspace, id, approver string, now time.Time, claim Claim, deleteConfirmed bool) (c Change, approvedNow bool, err error)
	// Claim takes the lease on approved change id for claim, with the next
	// fence, unless another attempt's lease is still live at now
	// (ErrClaimed). A change approved without a claim may be claimed only
	// once its approval is older than unclaimedAfter. ErrDecided when it
	// is no longer approved.
	Claim(ctx context.Context, ws Workspace, id string, claim Claim, now time.Time, unclaimedAfter time.Duration) (Change, error)
	// Renew extends the lease of fence by claim.For from now and, with
	// sent, records that this attempt is about to send the write; it
	// returns the lease as renewed. ErrLeaseLost when fence is no longer
	// the change's current lease (or the change was finished). It answers
	// with the lease alone: the holder already has the change, and this
	// runs on every apply.
	Renew(ctx context.Context, ws Workspace, id string, fence int64, claim Claim, now time.Time, sent bool) (Lease, error)
	// Reject and Cancel decide a pending change. Cancel is for the
	// requester only (ErrNotRequester). ErrDecided and ErrExpired as above.
	Reject(ctx context.Context, ws Workspace, id, by string, now time.Time) (Change, error)
	Cancel(ctx context.Context, ws Workspace, id, by string, now time.Time) (Change, error)
	// Finish moves an approved change to a final status (applied, failed,
	// stale, ld_approval or missed) with an outcome, exactly once, for the
	// holder of lease fence (0 for a change never claimed); ErrDecided if
	// it is not StatusApproved, ErrLeaseLost if fence is not its current
	// lease. undo, for an applied change, is how to undo it. An applied
	// emergency change starts waiting for its sign-off.
	Finish(ctx context.Context, ws Workspace, id string, fence int64, status ChangeStatus, outcome Text, undo *UndoPlan, now time.Time) (Change, error)
	// ClaimScheduled takes a scheduled change whose time has come (its
	// ApplyAt is not after now) for claim: it moves to StatusApproved with
	// the lease, to be applied (or marked missed) by the caller. ErrNotDue
	// before its time, ErrDecided when it is no longer scheduled (another
	// replica took it, or it was cancelled).
	ClaimScheduled(ctx context.Context, ws Workspace, id string, claim Claim, now time.Time) (Change, error)
	// Unschedule cancels a scheduled change on behalf of by (the caller
	// checked who may); ErrDecided when it is no longer scheduled.
	Unschedule(ctx context.Context, ws Workspace, id, by string, now time.Time) (Change, error)
	// LinkUndo records undoID as the undo request of change id, if its
	// current link is still expect ("" for none); ErrUndoLinked otherwise,
	// with the change as it stands.
	LinkUndo(ctx context.Context, ws Workspace, id, expect, undoID string) (Change, error)
	// SignOff records by's sign-off of an applied emergency change at now.
	// ErrSelfApproval when by made the change, ErrNoSignoff when it needs
	// none or was signed off already (the change says by whom).
	SignOff(ctx context.Context, ws Workspace, id, by string, now time.Time) (Change, error)
	// SetDMs records the direct messages that told approvers about change
	// id, so that decisions update them too.
	SetDMs(ctx context.Context, ws Workspace, id string, dms []PostRef) error
	// Scheduled lists the workspace's scheduled changes, soonest first.
	Scheduled(ctx context.Context, ws Workspace) ([]Change, error)
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
	// ResponderGroup is the Slack user group whose members may use the
	// break-glass `/flag kill`; empty: nobody may.
	ResponderGroup string `json:"responder_group,omitempty"`
	// NoDMs lists the people who turned Flagbot's direct messages off
	// (`/flag notify off`), at most MaxNoDMs.
	NoDMs []string `json:"no_dms,omitempty"`
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
