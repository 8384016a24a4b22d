package commands

import (
	"context"
	"slices"
	"sort"
	"sync"
	"time"
)

// memChanges is an in-memory Changes that follows the contract in
// changes.go; Err, when set, fails every call as a store outage would.
type memChanges struct {
	mu      sync.Mutex
	changes map[string]Change // by workspace and id
	dedupe  map[string]string // workspace and dedupe key → id
	Err     error
	gets    int // calls of Get
}

func newMemChanges() *memChanges {
	return &memChanges{changes: map[string]Change{}, dedupe: map[string]string{}}
}

func memKey(ws Workspace, s string) string { return ws.EnterpriseID + "/" + ws.TeamID + "/" + s }

func (m *memChanges) Create(_ context.Context, c Change, dedupeKey string) (Change, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Err != nil {
		return Change{}, false, m.Err
	}
	if id, ok := m.dedupe[memKey(c.Workspace, dedupeKey)]; ok {
		return m.changes[memKey(c.Workspace, id)], false, nil
	}
	c.Status = StatusPending
	m.changes[memKey(c.Workspace, c.ID)] = c
	m.dedupe[memKey(c.Workspace, dedupeKey)] = c.ID
	return c, true, nil
}

func (m *memChanges) Get(_ context.Context, ws Workspace, id string) (Change, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.gets++
	if m.Err != nil {
		return Change{}, m.Err
	}
	c, ok := m.changes[memKey(ws, id)]
	if !ok {
		return Change{}, ErrChangeNotFound
	}
	return c, nil
}

// open returns a pending change for a decision at now, or the error the
// contract asks for.
func (m *memChanges) open(ws Workspace, id string, now time.Time) (Change, error) {
	if m.Err != nil {
		return Change{}, m.Err
	}
	c, ok := m.changes[memKey(ws, id)]
	switch {
	case !ok:
		return Change{}, ErrChangeNotFound
	case c.Status == StatusExpired:
		return c, ErrExpired
	case c.Status != StatusPending:
		return c, ErrDecided
	case !now.Before(c.ExpiresAt):
		c.Status = StatusExpired
		m.changes[memKey(ws, id)] = c
		return c, ErrExpired
	}
	return c, nil
}

func (m *memChanges) Approve(_ context.Context, ws Workspace, id, approver string, now time.Time, claim Claim, deleteConfirmed bool) (Change, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, err := m.open(ws, id, now)
	if err != nil {
		return c, false, err
	}
	if approver == c.RequesterID {
		return c, false, ErrSelfApproval
	}
	if slices.ContainsFunc(c.Approvals, func(a Approval) bool { return a.UserID == approver }) {
		return c, false, ErrAlreadyApproved
	}
	if c.Delete && !deleteConfirmed {
		return c, false, ErrConfirmDelete
	}
	c.Approvals = append(slices.Clone(c.Approvals), Approval{UserID: approver, At: now})
	done := len(c.Approvals) >= max(c.RequiredApprovals, 1)
	switch {
	case done && c.ApplyAt.After(now):
		c.Status = StatusScheduled
	case done:
		c.Status = StatusApproved
		if claim.Owner != "" {
			c.Lease = Lease{Owner: claim.Owner, Fence: 1, Until: now.Add(claim.For)}
		}
	}
	m.changes[memKey(ws, id)] = c
	return c, done, nil
}

func (m *memChanges) Claim(_ context.Context, ws Workspace, id string, claim Claim, now time.Time, unclaimedAfter time.Duration) (Change, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Err != nil {
		return Change{}, m.Err
	}
	c, ok := m.changes[memKey(ws, id)]
	switch {
	case !ok:
		return Change{}, ErrChangeNotFound
	case c.Status != StatusApproved:
		return c, ErrDecided
	case c.Lease.Owner != "" && c.Lease.Until.After(now):
		return c, ErrClaimed
	case c.Lease.Owner == "" && !c.Approvals[len(c.Approvals)-1].At.Before(now.Add(-unclaimedAfter)):
		return c, ErrClaimed
	}
	c.Lease = Lease{Owner: claim.Owner, Fence: c.Lease.Fence + 1, Until: now.Add(claim.For), Sent: c.Lease.Sent}
	m.changes[memKey(ws, id)] = c
	return c, nil
}

func (m *memChanges) Renew(_ context.Context, ws Workspace, id string, fence int64, claim Claim, now time.Time, sent bool) (Lease, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Err != nil {
		return Lease{}, m.Err
	}
	c, ok := m.changes[memKey(ws, id)]
	switch {
	case !ok:
		return Lease{}, ErrChangeNotFound
	case c.Status != StatusApproved || c.Lease.Owner != claim.Owner || c.Lease.Fence != fence:
		return Lease{}, ErrLeaseLost
	}
	c.Lease.Until = now.Add(claim.For)
	if sent {
		c.Lease.Sent = fence
	}
	m.changes[memKey(ws, id)] = c
	return c.Lease, nil
}

func (m *memChanges) decide(ws Workspace, id, by string, now time.Time, status ChangeStatus) (Change, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, err := m.open(ws, id, now)
	if err != nil {
		return c, err
	}
	if status == StatusCancelled && by != c.RequesterID {
		return c, ErrNotRequester
	}
	c.Status, c.DecidedBy, c.DecidedAt = status, by, now
	m.changes[memKey(ws, id)] = c
	return c, nil
}

func (m *memChanges) Reject(_ context.Context, ws Workspace, id, by string, now time.Time) (Change, error) {
	return m.decide(ws, id, by, now, StatusRejected)
}

func (m *memChanges) Cancel(_ context.Context, ws Workspace, id, by string, now time.Time) (Change, error) {
	return m.decide(ws, id, by, now, StatusCancelled)
}

func (m *memChanges) Finish(_ context.Context, ws Workspace, id string, fence int64, status ChangeStatus, outcome Text, undo *UndoPlan, now time.Time) (Change, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Err != nil {
		return Change{}, m.Err
	}
	c, ok := m.changes[memKey(ws, id)]
	switch {
	case !ok:
		return Change{}, ErrChangeNotFound
	case c.Status != StatusApproved:
		return c, ErrDecided
	case c.Lease.Fence != fence:
		return c, ErrLeaseLost
	}
	c.Status, c.Outcome, c.DecidedAt, c.Undo = status, outcome, now, undo
	if status == StatusApplied && c.Emergency {
		c.Signoff = SignoffWaiting
	}
	m.changes[memKey(ws, id)] = c
	return c, nil
}

func (m *memChanges) CreateApproved(_ context.Context, c Change, dedupeKey string, claim Claim) (Change, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Err != nil {
		return Change{}, false, m.Err
	}
	if id, ok := m.dedupe[memKey(c.Workspace, dedupeKey)]; ok {
		return m.changes[memKey(c.Workspace, id)], false, nil
	}
	c.DecidedBy = c.RequesterID
	if c.ApplyAt.After(c.CreatedAt) {
		c.Status = StatusScheduled
	} else {
		c.Status, c.Lease = StatusApproved, Lease{Owner: claim.Owner, Fence: 1, Until: c.CreatedAt.Add(claim.For)}
	}
	m.changes[memKey(c.Workspace, c.ID)] = c
	m.dedupe[memKey(c.Workspace, dedupeKey)] = c.ID
	return c, true, nil
}

func (m *memChanges) ClaimScheduled(_ context.Context, ws Workspace, id string, claim Claim, now time.Time) (Change, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Err != nil {
		return Change{}, m.Err
	}
	c, ok := m.changes[memKey(ws, id)]
	switch {
	case !ok:
		return Change{}, ErrChangeNotFound
	case c.Status != StatusScheduled:
		return c, ErrDecided
	case c.ApplyAt.After(now):
		return c, ErrNotDue
	}
	c.Status, c.Lease = StatusApproved, Lease{Owner: claim.Owner, Fence: c.Lease.Fence + 1, Until: now.Add(claim.For)}
	m.changes[memKey(ws, id)] = c
	return c, nil
}

func (m *memChanges) Unschedule(_ context.Context, ws Workspace, id, by string, now time.Time) (Change, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Err != nil {
		return Change{}, m.Err
	}
	c, ok := m.changes[memKey(ws, id)]
	switch {
	case !ok:
		return Change{}, ErrChangeNotFound
	case c.Status != StatusScheduled:
		return c, ErrDecided
	}
	c.Status, c.DecidedBy, c.DecidedAt = StatusCancelled, by, now
	m.changes[memKey(ws, id)] = c
	return c, nil
}

func (m *memChanges) LinkUndo(_ context.Context, ws Workspace, id, expect, undoID string) (Change, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Err != nil {
		return Change{}, m.Err
	}
	c, ok := m.changes[memKey(ws, id)]
	switch {
	case !ok:
		return Change{}, ErrChangeNotFound
	case c.UndoneBy == undoID:
		return c, nil
	case c.UndoneBy != expect:
		return c, ErrUndoLinked
	}
	c.UndoneBy = undoID
	m.changes[memKey(ws, id)] = c
	return c, nil
}

func (m *memChanges) SignOff(_ context.Context, ws Workspace, id, by string, now time.Time) (Change, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Err != nil {
		return Change{}, m.Err
	}
	c, ok := m.changes[memKey(ws, id)]
	switch {
	case !ok:
		return Change{}, ErrChangeNotFound
	case !c.NeedsSignoff():
		return c, ErrNoSignoff
	case c.RequesterID == by:
		return c, ErrSelfApproval
	}
	c.SignedOffBy, c.SignedOffAt = by, now
	m.changes[memKey(ws, id)] = c
	return c, nil
}

func (m *memChanges) SetDMs(_ context.Context, ws Workspace, id string, dms []PostRef) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Err != nil {
		return m.Err
	}
	c, ok := m.changes[memKey(ws, id)]
	if !ok {
		return ErrChangeNotFound
	}
	c.DMs = slices.Clone(dms)
	m.changes[memKey(ws, id)] = c
	return nil
}

func (m *memChanges) Scheduled(_ context.Context, ws Workspace) ([]Change, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Err != nil {
		return nil, m.Err
	}
	out := m.list(ws, func(c Change) bool { return c.Status == StatusScheduled })
	sort.Slice(out, func(i, j int) bool { return out[i].ApplyAt.Before(out[j].ApplyAt) })
	return out, nil
}

func (m *memChanges) SetMessage(_ context.Context, ws Workspace, id, channelID, ts string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Err != nil {
		return m.Err
	}
	c, ok := m.changes[memKey(ws, id)]
	if !ok {
		return ErrChangeNotFound
	}
	c.ChannelID, c.MessageTS = channelID, ts
	m.changes[memKey(ws, id)] = c
	return nil
}

func (m *memChanges) list(ws Workspace, keep func(Change) bool) []Change {
	var out []Change
	for _, c := range m.changes {
		if c.Workspace == ws && keep(c) {
			out = append(out, c)
		}
	}
	return out
}

func (m *memChanges) Pending(_ context.Context, ws Workspace) ([]Change, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Err != nil {
		return nil, m.Err
	}
	out := m.list(ws, func(c Change) bool { return c.Status == StatusPending })
	sort.Slice(out, func(i, j int) bool { return out[i].CreatedAt.Before(out[j].CreatedAt) })
	return out, nil
}

func (m *memChanges) History(_ context.Context, ws Workspace, flag string, limit int) ([]Change, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Err != nil {
		return nil, m.Err
	}
	out := m.list(ws, func(c Change) bool { return c.Status.Final() && (flag == "" || c.Flag == flag) })
	sort.Slice(out, func(i, j int) bool { return out[i].DecidedAt.After(out[j].DecidedAt) })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func (m *memChanges) ExpireDue(_ context.Context, now time.Time, limit int) ([]Change, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Err != nil {
		return nil, m.Err
	}
	var out []Change
	for k, c := range m.changes {
		if len(out) == limit {
			break
		}
		if c.Status == StatusPending && c.ExpiresAt.Before(now) {
			c.Status, c.DecidedAt = StatusExpired, now
			m.changes[k] = c
			out = append(out, c)
		}
	}
	return out, nil
}

func (m *memChanges) Reclaimable(_ context.Context, now time.Time, unclaimedAfter time.Duration, limit int) ([]Change, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Err != nil {
		return nil, m.Err
	}
	approvedAt := func(c Change) time.Time { return c.Approvals[len(c.Approvals)-1].At }
	var out []Change
	for _, c := range m.changes {
		if c.Status != StatusApproved || len(c.Approvals) == 0 {
			continue
		}
		if (c.Lease.Owner != "" && !c.Lease.Until.After(now)) || (c.Lease.Owner == "" && approvedAt(c).Before(now.Add(-unclaimedAfter))) {
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return approvedAt(out[i]).Before(approvedAt(out[j])) })
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// all returns every stored change.
func (m *memChanges) all() []Change {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Change
	for _, c := range m.changes {
		out = append(out, c)
	}
	return out
}

// memPolicies is an in-memory Policies.
type memPolicies struct {
	mu sync.Mutex
	p  map[Workspace]Policy
}

func newMemPolicies() *memPolicies { return &memPolicies{p: map[Workspace]Policy{}} }

func (m *memPolicies) Policy(_ context.Context, ws Workspace) (Policy, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.p[ws], nil
}

func (m *memPolicies) SetPolicy(_ context.Context, ws Workspace, p Policy) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.p[ws] = p
	return nil
}

func (m *memPolicies) Update(_ context.Context, ws Workspace, fn func(*Policy) error) (Policy, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p := m.p[ws]
	if err := fn(&p); err != nil {
		return Policy{}, err
	}
	m.p[ws] = p
	return p, nil
}

// Overwrite replaces a stored change as is (a record written by an older
// version, say).
func (m *memChanges) Overwrite(c Change) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.changes[memKey(c.Workspace, c.ID)] = c
}
