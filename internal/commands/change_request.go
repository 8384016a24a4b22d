package commands

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
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
	// Applied is true when the write was applied at once, without approval,
	// because an admin exempted its environment (exempt-envs).
	// Change.Status is then StatusApplied and the change is not stored.
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
// with Created false.
//
// Errors (*Error): KindForbidden for a read-only token (nothing stored),
// KindInvalid for a missing required reason or a write LaunchDarkly would
// refuse (unknown variation, a context already served another variation,
// ...), KindNotFound for an unknown project, environment or flag,
// KindStoreUnavailable when the change could not be stored, and the
// LaunchDarkly kinds of the read commands.
func (e *Executor) requestChange(ctx context.Context, actor Actor, cmd ChangeCommand) (ChangeResult, error) {
	if e.changes == nil || e.policies == nil {
		return ChangeResult{}, &Error{Kind: KindInternal, Err: errors.New("commands: no change store configured")}
	}
	conn, err := e.connection(ctx, actor.Workspace)
	if err != nil {
		return ChangeResult{}, err
	}
	pol, err := e.mayRequest(ctx, actor, conn)
	if err != nil {
		return ChangeResult{}, err
	}
	if conn.DefaultProject == "" {
		conn = e.adoptDefaults(ctx, actor.Workspace, conn, e.clients(conn.Token))
	}
	opts := cmd.Options()
	if pol.RequireReason && opts.Reason == "" {
		e := Errorf(KindInvalid, "This workspace asks for a reason with every change. Add one: `/flag %s --reason \"...\"`.", CommandText(cmd, Scope{Project: opts.Project}))
		e.Field = FieldReason
		return ChangeResult{}, e
	}
	p, err := project(opts.Project, conn)
	if err != nil {
		return ChangeResult{}, err
	}
	c, err := cmd.Plan(ctx, e, conn, p)
	if err != nil {
		return ChangeResult{}, err
	}
	now := e.now()
	c.ID = e.opts.NewID()
	c.Workspace = actor.Workspace
	c.ChannelID = actor.ChannelID
	c.RequesterID = actor.UserID
	c.CommandText = CommandText(cmd, Scope{Project: c.Project, Env: c.Env})
	c.Reason = opts.Reason
	c.CreatedAt = now
	c.ExpiresAt = now.Add(e.opts.ApprovalTTL)
	c.Status = StatusPending
	c.RequiredApprovals = requiredApprovals(pol, c.Env)
	if client := e.clients(conn.Token); !e.needsApproval(ctx, client, pol, c.Project, c.Env) {
		return e.applyNow(ctx, actor, client, c)
	}
	dedupeKey := actor.RequestKey
	if dedupeKey == "" {
		dedupeKey = "id:" + c.ID
	}
	stored, created, err := e.changes.Create(ctx, c, dedupeKey)
	if err != nil {
		return ChangeResult{}, storeError("store change", err)
	}
	return ChangeResult{Change: stored, Created: created, FlagURL: e.flagURL(stored)}, nil
}

// mayRequest refuses actor's change request before anything is planned:
// for a read-only token, or a guest where the policy does not let guests
// request. It returns the workspace's policy.
func (e *Executor) mayRequest(ctx context.Context, actor Actor, conn Connection) (Policy, error) {
	if conn.Role == RoleReader {
		return Policy{}, Errorf(KindForbidden, "%s", readOnlyMsg)
	}
	pol, err := e.policies.Policy(ctx, actor.Workspace)
	if err != nil {
		return Policy{}, storeError("read approval policy", err)
	}
	if actor.Guest && !pol.GuestsMayRequest {
		return Policy{}, Errorf(KindForbidden, "Guests can't request changes in this workspace. An admin can allow it with `/flag config guests on`.")
	}
	return pol, nil
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

// applyNow applies c at once, for an environment an admin exempted.
// Nothing is stored; the result says who did it.
func (e *Executor) applyNow(ctx context.Context, actor Actor, client LaunchDarkly, c Change) (ChangeResult, error) {
	who := e.person(ctx, actor.UserID)
	comment := fmt.Sprintf("Applied by %s via Flagbot without approval (an admin exempted this environment)", who) + reasonSuffix(c.Reason)
	f, err := e.apply(ctx, client, c, comment)
	now := e.now()
	switch {
	case err == nil:
		c.Status, c.Outcome, c.DecidedBy, c.DecidedAt = StatusApplied, appliedOutcome(c, f), actor.UserID, now
		res := ChangeResult{Change: c, Created: true, Applied: true, Flag: f}
		res.FlagURL = e.flagURL(c)
		return res, nil
	case errors.Is(err, ErrApprovalRequired) && c.Patch != nil && c.Env != "":
		// Nothing was applied: the audit comment must not say it was.
		reqComment := fmt.Sprintf("Requested by %s via Flagbot without approval in Slack (an admin exempted this environment)", who) + reasonSuffix(c.Reason)
		ar, link, err := e.ldApprovalRequest(ctx, client, c, reqComment, nil)
		if err != nil {
			return ChangeResult{}, serviceError(ctx, err)
		}
		c.Status, c.Outcome, c.DecidedAt = StatusLDApproval, ldApprovalOutcome(c, ar, link), now
		return ChangeResult{Change: c, Created: true, FlagURL: e.flagURL(c), LDApprovalURL: link}, nil
	}
	return ChangeResult{}, serviceError(ctx, err)
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
