package slackapp

import (
	"fmt"
	"strings"

	"github.com/slack-go/slack"

	"github.com/flagbot/flagbot/internal/commands"
)

// HomeView renders one person's App Home: connection, what waits for
// them (with Approve and Reject, the same buttons as the request message),
// their requests, the latest changes and the digests. It stays within
// MaxViewBlocks.
func HomeView(h commands.HomeResult) slack.HomeTabViewRequest {
	blocks := []slack.Block{headerBlock("Flagbot")}
	switch {
	case h.Outsider:
		blocks = append(blocks, sectionBlock("Flagbot acts for the workspace that installed it, so people from other organisations can't use it here."))
		return homeView(blocks)
	case !h.Connected:
		blocks = append(blocks, sectionBlock("This workspace is not connected to LaunchDarkly yet. An admin runs `/flag connect` in any channel."))
		return homeView(append(blocks, homeProblems(h)...))
	}
	i := h.Info
	blocks = append(blocks,
		sectionBlock(":white_check_mark: Connected to LaunchDarkly as "+tokenPhrase(i)+".\n"+defaultsSentence(i)),
		contextBlock("Type `/flag` in any channel to request a change, `/flag help` for everything else."),
		slack.NewDividerBlock(), headerBlock("Waiting for you"))

	switch {
	case h.Guest:
		blocks = append(blocks, contextBlock("Guests can't approve or reject changes."))
	case !h.MayApprove && h.ApproverGroup != "":
		blocks = append(blocks, contextBlock("Only members of <!subteam^"+escAmp(h.ApproverGroup)+"> approve changes in this workspace."))
	case !h.MayApprove:
	case len(h.Waiting) == 0:
		blocks = append(blocks, contextBlock("Nothing is waiting for you."))
	}
	for _, c := range h.Waiting {
		line := fmt.Sprintf("%s wants to %s.\n%s", mention(c.RequesterID), changeVerb(c), homeDetails(c))
		blocks = append(blocks, sectionBlock(line), decisionButtons(c))
	}
	if h.WaitingMore > 0 {
		blocks = append(blocks, contextBlock(fmt.Sprintf("…and %d more: `/flag pending` lists them all.", h.WaitingMore)))
	}

	blocks = append(blocks, slack.NewDividerBlock(), headerBlock("Your requests"))
	var lines []string
	for _, c := range h.Yours {
		emoji, _ := changeState(commands.ChangeResult{Change: c})
		lines = append(lines, fmt.Sprintf("%s %s · %d of %d approvals · expires %s", emoji, capitalize(changeVerb(c)), len(c.Approvals), max(c.RequiredApprovals, 1), slackDate(c.ExpiresAt)))
	}
	if h.YoursMore > 0 {
		lines = append(lines, fmt.Sprintf("…and %d more: `/flag pending`", h.YoursMore))
	}
	for _, c := range h.Decided {
		emoji, _ := changeState(commands.ChangeResult{Change: c})
		lines = append(lines, fmt.Sprintf("%s %s · *%s* %s", emoji, capitalize(changeVerb(c)), oneLine(statusWord(c.Status)), slackDate(c.DecidedAt)))
	}
	if len(lines) == 0 {
		blocks = append(blocks, contextBlock("You have no requests yet. Type `/flag` in a channel to make one."))
	} else {
		blocks = append(blocks, listSections(lines)...)
	}

	if h.RecentProject != "" {
		blocks = append(blocks, slack.NewDividerBlock(), headerBlock("Latest changes in "+h.RecentProject))
		if len(h.Recent) == 0 {
			blocks = append(blocks, contextBlock("Nothing in the audit log yet."))
		}
		for _, e := range h.Recent {
			title := mdToMrkdwn(truncPlain(strings.TrimSpace(e.Title), maxAuditTitle), h.BaseURL)
			who := auditWho(e)
			if title == "" {
				title = strings.TrimSpace(who + " " + oneLine(e.TitleVerb) + " " + oneLine(e.Name))
			}
			when := slackDate(e.Date)
			if !strings.Contains(title, who) {
				when = "by " + who + " · " + when
			}
			blocks = append(blocks, contextBlock(title+"\n"+when))
		}
	}

	blocks = append(blocks, slack.NewDividerBlock(), headerBlock("Digests"))
	if len(h.Digests) == 0 {
		blocks = append(blocks, contextBlock("No digest subscriptions: `/flag digest subscribe` in a channel posts a summary of flag changes there."))
	} else {
		lines = lines[:0]
		for _, s := range h.Digests {
			lines = append(lines, fmt.Sprintf("%s · %s, %s · next %s", digestChannel(s), digestWhat(s), esc(s.Schedule.String()), slackDate(s.NextRun)))
		}
		blocks = append(blocks, listSections(lines)...)
	}
	return homeView(append(blocks, homeProblems(h)...))
}

func homeView(blocks []slack.Block) slack.HomeTabViewRequest {
	if len(blocks) > MaxViewBlocks {
		blocks = append(blocks[:MaxViewBlocks-1], contextBlock("…and more: `/flag pending` and `/flag history` list everything."))
	}
	return slack.HomeTabViewRequest{Type: slack.VTHomeTab, Blocks: slack.Blocks{BlockSet: FitView(blocks)}}
}

func homeProblems(h commands.HomeResult) []slack.Block {
	out := make([]slack.Block, 0, len(h.Problems))
	for _, p := range h.Problems {
		out = append(out, contextBlock(":warning: "+md(p)))
	}
	return out
}

// homeDetails is a waiting change's project, environment, reason, approvals
// and expiry in one line.
func homeDetails(c commands.Change) string {
	parts := []string{"project " + code(c.Project)}
	if c.Env != "" {
		parts = append(parts, "environment "+code(c.Env))
	}
	parts = append(parts, fmt.Sprintf("%d of %d approvals", len(c.Approvals), max(c.RequiredApprovals, 1)), "expires "+slackDate(c.ExpiresAt))
	s := strings.Join(parts, " · ")
	if c.Reason != "" {
		s += "\n> " + oneLine(truncPlain(c.Reason, maxComment))
	}
	return s
}

// decisionButtons are Approve and Reject for change c: the request
// message's action ids and values, so the same handler decides.
func decisionButtons(c commands.Change) slack.Block {
	approve := ActionApprove
	if c.Delete {
		approve = ActionApproveDelete
	}
	ab := slack.NewButtonBlockElement(string(approve), c.ID, plainText("Approve"))
	ab.Style = slack.StylePrimary
	if !c.Delete {
		ab.Confirm = slack.NewConfirmationBlockObject(plainText("Apply this change?"),
			mrkdwn(fmt.Sprintf("This will %s in LaunchDarkly as soon as the last approval arrives.", changeVerb(c))),
			plainText("Approve"), plainText("Not yet"))
	}
	rb := slack.NewButtonBlockElement(string(ActionReject), c.ID, plainText("Reject"))
	rb.Style = slack.StyleDanger
	return slack.NewActionBlock("home_decide_"+c.ID, ab, rb)
}

func statusWord(s commands.ChangeStatus) string {
	switch s {
	case commands.StatusLDApproval:
		return "waiting for LaunchDarkly"
	case commands.StatusStale:
		return "not applied (stale)"
	case commands.StatusFailed:
		return "not applied (failed)"
	}
	return string(s)
}
