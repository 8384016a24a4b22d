package slackapp

import (
	"fmt"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/flagbot/flagbot/internal/commands"
)

func homeCases() []struct {
	name string
	home commands.HomeResult
} {
	pending := changeFixture(commands.StatusPending)
	deletion := changeFixture(commands.StatusPending)
	deletion.ID, deletion.Kind, deletion.Env, deletion.Patch, deletion.Delete = "del0000000000000000000000a", commands.ChangeDelete, "", nil, true
	applied := changeFixture(commands.StatusApplied)
	rejected := changeFixture(commands.StatusRejected)
	rejected.ID = "rej0000000000000000000000a"
	sub := digestResultCases()[0].in.(commands.DigestSubscribedResult).Subscription
	audit := auditFixture().Entries
	base := commands.HomeResult{UserID: "UANA", Connected: true, Info: connInfo(commands.RoleWriter), BaseURL: baseURL, MayApprove: true,
		Recent: audit, RecentProject: "web", Digests: []commands.DigestSubscription{sub}}
	approver := base
	approver.UserID, approver.Waiting, approver.WaitingMore = "UBO", []commands.Change{pending, deletion}, 3
	requester := base
	requester.Yours, requester.Decided = []commands.Change{pending}, []commands.Change{applied, rejected}
	guest := base
	guest.MayApprove, guest.Guest = false, true
	outsideGroup := base
	outsideGroup.MayApprove, outsideGroup.ApproverGroup = false, "S0REL"
	outsideGroup.Recent, outsideGroup.Digests = nil, nil
	broken := base
	broken.Recent, broken.Problems = nil, []commands.Text{commands.Notation("LaunchDarkly did not answer, so the latest changes are missing.")}
	huge := base
	for i := range 80 {
		c := pending
		c.ID = fmt.Sprintf("c%025d", i)
		huge.Waiting = append(huge.Waiting, c)
	}
	return []struct {
		name string
		home commands.HomeResult
	}{
		{"approver", approver},
		{"requester", requester},
		{"guest", guest},
		{"outside_approver_group", outsideGroup},
		{"problems", broken},
		{"not_connected", commands.HomeResult{UserID: "UANA"}},
		{"outsider", commands.HomeResult{UserID: "UX", Outsider: true}},
		{"huge", huge},
	}
}

func TestHomeViewGolden(t *testing.T) {
	t.Parallel()
	for _, tt := range homeCases() {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v := HomeView(tt.home)
			if err := CheckView(v); err != nil {
				t.Errorf("CheckView: %v", err)
			}
			if tt.name == "huge" {
				if n := len(v.Blocks.BlockSet); n != MaxViewBlocks {
					t.Errorf("huge home has %d blocks, want exactly %d", n, MaxViewBlocks)
				}
				return
			}
			golden(t, "home_"+tt.name, v)
		})
	}
}

// TestHomeButtonsAreTheRequestButtons checks that Approve and Reject in the
// Home carry what the request message's buttons carry, so one handler
// decides both.
func TestHomeButtonsAreTheRequestButtons(t *testing.T) {
	t.Parallel()
	c := changeFixture(commands.StatusPending)
	buttons := func(blocks []slack.Block) map[string]string {
		out := map[string]string{}
		for _, b := range blocks {
			if ab, ok := b.(*slack.ActionBlock); ok {
				for _, e := range ab.Elements.ElementSet {
					if btn, ok := e.(*slack.ButtonBlockElement); ok && btn.ActionID != string(ActionCancel) {
						out[btn.ActionID] = btn.Value
					}
				}
			}
		}
		return out
	}
	home := buttons(HomeView(commands.HomeResult{Connected: true, MayApprove: true, Waiting: []commands.Change{c}}).Blocks.BlockSet)
	msg := buttons(RenderChange(commands.ChangeResult{Change: c}).Blocks)
	if len(home) != 2 || fmt.Sprint(home) != fmt.Sprint(msg) {
		t.Errorf("home buttons %v, request message buttons %v", home, msg)
	}
}

func TestHomeViewers(t *testing.T) {
	t.Parallel()
	var h homeViewers
	t0 := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	ws, other := commands.Workspace{TeamID: "T1"}, commands.Workspace{TeamID: "T2"}
	h.add(ws, "UOLD", t0)
	h.add(ws, "UA", t0.Add(time.Hour))
	h.add(other, "UB", t0.Add(time.Hour))
	h.add(ws, "UC", t0.Add(2*time.Hour))
	if got := fmt.Sprint(h.of(ws, t0.Add(3*time.Hour))); got != "[UC UA UOLD]" {
		t.Errorf("viewers = %s, want the most recent first", got)
	}
	if got := fmt.Sprint(h.of(ws, t0.Add(homeViewerTTL+30*time.Minute))); got != "[UC UA]" {
		t.Errorf("after a day: %s, want the old viewer gone", got)
	}
	for i := range maxHomeViewers + 10 {
		h.add(ws, fmt.Sprintf("U%d", i), t0.Add(3*time.Hour+time.Duration(i)*time.Second))
	}
	if n := len(h.seen); n != maxHomeViewers {
		t.Errorf("%d viewers remembered, want at most %d", n, maxHomeViewers)
	}
	if n := len(h.of(ws, t0.Add(4*time.Hour))); n != maxHomeRefresh {
		t.Errorf("%d homes refreshed at once, want %d", n, maxHomeRefresh)
	}
}

func TestFlagCardGolden(t *testing.T) {
	t.Parallel()
	for name, r := range map[string]commands.FlagResult{"show": showFixture(), "big": showBigFixture(), "no_env": {Project: "web", Flag: commands.Flag{Key: "bare"}}} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			m := FlagCard(r, "https://app.launchdarkly.com/web/production/features/"+r.Flag.Key)
			checkMessage(t, m)
			golden(t, "flag_card_"+name, m)
		})
	}
}
