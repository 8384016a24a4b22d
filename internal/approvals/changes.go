package approvals

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/flagbot/flagbot/internal/commands"
	"github.com/flagbot/flagbot/internal/redisstore"
)

// Defaults for ChangesOptions.
const (
	// DefaultHistoryLimit is how many final changes each workspace's
	// history keeps (`/flag history` shows the last 50).
	DefaultHistoryLimit = 50
	// DefaultRetention is how long a final change is kept after it was
	// decided, and a pending one after it expires (so the sweeper always
	// finds it to mark it expired).
	DefaultRetention = 30 * 24 * time.Hour
)

// ChangesOptions tunes Changes. The zero value means the defaults.
type ChangesOptions struct {
	// HistoryLimit caps each workspace's history list. Zero means
	// DefaultHistoryLimit.
	HistoryLimit int
	// Retention is how long a change is kept once it is final (or once its
	// expiry passed). Zero means DefaultRetention.
	Retention time.Duration
}

func (o ChangesOptions) withDefaults() ChangesOptions {
	if o.HistoryLimit <= 0 {
		o.HistoryLimit = DefaultHistoryLimit
	}
	if o.Retention <= 0 {
		o.Retention = DefaultRetention
	}
	return o
}

// Changes stores changes under the two-person rule in Redis and implements
// commands.Changes. Every state operation (Create, Approve, Reject, Cancel,
// Finish, SetMessage) and every listing is one Lua script, so one round trip
// and one atomic step, whichever replica runs it.
//
// Layout, keys given without the Store's prefix, W =
// redisstore.WorkspaceKey(team, enterprise):
//
//	W:change:{id}      hash: the change (fields below)
//	W:pending          sorted set: change keys of pending changes, by creation (ms)
//	W:history          list: change keys of final changes, newest first, capped
//	W:dedupe:{key}     string: the change key a dedupe key made, until expiry
//	W:expiry           sorted set: pending change keys by expiry (ms)
//	W:applying         sorted set: approved (not yet finished) change keys
//	                   by the end of their lease (ms), or by their approval
//	                   time when approved without a claim; see Reclaimable
//	W:remind           sorted set: pending change keys by the time halfway
//	                   to their expiry (ms), taken out when reminded or
//	                   decided (RemindDue)
//	W:scheduled        sorted set: scheduled change keys by the time they
//	                   apply (ms), expiring MaxScheduleAhead plus Retention
//	                   after the last one was added; see DueScheduled
//	W:signoff          sorted set: applied emergency change keys not signed
//	                   off, by their next reminder (ms); see SignoffDue
//	W:unsigned         sorted set: applied emergency change keys not signed
//	                   off, by their sign-off deadline (ms), expiring
//	                   Retention after the last one was added
//	changes:workspaces set: W of every workspace that ever stored a change
//	changes:sweeper-lock  string: the sweep lock (Sweeper)
//
// W carries the workspace's hash tag, so every key a script touches is in
// one Redis Cluster slot. There is no index across workspaces: the sweeps
// (ExpireDue, Reclaimable, DueScheduled, RemindDue, SignoffDue) and
// PendingByAge read changes:workspaces and then the one index they need of
// every workspace in one pipeline (one round trip per Redis node), and run
// a script only for the workspaces that have something due. A sweep costs
// five such pipelines, each one cheap command per workspace that ever
// requested a change, plus one script per workspace with due work: a few
// thousand commands every 30 seconds for a thousand workspaces
// (BenchmarkSweepIdleWorkspaces: a whole sweep over 1000 workspaces with
// nothing due took 19 ms on a local Redis, 22 ms on a local three-master
// cluster). A
// workspace is added to changes:workspaces before its first change is
// stored (so a replica dying in between leaves a visit that finds
// nothing, never a change nobody visits), and stays there.
//
// The change hash holds the immutable request as JSON ("body", never
// decoded by the scripts) and the state as plain fields: status, requester
// (req), expiry (exp), required approvals (need), approval count (n), the
// i-th approver and time (a{i}, t{i}), a marker per approver (u:{user}),
// who decided (by), when (dat), the outcome (out), the message (ch, ts),
// the full workspace key with the prefix (wsk), and
// the tokens of the calls that changed it (ctok, k:{user}, dtok, ltok,
// stok), which make a resent call idempotent (see changes_lua.go), and, once
// approved, the lease: its holder (own), fence number (fence), end in ms
// (lease) and the fence that recorded sending the write (sent). Newer
// fields: whether it deletes its flag (del: "1" or "0", which luaApprove
// reads instead of the body); the time a scheduled change applies (at, ms); an emergency
// change's sign-off deadline and reminder (sod, sor, ms), sign-off stage
// (sost: 0 waiting, 1 reminded, 2 overdue), who signed it off and when (so,
// sot); how to undo an applied change (inv, JSON) and the latest undo
// request filed for it (undo); the approvers' direct messages (dms, JSON).
// A hash without them reads as before: not scheduled, no undo recorded.
//
// Lifetime: a pending change's key expires Retention after its expiry, so
// the sweeper always finds it first. When a change becomes final its key
// expires Retention later and it is pushed onto the history list, whose own
// TTL is reset to Retention on every push. History is therefore "the last
// HistoryLimit changes decided in the last Retention": list entries are in
// decision order and all share one retention, so entries whose key has
// expired form the list's tail, and History skips them.
//
// The indexes and the history hold full keys (with the prefix) of change
// hashes of their own workspace; scripts that work on them get them as
// KEYS (see changes_lua.go).
type Changes struct {
	store *redisstore.Store
	opts  ChangesOptions

	create, approve, decide, finish, setMessage *redisstore.Script
	claim, renew                                *redisstore.Script
	expireDue, reclaimable, read                *redisstore.Script
	claimScheduled, unschedule, linkUndo        *redisstore.Script
	signOff, setDMs, remindDue, signoffDue      *redisstore.Script
	scheduled, overdue                          *redisstore.Script
	forget                                      *redisstore.Script
}

// workspacesKey names the set of the workspaces (WorkspaceKey(team,
// enterprise), without the prefix) that ever stored a change: the ones a
// sweep visits.
const workspacesKey = "changes:workspaces"

// Names of a workspace's indexes (parts of WorkspaceKey).
const (
	idxPending   = "pending"
	idxHistory   = "history"
	idxExpiry    = "expiry"
	idxApplying  = "applying"
	idxRemind    = "remind"
	idxScheduled = "scheduled"
	idxSignoff   = "signoff"
	idxUnsigned  = "unsigned"
)

// MaxScheduleAhead is the furthest ahead a change may be scheduled; the
// workspace's scheduled index lives this long plus the retention after its
// last addition.
const MaxScheduleAhead = 30 * 24 * time.Hour

var _ commands.Changes = (*Changes)(nil)

// NewChanges returns the change store on s.
func NewChanges(s *redisstore.Store, opts ChangesOptions) *Changes {
	return &Changes{
		store:       s,
		opts:        opts.withDefaults(),
		create:      redisstore.NewScript(luaCreate),
		approve:     redisstore.NewScript(luaApprove),
		decide:      redisstore.NewScript(luaDecide),
		finish:      redisstore.NewScript(luaFinish),
		setMessage:  redisstore.NewScript(luaSetMessage),
		claim:       redisstore.NewScript(luaClaim),
		renew:       redisstore.NewScript(luaRenew),
		expireDue:   redisstore.NewScript(luaExpireDue),
		reclaimable: redisstore.NewScript(luaReclaimable),
		read:        redisstore.NewScript(luaRead),
		forget:      redisstore.NewScript(luaForgetChanges),

		claimScheduled: redisstore.NewScript(luaClaimScheduled),
		unschedule:     redisstore.NewScript(luaUnschedule),
		linkUndo:       redisstore.NewScript(luaLinkUndo),
		signOff:        redisstore.NewScript(luaSignOff),
		setDMs:         redisstore.NewScript(luaSetDMs),
		remindDue:      redisstore.NewScript(luaRemindDue),
		signoffDue:     redisstore.NewScript(luaSignoffDue),
		scheduled:      redisstore.NewScript(luaScheduled),
		overdue:        redisstore.NewScript(luaOverdue),
	}
}

// NewChangeID returns a new unguessable change ID: 128 random bits from
// crypto/rand in lower-case base32 without padding (26 characters).
func NewChangeID() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("approvals: new change id: %w", err)
	}
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b)), nil
}

// Create stores c as a pending change, or returns the change an earlier
// Create with the same non-empty dedupeKey made in the workspace (until
// that change's expiry) with created=false. c needs an ID, a workspace team,
// a requester and CreatedAt before ExpiresAt; Status must be empty or
// pending and Approvals empty; RequiredApprovals below 1 means 1. Otherwise
// the error wraps ErrInvalidChange. An ID already stored gives
// ErrChangeIDInUse. Halfway to its expiry the change is due for its
// reminder (RemindDue).
func (c *Changes) Create(ctx context.Context, ch commands.Change, dedupeKey string) (commands.Change, bool, error) {
	if err := validateNew(&ch); err != nil {
		return commands.Change{}, false, fmt.Errorf("approvals: create change %q: %w", ch.ID, err)
	}
	remind := ch.CreatedAt.Add(ch.ExpiresAt.Sub(ch.CreatedAt) / 2)
	return c.store1(ctx, ch, dedupeKey, "pending", remind, commands.Claim{})
}

// CreateApproved stores c as approved at once with the lease claim asks
// for, or as scheduled when c.ApplyAt is after c.CreatedAt; see
// commands.Changes. An emergency change (c.Emergency) needs a SignoffDue
// after CreatedAt; its sign-off reminder is due halfway there. Validation
// and dedupe as Create; RequiredApprovals is stored as given (0: none was
// needed).
func (c *Changes) CreateApproved(ctx context.Context, ch commands.Change, dedupeKey string, claim commands.Claim) (commands.Change, bool, error) {
	need := ch.RequiredApprovals
	ch.Status = ""
	if err := validateNew(&ch); err != nil {
		return commands.Change{}, false, fmt.Errorf("approvals: create approved change %q: %w", ch.ID, err)
	}
	ch.RequiredApprovals = need
	mode := "approved"
	switch {
	case ch.ApplyAt.After(ch.CreatedAt):
		mode = "scheduled"
	case claim.Owner == "" || claim.For <= 0:
		return commands.Change{}, false, fmt.Errorf("approvals: create approved change %q: %w: no owner or lease", ch.ID, ErrInvalidChange)
	}
	return c.store1(ctx, ch, dedupeKey, mode, time.Time{}, claim)
}

// store1 runs luaCreate for ch in mode.
func (c *Changes) store1(ctx context.Context, ch commands.Change, dedupeKey, mode string, remind time.Time, claim commands.Claim) (commands.Change, bool, error) {
	if ch.Emergency && !ch.SignoffDue.After(ch.CreatedAt) {
		return commands.Change{}, false, fmt.Errorf("approvals: create change %q: %w: emergency change without a sign-off deadline", ch.ID, ErrInvalidChange)
	}
	if !ch.ApplyAt.IsZero() && (!validTime(ch.ApplyAt) || ch.ApplyAt.Sub(ch.CreatedAt) > MaxScheduleAhead) {
		return commands.Change{}, false, fmt.Errorf("approvals: create change %q: %w: apply time out of range", ch.ID, ErrInvalidChange)
	}
	body := ch
	body.Status, body.Approvals, body.DecidedBy, body.DecidedAt, body.Outcome, body.MessageTS = "", nil, "", time.Time{}, nil, ""
	raw, err := json.Marshal(body)
	if err != nil {
		return commands.Change{}, false, fmt.Errorf("approvals: create change %q: %w: %w", ch.ID, ErrInvalidChange, err)
	}
	life := ch.ExpiresAt.Sub(ch.CreatedAt)
	dedupeTTL := "0"
	if dedupeKey != "" {
		dedupeTTL = millis(life)
	}
	end := ch.ExpiresAt
	if ch.ApplyAt.After(end) {
		end = ch.ApplyAt
	}
	keyLife := end.Sub(ch.CreatedAt) + c.opts.Retention
	remindScore, applyAt, sod, sor := "0", "0", "", ""
	if !remind.IsZero() {
		remindScore = strconv.FormatInt(remind.UnixMilli(), 10)
	}
	if !ch.ApplyAt.IsZero() {
		applyAt = strconv.FormatInt(ch.ApplyAt.UnixMilli(), 10)
	}
	if ch.Emergency {
		sod = strconv.FormatInt(ch.SignoffDue.UnixMilli(), 10)
		sor = strconv.FormatInt(ch.CreatedAt.Add(ch.SignoffDue.Sub(ch.CreatedAt)/2).UnixMilli(), 10)
	}
	ws := ch.Workspace
	if err := c.store.SAdd(ctx, workspacesKey, c.wsKey(ws)); err != nil {
		return commands.Change{}, false, storeError("create change", ch.ID, err)
	}
	dedupe := c.wsKey(ws, "dedupe", dedupeKey)
	token := callToken()
	var code string
	var fields []any
	for range maxDedupeReads {
		keys := []string{c.changeKey(ws, ch.ID), c.wsKey(ws, idxPending), c.wsKey(ws, idxExpiry), dedupe,
			c.wsKey(ws, idxApplying), c.wsKey(ws, idxScheduled), c.wsKey(ws, idxRemind)}
		if dedupeKey != "" {
			prev, err := c.store.Get(ctx, dedupe)
			switch {
			case err == nil:
				if k, ok := c.store.StripPrefix(string(prev)); ok {
					keys = append(keys, k)
				}
			case !errors.Is(err, redisstore.ErrNotFound):
				return commands.Change{}, false, storeError("create change", ch.ID, err)
			}
		}
		code, fields, err = c.runResent(ctx, c.create, "create", ch.ID, keys,
			raw, ch.RequesterID, nanos(ch.ExpiresAt), ch.RequiredApprovals, ch.ChannelID, ch.MessageTS,
			c.store.Key(c.wsKey(ws)), ch.CreatedAt.UnixMilli(), ch.ExpiresAt.UnixMilli(), millis(keyLife), dedupeTTL, token,
			mode, remindScore, claim.Owner, ch.CreatedAt.Add(claim.For).UnixMilli(), applyAt, sod, sor, millis(MaxScheduleAhead+c.opts.Retention), flag01(ch.Delete))
		if err != nil {
			return commands.Change{}, false, err
		}
		if code != "moved" {
			break
		}
	}
	switch code {
	case "ok", "dedupe":
		stored, err := decodeChange(fields)
		if err != nil {
			return commands.Change{}, false, badReply("create change", ch.ID, err)
		}
		return stored, code == "ok", nil
	case "exists":
		return commands.Change{}, false, fmt.Errorf("approvals: create change %q: %w", ch.ID, ErrChangeIDInUse)
	case "moved":
		return commands.Change{}, false, storeError("create change", ch.ID,
			fmt.Errorf("%w: dedupe key changed %d times while read", redisstore.ErrUnavailable, maxDedupeReads))
	}
	return commands.Change{}, false, badReply("create change", ch.ID, fmt.Errorf("unexpected script result %q", code))
}

// maxDedupeReads bounds how often Create reads a dedupe key that other
// requests keep changing.
const maxDedupeReads = 3

func validateNew(ch *commands.Change) error {
	var problem string
	switch {
	case ch.ID == "":
		problem = "no id"
	case ch.Workspace.TeamID == "":
		problem = "no workspace team id"
	case ch.RequesterID == "":
		problem = "no requester"
	case ch.Status != "" && ch.Status != commands.StatusPending:
		problem = fmt.Sprintf("status %q, want pending", ch.Status)
	case len(ch.Approvals) > 0:
		problem = "approvals already present"
	case !validTime(ch.CreatedAt):
		problem = "created time out of range"
	case !validTime(ch.ExpiresAt) || !ch.CreatedAt.Before(ch.ExpiresAt):
		problem = "expiry not after creation"
	}
	if problem != "" {
		return fmt.Errorf("%w: %s", ErrInvalidChange, problem)
	}
	ch.Status = commands.StatusPending
	ch.RequiredApprovals = max(ch.RequiredApprovals, 1)
	return nil
}

// callToken returns a random token that identifies one state call, so that
// a script run again for the same call (go-redis resending it after a lost
// reply) recognises its own work; see changes_lua.go.
func callToken() string { return rand.Text() }

// Get returns the change; ErrChangeNotFound if it is unknown in ws (or
// outlived its retention).
func (c *Changes) Get(ctx context.Context, ws commands.Workspace, id string) (commands.Change, error) {
	m, err := c.store.HGetAll(ctx, c.changeKey(ws, id))
	if err != nil {
		return commands.Change{}, storeError("get change", id, err)
	}
	if len(m) == 0 {
		return commands.Change{}, fmt.Errorf("approvals: get change %q: %w", id, commands.ErrChangeNotFound)
	}
	ch, err := changeFromMap(m)
	if err != nil {
		return commands.Change{}, badReply("get change", id, err)
	}
	return ch, nil
}

// Approve records approver's approval at now; see commands.Changes. A
// pending change whose ExpiresAt is before now is refused with ErrExpired
// and left for the sweeper to mark (so its message is updated in one
// place); a change already marked expired gives ErrExpired too. Every
// refusal except ErrChangeNotFound comes with the change as it stands.
func (c *Changes) Approve(ctx context.Context, ws commands.Workspace, id, approver string, now time.Time, claim commands.Claim, deleteConfirmed bool) (commands.Change, bool, error) {
	if err := checkNow(now); err != nil {
		return commands.Change{}, false, fmt.Errorf("approvals: approve change %q: %w", id, err)
	}
	if approver == "" {
		return commands.Change{}, false, fmt.Errorf("approvals: approve change %q: %w: no approver", id, ErrInvalidChange)
	}
	keys := []string{c.changeKey(ws, id), c.wsKey(ws, idxPending), c.wsKey(ws, idxExpiry), c.wsKey(ws, idxApplying),
		c.wsKey(ws, idxRemind), c.wsKey(ws, idxScheduled)}
	approve := func(confirmed bool) (string, commands.Change, error) {
		code, fields, err := c.runResent(ctx, c.approve, "approve change", id, keys, approver, nanos(now), callToken(), now.UnixMilli(),
			claim.Owner, now.Add(claim.For).UnixMilli(), millis(c.opts.Retention), millis(MaxScheduleAhead+c.opts.Retention), flag01(confirmed))
		if err != nil {
			return "", commands.Change{}, err
		}
		ch, err := c.outcome("approve change", id, code, fields)
		return code, ch, err
	}
	code, ch, err := approve(deleteConfirmed)
	if errors.Is(err, commands.ErrConfirmDelete) && !ch.Delete {
		// Stored before the del field, and its body (decoded, so err is
		// the sentinel alone) says it deletes nothing.
		code, ch, err = approve(true)
	}
	return ch, code == "approved", err
}

// flag01 is a boolean as the scripts take it.
func flag01(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// Reject rejects a pending change on behalf of by; see commands.Changes.
func (c *Changes) Reject(ctx context.Context, ws commands.Workspace, id, by string, now time.Time) (commands.Change, error) {
	return c.decideAs(ctx, ws, id, by, now, commands.StatusRejected)
}

// Cancel withdraws a pending change; only its requester may. See
// commands.Changes.
func (c *Changes) Cancel(ctx context.Context, ws commands.Workspace, id, by string, now time.Time) (commands.Change, error) {
	return c.decideAs(ctx, ws, id, by, now, commands.StatusCancelled)
}

func (c *Changes) decideAs(ctx context.Context, ws commands.Workspace, id, by string, now time.Time, status commands.ChangeStatus) (commands.Change, error) {
	op := "reject change"
	if status == commands.StatusCancelled {
		op = "cancel change"
	}
	if err := checkNow(now); err != nil {
		return commands.Change{}, fmt.Errorf("approvals: %s %q: %w", op, id, err)
	}
	if by == "" {
		return commands.Change{}, fmt.Errorf("approvals: %s %q: %w: no user", op, id, ErrInvalidChange)
	}
	keys := []string{c.changeKey(ws, id), c.wsKey(ws, idxPending), c.wsKey(ws, idxExpiry), c.wsKey(ws, idxHistory), c.wsKey(ws, idxRemind)}
	code, fields, err := c.runResent(ctx, c.decide, op, id, keys,
		by, nanos(now), string(status), c.opts.HistoryLimit, millis(c.opts.Retention), callToken())
	if err != nil {
		return commands.Change{}, err
	}
	return c.outcome(op, id, code, fields)
}

// finishStatus reports whether Finish may set s.
func finishStatus(s commands.ChangeStatus) bool {
	switch s {
	case commands.StatusApplied, commands.StatusFailed, commands.StatusStale, commands.StatusLDApproval, commands.StatusMissed:
		return true
	}
	return false
}

// Finish moves an approved change to applied, failed, stale, ld_approval or
// missed, exactly once, recording undo with it; see commands.Changes. Any
// other status is an error wrapping ErrInvalidChange.
func (c *Changes) Finish(ctx context.Context, ws commands.Workspace, id string, fence int64, status commands.ChangeStatus, outcome commands.Text, undo *commands.UndoPlan, now time.Time) (commands.Change, error) {
	if !finishStatus(status) {
		return commands.Change{}, fmt.Errorf("approvals: finish change %q: %w: status %q is not an outcome", id, ErrInvalidChange, status)
	}
	if err := checkNow(now); err != nil {
		return commands.Change{}, fmt.Errorf("approvals: finish change %q: %w", id, err)
	}
	out, err := encodeOutcome(outcome)
	if err != nil {
		return commands.Change{}, fmt.Errorf("approvals: finish change %q: %w: %w", id, ErrInvalidChange, err)
	}
	inv := ""
	if undo != nil {
		b, err := json.Marshal(undo)
		if err != nil {
			return commands.Change{}, fmt.Errorf("approvals: finish change %q: %w: %w", id, ErrInvalidChange, err)
		}
		inv = string(b)
	}
	keys := []string{c.changeKey(ws, id), c.wsKey(ws, idxPending), c.wsKey(ws, idxExpiry), c.wsKey(ws, idxHistory),
		c.wsKey(ws, idxApplying), c.wsKey(ws, idxRemind), c.wsKey(ws, idxUnsigned), c.wsKey(ws, idxSignoff)}
	code, fields, err := c.runResent(ctx, c.finish, "finish change", id, keys,
		string(status), out, nanos(now), c.opts.HistoryLimit, millis(c.opts.Retention), callToken(), strconv.FormatInt(fence, 10), inv)
	if err != nil {
		return commands.Change{}, err
	}
	return c.outcome("finish change", id, code, fields)
}

// ClaimScheduled takes scheduled change id at its time; see
// commands.Changes.
func (c *Changes) ClaimScheduled(ctx context.Context, ws commands.Workspace, id string, claim commands.Claim, now time.Time) (commands.Change, error) {
	if err := checkNow(now); err != nil {
		return commands.Change{}, fmt.Errorf("approvals: claim scheduled change %q: %w", id, err)
	}
	if claim.Owner == "" || claim.For <= 0 {
		return commands.Change{}, fmt.Errorf("approvals: claim scheduled change %q: %w: no owner or lease", id, ErrInvalidChange)
	}
	keys := []string{c.changeKey(ws, id), c.wsKey(ws, idxApplying), c.wsKey(ws, idxScheduled)}
	code, fields, err := c.runResent(ctx, c.claimScheduled, "claim scheduled change", id, keys,
		claim.Owner, now.UnixMilli(), now.Add(claim.For).UnixMilli(), callToken())
	if err != nil {
		return commands.Change{}, err
	}
	return c.outcome("claim scheduled change", id, code, fields)
}

// Unschedule cancels scheduled change id on behalf of by; see
// commands.Changes.
func (c *Changes) Unschedule(ctx context.Context, ws commands.Workspace, id, by string, now time.Time) (commands.Change, error) {
	if err := checkNow(now); err != nil {
		return commands.Change{}, fmt.Errorf("approvals: unschedule change %q: %w", id, err)
	}
	if by == "" {
		return commands.Change{}, fmt.Errorf("approvals: unschedule change %q: %w: no user", id, ErrInvalidChange)
	}
	keys := []string{c.changeKey(ws, id), c.wsKey(ws, idxPending), c.wsKey(ws, idxExpiry), c.wsKey(ws, idxHistory),
		c.wsKey(ws, idxRemind), c.wsKey(ws, idxScheduled)}
	code, fields, err := c.runResent(ctx, c.unschedule, "unschedule change", id, keys,
		by, nanos(now), c.opts.HistoryLimit, millis(c.opts.Retention), callToken())
	if err != nil {
		return commands.Change{}, err
	}
	return c.outcome("unschedule change", id, code, fields)
}

// LinkUndo links undo request undoID to change id; see commands.Changes.
func (c *Changes) LinkUndo(ctx context.Context, ws commands.Workspace, id, expect, undoID string) (commands.Change, error) {
	if undoID == "" {
		return commands.Change{}, fmt.Errorf("approvals: link undo of change %q: %w: no undo request", id, ErrInvalidChange)
	}
	code, fields, err := c.runResent(ctx, c.linkUndo, "link undo of change", id, []string{c.changeKey(ws, id)}, expect, undoID)
	if err != nil {
		return commands.Change{}, err
	}
	return c.outcome("link undo of change", id, code, fields)
}

// SignOff records by's sign-off of emergency change id; see
// commands.Changes.
func (c *Changes) SignOff(ctx context.Context, ws commands.Workspace, id, by string, now time.Time) (commands.Change, error) {
	if err := checkNow(now); err != nil {
		return commands.Change{}, fmt.Errorf("approvals: sign off change %q: %w", id, err)
	}
	if by == "" {
		return commands.Change{}, fmt.Errorf("approvals: sign off change %q: %w: no user", id, ErrInvalidChange)
	}
	keys := []string{c.changeKey(ws, id), c.wsKey(ws, idxUnsigned), c.wsKey(ws, idxSignoff)}
	code, fields, err := c.runResent(ctx, c.signOff, "sign off change", id, keys, by, nanos(now), callToken())
	if err != nil {
		return commands.Change{}, err
	}
	return c.outcome("sign off change", id, code, fields)
}

// maxDMs bounds the direct messages recorded per change.
const maxDMs = 50

// SetDMs records the approvers' direct messages about change id (at most
// 50 are kept); see commands.Changes.
func (c *Changes) SetDMs(ctx context.Context, ws commands.Workspace, id string, dms []commands.PostRef) error {
	raw, err := json.Marshal(dms[:min(len(dms), maxDMs)])
	if err != nil {
		return fmt.Errorf("approvals: set direct messages of change %q: %w: %w", id, ErrInvalidChange, err)
	}
	return c.setField(ctx, c.setDMs, "set direct messages of change", ws, id, string(raw))
}

// Claim takes the lease on approved change id; see commands.Changes.
func (c *Changes) Claim(ctx context.Context, ws commands.Workspace, id string, claim commands.Claim, now time.Time, unclaimedAfter time.Duration) (commands.Change, error) {
	if err := checkNow(now); err != nil {
		return commands.Change{}, fmt.Errorf("approvals: claim change %q: %w", id, err)
	}
	if claim.Owner == "" || claim.For <= 0 {
		return commands.Change{}, fmt.Errorf("approvals: claim change %q: %w: no owner or lease", id, ErrInvalidChange)
	}
	keys := []string{c.changeKey(ws, id), c.wsKey(ws, idxApplying)}
	code, fields, err := c.runResent(ctx, c.claim, "claim change", id, keys,
		claim.Owner, now.UnixMilli(), now.Add(claim.For).UnixMilli(), nanos(now.Add(-unclaimedAfter)), callToken())
	if err != nil {
		return commands.Change{}, err
	}
	return c.outcome("claim change", id, code, fields)
}

// Renew extends lease fence of change id and, with sent, records that its
// holder is about to send the write; see commands.Changes. A resent call is
// harmless: it sets the same values again.
func (c *Changes) Renew(ctx context.Context, ws commands.Workspace, id string, fence int64, claim commands.Claim, now time.Time, sent bool) (commands.Lease, error) {
	const op = "renew lease on change"
	if err := checkNow(now); err != nil {
		return commands.Lease{}, fmt.Errorf("approvals: %s %q: %w", op, id, err)
	}
	flag := "0"
	if sent {
		flag = "1"
	}
	keys := []string{c.changeKey(ws, id), c.wsKey(ws, idxApplying)}
	code, fields, err := c.runResent(ctx, c.renew, op, id, keys,
		claim.Owner, strconv.FormatInt(fence, 10), now.Add(claim.For).UnixMilli(), flag)
	if err != nil {
		return commands.Lease{}, err
	}
	switch code {
	case "ok":
	case "notfound":
		return commands.Lease{}, fmt.Errorf("approvals: %s %q: %w", op, id, commands.ErrChangeNotFound)
	case "lost":
		return commands.Lease{}, fmt.Errorf("approvals: %s %q: %w", op, id, commands.ErrLeaseLost)
	default:
		return commands.Lease{}, badReply(op, id, fmt.Errorf("unexpected script result %q", code))
	}
	m, err := fieldMap(fields)
	if err != nil {
		return commands.Lease{}, badReply(op, id, err)
	}
	l, err := leaseFromMap(m)
	if err != nil {
		return commands.Lease{}, badReply(op, id, err)
	}
	return l, nil
}

// SetMessage records the channel and timestamp of the posted request.
func (c *Changes) SetMessage(ctx context.Context, ws commands.Workspace, id, channelID, ts string) error {
	return c.setField(ctx, c.setMessage, "set change message", ws, id, channelID, ts)
}

// setField runs script, which records something on change id and answers
// "ok" or "notfound", and turns its answer into the contract's errors.
func (c *Changes) setField(ctx context.Context, script *redisstore.Script, op string, ws commands.Workspace, id string, args ...any) error {
	code, _, err := c.run(ctx, script, op, id, []string{c.changeKey(ws, id)}, args...)
	if err != nil {
		return err
	}
	switch code {
	case "ok":
		return nil
	case "notfound":
		return fmt.Errorf("approvals: %s %q: %w", op, id, commands.ErrChangeNotFound)
	}
	return badReply(op, id, fmt.Errorf("unexpected script result %q", code))
}

// approvedAt is when ch's approval count completed: its last approval.
func approvedAt(ch commands.Change) time.Time {
	if len(ch.Approvals) == 0 {
		return time.Time{}
	}
	return ch.Approvals[len(ch.Approvals)-1].At
}

// outcome turns a state script's result into the contract's errors.
func (c *Changes) outcome(op, id, code string, fields []any) (commands.Change, error) {
	var sentinel error
	switch code {
	case "ok", "approved":
	case "notfound":
		return commands.Change{}, fmt.Errorf("approvals: %s %q: %w", op, id, commands.ErrChangeNotFound)
	case "decided":
		sentinel = commands.ErrDecided
	case "expired":
		sentinel = commands.ErrExpired
	case "self":
		sentinel = commands.ErrSelfApproval
	case "dup":
		sentinel = commands.ErrAlreadyApproved
	case "notrequester":
		sentinel = commands.ErrNotRequester
	case "claimed":
		sentinel = commands.ErrClaimed
	case "lost":
		sentinel = commands.ErrLeaseLost
	case "notdue":
		sentinel = commands.ErrNotDue
	case "linked":
		sentinel = commands.ErrUndoLinked
	case "nosignoff":
		sentinel = commands.ErrNoSignoff
	case "confirm":
		sentinel = commands.ErrConfirmDelete
	default:
		return commands.Change{}, badReply(op, id, fmt.Errorf("unexpected script result %q", code))
	}
	ch, err := decodeChange(fields)
	if err != nil {
		return commands.Change{}, badReply(op, id, err)
	}
	if sentinel != nil {
		return ch, fmt.Errorf("approvals: %s %q: %w", op, id, sentinel)
	}
	return ch, nil
}

// run runs a state script and returns its code and the change's fields.
func (c *Changes) run(ctx context.Context, script *redisstore.Script, op, id string, keys []string, args ...any) (string, []any, error) {
	v, err := c.store.Run(ctx, script, keys, args...)
	if err != nil {
		return "", nil, storeError(op, id, err)
	}
	res, ok := v.([]any)
	if !ok || len(res) != 2 {
		return "", nil, badReply(op, id, fmt.Errorf("unexpected script reply %v", v))
	}
	code, ok1 := res[0].(string)
	fields, ok2 := res[1].([]any)
	if !ok1 || !ok2 {
		return "", nil, badReply(op, id, errors.New("unexpected script reply"))
	}
	return code, fields, nil
}

// runResent runs a state script like run and, when the call failed without
// an answer from Redis (a timeout or a broken connection: Redis may have run
// it) while ctx is still live, sends the very same call once more. The call
// token among args makes the second run answer what the first one did, so
// the caller learns the outcome: an approval that completed the count must
// not be reported as a failure, or nobody would apply the change.
func (c *Changes) runResent(ctx context.Context, script *redisstore.Script, op, id string, keys []string, args ...any) (string, []any, error) {
	code, fields, err := c.run(ctx, script, op, id, keys, args...)
	if err == nil || ctx.Err() != nil || errors.Is(err, redisstore.ErrReply) {
		return code, fields, err
	}
	return c.run(ctx, script, op, id, keys, args...)
}

// list runs a listing script, whose reply is an array of HGETALLs.
func (c *Changes) list(ctx context.Context, script *redisstore.Script, op string, keys []string, args ...any) ([]commands.Change, error) {
	v, err := c.store.Run(ctx, script, keys, args...)
	if err != nil {
		return nil, storeError(op, "", err)
	}
	res, ok := v.([]any)
	if !ok {
		return nil, badReply(op, "", fmt.Errorf("unexpected script reply %v", v))
	}
	out := make([]commands.Change, 0, len(res))
	for _, r := range res {
		fields, ok := r.([]any)
		if !ok {
			return nil, badReply(op, "", errors.New("unexpected script reply"))
		}
		ch, err := decodeChange(fields)
		if err != nil {
			return nil, badReply(op, "", err)
		}
		out = append(out, ch)
	}
	return out, nil
}

func (c *Changes) changeKey(ws commands.Workspace, id string) string {
	return c.wsKey(ws, "change", id)
}

// wsKey returns the key (without the prefix) of one of ws's parts.
func (c *Changes) wsKey(ws commands.Workspace, parts ...string) string {
	return redisstore.WorkspaceKey(ws.TeamID, ws.EnterpriseID, parts...)
}

// decodeChange turns a flat HGETALL reply into a Change.
func decodeChange(fields []any) (commands.Change, error) {
	m, err := fieldMap(fields)
	if err != nil {
		return commands.Change{}, err
	}
	return changeFromMap(m)
}

// fieldMap turns a flat reply of field-value pairs (HGETALL's) into a map.
func fieldMap(fields []any) (map[string]string, error) {
	if len(fields)%2 != 0 {
		return nil, errors.New("odd hash reply")
	}
	m := make(map[string]string, len(fields)/2)
	for i := 0; i < len(fields); i += 2 {
		k, ok1 := fields[i].(string)
		v, ok2 := fields[i+1].(string)
		if !ok1 || !ok2 {
			return nil, errors.New("non-string hash reply")
		}
		m[k] = v
	}
	return m, nil
}

// changeFromMap rebuilds a Change from its hash: the JSON body with the
// state fields laid over it.
func changeFromMap(m map[string]string) (commands.Change, error) {
	var ch commands.Change
	if err := json.Unmarshal([]byte(m["body"]), &ch); err != nil {
		return commands.Change{}, fmt.Errorf("decode change body: %w", err)
	}
	ch.Status = commands.ChangeStatus(m["status"])
	ch.ChannelID = m["ch"]
	ch.MessageTS = m["ts"]
	ch.DecidedBy = m["by"]
	ch.Outcome = decodeOutcome(m["out"])
	if v := m["dat"]; v != "" {
		t, err := parseNanos(v)
		if err != nil {
			return commands.Change{}, fmt.Errorf("decode change decision time: %w", err)
		}
		ch.DecidedAt = t
	}
	lease, err := leaseFromMap(m)
	if err != nil {
		return commands.Change{}, err
	}
	ch.Lease = lease
	if err := decodeState(&ch, m); err != nil {
		return commands.Change{}, err
	}
	n, err := strconv.Atoi(m["n"])
	if err != nil {
		return commands.Change{}, fmt.Errorf("decode change approval count: %w", err)
	}
	for i := 1; i <= n; i++ {
		at, err := parseNanos(m["t"+strconv.Itoa(i)])
		if err != nil {
			return commands.Change{}, fmt.Errorf("decode change approval time: %w", err)
		}
		ch.Approvals = append(ch.Approvals, commands.Approval{UserID: m["a"+strconv.Itoa(i)], At: at})
	}
	return ch, nil
}

// leaseFromMap reads a change's lease from its hash fields: own, fence,
// lease (ms) and sent. No owner means no lease (but sent may be set).
func leaseFromMap(m map[string]string) (commands.Lease, error) {
	var l commands.Lease
	if own := m["own"]; own != "" {
		fence, err1 := strconv.ParseInt(m["fence"], 10, 64)
		until, err2 := strconv.ParseInt(m["lease"], 10, 64)
		if err1 != nil || err2 != nil {
			return commands.Lease{}, fmt.Errorf("decode change lease: %w", errors.Join(err1, err2))
		}
		l = commands.Lease{Owner: own, Fence: fence, Until: time.UnixMilli(until).UTC()}
	}
	if v := m["sent"]; v != "" {
		sent, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return commands.Lease{}, fmt.Errorf("decode change sent fence: %w", err)
		}
		l.Sent = sent
	}
	return l, nil
}

// decodeState reads the state fields of the features after the two-person
// rule: undo, sign-off and direct messages. Missing fields leave ch as is.
func decodeState(ch *commands.Change, m map[string]string) error {
	if v := m["inv"]; v != "" {
		var plan commands.UndoPlan
		if err := json.Unmarshal([]byte(v), &plan); err != nil {
			return fmt.Errorf("decode change undo plan: %w", err)
		}
		ch.Undo = &plan
	}
	ch.UndoneBy = m["undo"]
	ch.SignedOffBy = m["so"]
	if v := m["sot"]; v != "" {
		t, err := parseNanos(v)
		if err != nil {
			return fmt.Errorf("decode change sign-off time: %w", err)
		}
		ch.SignedOffAt = t
	}
	if v := m["sost"]; v != "" {
		st, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("decode change sign-off stage: %w", err)
		}
		ch.Signoff = commands.SignoffStage(st)
	}
	if v := m["dms"]; v != "" {
		if err := json.Unmarshal([]byte(v), &ch.DMs); err != nil {
			return fmt.Errorf("decode change direct messages: %w", err)
		}
	}
	return nil
}

// encodeOutcome writes an outcome for the "out" field: structured text as
// JSON. An empty outcome is stored empty.
func encodeOutcome(t commands.Text) (string, error) {
	if t.IsZero() {
		return "", nil
	}
	b, err := json.Marshal(t)
	return string(b), err
}

// decodeOutcome reads the "out" field: structured text as JSON, or the
// Slack mrkdwn string that records written before it held.
func decodeOutcome(s string) commands.Text {
	if strings.HasPrefix(s, "[") {
		var t commands.Text
		if json.Unmarshal([]byte(s), &t) == nil {
			return t
		}
	}
	if s == "" {
		return nil
	}
	return commands.LegacyText(s)
}

// validTime reports whether t can cross into Lua as 20-digit zero-padded
// Unix nanoseconds, which limits times to 1970..2262.
func validTime(t time.Time) bool {
	const maxSeconds = math.MaxInt64 / int64(time.Second)
	return t.Unix() >= 0 && t.Unix() < maxSeconds
}

func checkNow(now time.Time) error {
	if !validTime(now) {
		return fmt.Errorf("%w: time %v out of range", ErrInvalidChange, now)
	}
	return nil
}

func nanos(t time.Time) string { return fmt.Sprintf("%020d", t.UnixNano()) }

func parseNanos(s string) (time.Time, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, err
	}
	return time.Unix(0, n).UTC(), nil
}

// millis renders d in whole milliseconds, at least 1, for PX and PEXPIRE.
func millis(d time.Duration) string { return strconv.FormatInt(max(d.Milliseconds(), 1), 10) }
