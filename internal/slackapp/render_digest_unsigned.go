package slackapp

import (
	"fmt"
	"strings"

	"github.com/slack-go/slack"

	"github.com/flagbot/flagbot/internal/commands"
)

// maxDigestUnsigned bounds the unsigned kills one digest lists.
const maxDigestUnsigned = 10

// digestUnsigned is a digest's section of break-glass kills nobody signed
// off by their deadline, under a heading of its own.
func digestUnsigned(kills []commands.Change) slack.Block {
	lines := []string{":rotating_light: *Not signed off*: emergency changes made with `/flag kill` that nobody else has reviewed yet"}
	for _, c := range kills[:min(len(kills), maxDigestUnsigned)] {
		lines = append(lines, fmt.Sprintf("• %s off in %s by %s %s: %s (request %s; sign-off was due %s)",
			code(c.Flag), code(c.Env), mention(c.RequesterID), slackDate(c.CreatedAt), oneLine(c.Reason), code(c.ID), slackDate(c.SignoffDue)))
	}
	if n := len(kills) - maxDigestUnsigned; n > 0 {
		lines = append(lines, fmt.Sprintf("…and %d more", n))
	}
	return sectionBlock(strings.Join(lines, "\n"))
}
