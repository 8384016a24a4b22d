package slackapp

import "github.com/flagbot/flagbot/internal/commands"

func renderScheduled(r commands.ScheduledResult) Message {
	return renderChangeList("Scheduled changes", "Nothing is scheduled.", r.Changes)
}
