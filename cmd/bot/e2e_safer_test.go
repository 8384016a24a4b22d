package main

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flagbot/flagbot/internal/ld"
	"github.com/flagbot/flagbot/internal/ld/ldtest"
	"github.com/flagbot/flagbot/internal/slackfake"
)

// Undo, the kill switch, scheduled changes and approvers who get told, end
// to end: the real bot through run (runBot with an injected clock where
// hours must pass), the fake Slack and the fake LaunchDarkly.

// testClock is a settable clock for botHooks.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func newTestClock() *testClock { return &testClock{now: time.Now().UTC().Truncate(time.Second)} }

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// clocked starts a connected bot on clock, sweeping every 100 ms.
func clocked(t *testing.T, sl *slackfake.Server, lds *ldtest.Server, clock *testClock, opts ...botOption) *bot {
	t.Helper()
	opts = append([]botOption{withEnv("FLAGBOT_SWEEP_INTERVAL", "100ms")}, opts...)
	b := startBotHooks(t, sl, lds, botHooks{now: clock.Now}, opts...)
	if ack := b.connect(t, teamID, adminID, writerToken, "web", "production"); len(ack.Payload) != 0 {
		t.Fatalf("connect failed: %s", ack.Payload)
	}
	return b
}

// press clicks a button as user on the message at channel/ts and returns
// when it was sent.
func (b *bot) press(t testing.TB, user, channel, ts, action, value string) time.Time {
	t.Helper()
	sent := time.Now()
	if _, err := b.slack.BlockAction(slackfake.BlockAction{UserID: user, ChannelID: channel, ActionID: action, Value: value, MessageTS: ts}); err != nil {
		t.Fatal(err)
	}
	return sent
}

// waitCall waits for a Web API call after after that match accepts.
func (b *bot) waitCall(t testing.TB, method string, after time.Time, what string, match func(slackfake.Call) bool) slackfake.Call {
	t.Helper()
	c, err := b.slack.WaitCall(waitCtx(t), method, func(c slackfake.Call) bool { return c.At.After(after) && match(c) })
	if err != nil {
		t.Fatalf("no %s (%s): %v", what, method, err)
	}
	if c.Error != "" {
		t.Fatalf("%s: the fake Slack answered %s", what, c.Error)
	}
	return c
}

// has matches calls whose blocks or text contain every s.
func has(subs ...string) func(slackfake.Call) bool {
	return func(c slackfake.Call) bool {
		all := unescapeJSON(c.Params["blocks"]) + c.Params["text"]
		for _, s := range subs {
			if !strings.Contains(all, s) {
				return false
			}
		}
		return true
	}
}

// in matches calls to channel (a user ID for direct messages).
func in(channel string, also func(slackfake.Call) bool) func(slackfake.Call) bool {
	return func(c slackfake.Call) bool { return c.Params["channel"] == channel && also(c) }
}

// messageTS is the ts of the newest message in channel whose blocks hold
// sub.
func (b *bot) messageTS(t testing.TB, channel, sub string) string {
	t.Helper()
	msgs := b.slack.Messages(channel, "")
	for i := len(msgs) - 1; i >= 0; i-- {
		if strings.Contains(unescapeJSON(string(msgs[i].Blocks)), sub) {
			return msgs[i].TS
		}
	}
	t.Fatalf("no message in %s holds %q", channel, sub)
	return ""
}

// envState is the part of a flag environment undo restores, comparable.
func envState(t testing.TB, lds *ldtest.Server, key, env string) string {
	t.Helper()
	f, ok := lds.Flag("web", key)
	if !ok {
		t.Fatalf("flag %s is gone", key)
	}
	fe := f.Environments[env]
	for _, tl := range fe.Targets {
		slices.Sort(tl.Values)
	}
	fe.Version, fe.LastModified, fe.Site, fe.Summary, fe.EnvironmentName = 0, 0, ld.Link{}, nil, ""
	js, _ := json.Marshal(struct {
		Archived bool
		Env      ld.FlagEnvironment
	}{f.Archived, fe})
	return string(js)
}

// lastPatchComment is the comment of the last write LaunchDarkly got.
func lastPatchComment(lds *ldtest.Server) string {
	var comment string
	for _, r := range lds.Requests() {
		if r.Method == http.MethodPatch {
			var body struct{ Comment string }
			_ = json.Unmarshal(r.Body, &body)
			comment = body.Comment
		}
	}
	return comment
}

// TestUndoEveryKindEndToEnd: each kind of applied change gets an Undo
// button; pressing it posts the inverse as a new request that says what it
// undoes, the original says an undo was requested and then that it was
// undone, and once approved the flag is as it was.
func TestUndoEveryKindEndToEnd(t *testing.T) {
	sl, lds := newApprovalSlack(t), newLD(t)
	b := connected(t, sl, lds, writerToken)
	// bulk-flag-04 is archived first, so that a restore can be undone too.
	archived, _ := b.request(t, userID, "archive bulk-flag-04")
	if u, _ := b.click(t, approverID, "change_approve", archived); u == nil {
		t.Fatal("the archive of bulk-flag-04 was not applied")
	}
	tests := []struct {
		text, flag, env string
		undoVerb        string // what the undo request says it does
	}{
		{"on dark-mode production", "dark-mode", "production", "turn off `dark-mode` in *production*"},
		{"off new-checkout production", "new-checkout", "production", "turn on `new-checkout` in *production*"},
		{"serve new-checkout Disabled staging", "new-checkout", "staging", "change what `new-checkout` serves by default in *staging*"},
		{"rollout new-checkout Enabled=50 Disabled=50 production", "new-checkout", "production", "roll out `new-checkout` in *production*"},
		{"offvariation new-checkout Enabled staging", "new-checkout", "staging", "change the off variation of `new-checkout` in *staging*"},
		{"target new-checkout add Disabled cy,org:acme production", "new-checkout", "production", "change the targets of `new-checkout` in *production*"},
		{"archive bulk-flag-03", "bulk-flag-03", "production", "restore `bulk-flag-03`"},
		{"create brand-new Brand new", "brand-new", "production", "archive `brand-new`"},
		{"restore bulk-flag-04", "bulk-flag-04", "production", "archive `bulk-flag-04`"},
	}
	for _, tt := range tests {
		before := ""
		if _, ok := lds.Flag("web", tt.flag); ok {
			before = envState(t, lds, tt.flag, tt.env)
		}
		id, _ := b.request(t, userID, tt.text)
		updated, refused := b.click(t, approverID, "change_approve", id)
		if updated == nil {
			t.Fatalf("%s: not applied: %+v", tt.text, refused)
		}
		if v := buttonValue(t, json.RawMessage(updated.Params["blocks"]), "change_undo"); v != id {
			t.Fatalf("%s: Undo button value %q, want the change id", tt.text, v)
		}
		origTS := b.messageTS(t, channelID, "Request `"+id+"`")

		sent := b.press(t, "USECOND", channelID, origTS, "change_undo", id)
		undoPost := b.waitCall(t, "chat.postMessage", sent, tt.text+": undo request", in(channelID, has("Undo of request `"+id+"`")))
		wantText(t, tt.text+": undo request", undoPost.Params["text"], "<@USECOND> wants to "+tt.undoVerb+" (pending).")
		undoID := buttonValue(t, json.RawMessage(undoPost.Params["blocks"]), "change_approve")
		b.waitCall(t, "chat.update", sent, tt.text+": original links the undo", in(channelID, has("Request `"+id+"`", "Undo requested by <@USECOND>: request `"+undoID+"`")))

		sent = time.Now()
		if u, refused := b.click(t, approverID, "change_approve", undoID); u == nil || !strings.Contains(u.Params["blocks"], "Applied") {
			t.Fatalf("%s: undo not applied: %+v", tt.text, refused)
		}
		b.waitCall(t, "chat.update", sent, tt.text+": original says undone", in(channelID, has("Request `"+id+"`", "*Undone* by request `"+undoID+"`")))
		if before != "" {
			if got := envState(t, lds, tt.flag, tt.env); got != before {
				t.Errorf("%s: after the undo\n got %s\nwant %s", tt.text, got, before)
			}
		} else if f, _ := lds.Flag("web", tt.flag); !f.Archived {
			t.Errorf("%s: the created flag was not archived by its undo", tt.text)
		}
		if c := lastPatchComment(lds); !strings.Contains(c, "undo of request "+id) {
			t.Errorf("%s: LaunchDarkly comment %q does not name the original", tt.text, c)
		}
	}
	// An undone change refuses a second undo, in words.
	id, _ := b.request(t, userID, "off dark-mode staging")
	b.click(t, approverID, "change_approve", id)
	sent := b.press(t, "USECOND", channelID, "1.1", "change_undo", id)
	undoID := buttonValue(t, json.RawMessage(b.waitCall(t, "chat.postMessage", sent, "undo", has("Undo of request `"+id+"`")).Params["blocks"]), "change_approve")
	b.waitCall(t, "chat.update", sent, "original links the undo", has("Request `"+id+"`", "Undo requested"))
	_, refused := b.click(t, approverID, "change_undo", id)
	if refused == nil {
		t.Fatal("a second undo was not refused")
	}
	wantText(t, "second undo", replyText(t, refused), "An undo of request `"+id+"` is already requested: request `"+undoID+"`.")

	// `/flag undo` typed in another channel posts next to the original.
	id, _ = b.request(t, userID, "off bulk-flag-02 production")
	b.click(t, approverID, "change_approve", id)
	sent = time.Now()
	if _, err := sl.SlashCommand(slackfake.SlashCommand{UserID: "USECOND", ChannelID: "C0OTHER", Text: "undo " + id[:8]}); err != nil {
		t.Fatal(err)
	}
	b.waitCall(t, "chat.postMessage", sent, "undo typed elsewhere", in(channelID, has("Undo of request `"+id+"`")))
	r := b.responseAfter(t, sent, "undo typed elsewhere")
	wantText(t, "undo typed elsewhere", replyText(t, &r), "I posted the request in <#C0FLAGS>, next to the change it undoes.")
	b.assertNoSecrets(t)
}

// TestUndoChangedSinceEndToEnd: when the flag moved since, Undo shows the
// clicker what changed and files nothing until they press Undo anyway.
func TestUndoChangedSinceEndToEnd(t *testing.T) {
	sl, lds := newApprovalSlack(t), newLD(t)
	b := connected(t, sl, lds, writerToken)
	id, _ := b.request(t, userID, "off new-checkout production")
	b.click(t, approverID, "change_approve", id)
	if _, err := lds.Client(writerToken).PatchFlag(t.Context(), "web", "new-checkout", ld.SemanticPatch{
		EnvironmentKey: "production", Comment: "hotfix from the UI",
		Instructions: []ld.Instruction{{Kind: ld.KindAddTargets, VariationID: "v-false", ContextKind: "user", Values: []string{"zed"}}},
	}); err != nil {
		t.Fatal(err)
	}
	posts := len(sl.Calls("chat.postMessage"))
	_, shown := b.click(t, "USECOND", "change_undo", id)
	if shown == nil {
		t.Fatal("no confirmation")
	}
	wantText(t, "confirmation", replyText(t, shown), "`new-checkout` changed in LaunchDarkly after request `"+id+"` was applied. Undo anyway?")
	wantContains(t, "confirmation", string(shown.Body), "`production` version 13 → 14", "token flagbot-writer: addTargets (“hotfix from the UI”)",
		"Now: `new-checkout` is now off in `production`.")
	if n := len(sl.Calls("chat.postMessage")); n != posts {
		t.Fatal("an unconfirmed undo was posted")
	}
	confirm := buttonValue(t, json.RawMessage(shown.Blocks), "change_undo_confirm")
	sent := b.press(t, "USECOND", channelID, "1.2", "change_undo_confirm", confirm)
	undoPost := b.waitCall(t, "chat.postMessage", sent, "confirmed undo", in(channelID, has("Undo of request `"+id+"`")))
	undoID := buttonValue(t, json.RawMessage(undoPost.Params["blocks"]), "change_approve")
	replaced := b.responseAfter(t, sent, "confirmation replaced")
	wantText(t, "confirmation replaced", replyText(t, &replaced), "Undo requested: request `"+undoID+"`.")
	if u, _ := b.click(t, approverID, "change_approve", undoID); u == nil || !flagOn(t, lds, "new-checkout", "production") {
		t.Fatal("the confirmed undo did not turn the flag back on")
	}
}

// TestKillSwitchEndToEnd: refused until an admin names the responders and
// for anyone else; a responder's kill applies at once and posts an
// emergency message; someone else signs off; unsigned, the thread and the
// responders are reminded halfway, the message says not signed off at the
// deadline and digests list it until it is signed off; Revert files the
// inverse as a normal request.
func TestKillSwitchEndToEnd(t *testing.T) {
	sl, lds, clock := newApprovalSlack(t), newLD(t), newTestClock()
	sl.SetUser(slackfake.User{ID: "UDAN", Name: "dan", RealName: "Dan Responder"})
	sl.SetUserGroup("S0ONCALL", userID, "UDAN")
	b := clocked(t, sl, lds, clock)
	const kill = `kill new-checkout production --reason "checkout errors"`

	r := b.command(t, teamID, userID, kill)
	wantText(t, "kill before set-up", replyText(t, &r), "The kill switch isn't set up in this workspace: an admin names the responders who may use it with `/flag config breakglass @group`. Until then, ask for the change with `/flag off new-checkout`.")
	r = b.command(t, teamID, adminID, "config breakglass <!subteam^S0ONCALL|@oncall>")
	wantText(t, "breakglass config", replyText(t, &r), "Members of <!subteam^S0ONCALL> can now use `/flag kill` to turn a flag off at once, with no approval; someone else signs it off afterwards.")
	r = b.command(t, teamID, approverID, kill)
	wantText(t, "kill by a non-responder", replyText(t, &r), "Only members of <!subteam^S0ONCALL> can use the kill switch. Ask for the change with `/flag off new-checkout` instead.")
	if !flagOn(t, lds, "new-checkout", "production") {
		t.Fatal("a refused kill turned the flag off")
	}

	sent := time.Now()
	if _, err := sl.SlashCommand(slackfake.SlashCommand{UserID: userID, ChannelID: channelID, Text: kill}); err != nil {
		t.Fatal(err)
	}
	posted := b.waitCall(t, "chat.postMessage", sent, "emergency message", in(channelID, has("change_sign_off")))
	wantText(t, "emergency message", posted.Params["text"], "Emergency: <@UUSER> killed `new-checkout` in production (sign-off pending).")
	wantContains(t, "emergency message", posted.Params["blocks"], "*Who*", "*When*", "*Why*", "checkout errors", "change_revert")
	id := buttonValue(t, json.RawMessage(posted.Params["blocks"]), "change_sign_off")
	if flagOn(t, lds, "new-checkout", "production") {
		t.Fatal("the kill did not turn the flag off at once")
	}
	wantContains(t, "LaunchDarkly comment", lastPatchComment(lds), "Emergency change by", "(UUSER) via Flagbot, sign-off pending; reason: checkout errors; request "+id)
	r = b.command(t, teamID, "UDAN", kill)
	wantText(t, "kill of a flag that is off", replyText(t, &r), "`new-checkout` is already off in `production`; nothing was changed.")
	killTS := b.messageTS(t, channelID, "Request `"+id+"`")
	_, refused := b.click(t, userID, "change_sign_off", id)
	wantText(t, "self sign-off", replyText(t, refused), "You made this emergency change, so someone else has to sign it off.")

	// Halfway: a reminder in the thread, and a DM to the other responder.
	sent = time.Now()
	clock.Add(12 * time.Hour)
	reply := b.waitCall(t, "chat.postMessage", sent, "sign-off reminder", in(channelID, has("Reminder")))
	if reply.Params["thread_ts"] != killTS {
		t.Errorf("the reminder went to thread %q, want the kill's message %q", reply.Params["thread_ts"], killTS)
	}
	wantText(t, "sign-off reminder", reply.Params["text"], ":rotating_light: Reminder: <@UUSER>'s emergency change (`new-checkout` off in `production`) still needs a sign-off by someone else, by <DATE>. Review it, then *Sign off* or *Revert*.")
	dm := b.waitCall(t, "chat.postMessage", sent, "responder DM", in("UDAN", has("change_sign_off")))
	wantText(t, "responder DM", dm.Params["text"], slackDates.ReplaceAllString(reply.Params["text"], "<DATE>"))
	if n := len(slices.DeleteFunc(sl.Calls("chat.postMessage"), func(c slackfake.Call) bool { return c.Params["channel"] != userID })); n != 0 {
		t.Errorf("the responder who killed got %d DMs", n)
	}

	// At the deadline: not signed off, and the digest lists it.
	sent = time.Now()
	clock.Add(12 * time.Hour)
	b.waitCall(t, "chat.update", sent, "not signed off", in(channelID, has("Request `"+id+"`", "*not signed off*")))
	b.waitCall(t, "chat.postMessage", sent, "overdue reply", in(channelID, has(":warning: *Not signed off*")))
	b.command(t, teamID, adminID, "digest subscribe")
	sent = time.Now()
	b.command(t, teamID, adminID, "digest now")
	b.waitCall(t, "chat.postMessage", sent, "digest with the unsigned kill", in(channelID, has("LaunchDarkly digest", "*Not signed off*", "`new-checkout` off in `production`", "checkout errors")))

	// Revert: the inverse as a normal request.
	sent = b.press(t, approverID, channelID, killTS, "change_revert", id)
	revert := b.waitCall(t, "chat.postMessage", sent, "revert request", in(channelID, has("Undo of request `"+id+"`")))
	wantText(t, "revert request", revert.Params["text"], "<@UAPPROVER> wants to turn on `new-checkout` in *production* (pending).")
	revertID := buttonValue(t, json.RawMessage(revert.Params["blocks"]), "change_approve")
	b.waitCall(t, "chat.update", sent, "kill links the revert", in(channelID, has("Request `"+id+"`", "Revert requested")))
	sent = time.Now()
	if u, _ := b.click(t, "USECOND", "change_approve", revertID); u == nil || !flagOn(t, lds, "new-checkout", "production") {
		t.Fatal("the revert was not applied")
	}
	b.waitCall(t, "chat.update", sent, "kill says it was reverted", in(channelID, has("Request `"+id+"`", "*Reverted* by request `"+revertID+"`")))

	// Signed off: the message says by whom, and digests stop listing it.
	updated, refused := b.click(t, approverID, "change_sign_off", id)
	if updated == nil {
		t.Fatalf("sign-off refused: %+v", refused)
	}
	wantContains(t, "signed off", updated.Params["blocks"], "Signed off by <@"+approverID+">")
	sent = time.Now()
	b.command(t, teamID, adminID, "digest now")
	d := b.waitCall(t, "chat.postMessage", sent, "digest", in(channelID, has("LaunchDarkly digest")))
	if strings.Contains(d.Params["blocks"], "Not signed off") {
		t.Error("a signed-off kill is still listed in the digest")
	}
	b.assertNoSecrets(t)
}

// TestScheduledEndToEnd: approved first, then scheduled with Cancel
// schedule; applied at its time by the sweeper and the requester told;
// late within the grace it says so; missed after it; stale when the flag
// moved; a cancelled schedule applies nothing.
func TestScheduledEndToEnd(t *testing.T) {
	sl, lds, clock := newApprovalSlack(t), newLD(t), newTestClock()
	b := clocked(t, sl, lds, clock)

	schedule := func(text string) (string, slackfake.Call) {
		t.Helper()
		id, posted := b.request(t, userID, text)
		wantContains(t, "scheduled request", posted.Params["blocks"], "*Applies at*")
		updated, refused := b.click(t, approverID, "change_approve", id)
		if updated == nil {
			t.Fatalf("%s: approval refused: %+v", text, refused)
		}
		wantContains(t, text, updated.Params["blocks"], "*Scheduled*: approved by <@"+approverID+">", "change_cancel_schedule")
		return id, *updated
	}
	id, _ := schedule(`on dark-mode production --in 2h --reason "launch"`)
	told := b.waitCall(t, "chat.postEphemeral", time.Time{}, "requester told of the schedule", has("Your request", "*Scheduled*"))
	wantText(t, "requester told of the schedule", told.Params["text"], "Your request to turn on `dark-mode` in *production*: *Scheduled*: approved by <@UAPPROVER>; it applies <DATE>.")
	r := b.command(t, teamID, userID, "scheduled")
	wantContains(t, "/flag scheduled", string(r.Body), "Scheduled changes", id[:8], "applies")
	if flagOn(t, lds, "dark-mode", "production") {
		t.Fatal("applied before its time")
	}
	sent := time.Now()
	clock.Add(2 * time.Hour)
	done := b.waitCall(t, "chat.update", sent, "applied at its time", in(channelID, has("Request `"+id+"`", "*Applied*")))
	if strings.Contains(done.Params["blocks"], "late") || !flagOn(t, lds, "dark-mode", "production") {
		t.Fatalf("at its time: %s", done.Params["blocks"])
	}
	told = b.waitCall(t, "chat.postEphemeral", sent, "requester told", has("Your request", "*Applied*"))
	wantText(t, "requester told", told.Params["text"], "Your request to turn on `dark-mode` in *production*: *Applied* <DATE>, approved by <@UAPPROVER>. Applied: `dark-mode` is now on in `production`.")

	// Late within the grace.
	id, _ = schedule("off dark-mode production --in 10m")
	sent = time.Now()
	clock.Add(40 * time.Minute)
	b.waitCall(t, "chat.update", sent, "applied late", in(channelID, has("Request `"+id+"`", "*Applied*", "Applied late, at")))

	// Missed after the grace.
	id, _ = schedule("on dark-mode production --in 10m")
	sent = time.Now()
	clock.Add(2 * time.Hour)
	b.waitCall(t, "chat.update", sent, "missed", in(channelID, has("Request `"+id+"`", "*Missed*", "nothing was changed")))
	if flagOn(t, lds, "dark-mode", "production") {
		t.Fatal("a missed change was applied")
	}

	// Stale at its time.
	id, _ = schedule("on dark-mode production --in 10m")
	if _, err := lds.Client(writerToken).PatchFlag(t.Context(), "web", "dark-mode", ld.SemanticPatch{EnvironmentKey: "production",
		Instructions: []ld.Instruction{{Kind: ld.KindAddTargets, VariationID: "d-true", ContextKind: "user", Values: []string{"zed"}}}}); err != nil {
		t.Fatal(err)
	}
	sent = time.Now()
	clock.Add(10 * time.Minute)
	b.waitCall(t, "chat.update", sent, "stale", in(channelID, has("Request `"+id+"`", "*Not applied*")))
	if flagOn(t, lds, "dark-mode", "production") {
		t.Fatal("a stale scheduled change was applied")
	}

	// Cancelled: a bystander may not, an approver may.
	id, _ = schedule("on dark-mode production --in 1h")
	_, refused := b.click(t, "USECOND", "change_cancel_schedule", id)
	if refused == nil {
		t.Fatal("a bystander cancelled the schedule")
	}
	wantText(t, "bystander cancel", replyText(t, refused), "Only <@UUSER>, who asked for this change, the people who approved it and admins can cancel its schedule.")
	updated, _ := b.click(t, approverID, "change_cancel_schedule", id)
	if updated == nil {
		t.Fatal("the approver could not cancel the schedule")
	}
	wantContains(t, "cancelled schedule", updated.Params["blocks"], "*Schedule cancelled* by <@"+approverID+">")
	before := patches(lds)
	clock.Add(2 * time.Hour)
	time.Sleep(500 * time.Millisecond) // a few sweeps
	if patches(lds) != before || flagOn(t, lds, "dark-mode", "production") {
		t.Fatal("a cancelled schedule was applied")
	}
	b.assertNoSecrets(t)
}

// TestScheduledExactlyOnceTwoReplicasEndToEnd: two bots on one real Redis
// with one clock: every scheduled change is written to LaunchDarkly once.
func TestScheduledExactlyOnceTwoReplicasEndToEnd(t *testing.T) {
	rs := startRedisServer(t)
	sl, lds, clock := newApprovalSlack(t), newLD(t), newTestClock()
	env := []botOption{withEnv("REDIS_URL", rs.url()), withEnv("FLAGBOT_ENCRYPTION_KEY", testKeyB64)}
	first := clocked(t, sl, lds, clock, env...)
	second := startBotHooks(t, sl, lds, botHooks{now: clock.Now}, append(env, withEnv("FLAGBOT_SWEEP_INTERVAL", "100ms"))...)
	flags := []string{"bulk-flag-01", "bulk-flag-03", "bulk-flag-05", "bulk-flag-07", "bulk-flag-09", "bulk-flag-11"}
	for _, f := range flags {
		id, _ := first.request(t, userID, "on "+f+" production --in 1h")
		if u, refused := second.click(t, approverID, "change_approve", id); u == nil || !strings.Contains(u.Params["blocks"], "*Scheduled*") {
			t.Fatalf("%s: %+v %+v", f, u, refused)
		}
	}
	clock.Add(time.Hour)
	deadline := time.Now().Add(10 * time.Second)
	for _, f := range flags {
		for !flagOn(t, lds, f, "production") {
			if time.Now().After(deadline) {
				t.Fatalf("%s was not applied", f)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	time.Sleep(500 * time.Millisecond) // more sweeps on both replicas
	count := map[string]int{}
	for _, r := range lds.Requests() {
		if r.Method == http.MethodPatch {
			count[r.Path[strings.LastIndex(r.Path, "/")+1:]]++
		}
	}
	for _, f := range flags {
		if count[f] != 1 {
			t.Errorf("%s patched %d times, want exactly 1", f, count[f])
		}
	}
}

// TestApproverDMsEndToEnd: the approver group hears of a request in a
// direct message (not the requester, not who turned them off) and can
// approve right there; the channel message and the DM both show the
// outcome; halfway to its expiry a request gets one reminder in its thread.
func TestApproverDMsEndToEnd(t *testing.T) {
	sl, lds, clock := newApprovalSlack(t), newLD(t), newTestClock()
	sl.SetUserGroup("S0REL", approverID, "USECOND", userID)
	b := clocked(t, sl, lds, clock)
	b.command(t, teamID, adminID, "config approvers <!subteam^S0REL|@release>")
	r := b.command(t, teamID, "USECOND", "notify off")
	wantText(t, "notify off", replyText(t, &r), "Done: Flagbot won't send you direct messages any more. Requests and emergency changes are still posted in their channels. `/flag notify on` turns them back on.")

	sent := time.Now()
	id, _ := b.request(t, userID, "on dark-mode production")
	dm := b.waitCall(t, "chat.postMessage", sent, "approver DM", in(approverID, has("change_approve")))
	wantText(t, "approver DM", dm.Params["text"], "<@UUSER> wants to turn on `dark-mode` in *production* (pending).")
	wantContains(t, "approver DM", dm.Params["blocks"], "posted in <#C0FLAGS>", "change_reject")
	if strings.Contains(dm.Params["blocks"], "change_cancel") {
		t.Error("the approver's DM offers Cancel")
	}
	time.Sleep(200 * time.Millisecond)
	for _, c := range sl.Calls("chat.postMessage") {
		if c.Params["channel"] == "USECOND" || c.Params["channel"] == userID {
			t.Errorf("a DM went to %s", c.Params["channel"])
		}
	}

	sent = time.Now()
	clock.Add(12 * time.Hour)
	reminder := b.waitCall(t, "chat.postMessage", sent, "reminder", in(channelID, has("Reminder")))
	wantText(t, "reminder", reminder.Params["text"], ":bell: Reminder: this request still needs 1 approval from someone other than <@UUSER>. It expires <DATE>.")
	if reminder.Params["thread_ts"] != b.messageTS(t, channelID, "Request `"+id+"`") {
		t.Errorf("the reminder is not in the request's thread: %q", reminder.Params["thread_ts"])
	}
	clock.Add(time.Hour)
	time.Sleep(300 * time.Millisecond)
	if n := len(slices.DeleteFunc(sl.Calls("chat.postMessage"), func(c slackfake.Call) bool { return !strings.Contains(c.Params["text"], "Reminder") })); n != 1 {
		t.Errorf("%d reminders, want exactly 1", n)
	}

	dmTS := b.messageTS(t, approverID, "Request `"+id+"`")
	sent = b.press(t, approverID, approverID, dmTS, "change_approve", id)
	b.waitCall(t, "chat.update", sent, "DM updated", in(approverID, has("*Applied*")))
	b.waitCall(t, "chat.update", sent, "channel message updated", in(channelID, has("Request `"+id+"`", "*Applied*")))
	if !flagOn(t, lds, "dark-mode", "production") {
		t.Fatal("approving from the DM did not apply the change")
	}
	b.assertNoSecrets(t)
}
