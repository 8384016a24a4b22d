package slackapp

import (
	"github.com/slack-go/slack/socketmode"
)

// SlashCommand is the one slash command Flagbot serves.
const SlashCommand = "/flag"

// routes registers the whole Slack surface: every envelope Flagbot answers
// is listed here, by typed id.
func (a *App) routes(h *socketmode.SocketmodeHandler) {
	h.Handle(socketmode.EventTypeConnecting, a.onConnectionChange)
	h.Handle(socketmode.EventTypeConnected, a.onConnectionChange)
	h.Handle(socketmode.EventTypeConnectionError, a.onConnectionChange)
	h.Handle(socketmode.EventTypeInvalidAuth, a.onConnectionChange)

	h.HandleSlashCommand(SlashCommand, a.onSlashCommand)
	h.HandleInteractionBlockAction(string(ActionNextPage), a.onNextPage)
	h.HandleViewSubmission(string(CallbackConnect), a.onConnectSubmit)

	for _, id := range []ActionID{ActionApprove, ActionApproveDelete, ActionReject, ActionCancel, ActionRequestAgain} {
		h.HandleInteractionBlockAction(string(id), a.onChangeAction)
	}
	h.HandleViewSubmission(string(CallbackConfirmDelete), a.onConfirmDelete)

	h.HandleDefault(a.onUnhandled)
}
