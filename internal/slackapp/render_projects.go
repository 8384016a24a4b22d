package slackapp

import (
	"github.com/flagbot/flagbot/internal/commands"
	"github.com/slack-go/slack"
)

func renderProjects(r commands.ProjectsResult) Message {
	if len(r.Projects) == 0 {
		return textMessage("The connected token can't see any LaunchDarkly projects.")
	}
	lines := make([]string, 0, len(r.Projects))
	for _, p := range r.Projects {
		l := code(p.Key) + nameSuffix(p.Name, p.Key)
		if p.Key == r.DefaultProject {
			l += " · _default_"
		}
		l += tagSuffix(p.Tags)
		lines = append(lines, l)
	}
	blocks := []slack.Block{headerBlock("LaunchDarkly projects")}
	blocks = append(blocks, listSections(lines)...)
	foot := countNoun(len(r.Projects), "project", "projects") + ". Change the default with `/flag config project &lt;key&gt;`."
	blocks = append(blocks, contextBlock(foot))
	return Message{Text: countNoun(len(r.Projects), "LaunchDarkly project", "LaunchDarkly projects"), Blocks: blocks}
}
