package slackapp

import (
	"github.com/flagbot/flagbot/internal/commands"
	"github.com/slack-go/slack"
)

func renderDisconnect(r commands.DisconnectResult) Message {
	i := r.Info
	s := "Disconnected from LaunchDarkly. Flagbot deleted " + tokenPhrase(i) + ", ending in " + code(i.Last4) + "."
	note := "The token itself still works in LaunchDarkly; revoke it there if nothing else uses it."
	return Message{Text: s, Blocks: []slack.Block{sectionBlock(s), contextBlock(note)}}
}
