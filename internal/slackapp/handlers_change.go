package slackapp

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/flagbot/flagbot/internal/commands"
)

// postChange posts a new change request in its channel with chat.postMessage
// (so its ts is known and later decisions, even an expiry swept by another
// replica, can edit it) and returns what to tell the requester privately.
// The channel is the change's own when it has one (an undo goes where the
// change it undoes was posted), else channelID. If the bot may not post
// there it falls back to the command's response_url. A pending request is
// then sent to the approver group's members in direct messages, and the
// message of the change an undo undoes is updated to link it.
func (a *App) postChange(ctx context.Context, log *slog.Logger, channelID, responseURL string, res commands.ChangeResult) Message {
	c := res.Change
	log = log.With("approval_id", c.ID, "flag_key", c.Flag, "env_key", c.Env)
	if !res.Created && !res.Applied {
		return textMessage(fmt.Sprintf("That request is already posted (request %s).", code(c.ID)))
	}
	asked := channelID
	if c.ChannelID != "" {
		channelID = c.ChannelID
	}
	msg := RenderChange(res)
	pctx, cancel := replyContext(ctx)
	defer cancel()
	var ts string
	api, err := a.client(pctx, c.Workspace)
	if err == nil {
		_, ts, err = api.PostMessageContext(pctx, channelID, slack.MsgOptionText(msg.Text, false), slack.MsgOptionBlocks(msg.Blocks...))
	}
	if err != nil {
		log.Warn("could not post the request in the channel, answering in place", "err", err)
		a.respond(ctx, log, responseURL, msg, true, false)
		if res.Applied {
			return Message{}
		}
		return textMessage("I posted your request here, but I can't edit that message later: invite me to this channel (`/invite @flagbot`) so requests show their outcome.")
	}
	if c.ID != "" {
		if err := a.exec.RecordPost(ctx, c.Workspace, c.ID, channelID, ts); err != nil {
			log.Warn("could not record where the request was posted", "err", err)
		}
		c.ChannelID, c.MessageTS = channelID, ts
		res.Change = c
	}
	log.Info("change requested", "status", string(c.Status))
	a.refreshHomes(c.Workspace)
	if c.Status == commands.StatusPending {
		a.spawn(func() { a.notifyApprovers(res) })
	}
	if c.UndoOf != "" {
		a.refresh(ctx, log, c.Workspace, c.UndoOf)
	}
	if asked != "" && asked != channelID {
		// An undo goes next to what it undoes.
		return textMessage("I posted the request in " + md(commands.Text{commands.Channel(channelID)}) + ", next to the change it undoes.")
	}
	return Message{}
}

// notifyApprovers sends pending change res to the approver group's members
// in direct messages (chat.postMessage to a user id: the bot's DM with
// them, which chat:write allows) and records them, so decisions update
// them too.
func (a *App) notifyApprovers(res commands.ChangeResult) {
	ctx, cancel := context.WithTimeout(a.base, a.opts.CommandTimeout)
	defer cancel()
	c := res.Change
	log := a.log.With("team_id", c.Workspace.TeamID, "approval_id", c.ID)
	users, err := a.exec.ApproverDMs(ctx, c)
	if err != nil {
		log.Warn("could not list the approvers to tell", "err", err)
		return
	}
	refs := a.sendDMs(ctx, log, c.Workspace, users, RenderChangeDM(res))
	if err := a.exec.RecordDMs(ctx, c.Workspace, c.ID, refs); err != nil {
		log.Warn("could not record the approvers' direct messages", "err", err)
	}
}

// sendDMs posts msg to each user's direct messages with the bot and returns
// where each landed.
func (a *App) sendDMs(ctx context.Context, log *slog.Logger, ws commands.Workspace, users []string, msg Message) []commands.PostRef {
	api, err := a.client(ctx, ws)
	if err != nil {
		log.Warn("direct messages not sent", "err", err)
		return nil
	}
	var refs []commands.PostRef
	for _, u := range users {
		pctx, cancel := replyContext(ctx)
		ch, ts, err := api.PostMessageContext(pctx, u, slack.MsgOptionText(msg.Text, false), slack.MsgOptionBlocks(msg.Blocks...))
		cancel()
		if err != nil {
			log.Warn("direct message failed", "user_id", u, "err", err)
			continue
		}
		refs = append(refs, commands.PostRef{Channel: ch, TS: ts})
	}
	return refs
}

// onChangeAction handles the buttons of a change: Approve, Reject, Cancel,
// Request again, Undo, Revert (and the undo's confirmation), Sign off and
// Cancel schedule. The button carries only the change ID; the change is
// re-read and decided atomically in the store, so double clicks and
// several replicas are safe. Approving a deletion opens the modal in which
// the approver types the flag key (the core asks for it).
func (a *App) onChangeAction(evt *socketmode.Event, c *socketmode.Client) {
	defer a.ack(evt, c, "block_actions") // after the hand-off: see workers
	cb, ok := evt.Data.(slack.InteractionCallback)
	if !ok {
		return
	}
	action, id := actionValue(cb, ActionApprove, ActionApproveDelete, ActionReject, ActionCancel, ActionRequestAgain,
		ActionUndo, ActionRevert, ActionUndoConfirm, ActionSignOff, ActionCancelSchedule)
	if id == "" {
		return
	}
	ts := cb.Container.MessageTs
	if ts == "" {
		ts = cb.Message.Timestamp
	}
	a.work(whoOfCallback(cb), string(action), func(r *request) {
		var confirmed string
		if action == ActionUndoConfirm {
			id, confirmed, _ = strings.Cut(id, ":")
		}
		r.log = r.log.With("approval_id", id)
		var (
			res commands.ChangeResult
			err error
		)
		switch action {
		case ActionApprove, ActionApproveDelete:
			res, err = a.exec.Approve(r.ctx, r.actor, id)
			if commands.KindOf(err) == commands.KindConfirm {
				err = a.openConfirmDelete(r.ctx, r.actor.Workspace, res.Change, cb.TriggerID, r.actor.ChannelID, ts)
				res = commands.ChangeResult{}
			}
		case ActionReject:
			res, err = a.exec.Reject(r.ctx, r.actor, id)
		case ActionCancel:
			res, err = a.exec.Cancel(r.ctx, r.actor, id)
		case ActionRequestAgain:
			err = a.requestAgain(r, id, cb.ResponseURL)
		case ActionSignOff:
			res, err = a.exec.SignOff(r.ctx, r.actor, id)
		case ActionCancelSchedule:
			res, err = a.exec.CancelSchedule(r.ctx, r.actor, id)
		case ActionUndo, ActionRevert, ActionUndoConfirm:
			err = a.undo(r, id, confirmed, cb.ResponseURL, action == ActionUndoConfirm)
		}
		a.finish(r, err)
		if err != nil {
			a.reply(r, cb.ResponseURL, a.failure(r.ctx, r.log, err))
		} else if res.Change.ID != "" {
			a.showDecision(r.ctx, r.log, cb.Channel.ID, ts, cb.ResponseURL, res)
		}
	})
}

// undo files the undo of change id as the clicker (Undo, Revert, or the
// confirmation after being shown what changed since, which confirmed
// carries): posted like any request, or the confirmation shown only to the
// clicker. replace swaps the confirmation for the outcome.
func (a *App) undo(r *request, id, confirmed, responseURL string, replace bool) error {
	res, err := a.exec.RequestUndo(r.ctx, r.actor, id, confirmed)
	cr, isChange := res.(commands.ChangeResult)
	if err != nil && !(isChange && cr.Created) {
		return err
	}
	switch res := res.(type) {
	case commands.UndoConfirmResult:
		a.respond(r.ctx, r.log, responseURL, a.render.Result(res), false, false)
		return nil
	case commands.ChangeResult:
		if msg := a.postChange(r.ctx, r.log, r.actor.ChannelID, responseURL, res); len(msg.Blocks) > 0 || msg.Text != "" {
			a.respond(r.ctx, r.log, responseURL, msg, false, false)
		} else if replace {
			a.respond(r.ctx, r.log, responseURL, textMessage(fmt.Sprintf("Undo requested: request %s.", code(res.Change.ID))), false, true)
		}
		return err
	}
	return &commands.Error{Kind: commands.KindInternal, Err: fmt.Errorf("slackapp: undo of %s gave %T", id, res)}
}

// showDecision edits the message that was clicked to the change's new
// state, and the request's own message and the approvers' direct messages
// where those are elsewhere. Once the change is final (or scheduled) it
// tells the requester, and an undo's decision shows on the change it
// undoes.
func (a *App) showDecision(ctx context.Context, log *slog.Logger, channelID, ts, responseURL string, res commands.ChangeResult) {
	if channelID == "" || ts == "" { // decided in the App Home: the request message is where the change says
		channelID, ts = res.Change.ChannelID, res.Change.MessageTS
	}
	defer a.refreshHomes(res.Change.Workspace)
	c := res.Change
	isDM := slices.Contains(c.DMs, commands.PostRef{Channel: channelID, TS: ts})
	msg := RenderChange(res)
	if isDM {
		msg = RenderChangeDM(res)
	}
	if err := a.updateMessage(ctx, c.Workspace, channelID, ts, msg); err != nil {
		log.Info("chat.update failed, replacing through response_url", "err", err)
		a.respond(ctx, log, responseURL, msg, true, true)
	}
	// A click elsewhere (a direct message) edits the request message too.
	if c.MessageTS != "" && (isDM || c.ChannelID != channelID) {
		if err := a.updateMessage(ctx, c.Workspace, c.ChannelID, c.MessageTS, RenderChange(res)); err != nil {
			log.Warn("could not update the request message", "err", err)
		}
	}
	a.updateDMs(ctx, log, res, commands.PostRef{Channel: channelID, TS: ts})
	log.Info("change decided", "status", string(c.Status), "approvals", len(c.Approvals))
	if c.Status.Final() || c.Status == commands.StatusScheduled {
		// Who used the kill switch, or changed an exempt environment at
		// once, saw the outcome as they asked; a scheduled change's
		// requester is told when it applies.
		if !c.Emergency && (!c.Exempt || !c.ApplyAt.IsZero()) {
			a.tellRequester(ctx, log, c)
		}
		if c.UndoOf != "" {
			a.refresh(ctx, log, c.Workspace, c.UndoOf)
		}
	}
}

// updateDMs edits the direct messages about res's change, but skip.
func (a *App) updateDMs(ctx context.Context, log *slog.Logger, res commands.ChangeResult, skip commands.PostRef) {
	if len(res.Change.DMs) == 0 {
		return
	}
	msg := RenderChangeDM(res)
	for _, dm := range res.Change.DMs {
		if dm == skip {
			continue
		}
		if err := a.updateMessage(ctx, res.Change.Workspace, dm.Channel, dm.TS, msg); err != nil {
			log.Warn("could not update a direct message", "channel_id", dm.Channel, "err", err)
		}
	}
}

// refresh shows change id of ws again, as it stands, with its undo link:
// its channel message and its direct messages.
func (a *App) refresh(ctx context.Context, log *slog.Logger, ws commands.Workspace, id string) {
	res, err := a.exec.Refresh(ctx, ws, id)
	if err != nil {
		log.Warn("could not read a change to show it again", "approval_id", id, "err", err)
		return
	}
	c := res.Change
	if c.MessageTS != "" {
		if err := a.updateMessage(ctx, c.Workspace, c.ChannelID, c.MessageTS, RenderChange(res)); err != nil {
			log.Warn("could not update a change's message", "approval_id", id, "err", err)
		}
	}
	a.updateDMs(ctx, log, res, commands.PostRef{})
}

func (a *App) updateMessage(ctx context.Context, ws commands.Workspace, channelID, ts string, msg Message) error {
	if channelID == "" || ts == "" {
		return fmt.Errorf("slackapp: no message to update")
	}
	ctx, cancel := replyContext(ctx)
	defer cancel()
	api, err := a.client(ctx, ws)
	if err != nil {
		return err
	}
	_, _, _, err = api.UpdateMessageContext(ctx, channelID, ts, slack.MsgOptionText(msg.Text, false), slack.MsgOptionBlocks(msg.Blocks...))
	return err
}

// tellRequester lets the requester know how their change ended (or that
// it was approved for later).
func (a *App) tellRequester(ctx context.Context, log *slog.Logger, c commands.Change) {
	_, state := changeState(commands.ChangeResult{Change: c})
	text := fmt.Sprintf("Your request to %s: %s", changeVerb(c), state)
	a.tell(ctx, log, c.Workspace, c.ChannelID, c.RequesterID, textMessage(text))
}

// postInThread replies to a change's request message.
func (a *App) postInThread(ctx context.Context, log *slog.Logger, c commands.Change, msg Message) {
	if c.ChannelID == "" || c.MessageTS == "" {
		log.Info("no request message to reply to")
		return
	}
	pctx, cancel := replyContext(ctx)
	defer cancel()
	api, err := a.client(pctx, c.Workspace)
	if err != nil {
		log.Warn("could not reply in the request's thread", "err", err)
		return
	}
	if _, _, err := api.PostMessageContext(pctx, c.ChannelID, slack.MsgOptionText(msg.Text, false), slack.MsgOptionBlocks(msg.Blocks...), slack.MsgOptionTS(c.MessageTS)); err != nil {
		log.Warn("could not reply in the request's thread", "err", err)
	}
}

// openConfirmDelete opens the modal in which the approver types the flag
// key of deletion c; trigger_id lives 3 s, so this runs right after the
// ack.
func (a *App) openConfirmDelete(ctx context.Context, ws commands.Workspace, c commands.Change, triggerID, channelID, ts string) error {
	meta := strings.Join([]string{c.ID, channelID, ts}, "|")
	api, err := a.client(ctx, ws)
	if err != nil {
		return err
	}
	if _, err := api.OpenViewContext(ctx, triggerID, ConfirmDeleteModal(c, meta)); err != nil {
		return &commands.Error{Kind: commands.KindInternal, Err: fmt.Errorf("slackapp: open delete confirmation: %w", err)}
	}
	return nil
}

// onConfirmDelete approves a deletion once the approver typed the flag key.
// Field errors travel in the ack, so the core checks the key before it,
// within Slack's 3 s budget; the approval itself (which checks it again)
// runs after.
func (a *App) onConfirmDelete(evt *socketmode.Event, c *socketmode.Client) {
	cb, ok := evt.Data.(slack.InteractionCallback)
	if !ok {
		a.ack(evt, c, "view_submission")
		return
	}
	parts := strings.SplitN(cb.View.PrivateMetadata, "|", 3)
	for len(parts) < 3 {
		parts = append(parts, "")
	}
	id, channelID, ts := parts[0], parts[1], parts[2]
	w := whoOfCallback(cb)
	w.channelID = channelID
	r, cancel := a.begin(w, "approve_delete", viewSubmissionBudget)
	defer cancel()
	r.log = r.log.With("approval_id", id)
	if r.setup != nil {
		a.finish(r, r.setup)
		msg := a.failure(r.ctx, r.log, r.setup)
		a.ack(evt, c, "view_submission", slack.NewErrorsViewSubmissionResponse(map[string]string{string(BlockConfirmKey): truncate(msg.Text, 150)}))
		return
	}
	var typed string
	if cb.View.State != nil {
		typed = cb.View.State.Values[string(BlockConfirmKey)][string(ActionConfirmKey)].Value
	}
	if err := a.exec.CheckConfirmation(r.ctx, r.actor, id, typed); err != nil {
		fields, ok := FieldErrors(err)
		if !ok {
			fields = map[string]string{string(BlockConfirmKey): truncate(a.failure(r.ctx, r.log, err).Text, 150)}
		}
		a.ack(evt, c, "view_submission", slack.NewErrorsViewSubmissionResponse(fields))
		return
	}
	defer a.ack(evt, c, "view_submission") // after the hand-off: see workers
	a.work(w, "approve_delete", func(r *request) {
		r.log = r.log.With("approval_id", id)
		res, err := a.exec.ApproveWithKey(r.ctx, r.actor, id, typed)
		a.finish(r, err)
		if err != nil {
			a.tell(r.ctx, r.log, r.actor.Workspace, channelID, r.actor.UserID, a.failure(r.ctx, r.log, err))
			return
		}
		a.showDecision(r.ctx, r.log, channelID, ts, "", res)
	})
}

// requestAgain re-requests a stale change as the clicker, from the same
// command text, against the flag as it is now.
func (a *App) requestAgain(r *request, id, responseURL string) error {
	c, err := a.exec.Change(r.ctx, r.actor, id)
	if err != nil {
		return err
	}
	cmd, err := a.parser.Parse(c.CommandText)
	if err != nil {
		return err
	}
	actor := r.actor
	actor.RequestKey = "again:" + id + ":" + actor.UserID
	res, err := a.exec.Execute(r.ctx, actor, cmd)
	res, _ = commands.SplitNotice(res)
	cr, isChange := res.(commands.ChangeResult)
	if err != nil && !(isChange && cr.Created) {
		return err
	}
	if !isChange {
		// An undo asked again may first show what changed since.
		a.respond(r.ctx, r.log, responseURL, a.render.Result(res), false, false)
		return nil
	}
	if msg := a.postChange(r.ctx, r.log, actor.ChannelID, responseURL, cr); len(msg.Blocks) > 0 || msg.Text != "" {
		a.respond(r.ctx, r.log, responseURL, msg, false, false)
	}
	return err
}

// ChangesExpired edits the request messages (and direct messages) of
// changes the sweeper expired and tells their requesters. The sweeper calls
// it on one replica.
func (a *App) ChangesExpired(ctx context.Context, changes []commands.Change) {
	for _, c := range changes {
		log := a.log.With("team_id", c.Workspace.TeamID, "approval_id", c.ID)
		res := commands.ChangeResult{Change: c}
		if err := a.updateMessage(ctx, c.Workspace, c.ChannelID, c.MessageTS, RenderChange(res)); err != nil {
			log.Warn("could not mark an expired request", "err", err)
		}
		a.updateDMs(ctx, log, res, commands.PostRef{})
		a.tellRequester(ctx, log, c)
		if c.UndoOf != "" {
			a.refresh(ctx, log, c.Workspace, c.UndoOf)
		}
	}
	refreshed := map[commands.Workspace]bool{}
	for _, c := range changes {
		if !refreshed[c.Workspace] {
			refreshed[c.Workspace] = true
			a.refreshHomes(c.Workspace)
		}
	}
}

// resumeTimeout bounds finishing one stuck or scheduled change; the
// sweeper that calls ResumeStuck and ApplyDue holds its lock longer than a
// batch of these.
const resumeTimeout = 10 * time.Second

// ResumeStuck finishes changes that were approved but never applied (a
// replica stopped between the approval and the write) and shows their
// outcome. The sweeper calls it on one replica.
func (a *App) ResumeStuck(ctx context.Context, stuck []commands.Change) {
	a.applyEach(ctx, stuck, "resumed an approved change", a.exec.ResumeApproved)
}

// ApplyDue applies scheduled changes whose time has come, shows their
// outcome and tells their requesters. The sweeper calls it on one replica;
// each change's claim makes sure one attempt applies it.
func (a *App) ApplyDue(ctx context.Context, due []commands.Change) {
	a.applyEach(ctx, due, "applied a scheduled change", a.exec.ApplyScheduled)
}

func (a *App) applyEach(ctx context.Context, changes []commands.Change, done string, apply func(context.Context, commands.Change) (commands.ChangeResult, error)) {
	for _, c := range changes {
		log := a.log.With("team_id", c.Workspace.TeamID, "approval_id", c.ID)
		rctx, cancel := context.WithTimeout(commands.WithWorkspace(ctx, c.Workspace), resumeTimeout)
		res, err := apply(rctx, c)
		cancel()
		switch {
		case err == nil:
			log.Info(done, "status", string(res.Change.Status))
			a.showDecision(ctx, log, res.Change.ChannelID, res.Change.MessageTS, "", res)
		case commands.KindOf(err) == commands.KindConflict:
			log.Info("change is finished or being applied elsewhere", "err", err)
		default:
			log.Warn("could not apply a change", "err", err)
		}
	}
}

// RemindApprovers replies once in the thread of each request still pending
// halfway to its expiry. The sweeper calls it on one replica, each change
// once.
func (a *App) RemindApprovers(ctx context.Context, pending []commands.Change) {
	for _, c := range pending {
		log := a.log.With("team_id", c.Workspace.TeamID, "approval_id", c.ID)
		a.postInThread(ctx, log, c, renderApprovalReminder(c))
	}
}

// SignoffDue reminds the responders of emergency changes nobody signed off:
// halfway to the deadline a reply in the thread and a direct message to the
// responders group; at the deadline the message says "not signed off" too.
// The sweeper calls it on one replica, each stage of each change once.
func (a *App) SignoffDue(ctx context.Context, unsigned []commands.Change) {
	for _, c := range unsigned {
		log := a.log.With("team_id", c.Workspace.TeamID, "approval_id", c.ID)
		res, err := a.exec.Refresh(ctx, c.Workspace, c.ID)
		if err != nil {
			log.Warn("could not read an unsigned emergency change", "err", err)
			res = commands.ChangeResult{Change: c}
		}
		res.Change.Signoff = c.Signoff
		if c.Signoff == commands.SignoffOverdue && res.Change.MessageTS != "" {
			if err := a.updateMessage(ctx, res.Change.Workspace, res.Change.ChannelID, res.Change.MessageTS, RenderChange(res)); err != nil {
				log.Warn("could not mark an emergency change not signed off", "err", err)
			}
		}
		reminder := renderSignoffReminder(res.Change)
		a.postInThread(ctx, log, res.Change, reminder)
		users, err := a.exec.SignoffDMs(ctx, res.Change)
		if err != nil {
			log.Warn("could not list the responders to tell", "err", err)
			continue
		}
		dm := RenderChangeDM(res)
		dm.Blocks = append([]slack.Block{sectionBlock(reminder.Text)}, dm.Blocks...)
		dm.Text = reminder.Text
		a.sendDMs(ctx, log, res.Change.Workspace, users, dm)
	}
}

// renderApprovalReminder is the reply in a pending request's thread
// halfway to its expiry.
func renderApprovalReminder(c commands.Change) Message {
	left := max(c.RequiredApprovals, 1) - len(c.Approvals)
	s := fmt.Sprintf(":bell: Reminder: this request still needs %s from someone other than %s. It expires %s.",
		countNoun(left, "approval", "approvals"), mention(c.RequesterID), slackDate(c.ExpiresAt))
	return Message{Text: s, Blocks: []slack.Block{sectionBlock(s)}}
}

// renderSignoffReminder is the reply in an unsigned emergency change's
// thread (and the head of the responders' direct message).
func renderSignoffReminder(c commands.Change) Message {
	s := fmt.Sprintf(":rotating_light: Reminder: %s's emergency change (%s off in %s) still needs a sign-off by someone else, by %s. Review it, then *Sign off* or *Revert*.",
		mention(c.RequesterID), code(c.Flag), code(c.Env), slackDate(c.SignoffDue))
	if c.Signoff == commands.SignoffOverdue {
		s = fmt.Sprintf(":warning: *Not signed off*: %s's emergency change (%s off in %s) was due a sign-off by %s. Until someone else signs it off, digests list it. Review it, then *Sign off* or *Revert*.",
			mention(c.RequesterID), code(c.Flag), code(c.Env), slackDate(c.SignoffDue))
	}
	return Message{Text: s, Blocks: []slack.Block{sectionBlock(s)}}
}
