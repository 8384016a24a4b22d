package slackapp

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/flagbot/flagbot/internal/commands"
	"github.com/flagbot/flagbot/internal/secret"
)

// onConnectionChange tracks whether the socket is up. slack-go runs each
// lifecycle handler in its own goroutine, so events can arrive out of
// order: a "connecting" for the cycle that already connected must not mark
// the bot down. Each cycle carries its connection count, so only a
// "connecting" for a newer cycle does.
func (a *App) onConnectionChange(evt *socketmode.Event, _ *socketmode.Client) {
	a.mu.Lock()
	switch d := evt.Data.(type) {
	case *slack.ConnectingEvent:
		a.connecting = max(a.connecting, d.ConnectionCount)
	case *socketmode.ConnectedEvent:
		a.connectedCount = max(a.connectedCount, d.ConnectionCount)
	}
	up := a.connectedCount >= 0 && a.connectedCount >= a.connecting
	if evt.Type == socketmode.EventTypeInvalidAuth {
		up = false
	}
	a.connected.Store(up)
	a.mu.Unlock()
	a.opts.Metrics.Connected(up)
	switch evt.Type {
	case socketmode.EventTypeConnected:
		a.log.Info("connected to Slack")
	case socketmode.EventTypeConnecting:
		a.log.Info("connecting to Slack")
	default:
		a.log.Warn("Slack connection problem", "event", string(evt.Type), "err", evt.Data)
	}
}

// ack acknowledges an envelope before any other work, as Socket Mode asks.
func (a *App) ack(evt *socketmode.Event, c *socketmode.Client, kind string, payload ...any) {
	if evt.Request == nil {
		return
	}
	start := time.Now()
	if err := c.Ack(*evt.Request, payload...); err != nil {
		a.log.Warn("ack failed", "kind", kind, "envelope_id", evt.Request.EnvelopeID, "err", err)
	}
	a.opts.Metrics.Ack(kind, time.Since(start))
}

// onSlashCommand acks `/flag` at once with no payload (a "working on it"
// message could not be replaced later: response_url cannot edit a slash
// command's own reply), then runs the command and answers via response_url.
func (a *App) onSlashCommand(evt *socketmode.Event, c *socketmode.Client) {
	a.ack(evt, c, "slash_command")
	sc, ok := evt.Data.(slack.SlashCommand)
	if !ok {
		a.log.Warn("slash command envelope without a command", "type", string(evt.Type))
		return
	}
	a.spawn(func() { a.runSlashCommand(sc) })
}

func (a *App) runSlashCommand(sc slack.SlashCommand) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(a.base, a.opts.CommandTimeout)
	defer cancel()
	actor := commands.Actor{
		Workspace: commands.Workspace{TeamID: sc.TeamID, EnterpriseID: sc.EnterpriseID},
		UserID:    sc.UserID,
		ChannelID: sc.ChannelID,
	}
	log := a.log.With("team_id", sc.TeamID, "user_id", sc.UserID, "channel_id", sc.ChannelID)
	name := "unknown"
	shared := false
	msg, err := func() (Message, error) {
		cmd, err := a.parser.Parse(sc.Text)
		if err != nil {
			return Message{}, err
		}
		name, shared = cmd.Name(), commands.IsShared(cmd)
		if commands.IsWrite(cmd) {
			// The trigger_id is unique per invocation and repeats when
			// Slack redelivers the same envelope.
			res, err := a.exec.RequestChange(ctx, actor, sc.ChannelID, cmd, "slash:"+sc.TriggerID)
			if err != nil {
				return Message{}, err
			}
			return a.postChange(ctx, log, sc.ChannelID, sc.ResponseURL, res), nil
		}
		res, err := a.exec.Execute(ctx, actor, cmd)
		if err != nil {
			return Message{}, err
		}
		if m, ok := res.(commands.ConnectModal); ok {
			return Message{}, a.openConnectModal(ctx, sc, m)
		}
		return RenderResult(res), nil
	}()
	outcome := "ok"
	if err != nil {
		outcome = commands.KindOf(err).String()
		msg, shared = a.failure(ctx, log.With("command", name), err), false
	}
	a.opts.Metrics.Command(name, outcome, time.Since(start))
	log.Info("command", "command", name, "outcome", outcome, "duration", time.Since(start))
	if msg.Text == "" && len(msg.Blocks) == 0 {
		return // the connect modal opened; nothing to say in the channel
	}
	a.respond(ctx, log, sc.ResponseURL, msg, shared, false)
}

func (a *App) openConnectModal(ctx context.Context, sc slack.SlashCommand, m commands.ConnectModal) error {
	view := ConnectModal(m)
	view.PrivateMetadata = sc.ChannelID
	if _, err := a.api.OpenViewContext(ctx, sc.TriggerID, view); err != nil {
		return &commands.Error{Kind: commands.KindInternal, Err: errors.Join(errors.New("slackapp: open connect modal"), err)}
	}
	return nil
}

// onNextPage shows the next page of a `/flag list`, replacing the message
// that held the button.
func (a *App) onNextPage(evt *socketmode.Event, c *socketmode.Client) {
	a.ack(evt, c, "block_actions")
	cb, ok := evt.Data.(slack.InteractionCallback)
	if !ok {
		return
	}
	var value string
	for _, act := range cb.ActionCallback.BlockActions {
		if act.ActionID == string(ActionNextPage) {
			value = act.Value
		}
	}
	a.spawn(func() {
		start := time.Now()
		ctx, cancel := context.WithTimeout(a.base, a.opts.CommandTimeout)
		defer cancel()
		log := a.log.With("team_id", cb.Team.ID, "user_id", cb.User.ID, "channel_id", cb.Channel.ID, "command", "list")
		if external(cb) {
			a.respond(ctx, log, cb.ResponseURL, Message{Text: "Only members of the workspace that installed Flagbot can use its buttons."}, false, false)
			return
		}
		q, err := DecodeListCursor(value)
		if err != nil {
			log.Warn("bad next-page cursor", "err", err)
			a.respond(ctx, log, cb.ResponseURL, Message{Text: "That button is out of date. Run `/flag list` again."}, false, false)
			return
		}
		actor := commands.Actor{Workspace: commands.Workspace{TeamID: cb.Team.ID, EnterpriseID: cb.Enterprise.ID}, UserID: cb.User.ID}
		res, err := a.exec.Execute(ctx, actor, q)
		outcome, msg := "ok", Message{}
		if err != nil {
			outcome, msg = commands.KindOf(err).String(), a.failure(ctx, log, err)
			a.respond(ctx, log, cb.ResponseURL, msg, false, false)
		} else {
			a.respond(ctx, log, cb.ResponseURL, RenderResult(res), q.Share, true)
		}
		a.opts.Metrics.Command("list_next", outcome, time.Since(start))
	})
}

// external reports whether the clicking user belongs to another workspace
// (a Slack Connect channel): such users never act with this workspace's token.
func external(cb slack.InteractionCallback) bool {
	return cb.User.TeamID != "" && cb.Team.ID != "" && cb.User.TeamID != cb.Team.ID
}

// onConnectSubmit validates the token from the connect modal. Slack waits
// only 3 s for the ack of a view submission, and field errors must travel in
// that ack, so this is the one handler that works before it acks, under a
// budget shorter than Slack's deadline.
func (a *App) onConnectSubmit(evt *socketmode.Event, c *socketmode.Client) {
	cb, ok := evt.Data.(slack.InteractionCallback)
	if !ok {
		a.ack(evt, c, "view_submission")
		return
	}
	start := time.Now()
	log := a.log.With("team_id", cb.Team.ID, "user_id", cb.User.ID, "command", "connect")
	ctx, cancel := context.WithTimeout(a.base, viewSubmissionBudget)
	defer cancel()
	if cb.View.State == nil {
		a.ack(evt, c, "view_submission", slack.NewErrorsViewSubmissionResponse(map[string]string{string(BlockToken): "Paste a LaunchDarkly access token."}))
		return
	}
	values := cb.View.State.Values
	in := commands.ConnectInput{
		Token:   secret.Secret(values[string(BlockToken)][string(ActionToken)].Value),
		Project: values[string(BlockProject)][string(ActionProject)].Value,
		Env:     values[string(BlockEnv)][string(ActionEnv)].Value,
	}
	actor := commands.Actor{Workspace: commands.Workspace{TeamID: cb.Team.ID, EnterpriseID: cb.Enterprise.ID}, UserID: cb.User.ID}
	if external(cb) {
		a.ack(evt, c, "view_submission", slack.NewErrorsViewSubmissionResponse(map[string]string{string(BlockToken): "Only members of this workspace can connect it."}))
		return
	}
	res, err := a.exec.Connect(ctx, actor, in)
	if err != nil {
		outcome := commands.KindOf(err).String()
		fields, ok := FieldErrors(err)
		if ok {
			outcome = "field_error"
			log.Info("connect refused", "err", err)
		} else {
			msg := a.failure(ctx, log, err)
			fields = map[string]string{string(BlockToken): truncate(msg.Text, 150)}
		}
		a.ack(evt, c, "view_submission", slack.NewErrorsViewSubmissionResponse(fields))
		a.opts.Metrics.Command("connect", outcome, time.Since(start))
		return
	}
	a.ack(evt, c, "view_submission")
	a.opts.Metrics.Command("connect", "ok", time.Since(start))
	log.Info("workspace connected", "role", res.Info.Role, "token_name", res.Info.TokenName)
	channel := cb.View.PrivateMetadata
	a.spawn(func() {
		ctx, cancel := context.WithTimeout(a.base, a.opts.CommandTimeout)
		defer cancel()
		a.tell(ctx, log, channel, cb.User.ID, RenderResult(res))
	})
}

// tell shows msg to user: ephemerally in channel when there is one, else
// (or if that fails) in the user's messages with Flagbot.
func (a *App) tell(ctx context.Context, log *slog.Logger, channel, user string, msg Message) {
	ctx, cancel := replyContext(ctx)
	defer cancel()
	opts := []slack.MsgOption{slack.MsgOptionText(msg.Text, false), slack.MsgOptionBlocks(msg.Blocks...)}
	if channel != "" {
		if _, err := a.api.PostEphemeralContext(ctx, channel, user, opts...); err == nil {
			return
		} else {
			log.Info("ephemeral reply failed, sending a direct message", "err", err)
		}
	}
	if _, _, err := a.api.PostMessageContext(ctx, user, opts...); err != nil {
		log.Warn("direct message failed", "err", err)
	}
}

// respond posts msg to a response_url: ephemeral unless inChannel;
// replace edits the message that held the clicked button.
func (a *App) respond(ctx context.Context, log *slog.Logger, url string, msg Message, inChannel, replace bool) {
	if url == "" {
		log.Warn("no response_url to answer on")
		return
	}
	wm := &slack.WebhookMessage{
		Text:            msg.Text,
		ResponseType:    slack.ResponseTypeEphemeral,
		ReplaceOriginal: replace,
	}
	if inChannel {
		wm.ResponseType = slack.ResponseTypeInChannel
	}
	if len(msg.Blocks) > 0 {
		wm.Blocks = &slack.Blocks{BlockSet: msg.Blocks}
	}
	rctx, cancel := replyContext(ctx)
	defer cancel()
	if err := slack.PostWebhookCustomHTTPContext(rctx, url, a.http, wm); err != nil {
		log.Warn("reply via response_url failed", "err", scrubURL(err, url))
	}
}

// failure turns err into a friendly message. Unclassified errors are logged
// with a reference id that the message repeats; expected ones at info.
func (a *App) failure(ctx context.Context, log *slog.Logger, err error) Message {
	ref := newRef()
	kind := commands.KindOf(err)
	if kind == commands.KindInternal && ctx.Err() != nil {
		err = &commands.Error{Kind: commands.KindTimeout, Err: err}
		kind = commands.KindTimeout
	}
	switch kind {
	case commands.KindInternal, commands.KindUnavailable, commands.KindStoreUnavailable, commands.KindTimeout:
		log.ErrorContext(ctx, "command failed", "ref", ref, "kind", kind.String(), "err", err)
	default:
		log.InfoContext(ctx, "command refused", "ref", ref, "kind", kind.String(), "err", err)
	}
	return RenderError(err, ref)
}

// onUnhandled acks whatever no route took, so Slack shows no error.
func (a *App) onUnhandled(evt *socketmode.Event, c *socketmode.Client) {
	if evt.Request == nil {
		return
	}
	if sc, ok := evt.Data.(slack.SlashCommand); ok {
		a.ack(evt, c, "unhandled", map[string]any{"response_type": "ephemeral",
			"text": "Flagbot answers `" + SlashCommand + "`, not `" + esc(sc.Command) + "`. Try `" + SlashCommand + " help`."})
		return
	}
	a.ack(evt, c, "unhandled")
	a.log.Debug("unhandled envelope", "type", string(evt.Type))
}

// replyTimeout bounds sending one reply. Replies get a context of their
// own, so a command that ran out of time can still say so.
const replyTimeout = 5 * time.Second

func replyContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), replyTimeout)
}

// scrubURL returns err's text without secretURL: a response_url is a
// short-lived credential for replying, and net/http puts whole URLs into
// its errors (wrapping errors have already copied that text).
func scrubURL(err error, secretURL string) string {
	msg := err.Error()
	if secretURL != "" {
		msg = strings.ReplaceAll(msg, secretURL, "(response_url)")
	}
	if u, perr := url.Parse(secretURL); perr == nil && u.Path != "" {
		msg = strings.ReplaceAll(msg, u.Path, "/(response_url)")
	}
	return msg
}

// newRef returns a short random id that ties a user-facing error to its
// log line.
func newRef() string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
