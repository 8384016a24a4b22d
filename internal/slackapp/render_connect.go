package slackapp

import (
	"github.com/flagbot/flagbot/internal/commands"
	"github.com/slack-go/slack"
)

func roleLabel(role string) string {
	switch role {
	case commands.RoleReader:
		return "Reader"
	case commands.RoleWriter:
		return "Writer"
	case commands.RoleAdmin:
		return "Admin"
	case commands.RoleCustom:
		return "Custom role"
	}
	return "Unknown role"
}

const readerNote = "This is a Reader token: Flagbot can show flags but not change them. " +
	"An admin can connect a Writer token with `/flag connect`."

func tokenPhrase(i commands.ConnectionInfo) string {
	s := "a token"
	if i.TokenName != "" {
		s = "token *" + oneLine(i.TokenName) + "*"
	}
	return s + " (" + roleLabel(i.Role) + ")"
}

func defaultsSentence(i commands.ConnectionInfo) string {
	switch {
	case i.DefaultProject != "" && i.DefaultEnv != "":
		return "Default project " + code(i.DefaultProject) + ", environment " + code(i.DefaultEnv) + "."
	case i.DefaultProject != "":
		return "Default project " + code(i.DefaultProject) + "; no default environment yet (`/flag config env &lt;key&gt;`)."
	}
	return "No default project yet: set one with `/flag config project &lt;key&gt;`."
}

func renderConnect(r commands.ConnectResult) Message {
	i := r.Info
	s := ":white_check_mark: Connected to LaunchDarkly as " + tokenPhrase(i) + ", ending in " + code(i.Last4) + "."
	defaults := defaultsSentence(i)
	if r.Defaults.Inferred() {
		defaults = "I chose the defaults from what this token sees. " + md(r.Defaults.Text())
	}
	blocks := []slack.Block{sectionBlock(s + "\n" + defaults)}
	if i.Role == commands.RoleReader {
		blocks = append(blocks, contextBlock(":information_source: "+readerNote))
	}
	blocks = append(blocks, contextBlock("Try `/flag list` to browse flags, or `/flag help` for everything else."))
	return Message{Text: s, Blocks: blocks}
}

func renderConnectModal(commands.ConnectModal) Message {
	return textMessage("Opening the LaunchDarkly connection dialog…")
}
