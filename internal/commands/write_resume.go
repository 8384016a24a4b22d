package commands

import (
	"context"
	"errors"
)

// ResumeApproved finishes change c, which Changes.StuckApproved reported
// approved but never finished: the bot stopped (crashed, was redeployed)
// between the approval that completed the count and recording the outcome.
// It re-reads c from the store and, while it is still StatusApproved, runs
// the very apply path Approve runs: re-read the flag, apply, and Finish
// with applied, stale, failed or ld_approval. The result is as Approve's
// with ApprovedNow set; Change.Status tells what applying did.
//
// Running it again for a change whose earlier attempt already reached
// LaunchDarkly does not apply the write twice: that write moved the flag's
// or the environment's version (or created or deleted the flag), so the
// re-read finds the change stale and marks it so without writing.
// Exceptions and limits:
//   - An earlier attempt that created a LaunchDarkly approval request (the
//     environment requires LaunchDarkly's own approvals) moved no version,
//     so a second approval request is created; neither applies anything
//     until it is reviewed in LaunchDarkly.
//   - The version check and the write are two LaunchDarkly calls, so two
//     ResumeApproved calls for the same change running at the same time can
//     both write. Callers run it from the sweeper (one replica at a time,
//     under its lock) and only for changes approved long enough ago
//     (SweeperOptions.StuckAfter) that the original attempt has certainly
//     ended.
//
// Errors (*Error): KindConflict with DecidedMessage when c is no longer
// approved (someone else finished it), KindNotFound when it is gone, and
// KindStoreUnavailable when the store fails. LaunchDarkly failures are not
// errors: they are recorded as the change's outcome (StatusFailed).
func (e *Executor) ResumeApproved(ctx context.Context, c Change) (ChangeResult, error) {
	if e.changes == nil {
		return ChangeResult{}, &Error{Kind: KindInternal, Err: errors.New("commands: no change store configured")}
	}
	cur, err := e.changes.Get(ctx, c.Workspace, c.ID)
	if err != nil {
		return ChangeResult{}, changeError(cur, err)
	}
	if cur.Status != StatusApproved {
		return ChangeResult{Change: cur, FlagURL: e.flagURL(cur)}, changeError(cur, ErrDecided)
	}
	return e.applyApproved(ctx, cur)
}
