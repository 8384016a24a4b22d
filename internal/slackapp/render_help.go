package slackapp

import (
	"strings"

	"github.com/flagbot/flagbot/internal/commands"
	"github.com/slack-go/slack"
)

func usageOf(h commands.HelpEntry) string {
	if h.Usage != "" {
		return h.Usage
	}
	return h.Name
}

func renderHelp(r commands.HelpResult) Message {
	if r.Topic != "" {
		if len(r.Entries) == 0 {
			return textMessage("There is no command called " + code(r.Topic) + ". Type `/flag help` to see what I can do.")
		}
		e := r.Entries[0]
		s := code("/flag "+usageOf(e)) + "\n" + md(e.SummaryText())
		blocks := []slack.Block{headerBlock("/flag " + e.Name), sectionBlock(s)}
		if len(e.Examples) > 0 {
			lines := make([]string, 0, len(e.Examples)+1)
			lines = append(lines, "*Examples*")
			for _, ex := range e.Examples {
				lines = append(lines, code("/flag "+ex))
			}
			blocks = append(blocks, sectionBlock(strings.Join(lines, "\n")))
		}
		if e.Admin {
			blocks = append(blocks, contextBlock(":lock: Only workspace admins can run this."))
		}
		return Message{Text: code("/flag "+usageOf(e)) + ": " + md(e.SummaryText()), Blocks: blocks}
	}
	lines := make([]string, 0, len(r.Entries))
	admin := false
	for _, e := range r.Entries {
		l := code("/flag "+usageOf(e)) + " — " + md(e.SummaryText())
		if e.Admin {
			l += " :lock:"
			admin = true
		}
		lines = append(lines, l)
	}
	blocks := []slack.Block{headerBlock("Flagbot: LaunchDarkly flags in Slack")}
	sections, _ := packChunks(lines, "\n", maxListBlocks)
	blocks = append(blocks, sections...)
	foot := "Type `/flag help &lt;command&gt;` for details and examples."
	if admin {
		foot += " :lock: = workspace admins only."
	}
	blocks = append(blocks, contextBlock(foot))
	return Message{Text: "Flagbot commands", Blocks: blocks}
}
