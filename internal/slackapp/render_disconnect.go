package slackapp

import (
	"github.com/flagbot/flagbot/internal/commands"
	"github.com/slack-go/slack"
)

func renderDisconnect(r commands.DisconnectResult) Message {
	if r.Unreadable {
		s := "Disconnected from LaunchDarkly. Flagbot deleted this workspace's stored token, which it could no longer read."
		note := "The token may still work in LaunchDarkly; revoke it there if nothing else uses it. An admin can connect again with `/flag connect`."
		return Message{Text: s, Blocks: []slack.Block{sectionBlock(s), contextBlock(note)}}
	}
	i := r.Info
	s := "Disconnected from LaunchDarkly. Flagbot deleted " + tokenPhrase(i) + ", ending in " + code(i.Last4) + "."
	note := "The token itself still works in LaunchDarkly; revoke it there if nothing else uses it."
	return Message{Text: s, Blocks: []slack.Block{sectionBlock(s), contextBlock(note)}}
}
