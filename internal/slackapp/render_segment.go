package slackapp

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/flagbot/flagbot/internal/commands"
	"github.com/slack-go/slack"
)

func renderSegment(r commands.SegmentResult) Message {
	s := r.Segment
	in, ex := segmentCounts(s)
	top := code(s.Key)
	if s.Unbounded {
		top += " · big segment (members are stored outside flag data, so they are not counted here)"
	}
	if d := strings.TrimSpace(s.Description); d != "" {
		top += "\n" + esc(d)
	}
	fields := []string{"*Rules*\n" + strconv.Itoa(len(s.Rules))}
	if !s.Unbounded {
		fields = append([]string{"*Included*\n" + strconv.Itoa(in), "*Excluded*\n" + strconv.Itoa(ex)}, fields...)
	}
	if !s.LastModified.IsZero() {
		fields = append(fields, "*Last modified*\n"+slackDate(s.LastModified))
	}
	if len(s.Tags) > 0 {
		fields = append(fields, "*Tags*\n"+strings.TrimSpace(tagList(s.Tags)))
	}
	blocks := []slack.Block{
		headerBlock(nameOr(s.Name, s.Key)),
		sectionBlock(top),
		fieldsBlock(fields...),
	}
	if len(s.Flags) > 0 {
		lines := []string{"*Used by " + countNoun(len(s.Flags), "flag", "flags") + "*"}
		for _, f := range s.Flags[:min(len(s.Flags), maxFlagRefs)] {
			lines = append(lines, code(f.Key)+nameSuffix(f.Name, f.Key))
		}
		if n := len(s.Flags) - maxFlagRefs; n > 0 {
			lines = append(lines, fmt.Sprintf("…and %d more", n))
		}
		blocks = append(blocks, sectionBlock(strings.Join(lines, "\n")))
	}
	where := "In " + code(r.Env) + " of project " + code(r.Project)
	blocks = append(blocks, contextBlock(where+"."))
	return Message{Text: "Segment " + code(s.Key) + ": " + countNoun(in, "context", "contexts") + " included", Blocks: blocks}
}
