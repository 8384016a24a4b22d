package slackapp

import (
	"strings"

	"github.com/flagbot/flagbot/internal/commands"
	"github.com/slack-go/slack"
)

func renderStatus(r commands.StatusResult) Message {
	if !r.Connected {
		return textMessage("This workspace is not connected to LaunchDarkly yet. An admin can run `/flag connect`.")
	}
	i := r.Info
	s := ":white_check_mark: Connected to LaunchDarkly as " + tokenPhrase(i) + "."
	tok := "_unnamed_"
	if i.TokenName != "" {
		tok = oneLine(i.TokenName)
	}
	role := roleLabel(i.Role)
	if i.Role == commands.RoleReader {
		role += " (read-only)"
	}
	proj, env := "_none_", "_none_"
	if i.DefaultProject != "" {
		proj = code(i.DefaultProject)
	}
	if i.DefaultEnv != "" {
		env = code(i.DefaultEnv)
	}
	by := mention(i.ConnectedBy)
	if !i.ConnectedAt.IsZero() {
		by += ", " + slackDate(i.ConnectedAt)
	}
	fields := []string{
		"*Token*\n" + tok + " " + code("…"+i.Last4),
		"*Role*\n" + role,
		"*Default project*\n" + proj,
		"*Default environment*\n" + env,
		"*Connected by*\n" + by,
	}
	if u := safeURL(r.BaseURL); u != "" {
		fields = append(fields, "*LaunchDarkly*\n"+link(u, strings.TrimPrefix(strings.TrimPrefix(u, "https://"), "http://")))
	}
	blocks := []slack.Block{sectionBlock(s), fieldsBlock(fields...)}
	if i.Role == commands.RoleReader {
		blocks = append(blocks, contextBlock(":information_source: "+readerNote))
	}
	return Message{Text: s, Blocks: blocks}
}
