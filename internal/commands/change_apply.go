package commands

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Applying an approved change, exactly once.
//
// The approval that completes the count takes a lease on the change in the
// same atomic step (Changes.Approve with a Claim). Only the holder of the
// current lease (its fence) may record that it is about to send the write
// (Renew with sent) and finish the change. The holder renews the lease
// while it works and stops as soon as it cannot: a lapsed lease may be
// taken over (Changes.Claim, fence + 1) by the sweeper on any replica,
// which then resumes the change (ResumeApproved).
//
// What was sent is recorded before it is sent, so the outcome is never
// guessed: a change whose sent fence is 0 was never written and is applied
// afresh (after the usual stale check); one whose write may have landed is
// reconciled against LaunchDarkly first (ownWrite: the audit log holds the
// request id in the comment, a created flag in its description), so a write
// that landed is recorded as applied, not stale, and is never sent twice.

// Defaults for the lease on an approved change.
const (
	// defaultApplyLease is how long a claim lasts unless renewed. The
	// holder renews it every third of that while it works, so a stopped
	// replica's change is resumed by the first sweep after it lapsed.
	defaultApplyLease = 30 * time.Second
	// defaultUnclaimedAfter is how long a change approved without a lease
	// (by a replica from before leases) waits before it is resumed.
	defaultUnclaimedAfter = 10 * time.Minute
)

// newClaim returns a claim for a new apply attempt.
func (e *Executor) newClaim() Claim {
	return Claim{Owner: "apply-" + rand.Text(), For: e.opts.ApplyLease}
}

// isStoreError reports whether err is a failure of the state store itself
// rather than one of the Changes contract's answers.
func isStoreError(err error) bool {
	for _, s := range []error{ErrChangeNotFound, ErrSelfApproval, ErrAlreadyApproved, ErrDecided, ErrExpired, ErrNotRequester, ErrClaimed, ErrLeaseLost, ErrConfirmDelete} {
		if errors.Is(err, s) {
			return false
		}
	}
	return err != nil
}

// holdLease renews c's lease every third of its length until stop is
// called, and cancels the returned context as soon as the lease is lost
// (another attempt took it over, or it could not be renewed before it ran
// out): the work must stop then.
func (e *Executor) holdLease(ctx context.Context, c Change, claim Claim) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		until := c.Lease.Until
		t := time.NewTicker(max(claim.For/3, time.Millisecond))
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
			}
			rctx, rcancel := context.WithTimeout(ctx, claim.For/3)
			lease, err := e.changes.Renew(rctx, c.Workspace, c.ID, c.Lease.Fence, claim, e.now(), false)
			rcancel()
			switch {
			case err == nil:
				until = lease.Until
			case !isStoreError(err):
				cancel(fmt.Errorf("commands: lease on change %s: %w", c.ID, ErrLeaseLost))
				return
			case !e.now().Before(until):
				cancel(fmt.Errorf("commands: lease on change %s ran out unrenewed: %w: %w", c.ID, ErrLeaseLost, err))
				return
			}
		}
	}()
	return ctx, func() {
		close(done)
		<-stopped
		cancel(nil)
	}
}

// applyApproved applies c, which the caller holds the lease on: re-read the
// flag, record the intent, write, finish. Every path that returns without
// an error recorded exactly one outcome; an error says truthfully what
// happened in LaunchDarkly. A scheduled change more than ScheduleGrace past
// its time is marked missed instead of applied.
func (e *Executor) applyApproved(ctx context.Context, c Change, claim Claim) (ChangeResult, error) {
	workCtx, stop := e.holdLease(ctx, c, claim)
	defer stop()
	conn, err := e.ws.Get(workCtx, c.Workspace)
	if err != nil {
		return e.noConnection(ctx, c, err)
	}
	client := e.clients(conn.Token)

	if c.Lease.Sent > 0 {
		// An earlier attempt may have sent the write: find out before
		// anything is sent again.
		res, done, err := e.reconcile(workCtx, ctx, client, c)
		if done || err != nil {
			return res, err
		}
	}
	if now := e.now(); !c.ApplyAt.IsZero() && now.After(c.ApplyAt.Add(e.opts.ScheduleGrace)) {
		return e.finish(ctx, c, StatusMissed, Textf("It was due at %s UTC, and no Flagbot replica was running until %s UTC, more than %s later; nothing was changed. Request it again if it is still wanted.",
			c.ApplyAt.UTC().Format("2006-01-02 15:04"), now.UTC().Format("2006-01-02 15:04"), shortDuration(e.opts.ScheduleGrace)), nil, ChangeResult{}, false)
	}
	moved, before, err := e.moved(workCtx, client, c)
	if err != nil {
		if lost := leaseLost(workCtx); lost != nil {
			return ChangeResult{Change: c}, lost
		}
		return e.finish(ctx, c, StatusFailed, ldOutcome(workCtx, err), nil, ChangeResult{}, false)
	} else if !moved.IsZero() {
		return e.finish(ctx, c, StatusStale, moved, nil, ChangeResult{}, false)
	}

	// Record the intent; without it nothing is sent.
	if _, err := e.changes.Renew(workCtx, c.Workspace, c.ID, c.Lease.Fence, claim, e.now(), true); err != nil {
		if !isStoreError(err) {
			return ChangeResult{Change: c}, lostLeaseError(err)
		}
		return ChangeResult{Change: c}, &Error{Kind: KindStoreUnavailable, Msg: Notation("The change is approved, but the state store stopped answering before Flagbot sent it, so nothing has changed in LaunchDarkly yet. Flagbot applies it by itself once the store is back and updates the request."), Err: err}
	}

	approvers := make([]string, len(c.Approvals))
	for i, a := range c.Approvals {
		approvers[i] = e.person(workCtx, c.Workspace, a.UserID)
	}
	who := e.person(workCtx, c.Workspace, c.RequesterID)
	f, err := e.apply(workCtx, client, c, e.applyComment(c, who, approvers, false))
	switch {
	case err == nil:
		return e.finish(ctx, c, StatusApplied, e.lateNote(c, appliedOutcome(c, f)), undoPlan(c, before, f), ChangeResult{Flag: f}, true)
	case errors.Is(err, ErrApprovalRequired) && c.Patch != nil && c.Env != "":
		ar, link, aerr := e.ldApprovalRequest(workCtx, client, c, e.applyComment(c, who, approvers, true), approvers)
		if aerr != nil {
			return e.finish(ctx, c, StatusFailed, Textf("LaunchDarkly requires its own approval for changes in `%s`, and creating a LaunchDarkly approval request failed: %s", c.Env, ldOutcome(workCtx, aerr)), nil, ChangeResult{}, false)
		}
		return e.finish(ctx, c, StatusLDApproval, ldApprovalOutcome(c, ar, link), nil, ChangeResult{LDApprovalURL: link}, false)
	}
	if workCtx.Err() != nil {
		// The write was cut short (the lease was lost or time ran out):
		// it may have landed. Leave it to the attempt that resumes it.
		return ChangeResult{Change: c}, &Error{Kind: KindTimeout, Msg: Notation("LaunchDarkly did not answer in time, so Flagbot doesn't know yet whether the change was applied. It checks LaunchDarkly and records the outcome by itself within a minute or two; the request will say."), Err: err}
	}
	return e.finish(ctx, c, StatusFailed, ldOutcome(workCtx, err), nil, ChangeResult{}, false)
}

// applyComment is the comment c's write carries into LaunchDarkly's audit
// log: who asked and who approved (or why nobody had to), what it undoes,
// when it was scheduled for, the reason, and the request id, by which a
// resumed attempt finds the write. request is true for the comment of a
// LaunchDarkly approval request, which must not claim anything was applied.
func (e *Executor) applyComment(c Change, who string, approvers []string, request bool) string {
	var s string
	switch {
	case c.Emergency:
		s = fmt.Sprintf("Emergency change by %s via Flagbot, sign-off pending", who)
	case c.Exempt && request:
		s = fmt.Sprintf("Requested by %s via Flagbot without approval in Slack (an admin exempted this environment)", who)
	case c.Exempt:
		s = fmt.Sprintf("Applied by %s via Flagbot without approval (an admin exempted this environment)", who)
	default:
		s = fmt.Sprintf("Requested by %s, approved by %s via Flagbot", who, strings.Join(approvers, ", "))
	}
	// The reason comes right after "via Flagbot", where digests read it
	// (digest.ParseFlagbotComment); the id comes last.
	s += reasonSuffix(c.Reason)
	if c.UndoOf != "" {
		s += "; undo of request " + c.UndoOf
	}
	if !c.ApplyAt.IsZero() {
		s += "; scheduled for " + c.ApplyAt.UTC().Format("2006-01-02 15:04") + " UTC"
	}
	return s + "; request " + c.ID
}

// lateNote prefixes the outcome of a scheduled change applied well after
// its time with when it was due.
func (e *Executor) lateNote(c Change, outcome Text) Text {
	if c.ApplyAt.IsZero() {
		return outcome
	}
	now := e.now()
	if late := now.Sub(c.ApplyAt); late > lateAfter {
		return Textf("Applied late, at %s UTC (due at %s UTC; no Flagbot replica was running then). %s",
			now.UTC().Format("2006-01-02 15:04"), c.ApplyAt.UTC().Format("2006-01-02 15:04"), outcome)
	}
	return outcome
}

// shortDuration writes d without zero units: 1h, 90m, 1h30m, 45s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// noConnection ends an apply that could not read the workspace's
// connection. A gone or unreadable connection fails a change that was never
// sent; a change an earlier attempt may have sent stays approved, because
// only LaunchDarkly can say whether it landed, and Flagbot checks once it
// can read the connection again. A store that did not answer fails
// nothing: the change stays approved and is applied when the store is back.
func (e *Executor) noConnection(ctx context.Context, c Change, err error) (ChangeResult, error) {
	gone := errors.Is(err, ErrNotConnected) || errors.Is(err, ErrUnreadable)
	switch {
	case gone && c.Lease.Sent == 0 && errors.Is(err, ErrNotConnected):
		return e.finish(ctx, c, StatusFailed, Notation("This workspace is no longer connected to LaunchDarkly."), nil, ChangeResult{}, false)
	case gone && c.Lease.Sent == 0:
		return e.finish(ctx, c, StatusFailed, Notation("Flagbot couldn't read this workspace's LaunchDarkly connection."), nil, ChangeResult{}, false)
	case gone:
		kind := KindNotConnected
		if errors.Is(err, ErrUnreadable) {
			kind = KindUnreadable
		}
		return ChangeResult{Change: c}, &Error{Kind: kind, Err: err, Msg: Notation("An earlier attempt may already have applied this change, and Flagbot can't check LaunchDarkly because it can't use this workspace's LaunchDarkly connection. After an admin runs `/flag connect`, Flagbot checks and records the outcome by itself.")}
	}
	return ChangeResult{Change: c}, &Error{Kind: KindStoreUnavailable, Err: err, Msg: Notation("The change is approved, but the state store stopped answering before Flagbot could apply it. Flagbot checks LaunchDarkly and applies it by itself once the store is back, and updates the request.")}
}

// leaseLost returns the lease-lost error when ctx ended because the lease
// was lost, nil otherwise.
func leaseLost(ctx context.Context) error {
	if cause := context.Cause(ctx); errors.Is(cause, ErrLeaseLost) {
		return lostLeaseError(cause)
	}
	return nil
}

func lostLeaseError(err error) error {
	return &Error{Kind: KindConflict, Msg: Notation("Another Flagbot replica took over applying this change; the request shows its outcome when it is done."), Err: err}
}

// finish records c's outcome under its lease, retrying while the store
// fails; written says whether LaunchDarkly took the write, so the error
// when the outcome can't be recorded tells the truth.
func (e *Executor) finish(ctx context.Context, c Change, status ChangeStatus, outcome Text, undo *UndoPlan, res ChangeResult, written bool) (ChangeResult, error) {
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), e.opts.FinishTimeout)
	defer cancel()
	fc, err := e.finishChange(fctx, c, status, outcome, undo)
	if err != nil {
		if !isStoreError(err) {
			return ChangeResult{Change: fc, ApprovedNow: true}, changeError(fc, err)
		}
		msg := Notation("Flagbot checked the change but couldn't record the outcome: the state store did not answer. Nothing was changed in LaunchDarkly; Flagbot records it by itself once the store is back.")
		if written {
			msg = Notation("LaunchDarkly applied the change, but Flagbot couldn't record that yet: the state store did not answer. It records it by itself once the store is back and updates the request.")
		}
		return ChangeResult{Change: c, ApprovedNow: true}, &Error{Kind: KindStoreUnavailable, Msg: msg, Err: err}
	}
	res.Change, res.ApprovedNow = fc, true
	res.FlagURL = e.flagURL(fc)
	return res, nil
}

// finishChange records the outcome of approved change c under its lease. A
// store failure is retried until ctx ends. A retry that finds this very
// outcome recorded (an earlier try reached the store but its reply was
// lost) has succeeded.
func (e *Executor) finishChange(ctx context.Context, c Change, status ChangeStatus, outcome Text, undo *UndoPlan) (Change, error) {
	now := e.now()
	delay := 20 * time.Millisecond
	for tries := 0; ; tries++ {
		fc, err := e.changes.Finish(ctx, c.Workspace, c.ID, c.Lease.Fence, status, outcome, undo, now)
		switch {
		case err == nil:
			return fc, nil
		case tries > 0 && errors.Is(err, ErrDecided) && fc.Status == status && fc.Outcome.String() == outcome.String():
			return fc, nil
		case !isStoreError(err):
			return fc, err
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return fc, err
		case <-t.C:
		}
		delay = min(2*delay, 500*time.Millisecond)
	}
}

// reconcile settles a change an earlier attempt may have written: when
// the write is found in LaunchDarkly it is recorded as applied (done);
// when it is certainly not there, the caller applies it afresh (not done).
func (e *Executor) reconcile(workCtx, ctx context.Context, client LaunchDarkly, c Change) (ChangeResult, bool, error) {
	landed, f, err := e.ownWrite(workCtx, client, c)
	if err != nil {
		if lost := leaseLost(workCtx); lost != nil {
			return ChangeResult{Change: c}, true, lost
		}
		// LaunchDarkly can't tell now: leave the change for the next
		// attempt rather than guess.
		return ChangeResult{Change: c}, true, &Error{Kind: KindUnavailable, Msg: Notation("Flagbot couldn't check in LaunchDarkly whether this change was applied; it tries again by itself."), Err: err}
	}
	if !landed {
		return ChangeResult{}, false, nil
	}
	// The flag as it was before is gone: only an undo that the write itself
	// says how to reverse can be recorded.
	res, err := e.finish(ctx, c, StatusApplied, e.lateNote(c, appliedOutcome(c, f)), undoPlan(c, nil, f), ChangeResult{Flag: f}, true)
	return res, true, err
}

// ownWrite reports whether c's write is in LaunchDarkly: a created flag
// whose description names the request, a deleted flag that is gone, or an
// audit-log entry of the flag whose comment names the request. f is the
// flag as it is now (zero after a delete).
func (e *Executor) ownWrite(ctx context.Context, client LaunchDarkly, c Change) (bool, Flag, error) {
	var envs []string
	if c.Env != "" {
		envs = []string{c.Env}
	}
	f, err := client.GetFlag(ctx, c.Project, c.Flag, envs...)
	gone := KindOf(err) == KindNotFound
	if err != nil && !gone {
		return false, Flag{}, err
	}
	mark := "request " + c.ID
	switch {
	case c.Delete:
		return gone, Flag{}, nil
	case c.NewFlag != nil:
		return !gone && strings.Contains(f.Description, mark), f, nil
	case gone:
		return false, Flag{}, nil
	}
	entries, err := client.ListAuditLog(ctx, AuditQuery{Spec: AuditSpec(c.Project, c.Env, c.Flag), After: c.CreatedAt.Add(-time.Minute), Limit: 50})
	if err != nil {
		return false, Flag{}, err
	}
	for _, en := range entries {
		if !strings.Contains(en.Comment, mark) {
			continue
		}
		approval := false
		for _, a := range en.Accesses {
			approval = approval || strings.Contains(strings.ToLower(a.Action), "approvalrequest")
		}
		if !approval {
			return true, f, nil
		}
	}
	return false, f, nil
}

// ResumeApproved finishes change c, which the store reported approved with
// nobody applying it any more (Changes.Reclaimable: its lease ran out, or
// it was approved without one long ago). It claims the change (one caller
// wins; the others get KindConflict), then finds out whether an earlier
// attempt's write landed (recorded as applied, never sent twice) and
// otherwise runs the apply path Approve runs. The result is as Approve's
// with ApprovedNow set; Change.Status tells what applying did.
//
// Errors (*Error): KindConflict when c is claimed by a live attempt or no
// longer approved, KindNotFound when it is gone, KindStoreUnavailable when
// the store fails. LaunchDarkly failures are recorded as the change's
// outcome (StatusFailed), except that an unanswered check of an earlier
// write leaves it for the next attempt (KindUnavailable).
func (e *Executor) ResumeApproved(ctx context.Context, c Change) (ChangeResult, error) {
	if e.changes == nil {
		return ChangeResult{}, &Error{Kind: KindInternal, Err: errors.New("commands: no change store configured")}
	}
	claim := e.newClaim()
	cur, err := e.changes.Claim(ctx, c.Workspace, c.ID, claim, e.now(), e.opts.UnclaimedAfter)
	switch {
	case errors.Is(err, ErrClaimed):
		return ChangeResult{Change: cur}, &Error{Kind: KindConflict, Msg: Notation("This change is being applied right now."), Err: err}
	case err != nil:
		return ChangeResult{Change: cur, FlagURL: e.flagURL(cur)}, changeError(cur, err)
	}
	return e.applyApproved(ctx, cur, claim)
}
