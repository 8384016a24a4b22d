package commands

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/flagbot/flagbot/internal/ld"
)

// finishTimeout bounds recording a change's final status, which happens
// even when the request's own context ran out (LaunchDarkly was slow):
// an approved change must never be left without an outcome.
const finishTimeout = 5 * time.Second

// applyNow applies c at once, for an environment outside approval-envs.
// Nothing is stored; the result says who did it.
func (e *Executor) applyNow(ctx context.Context, actor Actor, client LaunchDarkly, c Change) (ChangeResult, error) {
	who := e.person(ctx, actor.UserID)
	comment := fmt.Sprintf("Applied by %s via Flagbot without approval (environment not in approval-envs)", who) + reasonSuffix(c.Reason)
	f, err := e.apply(ctx, client, c, comment)
	now := e.opts.Now().UTC()
	switch {
	case err == nil:
		c.Status, c.Outcome, c.DecidedBy, c.DecidedAt = StatusApplied, appliedOutcome(c, f), actor.UserID, now
		res := ChangeResult{Change: c, Created: true, Applied: true, Flag: f}
		res.FlagURL = e.flagURL(c)
		return res, nil
	case errors.Is(err, ld.ErrMethodNotAllowed) && c.Patch != nil && c.Env != "":
		// Nothing was applied: the audit comment must not say it was.
		reqComment := fmt.Sprintf("Requested by %s via Flagbot without approval in Slack (environment not in approval-envs)", who) + reasonSuffix(c.Reason)
		ar, link, err := e.ldApprovalRequest(ctx, client, c, reqComment, nil)
		if err != nil {
			return ChangeResult{}, err
		}
		c.Status, c.Outcome, c.DecidedAt = StatusLDApproval, ldApprovalOutcome(c, ar, link), now
		return ChangeResult{Change: c, Created: true, FlagURL: e.flagURL(c), LDApprovalURL: link}, nil
	}
	return ChangeResult{}, ldError(ctx, err)
}

// apply sends c's write to LaunchDarkly with comment for its audit log.
func (e *Executor) apply(ctx context.Context, client LaunchDarkly, c Change, comment string) (ld.Flag, error) {
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
		return ld.Flag{}, client.DeleteFlag(ctx, c.Project, c.Flag)
	}
	return ld.Flag{}, fmt.Errorf("commands: change %s has no write", c.ID)
}

// ldApprovalRequest creates a LaunchDarkly approval request carrying c's
// instructions and returns it with a link into LaunchDarkly's UI.
func (e *Executor) ldApprovalRequest(ctx context.Context, client LaunchDarkly, c Change, comment string, approvers []string) (ld.ApprovalRequest, string, error) {
	desc := "Flagbot: " + diffSummary(c)
	if len(approvers) > 0 {
		desc += " (approved in Slack by " + strings.Join(approvers, ", ") + ")"
	}
	ar, err := client.CreateApprovalRequest(ctx, c.Project, c.Flag, c.Env, ld.ApprovalRequestInput{
		Description:  desc,
		Instructions: slices.Clone(c.Patch.Instructions),
		Comment:      comment,
	})
	if err != nil {
		return ld.ApprovalRequest{}, "", ldError(ctx, err)
	}
	link := ""
	if e.opts.BaseURL != "" && ar.ID != "" {
		link = e.opts.BaseURL + "/" + url.PathEscape(c.Project) + "/" + url.PathEscape(c.Env) + "/features/" + url.PathEscape(c.Flag) + "/approvals/" + url.PathEscape(ar.ID)
	}
	return ar, link, nil
}

func ldApprovalOutcome(c Change, ar ld.ApprovalRequest, link string) string {
	s := fmt.Sprintf("LaunchDarkly requires its own approval for changes in `%s`, so Flagbot created LaunchDarkly approval request %s", c.Env, ar.ID)
	if link != "" {
		s += ": " + link
	}
	return s
}

// diffSummary writes a change's diff on one line.
func diffSummary(c Change) string {
	parts := make([]string, len(c.Diff))
	for i, d := range c.Diff {
		parts[i] = d.Field + ": " + d.Before + " → " + d.After
	}
	s := c.Kind + " " + c.Flag
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
func (e *Executor) person(ctx context.Context, userID string) string {
	if e.dir != nil {
		if name, err := e.dir.DisplayName(ctx, userID); err == nil && name != "" && name != userID {
			return name + " (" + userID + ")"
		}
	}
	return userID
}

func (e *Executor) approve(ctx context.Context, actor Actor, id string) (ChangeResult, error) {
	c, err := e.changeFor(ctx, actor, id)
	if err != nil {
		return ChangeResult{}, err
	}
	if err := e.checkApprover(ctx, actor); err != nil {
		return ChangeResult{Change: c}, err
	}
	c, approvedNow, err := e.changes.Approve(ctx, actor.Workspace, id, actor.UserID, e.opts.Now().UTC())
	if err != nil {
		return ChangeResult{Change: c}, changeError(c, err)
	}
	if !approvedNow {
		return ChangeResult{Change: c, FlagURL: e.flagURL(c)}, nil
	}
	return e.applyApproved(ctx, c)
}

// changeFor reads change id for actor, refusing unknown ids and changes of
// another workspace.
func (e *Executor) changeFor(ctx context.Context, actor Actor, id string) (Change, error) {
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

// checkApprover refuses actor when the workspace's policy names an approver
// group that actor is not in.
func (e *Executor) checkApprover(ctx context.Context, actor Actor) error {
	pol, err := e.policies.Policy(ctx, actor.Workspace)
	if err != nil {
		return storeError("read approval policy", err)
	}
	if pol.ApproverGroup == "" {
		return nil
	}
	members, err := e.dir.GroupMembers(ctx, pol.ApproverGroup)
	if err != nil {
		if ctx.Err() != nil {
			return &Error{Kind: KindTimeout, Err: err}
		}
		return &Error{Kind: KindInternal, Err: fmt.Errorf("commands: read approver group: %w", err)}
	}
	if !slices.Contains(members, actor.UserID) {
		return Errorf(KindForbidden, "Only members of <!subteam^%s> can approve or reject changes in this workspace.", pol.ApproverGroup)
	}
	return nil
}

// changeError turns a Changes error into an *Error whose message says what
// happened; c is the change the store returned with it, if any.
func changeError(c Change, err error) error {
	switch {
	case errors.Is(err, ErrChangeNotFound):
		return &Error{Kind: KindNotFound, Msg: "I can't find that request in this workspace. Requests are decided in the workspace they were made in; old ones are cleaned up.", Err: err}
	case errors.Is(err, ErrSelfApproval):
		return &Error{Kind: KindForbidden, Msg: "You asked for this change, so someone else has to approve it.", Err: err}
	case errors.Is(err, ErrNotRequester):
		msg := "Only the person who asked for this change can cancel it."
		if c.RequesterID != "" {
			msg = fmt.Sprintf("Only <@%s>, who asked for this change, can cancel it.", c.RequesterID)
		}
		return &Error{Kind: KindForbidden, Msg: msg, Err: err}
	case errors.Is(err, ErrAlreadyApproved):
		msg := "You already approved this."
		if left := c.RequiredApprovals - len(c.Approvals); c.ID != "" && left > 0 {
			msg += fmt.Sprintf(" It needs %d more %s from someone else.", left, plural(left, "approval", "approvals"))
		}
		return &Error{Kind: KindConflict, Msg: msg, Err: err}
	case errors.Is(err, ErrExpired):
		msg := "This request expired; ask again if it is still wanted."
		if !c.ExpiresAt.IsZero() {
			msg = fmt.Sprintf("This request expired at %s UTC; ask again if it is still wanted.", c.ExpiresAt.UTC().Format("2006-01-02 15:04"))
		}
		return &Error{Kind: KindConflict, Msg: msg, Err: err}
	case errors.Is(err, ErrDecided):
		return &Error{Kind: KindConflict, Msg: DecidedMessage(c), Err: err}
	}
	return storeError("update change", err)
}

// DecidedMessage says who decided change c and how, e.g. "<@U123> already
// approved this; it was applied."
func DecidedMessage(c Change) string {
	approvers := make([]string, len(c.Approvals))
	for i, a := range c.Approvals {
		approvers[i] = "<@" + a.UserID + ">"
	}
	who := strings.Join(approvers, " and ")
	if who == "" {
		who = "Someone"
	}
	switch c.Status {
	case StatusApproved:
		return who + " already approved this; it is being applied."
	case StatusApplied:
		return who + " already approved this; it was applied."
	case StatusFailed:
		// Outcome says why in full ("LaunchDarkly refused the change
		// (HTTP 500): ...", "LaunchDarkly did not answer in time. ...").
		return who + " already approved this, but it was not applied: " + c.Outcome
	case StatusStale:
		return who + " already approved this, but the flag had changed in LaunchDarkly, so it was not applied."
	case StatusLDApproval:
		return who + " already approved this; it now waits for LaunchDarkly's own approval."
	case StatusRejected:
		return fmt.Sprintf("<@%s> already rejected this.", c.DecidedBy)
	case StatusCancelled:
		return fmt.Sprintf("<@%s> cancelled this request.", c.DecidedBy)
	case StatusExpired:
		return "This request expired; ask again if it is still wanted."
	}
	return "This request was already decided."
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// applyApproved re-reads the flag and applies c, which has just been
// approved; every path ends in exactly one Finish.
func (e *Executor) applyApproved(ctx context.Context, c Change) (ChangeResult, error) {
	finish := func(status ChangeStatus, outcome string, res ChangeResult) (ChangeResult, error) {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finishTimeout)
		defer cancel()
		fc, err := e.finishChange(fctx, c, status, outcome)
		if err != nil {
			return ChangeResult{Change: c, ApprovedNow: true}, storeError("finish change", err)
		}
		res.Change, res.ApprovedNow = fc, true
		res.FlagURL = e.flagURL(fc)
		return res, nil
	}
	conn, err := e.ws.Get(ctx, c.Workspace)
	switch {
	case errors.Is(err, ErrNotConnected):
		return finish(StatusFailed, "This workspace is no longer connected to LaunchDarkly.", ChangeResult{})
	case err != nil:
		return finish(StatusFailed, "Flagbot couldn't read this workspace's LaunchDarkly connection.", ChangeResult{})
	}
	client := e.clients(conn.Token)

	if moved, err := e.moved(ctx, client, c); err != nil {
		return finish(StatusFailed, ldOutcome(ctx, err), ChangeResult{})
	} else if moved != "" {
		return finish(StatusStale, moved, ChangeResult{})
	}

	approvers := make([]string, len(c.Approvals))
	for i, a := range c.Approvals {
		approvers[i] = e.person(ctx, a.UserID)
	}
	comment := fmt.Sprintf("Requested by %s, approved by %s via Flagbot%s; request %s",
		e.person(ctx, c.RequesterID), strings.Join(approvers, ", "), reasonSuffix(c.Reason), c.ID)
	f, err := e.apply(ctx, client, c, comment)
	switch {
	case err == nil:
		return finish(StatusApplied, appliedOutcome(c, f), ChangeResult{Flag: f})
	case errors.Is(err, ld.ErrMethodNotAllowed) && c.Patch != nil && c.Env != "":
		ar, link, aerr := e.ldApprovalRequest(ctx, client, c, comment, approvers)
		if aerr != nil {
			return finish(StatusFailed, fmt.Sprintf("LaunchDarkly requires its own approval for changes in `%s`, and creating a LaunchDarkly approval request failed: %s", c.Env, ldOutcome(ctx, errors.Unwrap(aerr))), ChangeResult{})
		}
		return finish(StatusLDApproval, ldApprovalOutcome(c, ar, link), ChangeResult{LDApprovalURL: link})
	}
	return finish(StatusFailed, ldOutcome(ctx, err), ChangeResult{})
}

// finishChange records the outcome of approved change c. A store failure
// is retried until ctx ends: given up at once, the change would stay
// approved for good (out of the pending list and the history, its message
// saying it is being applied) although LaunchDarkly may have applied it.
// A retry that finds this very outcome recorded (an earlier try reached
// the store but its reply was lost) has succeeded: nobody else finishes an
// approved change.
func (e *Executor) finishChange(ctx context.Context, c Change, status ChangeStatus, outcome string) (Change, error) {
	now := e.opts.Now().UTC()
	delay := 20 * time.Millisecond
	for tries := 0; ; tries++ {
		fc, err := e.changes.Finish(ctx, c.Workspace, c.ID, status, outcome, now)
		switch {
		case err == nil:
			return fc, nil
		case tries > 0 && errors.Is(err, ErrDecided) && fc.Status == status && fc.Outcome == outcome:
			return fc, nil
		case errors.Is(err, ErrDecided), errors.Is(err, ErrChangeNotFound):
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

// moved re-reads c's flag and describes what changed since the request
// ("" when nothing did). err is a LaunchDarkly failure.
func (e *Executor) moved(ctx context.Context, client LaunchDarkly, c Change) (string, error) {
	if c.NewFlag != nil {
		_, err := client.GetFlag(ctx, c.Project, c.Flag)
		switch {
		case err == nil:
			return fmt.Sprintf("A flag `%s` was created in LaunchDarkly after this request.", c.Flag), nil
		case errors.Is(err, ld.ErrNotFound):
			return "", nil
		}
		return "", err
	}
	var envs []string
	if c.Env != "" {
		envs = []string{c.Env}
	}
	f, err := client.GetFlag(ctx, c.Project, c.Flag, envs...)
	switch {
	case errors.Is(err, ld.ErrNotFound):
		return fmt.Sprintf("The flag `%s` no longer exists in LaunchDarkly.", c.Flag), nil
	case err != nil:
		return "", err
	}
	var parts []string
	if f.Version != c.FlagVersion {
		parts = append(parts, fmt.Sprintf("flag version %d → %d", c.FlagVersion, f.Version))
	}
	if c.Env != "" {
		fe, ok := f.Environments[c.Env]
		if !ok {
			return fmt.Sprintf("The environment `%s` no longer exists in LaunchDarkly.", c.Env), nil
		}
		if fe.Version != c.EnvVersion {
			parts = append(parts, fmt.Sprintf("%s version %d → %d", c.Env, c.EnvVersion, fe.Version))
		}
	}
	if len(parts) == 0 {
		return "", nil
	}
	s := "Changed in LaunchDarkly since the request (" + strings.Join(parts, ", ") + ")"
	if now := currentState(c, f); now != "" {
		s += "; " + now
	}
	return s + ". Not applied: request it again if it is still wanted.", nil
}

// currentState describes the part of f that c is about, as it is now.
func currentState(c Change, f ld.Flag) string {
	fe, ok := f.Environments[c.Env]
	switch c.Kind {
	case "on", "off":
		if ok {
			return fmt.Sprintf("`%s` is now %s in `%s`", f.Key, onOff(fe.On), c.Env)
		}
	case "serve", "rollout":
		if ok {
			return fmt.Sprintf("`%s` now serves %s by default in `%s`", f.Key, describeServe(f, fe.Fallthrough), c.Env)
		}
	case "offvariation":
		if ok && fe.OffVariation != nil {
			return fmt.Sprintf("`%s` now serves %s while off in `%s`", f.Key, variationLabel(f, *fe.OffVariation), c.Env)
		}
	case "archive", "restore":
		if f.Archived {
			return fmt.Sprintf("`%s` is now archived", f.Key)
		}
		return fmt.Sprintf("`%s` is now not archived", f.Key)
	}
	return ""
}

// appliedOutcome describes the state after c was applied; f is the flag
// LaunchDarkly returned.
func appliedOutcome(c Change, f ld.Flag) string {
	switch c.Kind {
	case "create":
		return fmt.Sprintf("Created `%s` in `%s`, off in every environment.", c.Flag, c.Project)
	case "delete":
		return fmt.Sprintf("Deleted `%s` from every environment of `%s`.", c.Flag, c.Project)
	case "archive":
		return fmt.Sprintf("Archived `%s`.", c.Flag)
	case "restore":
		return fmt.Sprintf("Restored `%s`.", c.Flag)
	case "target":
		if len(c.Diff) > 0 {
			return fmt.Sprintf("Applied in `%s`: %s now %s.", c.Env, c.Diff[0].Field, c.Diff[0].After)
		}
	}
	if s := currentState(c, f); s != "" {
		return "Applied: " + s + "."
	}
	return "Applied: " + diffSummary(c) + "."
}

// ldOutcome explains a LaunchDarkly failure for a change's outcome: its own
// message when it sent one. It never includes a token.
func ldOutcome(ctx context.Context, err error) string {
	var api *ld.APIError
	switch {
	case errors.As(err, &api) && api.Message != "":
		return fmt.Sprintf("LaunchDarkly refused the change (HTTP %d): %s", api.Status, api.Message)
	case errors.As(err, &api):
		return fmt.Sprintf("LaunchDarkly refused the change (HTTP %d).", api.Status)
	case errors.Is(err, context.DeadlineExceeded), ctx.Err() != nil:
		return "LaunchDarkly did not answer in time. Check the flag in LaunchDarkly before asking again."
	case errors.Is(err, ld.ErrUnavailable):
		return "Flagbot couldn't reach LaunchDarkly. Check the flag in LaunchDarkly before asking again."
	}
	return "The change could not be applied."
}

// decide rejects (cancel false) or cancels change id.
func (e *Executor) decide(ctx context.Context, actor Actor, id string, cancel bool) (ChangeResult, error) {
	c, err := e.changeFor(ctx, actor, id)
	if err != nil {
		return ChangeResult{}, err
	}
	now := e.opts.Now().UTC()
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

func (e *Executor) pending(ctx context.Context, actor Actor) (Result, error) {
	if e.changes == nil {
		return nil, &Error{Kind: KindInternal, Err: errors.New("commands: no change store configured")}
	}
	cs, err := e.changes.Pending(ctx, actor.Workspace)
	if err != nil {
		return nil, storeError("list pending changes", err)
	}
	return PendingResult{Changes: cs}, nil
}

func (e *Executor) history(ctx context.Context, actor Actor, h History) (Result, error) {
	if e.changes == nil {
		return nil, &Error{Kind: KindInternal, Err: errors.New("commands: no change store configured")}
	}
	cs, err := e.changes.History(ctx, actor.Workspace, h.Flag, historyLimit)
	if err != nil {
		return nil, storeError("list decided changes", err)
	}
	return HistoryResult{Flag: h.Flag, Changes: cs}, nil
}

// configPolicy changes one policy setting; the caller checked that actor is
// an admin.
func (e *Executor) configPolicy(ctx context.Context, actor Actor, client LaunchDarkly, conn Connection, c Config) (Result, error) {
	if e.policies == nil {
		return nil, &Error{Kind: KindInternal, Err: errors.New("commands: no policy store configured")}
	}
	pol, err := e.policies.Policy(ctx, actor.Workspace)
	if err != nil {
		return nil, storeError("read approval policy", err)
	}
	switch c.Setting {
	case SettingRequireReason:
		pol.RequireReason = c.Value == "on"
	case SettingApprovers:
		if c.Value != "" {
			if _, err := e.dir.GroupMembers(ctx, c.Value); err != nil {
				if ctx.Err() != nil {
					return nil, &Error{Kind: KindTimeout, Err: err}
				}
				return nil, &Error{Kind: KindInvalid, Msg: "I can't read the members of that user group. Check that it exists and that Flagbot may read user groups.", Err: err}
			}
		}
		pol.ApproverGroup = c.Value
	case SettingApprovals:
		key, err := e.policyEnv(ctx, client, conn, c.Env)
		if err != nil {
			return nil, err
		}
		c.Env = key
		approvals := make(map[string]int, len(pol.Approvals)+1)
		for k, v := range pol.Approvals {
			if !strings.EqualFold(k, key) {
				approvals[k] = v
			}
		}
		if c.Count > 1 {
			approvals[key] = c.Count
		}
		pol.Approvals = approvals
		if len(approvals) == 0 {
			pol.Approvals = nil
		}
	case SettingApprovalEnvs:
		envs := make([]string, 0, len(c.Envs))
		for _, en := range c.Envs {
			key, err := e.policyEnv(ctx, client, conn, en)
			if err != nil {
				return nil, err
			}
			envs = append(envs, key)
		}
		if len(envs) == 0 {
			envs = nil
		}
		c.Envs, pol.ApprovalEnvs = envs, envs
		if envs != nil {
			c.Value = strings.Join(envs, ",")
		}
	}
	if err := e.policies.SetPolicy(ctx, actor.Workspace, pol); err != nil {
		return nil, storeError("store approval policy", err)
	}
	return ConfigResult{Setting: c.Setting, Value: c.Value, Env: c.Env, Count: c.Count, Envs: c.Envs, Policy: pol}, nil
}

// policyEnv checks an environment named in a policy setting against the
// default project, when there is one, and returns its canonical key. The
// policy applies to every project, so without a default it is taken as
// typed.
func (e *Executor) policyEnv(ctx context.Context, client LaunchDarkly, conn Connection, key string) (string, error) {
	if conn.DefaultProject == "" {
		return key, nil
	}
	envs, err := client.ListEnvironments(ctx, conn.DefaultProject)
	if err != nil {
		return "", e.projectError(ctx, client, conn.DefaultProject, err)
	}
	k, ok := matchEnv(envs, key)
	if !ok {
		return "", &Error{Kind: KindNotFound, Msg: fmt.Sprintf("Project `%s` has no environment `%s`.", conn.DefaultProject, key), Suggestions: closest(key, envKeys(envs))}
	}
	return k, nil
}
