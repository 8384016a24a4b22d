package slackapp

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/flagbot/flagbot/internal/commands"
)

const (
	// modalOpenBudget is how long the request form may take to fill before
	// a loading view opens in its place: a trigger_id lives 3 s from when
	// Slack sent it.
	modalOpenBudget = 1500 * time.Millisecond
	// suggestBudget bounds answering a block_suggestion, which Slack waits
	// 3 s for.
	suggestBudget = 2 * time.Second
	// maxOptionsAck keeps a block_suggestion's ack under Socket Mode's
	// 20 KB: options are dropped from the end until it fits.
	maxOptionsAck = 18 * 1024
)

// openRequest fills the request form for req as r's actor and opens it
// with triggerID, to post in channelID. When LaunchDarkly is slow it opens
// a loading view first (the trigger would expire) and updates it; an error
// then shows in the modal instead of being returned. It returns what the
// core had to say besides (defaults chosen on first use).
func (a *App) openRequest(r *request, triggerID, channelID string, req commands.Request) (commands.Text, error) {
	type outcome struct {
		m      commands.RequestModal
		notice commands.Text
		err    error
	}
	done := make(chan outcome, 1)
	go func() {
		res, err := a.exec.Execute(r.ctx, r.actor, req)
		res, notice := commands.SplitNotice(res)
		m, ok := res.(commands.RequestModal)
		if err == nil && !ok {
			err = &commands.Error{Kind: commands.KindInternal, Err: fmt.Errorf("slackapp: request gave %T", res)}
		}
		done <- outcome{m, notice, err}
	}()
	timer := time.NewTimer(modalOpenBudget)
	defer timer.Stop()
	select {
	case o := <-done:
		if o.err != nil {
			return o.notice, o.err
		}
		if _, err := a.openView(r.ctx, r.actor.Workspace, triggerID, RequestModalView(o.m, channelID)); err != nil {
			return o.notice, &commands.Error{Kind: commands.KindInternal, Err: fmt.Errorf("slackapp: open request form: %w", err)}
		}
		return o.notice, nil
	case <-timer.C:
	}
	resp, openErr := a.openView(r.ctx, r.actor.Workspace, triggerID, requestLoadingView())
	o := <-done
	if openErr != nil {
		if o.err != nil {
			return o.notice, o.err
		}
		return o.notice, &commands.Error{Kind: commands.KindInternal, Err: fmt.Errorf("slackapp: open request form: %w", openErr)}
	}
	view := RequestModalView(o.m, channelID)
	if o.err != nil {
		view = requestDoneView(a.failure(r.ctx, r.log, o.err).Text)
	}
	a.updateView(r.ctx, r.log, r.actor.Workspace, resp.ID, "", view)
	return o.notice, nil
}

// openView opens view with triggerID in workspace ws.
func (a *App) openView(ctx context.Context, ws commands.Workspace, triggerID string, view slack.ModalViewRequest) (*slack.ViewResponse, error) {
	api, err := a.client(ctx, ws)
	if err != nil {
		return nil, err
	}
	return api.OpenViewContext(ctx, triggerID, view)
}

// updateView replaces view id (if it still has hash, when given).
func (a *App) updateView(ctx context.Context, log *slog.Logger, ws commands.Workspace, id, hash string, view slack.ModalViewRequest) {
	ctx, cancel := replyContext(ctx)
	defer cancel()
	api, err := a.client(ctx, ws)
	if err != nil {
		log.Warn("views.update failed", "err", err)
		return
	}
	if _, err := api.UpdateViewContext(ctx, view, "", hash, id); err != nil {
		var se slack.SlackErrorResponse
		if errors.As(err, &se) && se.Err == "hash_conflict" {
			return // a newer update won
		}
		log.Warn("views.update failed", "err", err)
	}
}

// onRequestOpen opens the request form from a button ("Request a
// change…", "Turn off in production") prefilled from its value.
func (a *App) onRequestOpen(evt *socketmode.Event, c *socketmode.Client) {
	defer a.ack(evt, c, "block_actions") // after the hand-off: see workers
	cb, ok := evt.Data.(slack.InteractionCallback)
	if !ok {
		return
	}
	_, value := actionValue(cb, ActionRequestOpen, ActionRequestToggle)
	w := whoOfCallback(cb)
	if w.channelID == "" {
		w.channelID = cb.Container.ChannelID
	}
	a.work(w, "request_open", func(r *request) {
		req, err := DecodeRequestPrefill(value)
		if err != nil {
			r.log.Warn("bad request form button", "err", err)
			a.reply(r, cb.ResponseURL, textMessage("That button is out of date. Run `/flag request` instead."))
			return
		}
		notice, err := a.openRequest(r, cb.TriggerID, w.channelID, req)
		a.finish(r, err)
		switch {
		case err != nil:
			a.reply(r, cb.ResponseURL, withNotice(a.failure(r.ctx, r.log, err), notice))
		case !notice.IsZero():
			a.reply(r, cb.ResponseURL, withNotice(Message{}, notice))
		}
	})
}

// reply answers the person behind r privately: on responseURL when the
// payload had one, else ephemerally in their channel or in a direct
// message.
func (a *App) reply(r *request, responseURL string, msg Message) {
	if responseURL != "" {
		a.respond(r.ctx, r.log, responseURL, msg, false, false)
		return
	}
	a.tell(r.ctx, r.log, r.actor.Workspace, r.actor.ChannelID, r.actor.UserID, msg)
}

// onRequestFormChange rebuilds the request form when its flag, action or
// environment changes, so it shows what they need (variations,
// percentages, contexts, the flag's state).
func (a *App) onRequestFormChange(evt *socketmode.Event, c *socketmode.Client) {
	defer a.ack(evt, c, "block_actions") // after the hand-off: see workers
	cb, ok := evt.Data.(slack.InteractionCallback)
	if !ok || CallbackID(cb.View.CallbackID) != CallbackRequest {
		return
	}
	meta, err := decodeRequestMeta(cb.View.PrivateMetadata)
	if err != nil {
		a.log.Warn("request form without metadata", "err", err)
		return
	}
	w := whoOfCallback(cb)
	w.channelID = meta.Channel
	a.work(w, "request_form", func(r *request) {
		form, typed := formFromState(cb.View.State, meta)
		var changed ActionID
		for _, act := range cb.ActionCallback.BlockActions {
			switch ActionID(act.ActionID) {
			case ActionReqFlag:
				form.Flag, changed = act.SelectedOption.Value, ActionReqFlag
			case ActionReqAction:
				form.Action, changed = commands.RequestAction(act.SelectedOption.Value), ActionReqAction
			case ActionReqEnv:
				form.Env, changed = act.SelectedOption.Value, ActionReqEnv
			}
		}
		req := commands.Request{Project: meta.Project, Flag: form.Flag, Env: form.Env, Action: form.Action}
		if changed != ActionReqAction && (form.Action == commands.RequestOn || form.Action == commands.RequestOff) {
			req.Action = "" // another flag or environment: propose its likely next step again
		}
		if form.Action == commands.RequestCreate {
			req.Flag = ""
		}
		res, err := a.exec.Execute(r.ctx, r.actor, req)
		a.finish(r, err)
		if err != nil {
			a.reply(r, "", a.failure(r.ctx, r.log, err))
			return
		}
		res, _ = commands.SplitNotice(res)
		m, ok := res.(commands.RequestModal)
		if !ok {
			return
		}
		a.updateView(r.ctx, r.log, r.actor.Workspace, cb.View.ID, cb.View.Hash, requestModalView(m, meta, typed))
	})
}

// onBlockSuggestion answers the request form's flag picker in the ack:
// Slack waits 3 s, and wants at most 100 options.
func (a *App) onBlockSuggestion(evt *socketmode.Event, c *socketmode.Client) {
	cb, ok := evt.Data.(slack.InteractionCallback)
	if !ok || ActionID(cb.ActionID) != ActionReqFlag {
		a.ack(evt, c, "block_suggestion", optionsAck(nil))
		return
	}
	meta, _ := decodeRequestMeta(cb.View.PrivateMetadata)
	w := whoOfCallback(cb)
	w.channelID = meta.Channel
	r, cancel := a.begin(w, "suggest", suggestBudget)
	defer cancel()
	s, err := a.exec.SuggestFlags(r.ctx, r.actor, meta.Project, cb.Value)
	if err != nil {
		a.ack(evt, c, "block_suggestion", optionsAck(nil))
		a.finish(r, err)
		return
	}
	a.ack(evt, c, "block_suggestion", optionsAck(FlagOptions(s)))
	r.log.Debug("flag suggestions", "count", len(s.Flags), "stale", s.Stale, "partial", s.Partial, "duration", time.Since(r.start))
}

// optionsAck is a block_suggestion answer, cut to fit an ack.
func optionsAck(opts []*slack.OptionBlockObject) map[string]any {
	if opts == nil {
		opts = []*slack.OptionBlockObject{}
	}
	for len(opts) > 0 {
		raw, err := json.Marshal(map[string]any{"options": opts})
		if err == nil && len(raw) <= maxOptionsAck {
			break
		}
		opts = opts[:len(opts)*9/10]
	}
	return map[string]any{"options": opts}
}

// onRequestSubmit files the request the form stands for: the core builds
// the very command the typed text would be and runs it like one. Field
// problems travel in the ack (response_action errors), so the work runs
// first, under Slack's 3 s; when LaunchDarkly is slower the form turns into
// a "filing your request" view that is updated with the outcome, never
// lost.
func (a *App) onRequestSubmit(evt *socketmode.Event, c *socketmode.Client) {
	cb, ok := evt.Data.(slack.InteractionCallback)
	if !ok {
		a.ack(evt, c, "view_submission")
		return
	}
	fields := formFields(cb.View.Blocks.BlockSet)
	meta, err := decodeRequestMeta(cb.View.PrivateMetadata)
	if err != nil {
		a.ack(evt, c, "view_submission", slack.NewErrorsViewSubmissionResponse(map[string]string{
			fields(commands.FieldAction): "This form is out of date. Close it and run /flag request again."}))
		return
	}
	w := whoOfCallback(cb)
	w.channelID = meta.Channel
	r, cancel := a.begin(w, "request", a.opts.CommandTimeout)
	form, _ := formFromState(cb.View.State, meta)
	cmd, err := form.Command()
	if err != nil {
		a.finish(r, err)
		a.ack(evt, c, "view_submission", slack.NewErrorsViewSubmissionResponse(a.formErrors(r, fields, err)))
		cancel()
		return
	}
	r.name = cmd.Name()
	sum := sha256.Sum256([]byte(commands.CommandText(cmd, commands.Scope{})))
	key := "modal:" + cb.View.ID + ":" + hex.EncodeToString(sum[:8])
	type outcome struct {
		res commands.ChangeResult
		err error
	}
	done := make(chan outcome, 1)
	a.spawn(func() {
		res, err := a.exec.RequestChange(r.ctx, r.actor, meta.Channel, cmd, key)
		done <- outcome{res, err}
	})
	timer := time.NewTimer(viewSubmissionBudget)
	select {
	case o := <-done:
		timer.Stop()
		a.finish(r, o.err)
		if o.err != nil {
			a.ack(evt, c, "view_submission", slack.NewErrorsViewSubmissionResponse(a.formErrors(r, fields, o.err)))
			cancel()
			return
		}
		a.spawn(func() {
			defer cancel()
			a.announceRequest(r, meta.Channel, o.res)
		})
		a.ack(evt, c, "view_submission") // after the hand-off: see workers
	case <-timer.C:
		filing := requestDoneView(":hourglass_flowing_sand: Filing your request: LaunchDarkly is slow to answer. This updates when it is done.")
		defer a.ack(evt, c, "view_submission", slack.NewUpdateViewSubmissionResponse(&filing)) // after the hand-off: see workers
		a.spawn(func() {
			defer cancel()
			o := <-done
			a.finish(r, o.err)
			if o.err != nil {
				msg := a.failure(r.ctx, r.log, o.err)
				a.updateView(r.ctx, r.log, r.actor.Workspace, cb.View.ID, "", requestDoneView(":x: "+msg.Text+"\nNothing was requested: close this and try again."))
				return
			}
			a.updateView(r.ctx, r.log, r.actor.Workspace, cb.View.ID, "", requestDoneView(":white_check_mark: Your request is filed"+inChannel(meta.Channel)+"."))
			a.announceRequest(r, meta.Channel, o.res)
		})
	}
}

func inChannel(id string) string {
	if id == "" {
		return ""
	}
	return " in <#" + id + ">"
}

// announceRequest posts a filed request in its channel and tells the
// requester anything postChange has to say.
func (a *App) announceRequest(r *request, channelID string, res commands.ChangeResult) {
	if msg := a.postChange(r.ctx, r.log, channelID, "", res); msg.Text != "" || len(msg.Blocks) > 0 {
		a.tell(r.ctx, r.log, r.actor.Workspace, channelID, r.actor.UserID, msg)
	}
}

// formErrors maps a failed submission onto the form's fields: the field
// the core named, else the action.
func (a *App) formErrors(r *request, fields func(string) string, err error) map[string]string {
	var fe *commands.FieldError
	if errors.As(err, &fe) && !fe.Msg.IsZero() {
		return map[string]string{fields(fe.Field): truncPlain(fe.Msg.PlainString(), 500)}
	}
	var ce *commands.Error
	if errors.As(err, &ce) && ce.Field != "" && !ce.Msg.IsZero() {
		msg := ce.Msg.PlainString()
		if n := len(ce.Suggestions); n > 0 {
			msg += " Did you mean " + joinOr(ce.Suggestions[:min(n, maxSuggestions)]) + "?"
		}
		return map[string]string{fields(ce.Field): truncPlain(msg, 500)}
	}
	return map[string]string{fields(commands.FieldAction): truncate(a.failure(r.ctx, r.log, err).Text, 500)}
}
