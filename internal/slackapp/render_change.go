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
// does, the diff, who asked and why, when it applies, and the buttons its
// state offers (Approve, Reject and Cancel while pending; Request again when
// stale; Cancel schedule while scheduled; Undo once applied, or Sign off and
// Revert for a break-glass kill).
func RenderChange(r commands.ChangeResult) Message { return renderChange(r, false) }

// RenderChangeDM renders the same change for a direct message: to an
// approver (Approve and Reject only, no Cancel) or to a responder asked to
// sign off, with where it was posted.
func RenderChangeDM(r commands.ChangeResult) Message { return renderChange(r, true) }

func renderChange(r commands.ChangeResult, dm bool) Message {
	c := r.Change
	verb := changeVerb(c)
	var blocks []slack.Block
	emoji, state := changeState(r)
	if c.Emergency {
		blocks = append(blocks, sectionBlock(fmt.Sprintf(":rotating_light: *Emergency change:* %s used the kill switch to turn %s off in *%s*.", mention(c.RequesterID), code(c.Flag), oneLine(c.Env))))
	} else {
		blocks = append(blocks, sectionBlock(fmt.Sprintf("%s %s wants to %s.", emoji, mention(c.RequesterID), verb)))
	}
	if c.UndoOf != "" {
		blocks = append(blocks, contextBlock(":leftwards_arrow_with_hook: Undo of request "+code(c.UndoOf)+": it puts back what that change replaced."))
	}
	if len(c.Diff) > 0 {
		lines := make([]string, 0, len(c.Diff))
		for _, d := range c.Diff {
			lines = append(lines, fmt.Sprintf("• *%s*: %s → %s", oneLine(d.Field), oneLine(d.Before), oneLine(d.After)))
		}
		blocks = append(blocks, sectionBlock(strings.Join(lines, "\n")))
	}
	blocks = append(blocks, fieldsBlock(changeFields(r)...))
	if state != "" {
		blocks = append(blocks, sectionBlock(state))
	}
	if line := undoLinkLine(r); line != "" {
		blocks = append(blocks, contextBlock(line))
	}
	if buttons := changeButtons(r, dm); len(buttons) > 0 {
		id := "change_actions"
		if c.Status == commands.StatusStale {
			id = "change_again"
		}
		blocks = append(blocks, slack.NewActionBlock(id, buttons...))
	}
	foot := []string{"Request " + code(c.ID)}
	if dm && c.ChannelID != "" {
		foot = append(foot, "posted in "+md(commands.Text{commands.Channel(c.ChannelID)}))
	}
	if c.CommandText != "" {
		foot = append(foot, code("/flag "+c.CommandText))
	}
	if u := safeURL(r.FlagURL); u != "" {
		foot = append(foot, link(u, "Open in LaunchDarkly"))
	}
	blocks = append(blocks, contextBlock(strings.Join(foot, " · ")))
	text := fmt.Sprintf("%s wants to %s (%s).", mention(c.RequesterID), verb, c.Status)
	if c.Emergency {
		text = fmt.Sprintf("Emergency: %s killed %s in %s (%s).", mention(c.RequesterID), code(c.Flag), oneLine(c.Env), signoffWord(c))
	}
	return Message{Text: text, Blocks: blocks}
}

// changeFields are the request's facts: where, why, who approved, when it
// expires or applies; for a kill who, when, why and its sign-off.
func changeFields(r commands.ChangeResult) []string {
	c := r.Change
	if c.Emergency {
		return []string{
			"*Who*\n" + mention(c.RequesterID),
			"*When*\n" + slackDate(c.CreatedAt),
			"*Environment*\n" + code(c.Env),
			"*Project*\n" + code(c.Project),
			"*Why*\n" + oneLine(c.Reason),
			"*Sign-off*\n" + signoffField(c),
		}
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
	if !r.Applied && !c.Exempt && (c.Status == commands.StatusPending || len(c.Approvals) > 0) {
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
	if !c.ApplyAt.IsZero() && (c.Status == commands.StatusPending || c.Status == commands.StatusScheduled) {
		fields = append(fields, "*Applies at*\n"+slackDate(c.ApplyAt)+" (once approved)")
		if c.Status == commands.StatusScheduled {
			fields[len(fields)-1] = "*Applies at*\n" + slackDate(c.ApplyAt)
		}
	}
	return fields
}

// signoffWord says where a kill's sign-off stands, for fallback text.
func signoffWord(c commands.Change) string {
	switch {
	case c.Status != commands.StatusApplied:
		return string(c.Status)
	case c.SignedOffBy != "":
		return "signed off"
	case c.Signoff == commands.SignoffOverdue:
		return "not signed off"
	}
	return "sign-off pending"
}

// signoffField is the kill's sign-off field.
func signoffField(c commands.Change) string {
	switch {
	case c.Status != commands.StatusApplied:
		return "not needed: nothing was changed"
	case c.SignedOffBy != "":
		return "signed off by " + mention(c.SignedOffBy) + " " + slackDate(c.SignedOffAt)
	case c.Signoff == commands.SignoffOverdue:
		return ":warning: *not signed off* (was due " + slackDate(c.SignoffDue) + ")"
	}
	return "pending: someone else signs off by " + slackDate(c.SignoffDue)
}

// undoLinkLine says what became of the undo requested for c (the revert,
// for a kill), if any.
func undoLinkLine(r commands.ChangeResult) string {
	u := r.UndoLink
	undo, undone := "Undo", "Undone"
	if r.Change.Emergency {
		undo, undone = "Revert", "Reverted"
	}
	switch {
	case u == nil:
		return ""
	case u.Status == commands.StatusApplied:
		return ":leftwards_arrow_with_hook: *" + undone + "* by request " + code(u.ID) + " " + slackDate(u.DecidedAt) + "."
	case u.Status.Live():
		return ":leftwards_arrow_with_hook: " + undo + " requested by " + mention(u.RequesterID) + ": request " + code(u.ID) + "."
	}
	return ":leftwards_arrow_with_hook: " + undo + " request " + code(u.ID) + " was " + oneLine(string(u.Status)) + "; it can be asked for again."
}

// undoOffered reports whether c's message offers Undo (or Revert): it is
// applied, its undo was recorded, and no undo of it is waiting or applied.
func undoOffered(r commands.ChangeResult) bool {
	c := r.Change
	if c.Status != commands.StatusApplied || c.Undo == nil || c.ID == "" {
		return false
	}
	return r.UndoLink == nil || (r.UndoLink.Status.Final() && r.UndoLink.Status != commands.StatusApplied)
}

// changeButtons are the buttons c's state offers.
func changeButtons(r commands.ChangeResult, dm bool) []slack.BlockElement {
	c := r.Change
	if c.ID == "" {
		return nil
	}
	verb := changeVerb(c)
	var out []slack.BlockElement
	switch c.Status {
	case commands.StatusPending:
		approve := ActionApprove
		if c.Delete {
			approve = ActionApproveDelete
		}
		ab := slack.NewButtonBlockElement(string(approve), c.ID, plainText("Approve"))
		ab.Style = slack.StylePrimary
		if !c.Delete {
			when := "as soon as the last approval arrives"
			if !c.ApplyAt.IsZero() {
				when = "at " + slackDate(c.ApplyAt) + ", once the last approval arrived"
			}
			ab.Confirm = slack.NewConfirmationBlockObject(plainText("Apply this change?"),
				mrkdwn(fmt.Sprintf("This will %s in LaunchDarkly %s.", verb, when)),
				plainText("Approve"), plainText("Not yet"))
		}
		rb := slack.NewButtonBlockElement(string(ActionReject), c.ID, plainText("Reject"))
		rb.Style = slack.StyleDanger
		out = append(out, ab, rb)
		if !dm {
			out = append(out, slack.NewButtonBlockElement(string(ActionCancel), c.ID, plainText("Cancel (requester)")))
		}
	case commands.StatusStale:
		if !dm {
			out = append(out, slack.NewButtonBlockElement(string(ActionRequestAgain), c.ID, plainText("Request again")))
		}
	case commands.StatusScheduled:
		out = append(out, slack.NewButtonBlockElement(string(ActionCancelSchedule), c.ID, plainText("Cancel schedule")))
	case commands.StatusApplied:
		if c.Emergency && c.NeedsSignoff() {
			sb := slack.NewButtonBlockElement(string(ActionSignOff), c.ID, plainText("Sign off"))
			sb.Style = slack.StylePrimary
			out = append(out, sb)
		}
		if undoOffered(r) {
			id, label := ActionUndo, "Undo"
			if c.Emergency {
				id, label = ActionRevert, "Revert"
			}
			out = append(out, slack.NewButtonBlockElement(string(id), c.ID, plainText(label)))
		}
	}
	return out
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
		if c.Emergency || c.Exempt {
			return ":gear:", "Applying it now."
		}
		return ":gear:", "Approved by " + by + "; applying it now."
	case commands.StatusScheduled:
		if c.Exempt {
			return ":calendar:", "*Scheduled*: *" + oneLine(c.Env) + "* needs no approval in this workspace; it applies " + slackDate(c.ApplyAt) + "."
		}
		return ":calendar:", "*Scheduled*: approved by " + by + "; it applies " + slackDate(c.ApplyAt) + "."
	case commands.StatusApplied:
		switch {
		case c.Emergency:
			st := strings.TrimSpace("*Applied at once* " + slackDate(c.DecidedAt) + " by the kill switch. " + sentence(md(c.Outcome)))
			switch {
			case c.SignedOffBy != "":
				st += " Signed off by " + mention(c.SignedOffBy) + " " + slackDate(c.SignedOffAt) + "."
			case c.Signoff == commands.SignoffOverdue:
				st += " :warning: *Not signed off* by " + slackDate(c.SignoffDue) + ": someone other than " + mention(c.RequesterID) + " should review it, then *Sign off* or *Revert*."
			default:
				st += " Someone other than " + mention(c.RequesterID) + " reviews it and signs it off by " + slackDate(c.SignoffDue) + ", or reverts it."
			}
			return ":rotating_light:", st
		case r.Applied || c.Exempt:
			return ":white_check_mark:", strings.TrimSpace("Applied at once: *" + oneLine(c.Env) + "* does not need approval in this workspace. " + sentence(md(c.Outcome)))
		}
		return ":white_check_mark:", strings.TrimSpace(fmt.Sprintf("*Applied* %s, approved by %s. %s", slackDate(c.DecidedAt), by, sentence(md(c.Outcome))))
	case commands.StatusRejected:
		return ":no_entry:", fmt.Sprintf("*Rejected* by %s %s. Nothing was changed.", mention(c.DecidedBy), slackDate(c.DecidedAt))
	case commands.StatusCancelled:
		if c.DecidedBy == "" { // by no one: Flagbot was uninstalled
			return ":heavy_multiplication_x:", strings.TrimSpace(fmt.Sprintf("*Cancelled* %s: %s Nothing was changed.", slackDate(c.DecidedAt), sentence(md(c.Outcome))))
		}
		if !c.ApplyAt.IsZero() && len(c.Approvals) >= max(c.RequiredApprovals, 1) {
			return ":heavy_multiplication_x:", fmt.Sprintf("*Schedule cancelled* by %s %s. Nothing was changed.", mention(c.DecidedBy), slackDate(c.DecidedAt))
		}
		return ":heavy_multiplication_x:", fmt.Sprintf("*Cancelled* by %s %s. Nothing was changed.", mention(c.DecidedBy), slackDate(c.DecidedAt))
	case commands.StatusExpired:
		return ":alarm_clock:", "*Expired* " + slackDate(c.ExpiresAt) + " without enough approvals. Nothing was changed."
	case commands.StatusStale:
		return ":warning:", "*Not applied*: the flag changed in LaunchDarkly after this was requested. " + sentence(md(c.Outcome)) + " Check the flag, then use *Request again*."
	case commands.StatusFailed:
		return ":x:", "*Not applied*: " + sentence(md(c.Outcome))
	case commands.StatusMissed:
		return ":calendar:", "*Missed*: " + sentence(md(c.Outcome))
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
		if c.Emergency {
			line = fmt.Sprintf("%s %s: %s killed %s in %s (%s)", emoji, code(c.ID[:min(len(c.ID), 8)]), mention(c.RequesterID), code(c.Flag), code(c.Env), signoffWord(c))
		}
		switch c.Status {
		case commands.StatusPending:
			line += fmt.Sprintf(" · %d of %d approvals · expires %s", len(c.Approvals), max(c.RequiredApprovals, 1), slackDate(c.ExpiresAt))
		case commands.StatusScheduled:
			line += " · applies " + slackDate(c.ApplyAt)
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
