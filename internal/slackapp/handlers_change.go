package slackapp

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/flagbot/flagbot/internal/commands"
)

// postChange posts a new change request in its channel with chat.postMessage
// (so its ts is known and later decisions, even an expiry swept by another
// replica, can edit it) and returns what to tell the requester privately.
// If the bot may not post there it falls back to the command's response_url.
func (a *App) postChange(ctx context.Context, log *slog.Logger, channelID, responseURL string, res commands.ChangeResult) Message {
	c := res.Change
	log = log.With("approval_id", c.ID, "flag_key", c.Flag, "env_key", c.Env)
	if !res.Created && !res.Applied {
		return textMessage(fmt.Sprintf("That request is already posted (request %s).", code(c.ID)))
	}
	msg := RenderChange(res)
	pctx, cancel := replyContext(ctx)
	defer cancel()
	_, ts, err := a.api.PostMessageContext(pctx, channelID, slack.MsgOptionText(msg.Text, false), slack.MsgOptionBlocks(msg.Blocks...))
	if err != nil {
		log.Warn("could not post the request in the channel, answering in place", "err", err)
		a.respond(ctx, log, responseURL, msg, true, false)
		if res.Applied {
			return Message{}
		}
		return textMessage("I posted your request here, but I can't edit that message later: invite me to this channel (`/invite @flagbot`) so requests show their outcome.")
	}
	if c.Status == commands.StatusPending { // only stored changes can be edited later
		if err := a.exec.RecordPost(ctx, c.Workspace, c.ID, channelID, ts); err != nil {
			log.Warn("could not record where the request was posted", "err", err)
		}
	}
	log.Info("change requested", "status", string(c.Status))
	a.refreshHomes(c.Workspace)
	return Message{}
}

// onChangeAction handles Approve, Reject, Cancel and Request again. The
// button carries only the change ID; the change is re-read and decided
// atomically in the store, so double clicks and several replicas are safe.
// Approving a deletion opens the modal in which the approver types the
// flag key (the core asks for it).
func (a *App) onChangeAction(evt *socketmode.Event, c *socketmode.Client) {
	a.ack(evt, c, "block_actions")
	cb, ok := evt.Data.(slack.InteractionCallback)
	if !ok {
		return
	}
	action, id := actionValue(cb, ActionApprove, ActionApproveDelete, ActionReject, ActionCancel, ActionRequestAgain)
	if id == "" {
		return
	}
	ts := cb.Container.MessageTs
	if ts == "" {
		ts = cb.Message.Timestamp
	}
	a.work(whoOfCallback(cb), string(action), func(r *request) {
		r.log = r.log.With("approval_id", id)
		var (
			res commands.ChangeResult
			err error
		)
		switch action {
		case ActionApprove, ActionApproveDelete:
			res, err = a.exec.Approve(r.ctx, r.actor, id)
			if commands.KindOf(err) == commands.KindConfirm {
				err = a.openConfirmDelete(r.ctx, res.Change, cb.TriggerID, r.actor.ChannelID, ts)
				res = commands.ChangeResult{}
			}
		case ActionReject:
			res, err = a.exec.Reject(r.ctx, r.actor, id)
		case ActionCancel:
			res, err = a.exec.Cancel(r.ctx, r.actor, id)
		case ActionRequestAgain:
			err = a.requestAgain(r, id, cb.ResponseURL)
		}
		a.finish(r, err)
		if err != nil {
			a.reply(r, cb.ResponseURL, a.failure(r.ctx, r.log, err))
		} else if res.Change.ID != "" {
			a.showDecision(r.ctx, r.log, cb.Channel.ID, ts, cb.ResponseURL, res)
		}
	})
}

// showDecision edits the request message to its new state and, once the
// change is final, tells the requester.
func (a *App) showDecision(ctx context.Context, log *slog.Logger, channelID, ts, responseURL string, res commands.ChangeResult) {
	if channelID == "" || ts == "" { // decided in the App Home: the request message is where the change says
		channelID, ts = res.Change.ChannelID, res.Change.MessageTS
	}
	defer a.refreshHomes(res.Change.Workspace)
	msg := RenderChange(res)
	if err := a.updateMessage(ctx, channelID, ts, msg); err != nil {
		log.Info("chat.update failed, replacing through response_url", "err", err)
		a.respond(ctx, log, responseURL, msg, true, true)
	}
	c := res.Change
	log.Info("change decided", "status", string(c.Status), "approvals", len(c.Approvals))
	if c.Status.Final() {
		a.tellRequester(ctx, log, c)
	}
}

func (a *App) updateMessage(ctx context.Context, channelID, ts string, msg Message) error {
	if channelID == "" || ts == "" {
		return fmt.Errorf("slackapp: no message to update")
	}
	ctx, cancel := replyContext(ctx)
	defer cancel()
	_, _, _, err := a.api.UpdateMessageContext(ctx, channelID, ts, slack.MsgOptionText(msg.Text, false), slack.MsgOptionBlocks(msg.Blocks...))
	return err
}

// tellRequester lets the requester know how their change ended.
func (a *App) tellRequester(ctx context.Context, log *slog.Logger, c commands.Change) {
	_, state := changeState(commands.ChangeResult{Change: c})
	text := fmt.Sprintf("Your request to %s: %s", changeVerb(c), state)
	a.tell(ctx, log, c.ChannelID, c.RequesterID, textMessage(text))
}

// openConfirmDelete opens the modal in which the approver types the flag
// key of deletion c; trigger_id lives 3 s, so this runs right after the
// ack.
func (a *App) openConfirmDelete(ctx context.Context, c commands.Change, triggerID, channelID, ts string) error {
	meta := strings.Join([]string{c.ID, channelID, ts}, "|")
	if _, err := a.api.OpenViewContext(ctx, triggerID, ConfirmDeleteModal(c, meta)); err != nil {
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
	a.ack(evt, c, "view_submission")
	a.work(w, "approve_delete", func(r *request) {
		r.log = r.log.With("approval_id", id)
		res, err := a.exec.ApproveWithKey(r.ctx, r.actor, id, typed)
		a.finish(r, err)
		if err != nil {
			a.tell(r.ctx, r.log, channelID, r.actor.UserID, a.failure(r.ctx, r.log, err))
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
	if err != nil {
		return err
	}
	res, _ = commands.SplitNotice(res)
	cr, ok := res.(commands.ChangeResult)
	if !ok {
		return &commands.Error{Kind: commands.KindInternal, Err: fmt.Errorf("slackapp: request again of %s gave %T", id, res)}
	}
	if msg := a.postChange(r.ctx, r.log, actor.ChannelID, responseURL, cr); len(msg.Blocks) > 0 || msg.Text != "" {
		a.respond(r.ctx, r.log, responseURL, msg, false, false)
	}
	return nil
}

// ChangesExpired edits the request messages of changes the sweeper expired
// and tells their requesters. The sweeper calls it on one replica.
func (a *App) ChangesExpired(ctx context.Context, changes []commands.Change) {
	for _, c := range changes {
		log := a.log.With("team_id", c.Workspace.TeamID, "approval_id", c.ID)
		if err := a.updateMessage(ctx, c.ChannelID, c.MessageTS, RenderChange(commands.ChangeResult{Change: c})); err != nil {
			log.Warn("could not mark an expired request", "err", err)
		}
		a.tellRequester(ctx, log, c)
	}
	refreshed := map[commands.Workspace]bool{}
	for _, c := range changes {
		if !refreshed[c.Workspace] {
			refreshed[c.Workspace] = true
			a.refreshHomes(c.Workspace)
		}
	}
}

// resumeTimeout bounds finishing one stuck change; the sweeper that calls
// ResumeStuck holds its lock longer than a batch of these.
const resumeTimeout = 10 * time.Second

// ResumeStuck finishes changes that were approved but never applied (a
// replica stopped between the approval and the write) and shows their
// outcome. The sweeper calls it on one replica.
func (a *App) ResumeStuck(ctx context.Context, stuck []commands.Change) {
	for _, c := range stuck {
		log := a.log.With("team_id", c.Workspace.TeamID, "approval_id", c.ID)
		rctx, cancel := context.WithTimeout(commands.WithWorkspace(ctx, c.Workspace), resumeTimeout)
		res, err := a.exec.ResumeApproved(rctx, c)
		cancel()
		switch {
		case err == nil:
			log.Info("resumed an approved change", "status", string(res.Change.Status))
			a.showDecision(ctx, log, res.Change.ChannelID, res.Change.MessageTS, "", res)
		case commands.KindOf(err) == commands.KindConflict:
			log.Info("approved change is finished or being applied elsewhere", "err", err)
		default:
			log.Warn("could not resume an approved change", "err", err)
		}
	}
}
