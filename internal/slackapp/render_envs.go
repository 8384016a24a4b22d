package slackapp

import (
	"github.com/flagbot/flagbot/internal/commands"
	"github.com/slack-go/slack"
)

func renderEnvs(r commands.EnvsResult) Message {
	if len(r.Envs) == 0 {
		return textMessage("Project " + code(r.Project) + " has no environments.")
	}
	lines := make([]string, 0, len(r.Envs))
	for _, e := range r.Envs {
		l := code(e.Key) + nameSuffix(e.Name, e.Key)
		if e.Critical {
			l += " · :warning: critical"
		}
		if e.ApprovalRequired {
			l += " · approvals required"
		}
		if e.Key == r.DefaultEnv {
			l += " · _default_"
		}
		lines = append(lines, l)
	}
	blocks := []slack.Block{headerBlock("Environments in " + r.Project)}
	blocks = append(blocks, listSections(lines)...)
	blocks = append(blocks, contextBlock(countNoun(len(r.Envs), "environment", "environments")+
		" in project "+code(r.Project)+". Change the default with `/flag config env &lt;key&gt;`."))
	return Message{Text: countNoun(len(r.Envs), "environment", "environments") + " in " + code(r.Project), Blocks: blocks}
}
