package slackapp

import (
	"runtime/debug"

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

	for _, id := range []ActionID{ActionApprove, ActionApproveDelete, ActionReject, ActionCancel, ActionRequestAgain,
		ActionUndo, ActionRevert, ActionUndoConfirm, ActionSignOff, ActionCancelSchedule} {
		h.HandleInteractionBlockAction(string(id), safe(a.onChangeAction))
	}
	h.HandleViewSubmission(string(CallbackConfirmDelete), safe(a.onConfirmDelete))

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
