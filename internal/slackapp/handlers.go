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
	reconnected := false
	a.mu.Lock()
	switch d := evt.Data.(type) {
	case *slack.ConnectingEvent:
		a.connecting = max(a.connecting, d.ConnectionCount)
	case *socketmode.ConnectedEvent:
		reconnected = a.connectedCount >= 0 && d.ConnectionCount > a.connectedCount
		a.connectedCount = max(a.connectedCount, d.ConnectionCount)
	}
	up := a.connectedCount >= 0 && a.connectedCount >= a.connecting
	if evt.Type == socketmode.EventTypeInvalidAuth {
		up = false
	}
	a.connected.Store(up)
	a.mu.Unlock()
	a.opts.Metrics.Connected(up)
	if reconnected {
		a.opts.Metrics.Reconnected()
	}
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
// Envelopes without an ID (hello, disconnect) need no ack.
func (a *App) ack(evt *socketmode.Event, c *socketmode.Client, kind string, payload ...any) {
	if evt.Request == nil || evt.Request.EnvelopeID == "" {
		return
	}
	start := time.Now()
	if err := c.Ack(*evt.Request, payload...); err != nil {
		a.log.Warn("ack failed", "kind", kind, "envelope_id", evt.Request.EnvelopeID, "err", err)
	}
	a.opts.Metrics.Ack(kind, time.Since(start))
}

// who is what an envelope says about the person behind it. ws is the
// workspace the envelope came from: its installation answers the Web API
// calls made for it (see client).
type who struct {
	ws          commands.Workspace
	userID      string
	userTeam    string // the user's own team, when the payload says (interactions)
	channelID   string
	responseURL string // where to answer when the work cannot even start
}

func whoOfCommand(sc slack.SlashCommand) who {
	return who{ws: commands.Workspace{TeamID: sc.TeamID, EnterpriseID: sc.EnterpriseID}, userID: sc.UserID, channelID: sc.ChannelID, responseURL: sc.ResponseURL}
}

func whoOfCallback(cb slack.InteractionCallback) who {
	return who{ws: commands.Workspace{TeamID: cb.Team.ID, EnterpriseID: cb.Enterprise.ID}, userID: cb.User.ID, userTeam: cb.User.TeamID, channelID: cb.Channel.ID, responseURL: cb.ResponseURL}
}

// client returns the Web API client of ws's installation: every Web API
// call Flagbot makes for a workspace goes through it (or through Clients
// directly), never through a client of its own. Its error is a
// *commands.Error that a.failure renders (Flagbot not installed, store
// unavailable).
func (a *App) client(ctx context.Context, ws commands.Workspace) (*slack.Client, error) {
	return a.clients.For(ctx, ws)
}

// request is one envelope's work: the actor, a logger carrying its ids, and
// a context bounded by its budget. setup is set when the actor could not be
// resolved because the workspace has no usable installation (or the store
// failed): the work must not run, and setup is what to answer.
type request struct {
	ctx   context.Context
	name  string // the command or action, for metrics and logs
	actor commands.Actor
	log   *slog.Logger
	start time.Time
	setup error
}

// begin resolves the actor behind w (an outsider is one whose organisation
// is not the workspace's, by users.info, cached; by the payload's user team
// when Slack cannot be asked; refused when neither says; a guest is one
// users.info marks restricted) and returns the request, with a context of budget derived from
// the App's base context. Call done when the work ends.
func (a *App) begin(w who, command string, budget time.Duration) (*request, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(commands.WithWorkspace(a.base, w.ws), budget)
	log := a.log.With("team_id", w.ws.TeamID, "user_id", w.userID, "channel_id", w.channelID)
	actor := commands.Actor{Workspace: w.ws, UserID: w.userID, ChannelID: w.channelID}
	// The workspace's installation first (cached): users.info answers are
	// cached longer, and nothing may run for a workspace that removed
	// Flagbot.
	_, err := a.client(ctx, w.ws)
	var out, guest bool
	if err == nil {
		out, guest, err = a.users.Who(ctx, w.ws, w.userID)
	}
	var cerr *commands.Error
	switch {
	case err == nil:
		actor.Outsider, actor.Guest = out, guest
	case errors.As(err, &cerr):
		// Not Slack's answer: no installation serves the workspace, or the
		// store failed finding it. Nothing may run.
		actor.Outsider = true
		return &request{ctx: ctx, name: command, actor: actor, log: log, start: time.Now(), setup: err}, cancel
	case w.userTeam != "":
		// users.info failed: the payload's own word decides.
		actor.Outsider = w.userTeam != w.ws.TeamID
		actor.Guest = true // unknown: may not approve
		log.Warn("could not check the user's organisation with users.info; using the payload's team", "err", err)
	default:
		actor.Outsider = true
		log.Warn("could not check the user's organisation; refusing until Slack answers", "err", err)
	}
	return &request{ctx: ctx, name: command, actor: actor, log: log, start: time.Now()}, cancel
}

// work runs f as tracked in-flight work for the person behind w, under the
// command timeout: the handler helper every envelope that acks first uses.
// When the workspace has no usable installation f does not run: the person
// is told so on w's response_url.
func (a *App) work(w who, command string, f func(r *request)) {
	a.spawn(func() {
		r, cancel := a.begin(w, command, a.opts.CommandTimeout)
		defer cancel()
		if r.setup != nil {
			if command == "" {
				command = "unknown"
			}
			r.name = command
			a.finish(r, r.setup)
			a.respond(r.ctx, r.log, w.responseURL, a.failure(r.ctx, r.log, r.setup), false, false)
			return
		}
		f(r)
	})
}

// onSlashCommand acks `/flag` at once with no payload (a "working on it"
// message could not be replaced later: response_url cannot edit a slash
// command's own reply), then runs the command and answers via response_url.
func (a *App) onSlashCommand(evt *socketmode.Event, c *socketmode.Client) {
	defer a.ack(evt, c, "slash_command") // after the hand-off: see workers
	sc, ok := evt.Data.(slack.SlashCommand)
	if !ok {
		a.log.Warn("slash command envelope without a command", "type", string(evt.Type))
		return
	}
	a.work(whoOfCommand(sc), "", func(r *request) { a.runSlashCommand(r, sc) })
}

func (a *App) runSlashCommand(r *request, sc slack.SlashCommand) {
	r.name = "unknown"
	shared := false
	// The trigger_id is unique per invocation and repeats when Slack
	// redelivers the same envelope: a change is filed once.
	r.actor.RequestKey = "slash:" + sc.TriggerID
	msg, err := func() (Message, error) {
		cmd, err := a.parser.Parse(sc.Text)
		if err != nil {
			return Message{}, err
		}
		r.name, shared = cmd.Name(), commands.IsShared(cmd)
		if req, ok := cmd.(commands.Request); ok {
			notice, err := a.openRequest(r, sc.TriggerID, sc.ChannelID, req)
			return withNotice(Message{}, notice), err
		}
		res, err := a.exec.Execute(r.ctx, r.actor, cmd)
		if cr, ok := res.(commands.ChangeResult); ok && err != nil && cr.Created {
			// Stored, but its write ran into trouble (the error says what
			// happened): post it, so its outcome can show there later.
			a.postChange(r.ctx, r.log, sc.ChannelID, sc.ResponseURL, cr)
			return Message{}, err
		}
		if err != nil {
			return Message{}, err
		}
		res, notice := commands.SplitNotice(res)
		switch res := res.(type) {
		case commands.ConnectModal:
			return withNotice(Message{}, notice), a.openConnectModal(r.ctx, r.actor.Workspace, sc, res)
		case commands.ChangeResult:
			return withNotice(a.postChange(r.ctx, r.log, sc.ChannelID, sc.ResponseURL, res), notice), nil
		}
		return withNotice(a.render.Result(res), notice), nil
	}()
	a.finish(r, err)
	if err != nil {
		msg, shared = a.failure(r.ctx, r.log.With("command", r.name), err), false
	}
	if msg.Text == "" && len(msg.Blocks) == 0 {
		return // the connect modal opened, or the change was posted
	}
	a.respond(r.ctx, r.log, sc.ResponseURL, msg, shared, false)
}

// finish records a request's outcome in the metrics and the log.
func (a *App) finish(r *request, err error) {
	outcome := "ok"
	if err != nil {
		outcome = commands.KindOf(err).String()
	}
	d := time.Since(r.start)
	a.opts.Metrics.Command(r.name, outcome, d)
	r.log.Info("command", "command", r.name, "outcome", outcome, "duration", d)
}

func (a *App) openConnectModal(ctx context.Context, ws commands.Workspace, sc slack.SlashCommand, m commands.ConnectModal) error {
	view := ConnectModal(m)
	view.PrivateMetadata = sc.ChannelID
	api, err := a.client(ctx, ws)
	if err != nil {
		return err
	}
	if _, err := api.OpenViewContext(ctx, sc.TriggerID, view); err != nil {
		return &commands.Error{Kind: commands.KindInternal, Err: errors.Join(errors.New("slackapp: open connect modal"), err)}
	}
	return nil
}

// actionValue returns the value of the first action in cb with one of ids.
func actionValue(cb slack.InteractionCallback, ids ...ActionID) (ActionID, string) {
	for _, act := range cb.ActionCallback.BlockActions {
		for _, id := range ids {
			if ActionID(act.ActionID) == id {
				return id, act.Value
			}
		}
	}
	return "", ""
}

// onNextPage shows the next page of a `/flag list`, replacing the message
// that held the button.
func (a *App) onNextPage(evt *socketmode.Event, c *socketmode.Client) {
	defer a.ack(evt, c, "block_actions") // after the hand-off: see workers
	cb, ok := evt.Data.(slack.InteractionCallback)
	if !ok {
		return
	}
	_, value := actionValue(cb, ActionNextPage)
	a.work(whoOfCallback(cb), "list_next", func(r *request) {
		q, err := DecodeListCursor(value)
		if err != nil {
			r.log.Warn("bad next-page cursor", "err", err)
			a.respond(r.ctx, r.log, cb.ResponseURL, textMessage("That button is out of date. Run `/flag list` again."), false, false)
			return
		}
		res, err := a.exec.Execute(r.ctx, r.actor, q)
		a.finish(r, err)
		if err != nil {
			a.respond(r.ctx, r.log, cb.ResponseURL, a.failure(r.ctx, r.log, err), false, false)
			return
		}
		a.respond(r.ctx, r.log, cb.ResponseURL, a.render.Result(res), q.Share, true)
	})
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
	w := whoOfCallback(cb)
	w.channelID = cb.View.PrivateMetadata
	r, cancel := a.begin(w, "connect", viewSubmissionBudget)
	defer cancel()
	if r.setup != nil {
		a.finish(r, r.setup)
		msg := a.failure(r.ctx, r.log, r.setup)
		a.ack(evt, c, "view_submission", slack.NewErrorsViewSubmissionResponse(map[string]string{string(BlockToken): truncate(msg.Text, 150)}))
		return
	}
	if cb.View.State == nil {
		a.ack(evt, c, "view_submission", slack.NewErrorsViewSubmissionResponse(map[string]string{string(BlockToken): "Paste a LaunchDarkly access token."}))
		return
	}
	values := cb.View.State.Values
	in := commands.ConnectInput{
		Token:   secret.Secret(values[string(BlockToken)][string(ActionToken)].Value),
		Project: connectValue(values, BlockProject, ActionProject, ActionProjectPick),
		Env:     connectValue(values, BlockEnv, ActionEnv, ActionEnvPick),
	}
	res, err := a.exec.Connect(r.ctx, r.actor, in)
	if err != nil {
		a.finish(r, err)
		fields, ok := FieldErrors(err)
		if !ok {
			msg := a.failure(r.ctx, r.log, err)
			fields = map[string]string{string(BlockToken): truncate(msg.Text, 150)}
		}
		a.ack(evt, c, "view_submission", slack.NewErrorsViewSubmissionResponse(fields))
		return
	}
	a.finish(r, nil)
	r.log.Info("workspace connected", "role", res.Info.Role, "token_name", res.Info.TokenName)
	a.spawn(func() {
		ctx, cancel := context.WithTimeout(a.base, a.opts.CommandTimeout)
		defer cancel()
		a.tell(ctx, r.log, w.ws, w.channelID, w.userID, a.render.Result(res))
	})
	a.ack(evt, c, "view_submission") // after the hand-off: see workers
}

// connectValue is what the connect modal holds in block: typed into its
// text input, or picked in its select ("no default" being "").
func connectValue(values map[string]map[string]slack.BlockAction, block BlockID, text, pick ActionID) string {
	if v := values[string(block)][string(text)].Value; v != "" {
		return v
	}
	if v := values[string(block)][string(pick)].SelectedOption.Value; v != noDefaultEnv {
		return v
	}
	return ""
}

// plausibleToken reports whether s looks like a whole access token, worth
// asking LaunchDarkly about while it is being pasted.
func plausibleToken(s string) bool {
	s = strings.TrimSpace(s)
	return strings.HasPrefix(s, "api-") && len(s) >= 24 && len(s) <= 200 && !strings.ContainsAny(s, " \t\r\n")
}

// onConnectChange offers what a token sees once it is pasted into the
// connect modal (or its project changes): the project and environment
// fields become selects, the defaults Flagbot would pick selected. Nothing
// is stored; the token stays in Slack's state of the modal, never in a view
// Flagbot sends.
func (a *App) onConnectChange(evt *socketmode.Event, c *socketmode.Client) {
	defer a.ack(evt, c, "block_actions") // after the hand-off: see workers
	cb, ok := evt.Data.(slack.InteractionCallback)
	if !ok || CallbackID(cb.View.CallbackID) != CallbackConnect {
		return
	}
	var values map[string]map[string]slack.BlockAction
	if cb.View.State != nil {
		values = cb.View.State.Values
	}
	token := values[string(BlockToken)][string(ActionToken)].Value
	project := connectValue(values, BlockProject, ActionProject, ActionProjectPick)
	for _, act := range cb.ActionCallback.BlockActions {
		switch ActionID(act.ActionID) {
		case ActionToken:
			token = act.Value
		case ActionProjectPick:
			project = act.SelectedOption.Value
		}
	}
	if !plausibleToken(token) {
		return
	}
	w := whoOfCallback(cb)
	w.channelID = cb.View.PrivateMetadata
	a.work(w, "connect_check", func(r *request) {
		m, err := a.exec.ConnectChoices(r.ctx, r.actor, commands.ConnectInput{Token: secret.Secret(token), Project: project})
		a.finish(r, err)
		if err != nil {
			return // the submission says what is wrong, inline
		}
		view := ConnectModal(m)
		view.PrivateMetadata = cb.View.PrivateMetadata
		a.updateView(r.ctx, r.log, r.actor.Workspace, cb.View.ID, cb.View.Hash, view)
	})
}

// tell shows msg to user of workspace ws: ephemerally in channel when there
// is one, else (or if that fails) in the user's messages with Flagbot.
func (a *App) tell(ctx context.Context, log *slog.Logger, ws commands.Workspace, channel, user string, msg Message) {

	ctx, cancel := replyContext(ctx)
	defer cancel()
	api, err := a.client(ctx, ws)
	if err != nil {
		log.Warn("cannot tell the user: no Slack client for the workspace", "err", err)
		return
	}
	opts := []slack.MsgOption{slack.MsgOptionText(msg.Text, false), slack.MsgOptionBlocks(msg.Blocks...)}
	if channel != "" {
		if _, err := api.PostEphemeralContext(ctx, channel, user, opts...); err == nil {
			return
		} else {
			log.Info("ephemeral reply failed, sending a direct message", "err", err)
		}
	}
	if _, _, err := api.PostMessageContext(ctx, user, opts...); err != nil {
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
	m := responseMessage{
		Text:            msg.Text,
		Blocks:          msg.Blocks,
		ResponseType:    slack.ResponseTypeEphemeral,
		ReplaceOriginal: replace,
	}
	if inChannel {
		m.ResponseType = slack.ResponseTypeInChannel
	}
	rctx, cancel := replyContext(ctx)
	defer cancel()
	if err := postResponse(rctx, a.http, url, m); err != nil {
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
			"text": "Flagbot answers `" + SlashCommand + "`, not " + code(sc.Command) + ". Try `" + SlashCommand + " help`."})
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
