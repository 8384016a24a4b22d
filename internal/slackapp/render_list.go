package slackapp

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/flagbot/flagbot/internal/commands"
	"github.com/slack-go/slack"
)

func onEmoji(fe commands.FlagEnvironment, ok bool) string {
	switch {
	case !ok:
		return ":grey_question:"
	case fe.On:
		return ":large_green_circle:"
	}
	return ":white_circle:"
}

func renderList(r commands.FlagListResult) Message {
	q := r.Query
	title := "Flags in " + q.Project
	if q.Env != "" {
		title += " / " + q.Env
	}
	var filters []string
	if q.Words != "" {
		filters = append(filters, "matching “"+oneLine(q.Words)+"”")
	}
	if q.Tag != "" {
		filters = append(filters, "tagged "+code(q.Tag))
	}
	if q.Archived {
		filters = append(filters, "archived")
	}
	if len(r.Flags) == 0 {
		s := "No flags in project " + code(q.Project)
		if len(filters) > 0 {
			s += " " + strings.Join(filters, ", ")
		}
		if q.Offset > 0 {
			s += " after the first " + strconv.Itoa(q.Offset)
		}
		return textMessage(s + ".")
	}

	flags := r.Flags[:min(len(r.Flags), maxListLines)]
	lines := make([]string, len(flags))
	for i, f := range flags {
		fe, ok := f.Environments[q.Env]
		var b strings.Builder
		b.WriteString(onEmoji(fe, ok))
		b.WriteByte(' ')
		b.WriteString(code(f.Key))
		b.WriteString(nameSuffix(f.Name, f.Key))
		if f.Archived {
			b.WriteString(" · _archived_")
		}
		if f.Deprecated {
			b.WriteString(" · _deprecated_")
		}
		b.WriteString(tagSuffix(f.Tags))
		lines[i] = b.String()
	}
	sections, shown := packChunks(lines, "\n", maxListBlocks)

	info := []string{"Project " + code(q.Project)}
	if q.Env != "" {
		info = append(info, ":large_green_circle: on / :white_circle: off in "+code(q.Env))
	}
	if len(filters) > 0 {
		info = append(info, strings.Join(filters, ", "))
	}
	from, to := q.Offset+1, q.Offset+shown
	showing := fmt.Sprintf("Showing %d–%d", from, to)
	if r.Total >= to {
		showing += fmt.Sprintf(" of %d", r.Total)
	}
	info = append(info, showing)

	blocks := make([]slack.Block, 0, len(sections)+3)
	blocks = append(blocks, headerBlock(title), contextBlock(strings.Join(info, " · ")))
	blocks = append(blocks, sections...)

	next := r.NextOffset
	if shown < len(r.Flags) {
		next = q.Offset + shown
	}
	if next > 0 {
		nq := q
		nq.Offset = next
		if v := EncodeListCursor(nq); v != "" {
			btn := slack.NewButtonBlockElement(string(ActionNextPage), v, plainText("Next page"))
			blocks = append(blocks, slack.NewActionBlock("", btn))
		}
	}
	text := fmt.Sprintf("Flags in %s: %s", code(q.Project), showing)
	return Message{Text: text, Blocks: blocks}
}

// renderShow builds its texts in strings.Builders: /flag show is the most
// used command, and allocations were most of its cost.
