package slackapp

import (
	"runtime/debug"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"
)

// SlashCommand is the one slash command Flagbot serves.
const SlashCommand = "/flag"

// routes registers the whole Slack surface: every envelope Flagbot answers
// is listed here, by typed id.
func (a *App) routes(h *socketmode.SocketmodeHandler) {
	safe := a.recoverer
	h.Handle(socketmode.EventTypeConnecting, a.onConnectionChange)
	h.Handle(socketmode.EventTypeConnected, a.onConnectionChange)
	h.Handle(socketmode.EventTypeConnectionError, a.onConnectionChange)
	h.Handle(socketmode.EventTypeInvalidAuth, a.onConnectionChange)

	h.HandleSlashCommand(SlashCommand, safe(a.onSlashCommand))
	h.HandleInteractionBlockAction(string(ActionNextPage), safe(a.onNextPage))
	h.HandleViewSubmission(string(CallbackConnect), safe(a.onConnectSubmit))
	h.HandleInteractionBlockAction(string(ActionToken), safe(a.onConnectChange))
	h.HandleInteractionBlockAction(string(ActionProjectPick), safe(a.onConnectChange))

	for _, id := range []ActionID{ActionApprove, ActionApproveDelete, ActionReject, ActionCancel, ActionRequestAgain,
		ActionUndo, ActionRevert, ActionUndoConfirm, ActionSignOff, ActionCancelSchedule} {
		h.HandleInteractionBlockAction(string(id), safe(a.onChangeAction))
	}
	h.HandleViewSubmission(string(CallbackConfirmDelete), safe(a.onConfirmDelete))

	// The end of an installation (handlers_uninstall.go).
	h.HandleEvents(slackevents.AppUninstalled, safe(a.onUninstalled))
	h.HandleEvents(slackevents.TokensRevoked, safe(a.onUninstalled))
	h.HandleEvents(slackevents.TeamAccessRevoked, safe(a.onTeamAccessRevoked))

	// The request form: opened by /flag, /flag request and buttons; its
	// flag, action and environment rebuild it; the flag picker asks for
	// options.
	h.HandleInteractionBlockAction(string(ActionRequestOpen), safe(a.onRequestOpen))
	h.HandleInteractionBlockAction(string(ActionRequestToggle), safe(a.onRequestOpen))
	for _, id := range []ActionID{ActionReqFlag, ActionReqAction, ActionReqEnv} {
		h.HandleInteractionBlockAction(string(id), safe(a.onRequestFormChange))
	}
	h.HandleInteraction(slack.InteractionTypeBlockSuggestion, safe(a.onBlockSuggestion))
	h.HandleViewSubmission(string(CallbackRequest), safe(a.onRequestSubmit))

	h.HandleEvents(slackevents.AppHomeOpened, safe(a.onHomeOpened))
	h.HandleEvents(slackevents.LinkShared, safe(a.onLinkShared))

	h.HandleDefault(safe(a.onUnhandled))
}

// recoverer keeps a panicking handler from taking the whole bot down: the
// panic is logged with a reference id and the process goes on.
func (a *App) recoverer(f socketmode.SocketmodeHandlerFunc) socketmode.SocketmodeHandlerFunc {
	return func(evt *socketmode.Event, c *socketmode.Client) {
		defer func() {
			if r := recover(); r != nil {
				a.log.Error("handler panicked", "ref", newRef(), "type", string(evt.Type), "panic", r, "stack", string(debug.Stack()))
			}
		}()
		f(evt, c)
	}
}
