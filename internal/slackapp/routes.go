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

	h.HandleDefault(a.onUnhandled)
}
