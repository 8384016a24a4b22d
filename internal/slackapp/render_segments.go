package slackapp

import (
	"fmt"

	"github.com/flagbot/flagbot/internal/commands"
	"github.com/slack-go/slack"
)

func segmentCounts(s commands.SegmentRecord) (included, excluded int) {
	included, excluded = len(s.Included), len(s.Excluded)
	for _, t := range s.IncludedContexts {
		included += len(t.Values)
	}
	for _, t := range s.ExcludedContexts {
		excluded += len(t.Values)
	}
	return included, excluded
}

func renderSegments(r commands.SegmentsResult) Message {
	where := code(r.Env) + " of project " + code(r.Project)
	if len(r.Segments) == 0 {
		return textMessage("No segments in " + where + ".")
	}
	lines := make([]string, 0, len(r.Segments))
	for _, s := range r.Segments {
		in, ex := segmentCounts(s)
		l := code(s.Key) + nameSuffix(s.Name, s.Key)
		if s.Unbounded {
			l += " · big segment"
		} else {
			l += fmt.Sprintf(" · %d included · %d excluded", in, ex)
		}
		l += " · " + countNoun(len(s.Rules), "rule", "rules")
		lines = append(lines, l)
	}
	blocks := []slack.Block{headerBlock("Segments in " + r.Project + " / " + r.Env)}
	blocks = append(blocks, listSections(lines)...)
	blocks = append(blocks, contextBlock(countNoun(len(r.Segments), "segment", "segments")+" in "+where+
		". See one with `/flag segment &lt;key&gt;`."))
	return Message{Text: countNoun(len(r.Segments), "segment", "segments") + " in " + where, Blocks: blocks}
}
