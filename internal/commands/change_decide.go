package commands

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
)

// defaultFinishTimeout bounds recording a change's final status, which
// happens even when the request's own context ran out (LaunchDarkly was
// slow): an approved change must never be left without an outcome.
const defaultFinishTimeout = 5 * time.Second

// Approve records actor's approval of change id. When it completes the
// required count it re-reads the flag and applies the change (or marks it
// stale, failed, or handed to LaunchDarkly's own approvals) and returns it
// with ApprovedNow set. A deletion is approved only with its flag key typed
// as confirmation: through ApproveWithKey; Approve answers KindConfirm for
// it, so the transport can ask for the key.
//
// Errors (*Error): KindNotFound for an unknown id (or one from another
// workspace), KindForbidden for the requester or someone outside the
// approver group, KindOutsider for a user of another organisation,
// KindConflict when actor already approved, the change was already decided
// (the message says by whom) or it expired.
func (e *Executor) Approve(ctx context.Context, actor Actor, id string) (ChangeResult, error) {
	return e.approve(ctx, actor, id, nil)
}

// ApproveWithKey is Approve for a deletion: typedKey must be the flag's
// key, or the error is a *FieldError for FieldConfirmKey and nothing is
// recorded. For any other change typedKey is ignored.
func (e *Executor) ApproveWithKey(ctx context.Context, actor Actor, id, typedKey string) (ChangeResult, error) {
	return e.approve(ctx, actor, id, &typedKey)
}

// CheckConfirmation checks typedKey against change id the way
// ApproveWithKey will, without approving: for a form that must answer
// within seconds while the approval itself may take longer. It returns a
// *FieldError for FieldConfirmKey when the key is wrong, and the errors of
// Approve when the change cannot be read.
func (e *Executor) CheckConfirmation(ctx context.Context, actor Actor, id, typedKey string) error {
	c, err := e.changeFor(ctx, actor, id)
	if err != nil {
		return err
	}
	return confirmDelete(c, &typedKey)
}

// confirmDelete enforces the rule that deleting a flag takes its key typed
// by the approver: nil when c is no pending deletion or the key matches.
// (Without a typed key the store refuses the approval: ErrConfirmDelete.)
func confirmDelete(c Change, typedKey *string) error {
	if !c.Delete || c.Status != StatusPending {
		return nil
	}
	switch {
	case typedKey == nil:
		return confirmError(c)
	case strings.TrimSpace(*typedKey) != c.Flag:
		return &FieldError{Field: FieldConfirmKey, Msg: Textf("Type %s exactly to delete it.", c.Flag)}
	}
	return nil
}

// confirmError asks for deletion c's flag key (KindConfirm).
func confirmError(c Change) error {
	return Errorf(KindConfirm, "Deleting `%s` cannot be undone: type its key to confirm.", c.Flag)
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

// Change returns change id as actor's workspace sees it (for the transport
// to re-read state on a click instead of trusting the button). Errors as
// Approve.
func (e *Executor) Change(ctx context.Context, actor Actor, id string) (Change, error) {
	return e.changeFor(ctx, actor, id)
}

// RecordPost remembers where change id's request was posted, so that later
// updates (an expiry swept by another replica) can edit that message.
func (e *Executor) RecordPost(ctx context.Context, ws Workspace, id, channelID, ts string) error {
	if e.changes == nil {
		return &Error{Kind: KindInternal, Err: errors.New("commands: no change store configured")}
	}
	if err := e.changes.SetMessage(ctx, ws, id, channelID, ts); err != nil {
		if errors.Is(err, ErrChangeNotFound) {
			return changeError(Change{}, err)
		}
		return storeError("record request message", err)
	}
	return nil
}

// approve records actor's approval. The store checks the change itself
// (unknown, decided, expired, the requester, a second approval, a deletion
// without its key typed) in the one atomic step that records it, so a
// click costs no read of the change first; only a typed key is checked
// against a read before. The store reads the keys of actor's workspace
// alone, so the change it answers is one of that workspace.
func (e *Executor) approve(ctx context.Context, actor Actor, id string, typedKey *string) (ChangeResult, error) {
	if actor.Outsider {
		return ChangeResult{}, outsiderError()
	}
	if e.changes == nil || e.policies == nil {
		return ChangeResult{}, &Error{Kind: KindInternal, Err: errors.New("commands: no change store configured")}
	}
	if typedKey != nil {
		c, err := e.changeFor(ctx, actor, id)
		if err != nil {
			return ChangeResult{}, err
		}
		if err := confirmDelete(c, typedKey); err != nil {
			return ChangeResult{Change: c}, err
		}
	}
	if err := e.checkApprover(ctx, actor); err != nil {
		return ChangeResult{}, err
	}
	claim := e.newClaim()
	c, approvedNow, err := e.changes.Approve(ctx, actor.Workspace, id, actor.UserID, e.now(), claim, typedKey != nil)
	if err != nil {
		if errors.Is(err, ErrConfirmDelete) {
			return ChangeResult{Change: c}, confirmError(c)
		}
		if isStoreError(err) {
			// The approval may have been recorded (a lost reply): if it
			// completed the count, the sweeper applies it once our lease
			// runs out. Never say nothing will happen.
			return ChangeResult{Change: c}, &Error{Kind: KindStoreUnavailable, Msg: Notation("I couldn't confirm your approval: the state store did not answer. If it was recorded, Flagbot applies the change by itself within a minute or two and updates the request; if the request still waits for you then, approve again."), Err: err}
		}
		return ChangeResult{Change: c}, changeError(c, err)
	}
	if !approvedNow {
		return ChangeResult{Change: c, FlagURL: e.flagURL(c)}, nil
	}
	if c.Status == StatusScheduled {
		// Approved for later: ApplyScheduled takes it at its time.
		return ChangeResult{Change: c, ApprovedNow: true, FlagURL: e.flagURL(c)}, nil
	}
	return e.applyApproved(ctx, c, claim)
}

// changeFor reads change id for actor, refusing outsiders, unknown ids and
// changes of another workspace.
func (e *Executor) changeFor(ctx context.Context, actor Actor, id string) (Change, error) {
	if actor.Outsider {
		return Change{}, outsiderError()
	}
	if e.changes == nil || e.policies == nil {
		return Change{}, &Error{Kind: KindInternal, Err: errors.New("commands: no change store configured")}
	}
	c, err := e.changes.Get(ctx, actor.Workspace, id)
	if err != nil {
		return Change{}, changeError(c, err)
	}
	if c.Workspace != actor.Workspace {
		return Change{}, Errorf(KindForbidden, "This request was made in another workspace; only people there can decide it.")
	}
	return c, nil
}

// checkApprover refuses a guest, and actor when the workspace's policy
// names an approver group that actor is not in.
func (e *Executor) checkApprover(ctx context.Context, actor Actor) error {
	if actor.Guest {
		return Errorf(KindForbidden, "Guests can't approve or reject changes.")
	}
	pol, err := e.policies.Policy(ctx, actor.Workspace)
	if err != nil {
		return storeError("read approval policy", err)
	}
	if pol.ApproverGroup == "" {
		return nil
	}
	members, err := e.dir.GroupMembers(ctx, actor.Workspace, pol.ApproverGroup)
	if err != nil {
		if ctx.Err() != nil {
			return &Error{Kind: KindTimeout, Err: err}
		}
		return &Error{Kind: KindInternal, Err: fmt.Errorf("commands: read approver group: %w", err)}
	}
	if !slices.Contains(members, actor.UserID) {
		return Errorf(KindForbidden, "Only members of %s can approve or reject changes in this workspace.", Group(pol.ApproverGroup))
	}
	return nil
}

// changeError turns a Changes error into an *Error whose message says what
// happened; c is the change the store returned with it, if any.
func changeError(c Change, err error) error {
	switch {
	case errors.Is(err, ErrChangeNotFound):
		return &Error{Kind: KindNotFound, Msg: Notation("I can't find that request in this workspace. Requests are decided in the workspace they were made in; old ones are cleaned up."), Err: err}
	case errors.Is(err, ErrSelfApproval):
		return &Error{Kind: KindForbidden, Msg: Notation("You asked for this change, so someone else has to approve it."), Err: err}
	case errors.Is(err, ErrNotRequester):
		msg := Notation("Only the person who asked for this change can cancel it.")
		if c.RequesterID != "" {
			msg = Textf("Only %s, who asked for this change, can cancel it.", User(c.RequesterID))
		}
		return &Error{Kind: KindForbidden, Msg: msg, Err: err}
	case errors.Is(err, ErrAlreadyApproved):
		msg := Notation("You already approved this.")
		if left := c.RequiredApprovals - len(c.Approvals); c.ID != "" && left > 0 {
			msg = Textf("You already approved this. It needs %d more %s from someone else.", left, plural(left, "approval", "approvals"))
		}
		return &Error{Kind: KindConflict, Msg: msg, Err: err}
	case errors.Is(err, ErrExpired):
		msg := Notation("This request expired; ask again if it is still wanted.")
		if !c.ExpiresAt.IsZero() {
			msg = Textf("This request expired at %s UTC; ask again if it is still wanted.", c.ExpiresAt.UTC().Format("2006-01-02 15:04"))
		}
		return &Error{Kind: KindConflict, Msg: msg, Err: err}
	case errors.Is(err, ErrDecided), errors.Is(err, ErrLeaseLost):
		return &Error{Kind: KindConflict, Msg: DecidedMessage(c), Err: err}
	}
	return storeError("update change", err)
}

// DecidedMessage says who decided change c and how, e.g. "@Ana already
// approved this; it was applied."
func DecidedMessage(c Change) Text {
	approvers := make([]Text, len(c.Approvals))
	for i, a := range c.Approvals {
		approvers[i] = Text{User(a.UserID)}
	}
	who := Join(approvers, " and ")
	if who.IsZero() {
		who = Text{Plain("Someone")}
	}
	switch c.Status {
	case StatusApproved:
		return Textf("%s already approved this; it is being applied.", who)
	case StatusApplied:
		return Textf("%s already approved this; it was applied.", who)
	case StatusFailed:
		// Outcome says why in full ("LaunchDarkly refused the change
		// (HTTP 500): ...", "LaunchDarkly did not answer in time. ...").
		return Textf("%s already approved this, but it was not applied: %s", who, c.Outcome)
	case StatusStale:
		return Textf("%s already approved this, but the flag had changed in LaunchDarkly, so it was not applied.", who)
	case StatusLDApproval:
		return Textf("%s already approved this; it now waits for LaunchDarkly's own approval.", who)
	case StatusScheduled:
		return Textf("%s already approved this; it applies at %s UTC.", who, c.ApplyAt.UTC().Format("2006-01-02 15:04"))
	case StatusMissed:
		return Textf("%s already approved this, but no Flagbot replica ran in time to apply it at %s UTC, so it was not applied.", who, c.ApplyAt.UTC().Format("2006-01-02 15:04"))
	case StatusRejected:
		return Textf("%s already rejected this.", User(c.DecidedBy))
	case StatusCancelled:
		if c.DecidedBy == "" { // cancelled by no one: Flagbot was uninstalled
			return Textf("This request was cancelled: %s.", c.Outcome)
		}
		return Textf("%s cancelled this request.", User(c.DecidedBy))
	case StatusExpired:
		return Notation("This request expired; ask again if it is still wanted.")
	}
	return Notation("This request was already decided.")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// moved re-reads c's flag and describes what changed since the request
// (nil Text when nothing did). before is the flag as read (nil when it
// does not exist). err is a LaunchDarkly failure.
func (e *Executor) moved(ctx context.Context, client FlagReader, c Change) (Text, *Flag, error) {
	if c.NewFlag != nil {
		_, err := client.GetFlag(ctx, c.Project, c.Flag)
		switch {
		case err == nil:
			return Textf("A flag `%s` was created in LaunchDarkly after this request.", c.Flag), nil, nil
		case KindOf(err) == KindNotFound:
			return nil, nil, nil
		}
		return nil, nil, err
	}
	var envs []string
	if c.Env != "" {
		envs = []string{c.Env}
	}
	f, err := client.GetFlag(ctx, c.Project, c.Flag, envs...)
	switch {
	case KindOf(err) == KindNotFound:
		return Textf("The flag `%s` no longer exists in LaunchDarkly.", c.Flag), nil, nil
	case err != nil:
		return nil, nil, err
	}
	var parts []string
	if f.Version != c.FlagVersion {
		parts = append(parts, fmt.Sprintf("flag version %d → %d", c.FlagVersion, f.Version))
	}
	if c.Env != "" {
		fe, ok := f.Environments[c.Env]
		if !ok {
			return Textf("The environment `%s` no longer exists in LaunchDarkly.", c.Env), &f, nil
		}
		if fe.Version != c.EnvVersion {
			parts = append(parts, fmt.Sprintf("%s version %d → %d", c.Env, c.EnvVersion, fe.Version))
		}
	}
	if len(parts) == 0 {
		return nil, &f, nil
	}
	s := Textf("Changed in LaunchDarkly since the request (%s)", strings.Join(parts, ", "))
	if now := currentState(c, f); !now.IsZero() {
		s = Textf("%s; %s", s, now)
	}
	return Textf("%s. Not applied: request it again if it is still wanted.", s), &f, nil
}

// appliedOutcome describes the state after c was applied; f is the flag
// LaunchDarkly returned.
func appliedOutcome(c Change, f Flag) Text {
	switch c.Kind {
	case ChangeCreate:
		return Textf("Created `%s` in `%s`, off in every environment.", c.Flag, c.Project)
	case ChangeDelete:
		return Textf("Deleted `%s` from every environment of `%s`.", c.Flag, c.Project)
	case ChangeArchive:
		return Textf("Archived `%s`.", c.Flag)
	case ChangeRestore:
		return Textf("Restored `%s`.", c.Flag)
	case ChangeTarget:
		if len(c.Diff) > 0 {
			return Textf("Applied in `%s`: %s now %s.", c.Env, c.Diff[0].Field, c.Diff[0].After)
		}
	}
	if s := currentState(c, f); !s.IsZero() {
		return Textf("Applied: %s.", s)
	}
	return Textf("Applied: %s.", diffSummary(c))
}

// ldOutcome explains a LaunchDarkly failure for a change's outcome: its own
// message when it sent one. It never includes a token.
func ldOutcome(ctx context.Context, err error) Text {
	var re *RemoteError
	switch {
	case errors.As(err, &re) && re.Status > 0 && re.Message != "":
		return Textf("LaunchDarkly refused the change (HTTP %d): %s", re.Status, re.Message)
	case errors.As(err, &re) && re.Status > 0:
		return Textf("LaunchDarkly refused the change (HTTP %d).", re.Status)
	case errors.Is(err, context.DeadlineExceeded), ctx.Err() != nil:
		return Notation("LaunchDarkly did not answer in time. Check the flag in LaunchDarkly before asking again.")
	case errors.As(err, &re) && re.Kind == KindUnavailable:
		return Notation("Flagbot couldn't reach LaunchDarkly. Check the flag in LaunchDarkly before asking again.")
	}
	return Notation("The change could not be applied.")
}

// decide rejects (cancel false) or cancels change id.
func (e *Executor) decide(ctx context.Context, actor Actor, id string, cancel bool) (ChangeResult, error) {
	c, err := e.changeFor(ctx, actor, id)
	if err != nil {
		return ChangeResult{}, err
	}
	now := e.now()
	if cancel {
		c, err = e.changes.Cancel(ctx, actor.Workspace, id, actor.UserID, now)
	} else {
		if err := e.checkApprover(ctx, actor); err != nil {
			return ChangeResult{Change: c}, err
		}
		c, err = e.changes.Reject(ctx, actor.Workspace, id, actor.UserID, now)
	}
	if err != nil {
		return ChangeResult{Change: c}, changeError(c, err)
	}
	return ChangeResult{Change: c, FlagURL: e.flagURL(c)}, nil
}

// apply sends c's write to LaunchDarkly with comment for its audit log.
func (e *Executor) apply(ctx context.Context, client FlagWriter, c Change, comment string) (Flag, error) {
	switch {
	case c.Patch != nil:
		p := *c.Patch
		p.Instructions = slices.Clone(p.Instructions)
		p.Comment = comment
		return client.PatchFlag(ctx, c.Project, c.Flag, p)
	case c.NewFlag != nil:
		nf := *c.NewFlag
		if nf.Description == "" {
			nf.Description = comment // creation takes no comment; the description keeps the story
		}
		return client.CreateFlag(ctx, c.Project, nf)
	case c.Delete:
		return Flag{}, client.DeleteFlag(ctx, c.Project, c.Flag)
	}
	return Flag{}, fmt.Errorf("commands: change %s has no write", c.ID)
}

// ldApprovalRequest creates a LaunchDarkly approval request carrying c's
// instructions and returns it with a link into LaunchDarkly's UI.
func (e *Executor) ldApprovalRequest(ctx context.Context, client FlagWriter, c Change, comment string, approvers []string) (ApprovalRequest, string, error) {
	desc := "Flagbot: " + diffSummary(c)
	if len(approvers) > 0 {
		desc += " (approved in Slack by " + strings.Join(approvers, ", ") + ")"
	}
	ar, err := client.CreateApprovalRequest(ctx, c.Project, c.Flag, c.Env, ApprovalRequestInput{
		Description:  desc,
		Instructions: slices.Clone(c.Patch.Instructions),
		Comment:      comment,
	})
	if err != nil {
		return ApprovalRequest{}, "", err
	}
	link := ""
	if e.opts.BaseURL != "" && ar.ID != "" {
		link = e.opts.BaseURL + "/" + url.PathEscape(c.Project) + "/" + url.PathEscape(c.Env) + "/features/" + url.PathEscape(c.Flag) + "/approvals/" + url.PathEscape(ar.ID)
	}
	return ar, link, nil
}

func ldApprovalOutcome(c Change, ar ApprovalRequest, link string) Text {
	s := Textf("LaunchDarkly requires its own approval for changes in `%s`, so Flagbot created LaunchDarkly approval request %s", c.Env, ar.ID)
	if link != "" {
		s = Textf("%s: %s", s, Link(link, link))
	}
	return s
}

// diffSummary writes a change's diff on one line.
func diffSummary(c Change) string {
	parts := make([]string, len(c.Diff))
	for i, d := range c.Diff {
		parts[i] = d.Field + ": " + d.Before + " → " + d.After
	}
	s := string(c.Kind) + " " + c.Flag
	if c.Env != "" {
		s += " in " + c.Env
	}
	if len(parts) > 0 {
		s += " (" + strings.Join(parts, "; ") + ")"
	}
	return s
}

func reasonSuffix(reason string) string {
	if reason == "" {
		return ""
	}
	return "; reason: " + reason
}

// person names a Slack user for LaunchDarkly's audit log: "Name (U123)",
// or just the ID when the name can't be read.
func (e *Executor) person(ctx context.Context, ws Workspace, userID string) string {
	if e.dir != nil {
		if name, err := e.dir.DisplayName(ctx, ws, userID); err == nil && name != "" && name != userID {
			return name + " (" + userID + ")"
		}
	}
	return userID
}
