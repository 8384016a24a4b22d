package slackapp

import "github.com/flagbot/flagbot/internal/commands"

func renderPending(r commands.PendingResult) Message {
	return renderChangeList("Pending changes", "Nothing is waiting for approval in this workspace.", r.Changes)
}
