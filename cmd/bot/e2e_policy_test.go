package main

import (
	"testing"

	"github.com/flagbot/flagbot/internal/slackfake"
)

// TestPolicyFailsClosedEndToEnd: through the real bot, every environment
// needs approval until an admin exempts one; a critical environment can't
// be exempted; an exempt one applies at once and is still posted; guests
// may neither approve nor, by default, request.
func TestPolicyFailsClosedEndToEnd(t *testing.T) {
	sl, lds := newApprovalSlack(t), newLD(t)
	sl.SetUser(slackfake.User{ID: "UGUEST", Name: "gil", RealName: "Gil Guest", IsRestricted: true})
	b := connected(t, sl, lds, writerToken)

	// staging is not exempt yet: the change waits.
	id, _ := b.request(t, userID, "off dark-mode staging")
	if id == "" || !flagOn(t, lds, "dark-mode", "staging") {
		t.Fatalf("a staging change did not wait for approval (id %q)", id)
	}

	r := b.command(t, teamID, adminID, "config exempt-envs production")
	wantText(t, "exempting a critical environment", replyText(t, &r),
		"`production` is a critical environment in LaunchDarkly, so its changes always need approval; it can't be exempted.")
	r = b.command(t, teamID, adminID, "config exempt-envs STAGING")
	wantText(t, "exempting staging", replyText(t, &r),
		"Changes in `staging` of project `web` now apply without approval (and are still posted). Every other environment, including any created later, needs approval.")

	// Now a staging change applies at once, and is posted for all to see.
	_, posted := b.request(t, userID, "on new-checkout staging")
	wantContains(t, "exempt change", posted.Params["blocks"], "Applied at once")
	if !flagOn(t, lds, "new-checkout", "staging") {
		t.Error("the exempt change was not applied")
	}

	// Guests: no approving, no requesting unless allowed.
	_, refused := b.click(t, "UGUEST", "change_approve", id)
	if refused == nil {
		t.Fatal("a guest's approval was not refused")
	}
	wantText(t, "guest approval", replyText(t, refused), "Guests can't approve or reject changes.")
	r = b.command(t, teamID, "UGUEST", "on dark-mode production")
	wantText(t, "guest request", replyText(t, &r), "Guests can't request changes in this workspace. An admin can allow it with `/flag config guests on`.")

	// Anyone may read the settings.
	r = b.command(t, teamID, userID, "config")
	wantContains(t, "settings", string(r.Body), "Flagbot settings", "`staging` in `web`")
}
