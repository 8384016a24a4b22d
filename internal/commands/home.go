package commands

import (
	"context"
	"errors"
	"slices"
)

// How much an App Home lists.
const (
	maxHomeWaiting = 10 // changes waiting for the person
	maxHomeYours   = 10 // their own changes still open
	maxHomeDecided = 5  // their own changes decided lately
	maxHomeAudit   = 5  // audit-log entries
	maxHomeDigests = 10
)

// HomeResult is one person's App Home: the connection, the changes
// waiting for them, their own requests, the latest changes in LaunchDarkly
// and the workspace's digests. A part that could not be read is left
// empty and named in Problems, so the Home shows what it has.
type HomeResult struct {
	UserID string
	// Outsider is true for a person of another organisation: nothing else
	// is filled in.
	Outsider  bool
	Connected bool
	Info      ConnectionInfo
	BaseURL   string
	// MayApprove says whether the person may approve and reject here: not
	// a guest, and in ApproverGroup when the policy names one.
	MayApprove    bool
	Guest         bool
	ApproverGroup string
	// Waiting lists the pending changes the person may decide (someone
	// else's, not yet approved by them), oldest first; WaitingMore counts
	// those left out.
	Waiting     []Change
	WaitingMore int
	// Yours lists the person's changes still open (pending or being
	// applied), oldest first, and Decided their latest decided ones,
	// newest first.
	Yours     []Change
	YoursMore int
	Decided   []Change
	// Recent is the newest entries of the default project's audit log.
	Recent        []AuditEntry
	RecentProject string
	Digests       []DigestSubscription
	Problems      []Text
}

func (HomeResult) result() {}

// homeShared is what every Home of a workspace shows alike, read once.
type homeShared struct {
	connected bool
	conn      Connection
	pending   []Change
	history   []Change
	policy    Policy
	members   []string
	recent    []AuditEntry
	digests   []DigestSubscription
	problems  []Text
}

// Home builds actor's App Home.
func (e *Executor) Home(ctx context.Context, actor Actor) HomeResult {
	return e.Homes(ctx, actor.Workspace, []Actor{actor})[0]
}

// Homes builds the App Home of each of actors, people of workspace ws,
// reading what they share (the connection, the pending and decided
// changes, the policy, the audit log, the digests) once: what refreshes
// the Homes of everyone a decision concerns uses it.
func (e *Executor) Homes(ctx context.Context, ws Workspace, actors []Actor) []HomeResult {
	out := make([]HomeResult, len(actors))
	var sh *homeShared
	for i, a := range actors {
		if a.Outsider || a.Workspace != ws {
			out[i] = HomeResult{UserID: a.UserID, Outsider: true}
			continue
		}
		if sh == nil {
			sh = e.homeShared(ctx, ws)
		}
		out[i] = e.homeFor(a, sh)
	}
	return out
}

func (e *Executor) homeShared(ctx context.Context, ws Workspace) *homeShared {
	sh := &homeShared{}
	conn, err := e.ws.Get(ctx, ws)
	switch {
	case errors.Is(err, ErrNotConnected):
		return sh
	case err != nil:
		sh.problems = append(sh.problems, Notation("The state store did not answer, so this shows nothing yet. Open the Home tab again in a minute."))
		return sh
	}
	sh.connected, sh.conn = true, conn
	if e.changes != nil {
		if sh.pending, err = e.changes.Pending(ctx, ws); err != nil {
			sh.problems = append(sh.problems, Notation("I couldn't read the pending requests from the state store."))
		}
		if sh.history, err = e.changes.History(ctx, ws, "", historyLimit); err != nil {
			sh.problems = append(sh.problems, Notation("I couldn't read the decided requests from the state store."))
		}
	}
	if e.policies != nil {
		if sh.policy, err = e.policies.Policy(ctx, ws); err != nil {
			sh.problems = append(sh.problems, Notation("I couldn't read the approval policy, so I can't tell what waits for you."))
			sh.policy.ApproverGroup = unknownGroup
		} else if g := sh.policy.ApproverGroup; g != "" {
			if sh.members, err = e.dir.GroupMembers(ctx, ws, g); err != nil {
				sh.problems = append(sh.problems, Textf("I couldn't read the members of %s from Slack.", Group(g)))
			}
		}
	}
	if p := conn.DefaultProject; p != "" {
		entries, err := e.clients(conn.Token).ListAuditLog(ctx, AuditQuery{Spec: AuditSpec(p, "", ""), Limit: maxHomeAudit})
		if err != nil {
			sh.problems = append(sh.problems, Notation("LaunchDarkly did not answer, so the latest changes are missing."))
		}
		sh.recent = entries[:min(len(entries), maxHomeAudit)]
	}
	if e.digests != nil {
		subs, err := e.digests.List(ctx, ws)
		if err != nil {
			sh.problems = append(sh.problems, Notation("I couldn't read the digest subscriptions."))
		}
		sh.digests = subs[:min(len(subs), maxHomeDigests)]
	}
	return sh
}

// unknownGroup stands for an approver group the policy could not be read
// for: nobody is a member, so nothing shows as waiting.
const unknownGroup = "?"

// mayApprove is checkApprover's rule on data already read: guests and
// outsiders never approve; with an approver group, only its members do.
func mayApprove(a Actor, pol Policy, members []string) bool {
	if a.Guest || a.Outsider {
		return false
	}
	return pol.ApproverGroup == "" || slices.Contains(members, a.UserID)
}

func (e *Executor) homeFor(a Actor, sh *homeShared) HomeResult {
	h := HomeResult{UserID: a.UserID, Connected: sh.connected, BaseURL: e.opts.BaseURL, Guest: a.Guest, Problems: sh.problems}
	if !sh.connected {
		return h
	}
	h.Info = sh.conn.Info()
	h.RecentProject, h.Recent, h.Digests = sh.conn.DefaultProject, sh.recent, sh.digests
	h.MayApprove = mayApprove(a, sh.policy, sh.members)
	if g := sh.policy.ApproverGroup; g != unknownGroup {
		h.ApproverGroup = g
	}
	now := e.now()
	for _, c := range sh.pending {
		switch {
		case c.RequesterID == a.UserID:
			if len(h.Yours) < maxHomeYours {
				h.Yours = append(h.Yours, c)
			} else {
				h.YoursMore++
			}
		case h.MayApprove && c.Status == StatusPending && now.Before(c.ExpiresAt) && !approvedBy(c, a.UserID):
			if len(h.Waiting) < maxHomeWaiting {
				h.Waiting = append(h.Waiting, c)
			} else {
				h.WaitingMore++
			}
		}
	}
	for _, c := range sh.history {
		if c.RequesterID == a.UserID && len(h.Decided) < maxHomeDecided {
			h.Decided = append(h.Decided, c)
		}
	}
	return h
}

func approvedBy(c Change, user string) bool {
	return slices.ContainsFunc(c.Approvals, func(x Approval) bool { return x.UserID == user })
}
