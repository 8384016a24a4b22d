package slackapp

import (
	"fmt"
	"strings"

	"github.com/slack-go/slack"

	"github.com/flagbot/flagbot/internal/commands"
)

// changeVerb says in a few words what a change does: the core's words, as
// mrkdwn.
func changeVerb(c commands.Change) string { return md(c.Verb()) }

// RenderChange renders a change request as posted in the channel: what it
// does, the diff, who asked and why, and buttons while it is pending.
func RenderChange(r commands.ChangeResult) Message {
	c := r.Change
	verb := changeVerb(c)
	var blocks []slack.Block
	emoji, state := changeState(r)
	blocks = append(blocks, sectionBlock(fmt.Sprintf("%s %s wants to %s.", emoji, mention(c.RequesterID), verb)))
	if len(c.Diff) > 0 {
		lines := make([]string, 0, len(c.Diff))
		for _, d := range c.Diff {
			lines = append(lines, fmt.Sprintf("• *%s*: %s → %s", oneLine(d.Field), oneLine(d.Before), oneLine(d.After)))
		}
		blocks = append(blocks, sectionBlock(strings.Join(lines, "\n")))
	}
	fields := []string{"*Project*\n" + code(c.Project)}
	if c.Env != "" {
		fields = append(fields, "*Environment*\n"+code(c.Env))
	}
	reason := "_none given_"
	if c.Reason != "" {
		reason = oneLine(c.Reason)
	}
	fields = append(fields, "*Reason*\n"+reason)
	if !r.Applied && (c.Status == commands.StatusPending || len(c.Approvals) > 0) {
		approvers := make([]string, 0, len(c.Approvals))
		for _, a := range c.Approvals {
			approvers = append(approvers, mention(a.UserID))
		}
		got := "none yet"
		if len(approvers) > 0 {
			got = strings.Join(approvers, ", ")
		}
		fields = append(fields, fmt.Sprintf("*Approvals* (%d of %d)\n%s", len(c.Approvals), max(c.RequiredApprovals, 1), got))
		if c.Status == commands.StatusPending {
			fields = append(fields, "*Expires*\n"+slackDate(c.ExpiresAt))
		}
	}
	blocks = append(blocks, fieldsBlock(fields...))
	if state != "" {
		blocks = append(blocks, sectionBlock(state))
	}
	if c.Status == commands.StatusPending && c.ID != "" {
		approve := ActionApprove
		if c.Delete {
			approve = ActionApproveDelete
		}
		ab := slack.NewButtonBlockElement(string(approve), c.ID, plainText("Approve"))
		ab.Style = slack.StylePrimary
		if !c.Delete {
			ab.Confirm = slack.NewConfirmationBlockObject(plainText("Apply this change?"),
				mrkdwn(fmt.Sprintf("This will %s in LaunchDarkly as soon as the last approval arrives.", verb)),
				plainText("Approve"), plainText("Not yet"))
		}
		rb := slack.NewButtonBlockElement(string(ActionReject), c.ID, plainText("Reject"))
		rb.Style = slack.StyleDanger
		cb := slack.NewButtonBlockElement(string(ActionCancel), c.ID, plainText("Cancel (requester)"))
		blocks = append(blocks, slack.NewActionBlock("change_actions", ab, rb, cb))
	}
	if c.Status == commands.StatusStale && c.ID != "" {
		blocks = append(blocks, slack.NewActionBlock("change_again",
			slack.NewButtonBlockElement(string(ActionRequestAgain), c.ID, plainText("Request again"))))
	}
	foot := []string{"Request " + code(c.ID)}
	if c.CommandText != "" {
		foot = append(foot, code("/flag "+c.CommandText))
	}
	if u := safeURL(r.FlagURL); u != "" {
		foot = append(foot, link(u, "Open in LaunchDarkly"))
	}
	blocks = append(blocks, contextBlock(strings.Join(foot, " · ")))
	text := fmt.Sprintf("%s wants to %s (%s).", mention(c.RequesterID), verb, c.Status)
	return Message{Text: text, Blocks: blocks}
}

// changeState returns the status emoji and, for any state but a plain
// pending one, a sentence saying what happened.
func changeState(r commands.ChangeResult) (emoji, state string) {
	c := r.Change
	approvers := make([]string, 0, len(c.Approvals))
	for _, a := range c.Approvals {
		approvers = append(approvers, mention(a.UserID))
	}
	by := joinAnd(approvers)
	switch c.Status {
	case commands.StatusPending:
		return ":hourglass_flowing_sand:", ""
	case commands.StatusApproved:
		return ":gear:", "Approved by " + by + "; applying it now."
	case commands.StatusApplied:
		if r.Applied {
			return ":white_check_mark:", "Applied at once: *" + oneLine(c.Env) + "* does not need approval in this workspace."
		}
		return ":white_check_mark:", strings.TrimSpace(fmt.Sprintf("*Applied* %s, approved by %s. %s", slackDate(c.DecidedAt), by, sentence(md(c.Outcome))))
	case commands.StatusRejected:
		return ":no_entry:", fmt.Sprintf("*Rejected* by %s %s. Nothing was changed.", mention(c.DecidedBy), slackDate(c.DecidedAt))
	case commands.StatusCancelled:
		if c.DecidedBy == "" { // by no one: Flagbot was uninstalled
			return ":heavy_multiplication_x:", strings.TrimSpace(fmt.Sprintf("*Cancelled* %s: %s Nothing was changed.", slackDate(c.DecidedAt), sentence(md(c.Outcome))))
		}
		return ":heavy_multiplication_x:", fmt.Sprintf("*Cancelled* by %s %s. Nothing was changed.", mention(c.DecidedBy), slackDate(c.DecidedAt))
	case commands.StatusExpired:
		return ":alarm_clock:", "*Expired* " + slackDate(c.ExpiresAt) + " without enough approvals. Nothing was changed."
	case commands.StatusStale:
		return ":warning:", "*Not applied*: the flag changed in LaunchDarkly after this was requested. " + sentence(md(c.Outcome)) + " Check the flag, then use *Request again*."
	case commands.StatusFailed:
		return ":x:", "*Not applied*: " + sentence(md(c.Outcome))
	case commands.StatusLDApproval:
		msg := "*Waiting for LaunchDarkly*: this environment requires LaunchDarkly's own approval, so Flagbot created a LaunchDarkly approval request"
		if u := safeURL(r.LDApprovalURL); u != "" {
			msg += " (" + link(u, "open it") + ")"
		}
		if len(approvers) > 0 {
			msg += ". Approved in Slack by " + by
		}
		return ":link:", msg + "."
	}
	return ":grey_question:", oneLine(string(c.Status))
}

// sentence ends mrkdwn s with a full stop unless it has one.
func sentence(s string) string {
	if strings.ContainsAny(s, "\n\r\t") {
		s = strings.Join(strings.Fields(s), " ")
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	if !strings.HasSuffix(s, ".") && !strings.HasSuffix(s, "!") && !strings.HasSuffix(s, "?") {
		s += "."
	}
	return s
}

func joinAnd(items []string) string {
	switch len(items) {
	case 0:
		return "nobody"
	case 1:
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}

// renderChangeList renders `/flag pending` and `/flag history`.
func renderChangeList(title, empty string, changes []commands.Change) Message {
	if len(changes) == 0 {
		return textMessage(empty)
	}
	lines := make([]string, 0, len(changes))
	for _, c := range changes {
		emoji, _ := changeState(commands.ChangeResult{Change: c})
		line := fmt.Sprintf("%s %s: %s wants to %s", emoji, code(c.ID[:min(len(c.ID), 8)]), mention(c.RequesterID), changeVerb(c))
		switch c.Status {
		case commands.StatusPending:
			line += fmt.Sprintf(" · %d of %d approvals · expires %s", len(c.Approvals), max(c.RequiredApprovals, 1), slackDate(c.ExpiresAt))
		default:
			line += " · *" + oneLine(string(c.Status)) + "* " + slackDate(c.DecidedAt)
		}
		lines = append(lines, line)
	}
	blocks := append([]slack.Block{headerBlock(title)}, listSections(lines)...)
	return Message{Text: fmt.Sprintf("%s: %d", title, len(changes)), Blocks: blocks}
}

// ConfirmDeleteModal asks an approver to type the flag key before a
// deletion is approved. privateMetadata carries the change ID and where the
// request message is (untrusted on return: the change is re-read).
func ConfirmDeleteModal(c commands.Change, privateMetadata string) slack.ModalViewRequest {
	input := slack.NewPlainTextInputBlockElement(plainText(c.Flag), string(ActionConfirmKey))
	return slack.ModalViewRequest{
		Type:            slack.VTModal,
		CallbackID:      string(CallbackConfirmDelete),
		Title:           plainText("Approve deletion"),
		Submit:          plainText("Delete flag"),
		Close:           plainText("Cancel"),
		PrivateMetadata: privateMetadata,
		Blocks: slack.Blocks{BlockSet: []slack.Block{
			sectionBlock(fmt.Sprintf(":warning: Approving deletes %s from *every environment* of %s. It cannot be undone; archiving can.", code(c.Flag), code(c.Project))),
			slack.NewInputBlock(string(BlockConfirmKey), plainText("Type the flag key to confirm"), nil, input),
		}},
	}
}
