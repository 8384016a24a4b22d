package commands

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"net/url"
	"slices"
	"strings"
)

// Change commands change LaunchDarkly. None of them applies directly: each
// is validated against LaunchDarkly (Plan), stored as a pending Change and
// applied only after a second person approves (or at once, for
// environments an admin exempted with `/flag config exempt-envs`).
// Button clicks call Approve, Reject and Cancel with the change's ID.

// readOnlyMsg is what a Reader token's workspace is told when it asks for a
// change.
const readOnlyMsg = "This workspace's LaunchDarkly token is read-only; an admin can reconnect a Writer token."

// historyLimit is how many decided changes `/flag history` shows.
const historyLimit = 50

// ChangeResult is the outcome of a request, an approval, a rejection or a
// cancellation: the change as it stands afterwards.
type ChangeResult struct {
	Change Change
	// Created is false when the request found the change already stored
	// under the same request key (a redelivered envelope): post nothing new.
	Created bool
	// Applied is true when the write was applied at once, without approval:
	// an admin exempted its environment (exempt-envs), or it is a
	// break-glass kill. Change.Status is then StatusApplied.
	Applied bool
	// ApprovedNow is true for the one Approve call whose approval completed
	// the count; Change.Status then tells what applying it did (applied,
	// stale, failed or ld_approval).
	ApprovedNow bool
	// Flag is the flag as LaunchDarkly returned it after an applied change
	// (zero otherwise, and after a delete).
	Flag Flag
	// FlagURL links to the flag in LaunchDarkly's UI ("" after a delete).
	FlagURL string
	// LDApprovalURL links to the LaunchDarkly approval request created when
	// LaunchDarkly required its own approval (StatusLDApproval).
	LDApprovalURL string
	// UndoLink is the latest undo request of Change (Change.UndoneBy) as
	// it stands, when there is one and it could be read.
	UndoLink *Change
}

func (ChangeResult) result() {}

var idEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// newChangeID returns 128 random bits, base32 in lower case (26 characters).
func newChangeID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (it crashes the program instead)
	return strings.ToLower(idEncoding.EncodeToString(b[:]))
}

// requestChange validates cmd against LaunchDarkly and the workspace's
// policy and stores it as a pending change posted in actor.ChannelID. A
// second request with the same actor.RequestKey returns the stored change
// with Created false. In an environment an admin exempted it is applied at
// once (still stored, so it can be undone).
//
// Errors (*Error): KindForbidden for a read-only token (nothing stored),
// KindInvalid for a missing required reason, a time that has passed or a
// write LaunchDarkly would refuse (unknown variation, a context already
// served another variation, ...), KindNotFound for an unknown project,
// environment or flag, KindStoreUnavailable when the change could not be
// stored, and the LaunchDarkly kinds of the read commands.
func (e *Executor) requestChange(ctx context.Context, actor Actor, cmd ChangeCommand) (ChangeResult, error) {
	return e.file(ctx, actor, filing{cmd: cmd})
}

// filing is a change request on its way into the store: the command and
// what makes it special.
type filing struct {
	cmd ChangeCommand
	// text is the command text recorded ("" means CommandText of cmd).
	text string
	// undo is the change this request undoes, as read (its UndoneBy is
	// the link the request replaces).
	undo *Change
	// emergency is a break-glass kill: applied at once, signed off later.
	emergency bool
}

// file stores (and, when no approval is needed, applies) the change f
// describes; see requestChange.
func (e *Executor) file(ctx context.Context, actor Actor, f filing) (ChangeResult, error) {
	if e.changes == nil || e.policies == nil {
		return ChangeResult{}, &Error{Kind: KindInternal, Err: errors.New("commands: no change store configured")}
	}
	conn, err := e.connection(ctx, actor.Workspace)
	if err != nil {
		return ChangeResult{}, err
	}
	pol, err := e.mayRequest(ctx, actor, conn, f.emergency)
	if err != nil {
		return ChangeResult{}, err
	}
	if conn.DefaultProject == "" {
		conn = e.adoptDefaults(ctx, actor.Workspace, conn, e.clients(conn.Token))
	}
	cmd := f.cmd
	opts := cmd.Options()
	if pol.RequireReason && opts.Reason == "" {
		text := f.text
		if text == "" {
			text = CommandText(cmd, Scope{Project: opts.Project})
		}
		e := Errorf(KindInvalid, "This workspace asks for a reason with every change. Add one: `/flag %s --reason \"...\"`.", text)
		e.Field = FieldReason
		return ChangeResult{}, e
	}
	p, err := project(opts.Project, conn)
	if err != nil {
		return ChangeResult{}, err
	}
	now := e.now()
	applyAt, err := opts.Schedule.resolve(now)
	if err != nil {
		return ChangeResult{}, err
	}
	c, err := cmd.Plan(ctx, e, conn, p)
	if err != nil {
		return ChangeResult{}, err
	}
	c.ID = e.opts.NewID()
	c.Workspace = actor.Workspace
	c.ChannelID = actor.ChannelID
	c.RequesterID = actor.UserID
	c.CommandText = f.text
	if c.CommandText == "" {
		c.CommandText = CommandText(cmd, Scope{Project: c.Project, Env: c.Env})
	}
	c.Reason = opts.Reason
	c.CreatedAt = now
	c.ExpiresAt = now.Add(e.opts.ApprovalTTL)
	c.ApplyAt = applyAt
	if !applyAt.IsZero() && applyAt.Before(c.ExpiresAt) {
		// Approval comes first: a request not approved by its time expires.
		c.ExpiresAt = applyAt
	}
	c.Status = StatusPending
	c.RequiredApprovals = requiredApprovals(pol, c.Env)
	if f.undo != nil {
		c.UndoOf = f.undo.ID
	}
	dedupeKey := actor.RequestKey
	if dedupeKey == "" {
		dedupeKey = "id:" + c.ID
	}
	switch {
	case f.emergency:
		c.Emergency, c.SignoffDue, c.RequiredApprovals = true, now.Add(e.opts.SignoffTTL), 0
		return e.fileApproved(ctx, f, c, dedupeKey)
	case !e.needsApproval(ctx, e.clients(conn.Token), pol, c.Project, c.Env):
		c.Exempt, c.RequiredApprovals = true, 0
		return e.fileApproved(ctx, f, c, dedupeKey)
	}
	if err := e.linkUndo(ctx, f, c.ID); err != nil {
		return ChangeResult{}, err
	}
	stored, created, err := e.changes.Create(ctx, c, dedupeKey)
	if err != nil {
		return ChangeResult{}, storeError("store change", err)
	}
	return ChangeResult{Change: stored, Created: created, FlagURL: e.flagURL(stored)}, nil
}

// mayRequest refuses actor's change request before anything is planned:
// for a read-only token, or a guest where the policy does not let guests
// request (a break-glass kill is for its group, guests or not). It returns
// the workspace's policy.
func (e *Executor) mayRequest(ctx context.Context, actor Actor, conn Connection, emergency bool) (Policy, error) {
	if conn.Role == RoleReader {
		return Policy{}, Errorf(KindForbidden, "%s", readOnlyMsg)
	}
	pol, err := e.policies.Policy(ctx, actor.Workspace)
	if err != nil {
		return Policy{}, storeError("read approval policy", err)
	}
	if actor.Guest && !emergency && !pol.GuestsMayRequest {
		return Policy{}, Errorf(KindForbidden, "Guests can't request changes in this workspace. An admin can allow it with `/flag config guests on`.")
	}
	return pol, nil
}

// fileApproved stores c, which needs no approval, and applies it at once
// under the lease its creation takes (or leaves it scheduled for its
// time). The result has Created set whenever the change was stored, even
// with an error: the request is then still to be posted, and the error says
// what happened to the write.
func (e *Executor) fileApproved(ctx context.Context, f filing, c Change, dedupeKey string) (ChangeResult, error) {
	if err := e.linkUndo(ctx, f, c.ID); err != nil {
		return ChangeResult{}, err
	}
	claim := e.newClaim()
	stored, created, err := e.changes.CreateApproved(ctx, c, dedupeKey, claim)
	switch {
	case err != nil:
		return ChangeResult{}, storeError("store change", err)
	case !created:
		return ChangeResult{Change: stored, FlagURL: e.flagURL(stored)}, nil
	case stored.Status == StatusScheduled:
		return ChangeResult{Change: stored, Created: true, FlagURL: e.flagURL(stored)}, nil
	}
	res, err := e.applyApproved(ctx, stored, claim)
	res.Created = true
	res.Applied = res.Change.Status == StatusApplied
	res.ApprovedNow = false
	return res, err
}

// linkUndo links the undo request being filed (id) to the change it
// undoes, unless another undo request was linked since it was read.
func (e *Executor) linkUndo(ctx context.Context, f filing, id string) error {
	if f.undo == nil {
		return nil
	}
	c, err := e.changes.LinkUndo(ctx, f.undo.Workspace, f.undo.ID, f.undo.UndoneBy, id)
	switch {
	case errors.Is(err, ErrUndoLinked):
		return &Error{Kind: KindConflict, Msg: Textf("Someone else just asked to undo request `%s` (request `%s`).", c.ID, c.UndoneBy), Err: err}
	case err != nil:
		return changeError(c, err)
	}
	return nil
}

// needsApproval reports whether a change in env of project waits for
// approval under pol. It fails closed: every environment does unless pol
// exempts it, and an exempt one still does when LaunchDarkly marks it
// critical or can't say whether it is. Flag-wide changes (env "") touch
// every environment, so they always do.
func (e *Executor) needsApproval(ctx context.Context, client ProjectReader, pol Policy, project, env string) bool {
	if !pol.Exempt(project, env) {
		return true
	}
	envs, err := client.ListEnvironments(ctx, project)
	if err != nil {
		return true
	}
	i := slices.IndexFunc(envs, func(x Environment) bool { return strings.EqualFold(x.Key, env) })
	return i < 0 || envs[i].Critical
}

// requiredApprovals is the number of approvals pol asks for in env: the
// configured number (1 when none), and for flag-wide changes the largest
// number configured for any environment.
func requiredApprovals(pol Policy, env string) int {
	n := 1
	for k, v := range pol.Approvals {
		if env == "" || strings.EqualFold(k, env) {
			n = max(n, v)
		}
	}
	return min(n, maxApprovals)
}

// flagURL links to the change's flag in LaunchDarkly's UI: in its
// environment when it has one.
func (e *Executor) flagURL(c Change) string {
	if e.opts.BaseURL == "" || c.Project == "" || c.Flag == "" || (c.Delete && c.Status == StatusApplied) {
		return ""
	}
	if c.Env == "" {
		return e.opts.BaseURL + "/projects/" + url.PathEscape(c.Project) + "/flags/" + url.PathEscape(c.Flag)
	}
	return e.opts.BaseURL + "/" + url.PathEscape(c.Project) + "/" + url.PathEscape(c.Env) + "/features/" + url.PathEscape(c.Flag)
}
