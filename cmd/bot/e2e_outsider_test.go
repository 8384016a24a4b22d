package main

import (
	"strings"
	"testing"

	"github.com/flagbot/flagbot/internal/slackfake"
)

// TestOutsidersAreRefusedEverywhere: a user of another organisation in a
// Slack Connect channel gets help and nothing else, from slash commands as
// from buttons, and nothing they do reaches LaunchDarkly or the stores.
func TestOutsidersAreRefusedEverywhere(t *testing.T) {
	forEachMode(t, testOutsidersAreRefusedEverywhere)
}

func testOutsidersAreRefusedEverywhere(t *testing.T, m mode) {
	sl, lds := newApprovalSlack(t), newLD(t)
	const outsider = "UPARTNER"
	sl.SetUser(slackfake.User{ID: outsider, TeamID: otherTeamID, Name: "pat", RealName: "Pat Partner"})
	b := connectedIn(t, m, sl, lds, writerToken)
	const refusal = "Flagbot acts for the workspace that installed it, so people from other organisations in this channel can't use it. `/flag help` still works."

	before := len(lds.Requests())
	posts := len(sl.Calls("chat.postMessage"))
	for _, text := range []string{"show dark-mode production", "list", "audit --since 7d", "contexts alice --env production", "on dark-mode production", "pending", "digest list", "status"} {
		r := b.command(t, teamID, outsider, text)
		wantText(t, "/flag "+text+" by an outsider", replyText(t, &r), refusal)
	}
	if n := len(lds.Requests()); n != before {
		t.Errorf("outsiders' commands made %d LaunchDarkly calls, want none", n-before)
	}
	if len(sl.Calls("chat.postMessage")) != posts {
		t.Error("an outsider's change request was posted")
	}
	r := b.command(t, teamID, outsider, "help")
	if text := replyText(t, &r); strings.Contains(text, "other organisations") {
		t.Errorf("help refused an outsider: %q", text)
	}

	// Their clicks are refused too, and so is connecting the workspace.
	id, _ := b.request(t, userID, "on dark-mode production")
	_, refused := b.click(t, outsider, "change_approve", id)
	if refused == nil {
		t.Fatal("an outsider's approval was not refused")
	}
	wantText(t, "outsider approval", replyText(t, refused), refusal)
	if flagOn(t, lds, "dark-mode", "production") {
		t.Fatal("an outsider's click applied a change")
	}
}
