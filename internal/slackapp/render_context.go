package slackapp

import (
	"fmt"
	"strings"

	"github.com/flagbot/flagbot/internal/commands"
	"github.com/slack-go/slack"
)

func renderContext(r commands.ContextResult) Message {
	id := r.Kind + ":" + r.Key
	where := code(r.Env) + " of project " + code(r.Project)
	if len(r.Records) == 0 {
		return textMessage("LaunchDarkly has not seen context " + code(id) + " in " + where + ".")
	}
	blocks := []slack.Block{headerBlock("Context " + id)}
	for _, rec := range r.Records[:min(len(r.Records), maxRecords)] {
		rid, name := contextIdentity(rec.Context)
		var lines []string
		if name != "" {
			lines = append(lines, "*"+oneLine(truncPlain(name, maxNameRunes))+"* ("+code(nameOr(rid, id))+")")
		} else {
			lines = append(lines, code(nameOr(rid, id)))
		}
		seen := "Last seen " + lastSeen(rec.LastSeen)
		if rec.ApplicationID != "" {
			seen += " by application " + code(rec.ApplicationID)
		}
		lines = append(lines, seen)
		attrs := contextAttributes(rec.Context)
		for _, a := range attrs[:min(len(attrs), maxAttributes)] {
			lines = append(lines, "• "+code(a[0])+": "+code(truncPlain(a[1], maxValueRunes)))
		}
		if n := len(attrs) - maxAttributes; n > 0 {
			lines = append(lines, fmt.Sprintf("…and %d more attributes", n))
		}
		blocks = append(blocks, sectionBlock(strings.Join(lines, "\n")))
	}
	if n := len(r.Records) - maxRecords; n > 0 {
		blocks = append(blocks, contextBlock(fmt.Sprintf("…and %d more records", n)))
	}
	blocks = append(blocks, contextBlock("In "+where+"."))
	return Message{Text: "Context " + code(id) + " in " + where, Blocks: blocks}
}
