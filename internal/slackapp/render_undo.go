package slackapp

import (
	"fmt"
	"strings"

	"github.com/slack-go/slack"

	"github.com/flagbot/flagbot/internal/commands"
)

// renderUndoConfirm asks the person who clicked Undo (or typed `/flag
// undo`) to confirm, after saying what changed in LaunchDarkly since the
// change was applied. Only they see it; the button files the undo.
func renderUndoConfirm(r commands.UndoConfirmResult) Message {
	c := r.Original
	lines := make([]string, 0, len(r.Since))
	for _, t := range r.Since {
		lines = append(lines, "• "+strings.Join(strings.Fields(md(t)), " "))
	}
	head := fmt.Sprintf(":warning: %s changed in LaunchDarkly after request %s was applied:", code(c.Flag), code(c.ID))
	blocks := []slack.Block{sectionBlock(head + "\n" + strings.Join(lines, "\n"))}
	if !r.Now.IsZero() {
		blocks = append(blocks, sectionBlock("Now: "+sentence(md(r.Now))))
	}
	undo := changeVerb(commands.Change{Kind: c.Undo.Kind, Flag: c.Flag, Env: c.Env})
	blocks = append(blocks, sectionBlock(fmt.Sprintf("Undo still asks to %s, putting back what request %s replaced, and it needs approval as usual. Undo anyway?", undo, code(c.ID))))
	btn := slack.NewButtonBlockElement(string(ActionUndoConfirm), c.ID+":"+r.Seen, plainText("Undo anyway"))
	btn.Style = slack.StyleDanger
	blocks = append(blocks, slack.NewActionBlock("undo_confirm", btn))
	return Message{Text: fmt.Sprintf("%s changed in LaunchDarkly after request %s was applied. Undo anyway?", code(c.Flag), code(c.ID)), Blocks: blocks}
}
