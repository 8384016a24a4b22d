package main

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/flagbot/flagbot/internal/ld"
	"github.com/flagbot/flagbot/internal/ld/ldtest"
	"github.com/flagbot/flagbot/internal/slackfake"
)

const approverID = "UAPPROVER"

// request runs a write command and returns the change ID from the posted
// request's Approve button, after checking it was posted in the channel.
func (b *bot) request(t testing.TB, user, text string) (id string, posted slackfake.Call) {
	t.Helper()
	return b.requestIn(t, teamID, channelID, user, text)
}

// requestIn is request in a channel of team.
func (b *bot) requestIn(t testing.TB, team, channel, user, text string) (id string, posted slackfake.Call) {
	t.Helper()
	sent := time.Now()
	eid, err := b.slack.SlashCommand(slackfake.SlashCommand{TeamID: team, UserID: user, ChannelID: channel, Text: text})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.slack.WaitAck(waitCtx(t), eid); err != nil {
		t.Fatal(err)
	}
	posted, err = b.slack.WaitCall(waitCtx(t), "chat.postMessage", func(c slackfake.Call) bool { return c.At.After(sent) })
	if err != nil {
		t.Fatalf("/flag %s posted no request: %v", text, err)
	}
	if posted.Error != "" || posted.Params["channel"] != channel {
		t.Fatalf("request post failed (%s) or went to %q", posted.Error, posted.Params["channel"])
	}
	for _, action := range []string{"change_approve_delete", "change_approve"} {
		if strings.Contains(posted.Params["blocks"], action) {
			return buttonValue(t, json.RawMessage(posted.Params["blocks"]), action), posted
		}
	}
	return "", posted
}

// click presses a change button as user and returns the message the bot
// edited (chat.update) or, when the click was refused, the ephemeral reply.
func (b *bot) click(t testing.TB, user, action, id string) (updated *slackfake.Call, refused *slackfake.Response) {
	t.Helper()
	return b.clickIn(t, teamID, channelID, user, action, id)
}

// clickIn is click in a channel of team.
func (b *bot) clickIn(t testing.TB, team, channel, user, action, id string) (updated *slackfake.Call, refused *slackfake.Response) {
	t.Helper()
	sent := time.Now()
	if _, err := b.slack.BlockAction(slackfake.BlockAction{TeamID: team, UserID: user, ChannelID: channel, ActionID: action, Value: id, MessageTS: "1700000000.000001"}); err != nil {
		t.Fatal(err)
	}
	ctx := waitCtx(t)
	got := make(chan any, 2)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		if c, err := b.slack.WaitCall(ctx, "chat.update", func(c slackfake.Call) bool { return c.At.After(sent) }); err == nil {
			got <- c
		}
	}()
	go func() {
		if r, err := b.slack.WaitResponse(ctx, func(r slackfake.Response) bool { return r.At.After(sent) }); err == nil {
			got <- r
		}
	}()
	select {
	case v := <-got:
		switch v := v.(type) {
		case slackfake.Call:
			return &v, nil
		case slackfake.Response:
			return nil, &v
		}
	case <-ctx.Done():
	}
	t.Fatalf("%s by %s: no message update and no reply", action, user)
	return nil, nil
}

func newApprovalSlack(t testing.TB) *slackfake.Server {
	t.Helper()
	s := newSlack(t)
	s.SetUser(slackfake.User{ID: approverID, Name: "cy", RealName: "Cy Approver"})
	s.SetUser(slackfake.User{ID: "USECOND", Name: "di", RealName: "Di Second"})
	return s
}

func connected(t testing.TB, sl *slackfake.Server, lds *ldtest.Server, token string, opts ...botOption) *bot {
	t.Helper()
	b := startBot(t, sl, lds, opts...)
	if ack := b.connect(t, teamID, adminID, token, "web", "production"); len(ack.Payload) != 0 {
		t.Fatalf("connect failed: %s", ack.Payload)
	}
	return b
}

func flagOn(t testing.TB, lds *ldtest.Server, key, env string) bool {
	t.Helper()
	f, ok := lds.Flag("web", key)
	if !ok {
		t.Fatalf("flag %s is gone", key)
	}
	return f.Environments[env].On
}

func patches(lds *ldtest.Server) int {
	n := 0
	for _, r := range lds.Requests() {
		if r.Method == http.MethodPatch {
			n++
		}
	}
	return n
}

func TestApprovalFlow(t *testing.T) { forEachMode(t, testApprovalFlow) }

func testApprovalFlow(t *testing.T, m mode) {
	sl, lds := newApprovalSlack(t), newLD(t)
	b := connectedIn(t, m, sl, lds, writerToken)

	id, posted := b.request(t, userID, `on dark-mode production --reason "launch the dark theme"`)
	if id == "" {
		t.Fatalf("no Approve button in %s", posted.Params["blocks"])
	}
	wantContains(t, "request", posted.Params["blocks"], "dark-mode", "production", "launch the dark theme", "change_reject", "change_cancel")
	if flagOn(t, lds, "dark-mode", "production") {
		t.Fatal("the change applied before anyone approved it")
	}

	// The requester cannot approve.
	_, refused := b.click(t, userID, "change_approve", id)
	if refused == nil {
		t.Fatal("self-approval was not refused")
	}
	wantText(t, "self-approval refusal", replyText(t, refused), "You asked for this change, so someone else has to approve it.")
	if flagOn(t, lds, "dark-mode", "production") {
		t.Fatal("self-approval applied the change")
	}

	// A different person approves: applied exactly once, with a comment
	// naming both people.
	updated, refused := b.click(t, approverID, "change_approve", id)
	if refused != nil {
		t.Fatalf("approval refused: %s", refused.Body)
	}
	wantContains(t, "updated request", updated.Params["blocks"], "Applied", "<@"+approverID+">")
	if !flagOn(t, lds, "dark-mode", "production") {
		t.Fatal("approved change was not applied")
	}
	var patch ld.SemanticPatch
	for _, r := range lds.Requests() {
		if r.Method == http.MethodPatch {
			if err := json.Unmarshal(r.Body, &patch); err != nil {
				t.Fatal(err)
			}
		}
	}
	wantContains(t, "LaunchDarkly comment", patch.Comment, "Requested by", userID, "approved by", approverID, "via Flagbot", "launch the dark theme", id)
	if n := patches(lds); n != 1 {
		t.Errorf("%d patches sent to LaunchDarkly, want exactly 1", n)
	}
	// The requester is told how their request ended.
	told, err := b.slack.WaitCall(waitCtx(t), "chat.postEphemeral", func(c slackfake.Call) bool {
		return c.Params["user"] == userID && strings.Contains(c.Params["text"], "Your request")
	})
	if err != nil {
		t.Fatalf("the requester was not told the outcome: %v", err)
	}
	wantText(t, "requester notice", told.Params["text"],
		"Your request to turn on `dark-mode` in *production*: *Applied* <DATE>, approved by <@"+approverID+">. Applied: `dark-mode` is now on in `production`.")

	// A second click is told who decided it, with a real mention; nothing
	// is applied twice.
	before := patches(lds)
	_, refused = b.click(t, "USECOND", "change_approve", id)
	if refused == nil {
		t.Fatal("late approval not refused")
	}
	wantText(t, "late approval", replyText(t, refused), "<@"+approverID+"> already approved this; it was applied.")
	if patches(lds) != before {
		t.Errorf("a second approval patched LaunchDarkly again")
	}

	r := b.command(t, teamID, userID, "history dark-mode")
	wantContains(t, "history", string(r.Body), "dark-mode", "applied")
	b.assertNoSecrets(t)
}

// replyText is the text of an ephemeral reply.
func replyText(t testing.TB, r *slackfake.Response) string {
	t.Helper()
	var m struct{ Text string }
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("reply %s: %v", r.Body, err)
	}
	return m.Text
}

// slackDates matches Slack's date tokens, whose time varies per run.
var slackDates = regexp.MustCompile(`<!date\^[0-9]+\^[^|>]*\|[^>]*>`)

// wantText compares what a user reads with want exactly, after replacing
// Slack date tokens (<!date^…|…>) with <DATE>.
func wantText(t testing.TB, what, got, want string) {
	t.Helper()
	if got = slackDates.ReplaceAllString(got, "<DATE>"); got != want {
		t.Errorf("%s:\n got %q\nwant %q", what, got, want)
	}
}

func TestRejectCancelAndReader(t *testing.T) {
	sl, lds := newApprovalSlack(t), newLD(t)
	b := connected(t, sl, lds, writerToken)

	id, _ := b.request(t, userID, "off new-checkout production")
	updated, _ := b.click(t, approverID, "change_reject", id)
	if updated == nil {
		t.Fatal("reject did not update the request")
	}
	wantContains(t, "rejected request", updated.Params["blocks"], "Rejected", "<@"+approverID+">")
	if !flagOn(t, lds, "new-checkout", "production") {
		t.Fatal("a rejected change was applied")
	}

	id, _ = b.request(t, userID, "off new-checkout production")
	if _, refused := b.click(t, approverID, "change_cancel", id); refused == nil {
		t.Error("someone other than the requester cancelled")
	} else {
		wantText(t, "cancel refusal", replyText(t, refused), "Only <@"+userID+">, who asked for this change, can cancel it.")
	}
	updated, _ = b.click(t, userID, "change_cancel", id)
	if updated == nil {
		t.Fatal("cancel did not update the request")
	}
	wantContains(t, "cancelled request", updated.Params["blocks"], "Cancelled")

	r := b.command(t, teamID, userID, "pending")
	wantContains(t, "pending", string(r.Body), "Nothing is waiting")

	// A Reader token: refused, nothing stored or posted.
	if ack := b.connect(t, teamID, adminID, readerToken, "web", "production"); len(ack.Payload) != 0 {
		t.Fatalf("reconnect failed: %s", ack.Payload)
	}
	posts := len(sl.Calls("chat.postMessage"))
	r = b.command(t, teamID, userID, "on dark-mode production")
	wantContains(t, "reader refusal", string(r.Body), "read-only", "Writer")
	if len(sl.Calls("chat.postMessage")) != posts {
		t.Error("a read-only workspace posted a change request")
	}
}

func TestStaleAndFailedApply(t *testing.T) {
	sl, lds := newApprovalSlack(t), newLD(t)
	b := connected(t, sl, lds, writerToken)

	// Someone changes the flag in LaunchDarkly after the request: stale.
	id, _ := b.request(t, userID, "on dark-mode production")
	if _, err := lds.Client(writerToken).PatchFlag(t.Context(), "web", "dark-mode", ld.SemanticPatch{
		EnvironmentKey: "production", Comment: "changed in the UI",
		Instructions: []ld.Instruction{{Kind: ld.KindAddTargets, VariationID: "d-true", ContextKind: "user", Values: []string{"zed"}}},
	}); err != nil {
		t.Fatal(err)
	}
	updated, _ := b.click(t, approverID, "change_approve", id)
	wantContains(t, "stale request", updated.Params["blocks"], "Not applied", "change_request_again")
	if flagOn(t, lds, "dark-mode", "production") {
		t.Fatal("a stale change was applied")
	}

	// LaunchDarkly fails the write: failed, nothing marked applied.
	id, _ = b.request(t, userID, "on dark-mode production")
	lds.FailNextMethod(http.MethodPatch, 1, http.StatusInternalServerError, "internal", "database unavailable")
	updated, refused := b.click(t, approverID, "change_approve", id)
	if updated == nil {
		t.Fatalf("failed apply did not update the request: %+v", refused)
	}
	if strings.Contains(updated.Params["blocks"], "*Applied*") || flagOn(t, lds, "dark-mode", "production") {
		t.Fatal("a change LaunchDarkly refused was marked applied")
	}
	wantContains(t, "failed request", updated.Params["blocks"], "Not applied")
}

func TestApprovalRequiredByLaunchDarkly(t *testing.T) {
	sl := newApprovalSlack(t)
	lds := ldtest.NewServer(t)
	lds.AddToken(writerToken, ldtest.TokenInfo{ID: "tok-writer", Name: "flagbot-writer", Role: "writer"})
	lds.AddProject(ld.Project{Key: "web"}, ldtest.EnvSpec{Key: "production", RequireApproval: true})
	lds.AddFlag("web", ld.Flag{Key: "dark-mode", Kind: "boolean",
		Variations:   []ld.Variation{{ID: "d-true", Value: json.RawMessage("true")}, {ID: "d-false", Value: json.RawMessage("false")}},
		Environments: map[string]ld.FlagEnvironment{"production": {On: false}}})
	b := connected(t, sl, lds, writerToken)
	id, _ := b.request(t, userID, "on dark-mode production")
	updated, refused := b.click(t, approverID, "change_approve", id)
	if updated == nil {
		t.Fatalf("no update: %+v", refused)
	}
	wantContains(t, "LD approval", updated.Params["blocks"], "LaunchDarkly")
	if flagOn(t, lds, "dark-mode", "production") {
		t.Fatal("LaunchDarkly's approval gate was bypassed")
	}
	// The LaunchDarkly approval request carries the same instructions and
	// names the Slack approver, so LaunchDarkly's reviewers see the story.
	var created []ld.ApprovalRequestInput
	for _, r := range lds.Requests() {
		if r.Method == http.MethodPost && strings.HasSuffix(r.Path, "/flags/dark-mode/environments/production/approval-requests") {
			var in ld.ApprovalRequestInput
			if err := json.Unmarshal(r.Body, &in); err != nil {
				t.Fatal(err)
			}
			created = append(created, in)
		}
	}
	if len(created) != 1 {
		t.Fatalf("%d LaunchDarkly approval requests created, want 1", len(created))
	}
	if len(created[0].Instructions) != 1 || created[0].Instructions[0].Kind != ld.KindTurnFlagOn {
		t.Errorf("approval request instructions = %+v, want one turnFlagOn", created[0].Instructions)
	}
	wantContains(t, "approval request description", created[0].Description, "dark-mode", approverID)
	wantContains(t, "approval request comment", created[0].Comment, "Requested by", userID, "approved by", approverID, id)
	b.assertNoSecrets(t)
}

func TestTwoOfNApprovalsAndOtherWorkspace(t *testing.T) {
	forEachMode(t, testTwoOfNApprovalsAndOtherWorkspace)
}

func testTwoOfNApprovalsAndOtherWorkspace(t *testing.T, m mode) {
	sl, lds := newApprovalSlack(t), newLD(t)
	b := connectedIn(t, m, sl, lds, writerToken)
	r := b.command(t, teamID, adminID, "config approvals production 2")
	wantContains(t, "config", string(r.Body), "2")

	id, _ := b.request(t, userID, "on dark-mode production")
	updated, _ := b.click(t, approverID, "change_approve", id)
	wantContains(t, "1 of 2", updated.Params["blocks"], "1 of 2", "change_approve")
	if flagOn(t, lds, "dark-mode", "production") {
		t.Fatal("applied after one of two approvals")
	}
	if _, refused := b.click(t, approverID, "change_approve", id); refused == nil {
		t.Error("the same person approved twice")
	}
	// Someone from another workspace (Slack Connect) clicks: refused.
	sent := time.Now()
	if _, err := sl.BlockAction(slackfake.BlockAction{UserID: "UEXTERNAL", UserTeamID: otherTeamID, ChannelID: channelID, ActionID: "change_approve", Value: id, MessageTS: "1.1"}); err != nil {
		t.Fatal(err)
	}
	resp := b.responseAfter(t, sent, "external approval")
	var refusal struct{ Text string }
	if err := json.Unmarshal(resp.Body, &refusal); err != nil {
		t.Fatal(err)
	}
	if want := "Flagbot acts for the workspace that installed it, so people from other organisations in this channel can't use it. `/flag help` still works."; refusal.Text != want {
		t.Errorf("external refusal = %q, want %q", refusal.Text, want)
	}
	if flagOn(t, lds, "dark-mode", "production") {
		t.Fatal("an external user's click applied the change")
	}
	updated, _ = b.click(t, "USECOND", "change_approve", id)
	wantContains(t, "applied", updated.Params["blocks"], "Applied")
	if !flagOn(t, lds, "dark-mode", "production") {
		t.Fatal("not applied after two approvals")
	}
}

func TestDuplicateEnvelopeMakesOneChange(t *testing.T) {
	sl, lds := newApprovalSlack(t), newLD(t)
	b := connected(t, sl, lds, writerToken)
	payload := map[string]any{
		"team_id": teamID, "channel_id": channelID, "user_id": userID, "command": "/flag",
		"text": "on dark-mode production", "response_url": sl.NewResponseURL(), "trigger_id": sl.NewTriggerID(), "api_app_id": slackfake.AppID,
	}
	before := len(sl.Calls("chat.postMessage"))
	sent := time.Now()
	for range 2 {
		id, err := sl.Send("slash_commands", payload, true)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sl.WaitAck(waitCtx(t), id); err != nil {
			t.Fatal(err)
		}
	}
	posted, err := sl.WaitCall(waitCtx(t), "chat.postMessage", func(c slackfake.Call) bool { return c.At.After(sent) })
	if err != nil {
		t.Fatalf("no request posted: %v", err)
	}
	// The redelivered envelope answers that the request is already posted.
	dup, err := sl.WaitResponse(waitCtx(t), func(r slackfake.Response) bool { return r.At.After(sent) })
	if err != nil {
		t.Fatalf("the redelivered envelope was not answered: %v", err)
	}
	id := buttonValue(t, json.RawMessage(posted.Params["blocks"]), "change_approve")
	wantText(t, "redelivered request", replyText(t, &dup), "That request is already posted (request `"+id+"`).")
	r := b.command(t, teamID, userID, "pending")
	wantContains(t, "pending", string(r.Body), "Pending changes: 1")
	if n := len(sl.Calls("chat.postMessage")) - before; n != 1 {
		t.Errorf("%d request messages posted, want 1", n)
	}
}

func TestExpiry(t *testing.T) {
	sl, lds := newApprovalSlack(t), newLD(t)
	b := connected(t, sl, lds, writerToken, withEnv("FLAGBOT_APPROVAL_TTL", "1s"), withEnv("FLAGBOT_SWEEP_INTERVAL", "200ms"))
	id, _ := b.request(t, userID, "on dark-mode production")
	call, err := sl.WaitCall(waitCtx(t), "chat.update", func(c slackfake.Call) bool { return strings.Contains(c.Params["blocks"], "Expired") })
	if err != nil {
		t.Fatalf("the sweeper did not mark the request expired: %v", err)
	}
	wantContains(t, "expired", call.Params["blocks"], id)
	_, refused := b.click(t, approverID, "change_approve", id)
	if refused == nil || !strings.Contains(strings.ToLower(string(refused.Body)), "expired") {
		t.Errorf("an expired change was approvable: %+v", refused)
	}
	if flagOn(t, lds, "dark-mode", "production") {
		t.Fatal("an expired change was applied")
	}
}

func TestApprovalSurvivesRestart(t *testing.T) {
	rs := startRedisServer(t)
	sl, lds := newApprovalSlack(t), newLD(t)
	env := []botOption{withEnv("REDIS_URL", rs.url()), withEnv("FLAGBOT_ENCRYPTION_KEY", testKeyB64)}
	first := connected(t, sl, lds, writerToken, env...)
	id, _ := first.request(t, userID, "on dark-mode production")
	first.stop(t)
	second := startBot(t, sl, lds, env...)
	updated, refused := second.click(t, approverID, "change_approve", id)
	if updated == nil {
		t.Fatalf("approval after restart failed: %+v", refused)
	}
	if !flagOn(t, lds, "dark-mode", "production") {
		t.Fatal("not applied after restart")
	}
}

func TestDeleteNeedsTheKeyTyped(t *testing.T) {
	sl, lds := newApprovalSlack(t), newLD(t)
	b := connected(t, sl, lds, writerToken)
	id, posted := b.request(t, userID, `delete bulk-flag-01 --reason "unused since March"`)
	wantContains(t, "delete request", posted.Params["blocks"], "change_approve_delete", "every environment")

	sent := time.Now()
	if _, err := sl.BlockAction(slackfake.BlockAction{UserID: approverID, ChannelID: channelID, ActionID: "change_approve_delete", Value: id, MessageTS: "1700000000.000009"}); err != nil {
		t.Fatal(err)
	}
	view, err := sl.WaitCall(waitCtx(t), "views.open", func(c slackfake.Call) bool { return c.At.After(sent) })
	if err != nil || view.Error != "" {
		t.Fatalf("no confirmation modal: %v %s", err, view.Error)
	}
	var body struct {
		View struct {
			PrivateMetadata string `json:"private_metadata"`
		} `json:"view"`
	}
	if err := json.Unmarshal(view.Body, &body); err != nil {
		t.Fatal(err)
	}
	submit := func(typed string) slackfake.Ack {
		t.Helper()
		eid, err := sl.ViewSubmission(slackfake.ViewSubmission{UserID: approverID, CallbackID: "change_confirm_delete",
			PrivateMetadata: body.View.PrivateMetadata,
			Values:          map[string]map[string]any{"confirm_key": {"confirm_key_input": map[string]any{"type": "plain_text_input", "value": typed}}}})
		if err != nil {
			t.Fatal(err)
		}
		ack, err := sl.WaitAck(waitCtx(t), eid)
		if err != nil {
			t.Fatal(err)
		}
		return ack
	}
	if ack := submit("bulk-flag-02"); !strings.Contains(string(ack.Payload), "confirm_key") {
		t.Fatalf("a wrong key was accepted: %s", ack.Payload)
	}
	if _, ok := lds.Flag("web", "bulk-flag-01"); !ok {
		t.Fatal("deleted after a wrong key")
	}
	sent = time.Now()
	if ack := submit("bulk-flag-01"); len(ack.Payload) != 0 {
		t.Fatalf("the right key was refused: %s", ack.Payload)
	}
	updated, err := sl.WaitCall(waitCtx(t), "chat.update", func(c slackfake.Call) bool { return c.At.After(sent) })
	if err != nil {
		t.Fatalf("the request was not updated: %v", err)
	}
	wantContains(t, "deleted", updated.Params["blocks"], "Applied")
	if _, ok := lds.Flag("web", "bulk-flag-01"); ok {
		t.Fatal("the flag still exists after an approved deletion")
	}
}

// BenchmarkRequestToPost measures a write request end to end: `/flag on`
// sent over the socket → validated against the fake LaunchDarkly → stored
// in Redis → the request message posted (chat.postMessage received by the
// fake Slack). Target p99 < 20 ms.
func BenchmarkRequestToPost(b *testing.B) {
	sl, lds := newApprovalSlack(b), newLD(b)
	bt := connected(b, sl, lds, writerToken)
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		sent := time.Now()
		text := "on dark-mode production"
		if i%2 == 1 {
			text = "off dark-mode staging"
		}
		if _, err := sl.SlashCommand(slackfake.SlashCommand{UserID: userID, ChannelID: channelID, Text: text}); err != nil {
			b.Fatal(err)
		}
		c, err := sl.WaitCall(waitCtx(b), "chat.postMessage", func(c slackfake.Call) bool { return c.At.After(sent) })
		if err != nil {
			b.Fatal(err)
		}
		lat = append(lat, c.At.Sub(sent))
	}
	b.StopTimer()
	reportPercentiles(b, lat)
	_ = bt
}
