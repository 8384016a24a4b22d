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
	return Message{}
}

// onChangeAction handles Approve, Reject, Cancel and Request again. The
// button carries only the change ID; the change is re-read and decided
// atomically in the store, so double clicks and several replicas are safe.
func (a *App) onChangeAction(evt *socketmode.Event, c *socketmode.Client) {
	a.ack(evt, c, "block_actions")
	cb, ok := evt.Data.(slack.InteractionCallback)
	if !ok {
		return
	}
	var action ActionID
	var id string
	for _, act := range cb.ActionCallback.BlockActions {
		switch ActionID(act.ActionID) {
		case ActionApprove, ActionApproveDelete, ActionReject, ActionCancel, ActionRequestAgain:
			action, id = ActionID(act.ActionID), act.Value
		}
	}
	if id == "" {
		return
	}
	ts := cb.Container.MessageTs
	if ts == "" {
		ts = cb.Message.Timestamp
	}
	a.spawn(func() {
		start := time.Now()
		ctx, cancel := context.WithTimeout(a.base, a.opts.CommandTimeout)
		defer cancel()
		log := a.log.With("team_id", cb.Team.ID, "user_id", cb.User.ID, "channel_id", cb.Channel.ID, "approval_id", id, "command", string(action))
		if external(cb) {
			a.respond(ctx, log, cb.ResponseURL, textMessage("Only members of the workspace that installed Flagbot can decide its requests."), false, false)
			a.opts.Metrics.Command(string(action), "external", time.Since(start))
			return
		}
		actor := commands.Actor{
			Workspace: commands.Workspace{TeamID: cb.Team.ID, EnterpriseID: cb.Enterprise.ID},
			UserID:    cb.User.ID,
			ChannelID: cb.Channel.ID,
		}
		var (
			res commands.ChangeResult
			err error
		)
		switch action {
		case ActionApprove:
			res, err = a.exec.Approve(ctx, actor, id)
		case ActionReject:
			res, err = a.exec.Reject(ctx, actor, id)
		case ActionCancel:
			res, err = a.exec.Cancel(ctx, actor, id)
		case ActionApproveDelete:
			err = a.openConfirmDelete(ctx, actor, id, cb.TriggerID, ts)
		case ActionRequestAgain:
			err = a.requestAgain(ctx, log, actor, id, cb.ResponseURL)
		}
		outcome := "ok"
		if err != nil {
			outcome = commands.KindOf(err).String()
			a.respond(ctx, log, cb.ResponseURL, a.failure(ctx, log, err), false, false)
		} else if res.Change.ID != "" {
			a.showDecision(ctx, log, cb.Channel.ID, ts, cb.ResponseURL, res)
		}
		a.opts.Metrics.Command(string(action), outcome, time.Since(start))
	})
}

// showDecision edits the request message to its new state and, once the
// change is final, tells the requester.
func (a *App) showDecision(ctx context.Context, log *slog.Logger, channelID, ts, responseURL string, res commands.ChangeResult) {
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
// key; trigger_id lives 3 s, so this runs right after the ack.
func (a *App) openConfirmDelete(ctx context.Context, actor commands.Actor, id, triggerID, ts string) error {
	c, err := a.exec.Change(ctx, actor, id)
	if err != nil {
		return err
	}
	if c.Status != commands.StatusPending {
		_, err := a.exec.Approve(ctx, actor, id) // reports who decided it, as any late click
		return err
	}
	meta := strings.Join([]string{c.ID, actor.ChannelID, ts}, "|")
	if _, err := a.api.OpenViewContext(ctx, triggerID, ConfirmDeleteModal(c, meta)); err != nil {
		return &commands.Error{Kind: commands.KindInternal, Err: fmt.Errorf("slackapp: open delete confirmation: %w", err)}
	}
	return nil
}

// onConfirmDelete approves a deletion once the approver typed the flag key.
// Field errors travel in the ack, so the check runs before it, within
// Slack's 3 s budget; the approval itself runs after.
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
	log := a.log.With("team_id", cb.Team.ID, "user_id", cb.User.ID, "approval_id", id, "command", "approve_delete")
	actor := commands.Actor{Workspace: commands.Workspace{TeamID: cb.Team.ID, EnterpriseID: cb.Enterprise.ID}, UserID: cb.User.ID, ChannelID: channelID}
	ctx, cancel := context.WithTimeout(a.base, viewSubmissionBudget)
	defer cancel()
	if external(cb) {
		a.ack(evt, c, "view_submission", slack.NewErrorsViewSubmissionResponse(map[string]string{string(BlockConfirmKey): "Only members of this workspace can approve."}))
		return
	}
	ch, err := a.exec.Change(ctx, actor, id)
	if err != nil {
		msg := a.failure(ctx, log, err)
		a.ack(evt, c, "view_submission", slack.NewErrorsViewSubmissionResponse(map[string]string{string(BlockConfirmKey): truncate(msg.Text, 150)}))
		return
	}
	var typed string
	if cb.View.State != nil {
		typed = strings.TrimSpace(cb.View.State.Values[string(BlockConfirmKey)][string(ActionConfirmKey)].Value)
	}
	if typed != ch.Flag {
		a.ack(evt, c, "view_submission", slack.NewErrorsViewSubmissionResponse(map[string]string{string(BlockConfirmKey): truncate(fmt.Sprintf("Type %s exactly to delete it.", ch.Flag), 150)}))
		return
	}
	a.ack(evt, c, "view_submission")
	a.spawn(func() {
		ctx, cancel := context.WithTimeout(a.base, a.opts.CommandTimeout)
		defer cancel()
		res, err := a.exec.Approve(ctx, actor, id)
		if err != nil {
			a.tell(ctx, log, channelID, actor.UserID, a.failure(ctx, log, err))
			return
		}
		a.showDecision(ctx, log, channelID, ts, "", res)
	})
}

// requestAgain re-requests a stale change as the clicker, from the same
// command text, against the flag as it is now.
func (a *App) requestAgain(ctx context.Context, log *slog.Logger, actor commands.Actor, id, responseURL string) error {
	c, err := a.exec.Change(ctx, actor, id)
	if err != nil {
		return err
	}
	cmd, err := a.parser.Parse(c.CommandText)
	if err != nil {
		return err
	}
	res, err := a.exec.RequestChange(ctx, actor, actor.ChannelID, cmd, "again:"+id+":"+actor.UserID)
	if err != nil {
		return err
	}
	if msg := a.postChange(ctx, log, actor.ChannelID, responseURL, res); len(msg.Blocks) > 0 {
		a.respond(ctx, log, responseURL, msg, false, false)
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
		rctx, cancel := context.WithTimeout(ctx, resumeTimeout)
		res, err := a.exec.ResumeApproved(rctx, c)
		cancel()
		switch {
		case err == nil:
			log.Info("resumed an approved change", "status", string(res.Change.Status))
			a.showDecision(ctx, log, res.Change.ChannelID, res.Change.MessageTS, "", res)
		case commands.KindOf(err) == commands.KindConflict:
			log.Info("approved change was already finished", "err", err)
		default:
			log.Warn("could not resume an approved change", "err", err)
		}
	}
}
