package slackapp

import "github.com/flagbot/flagbot/internal/commands"

func renderHistory(r commands.HistoryResult) Message {
	title := "Recent decisions"
	if r.Flag != "" {
		title += " for " + r.Flag
	}
	return renderChangeList(title, "No decided changes yet.", r.Changes)
}
