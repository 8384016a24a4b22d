package main

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flagbot/flagbot/internal/ld"
	"github.com/flagbot/flagbot/internal/ld/ldtest"
	"github.com/flagbot/flagbot/internal/slackfake"
)

// The Slack-native surfaces end to end: defaults at connect, the request
// form, App Home and unfurls.

// connectedNote waits for the ephemeral note the bot posts after a connect
// submission sent at sent and returns its text.
func connectedNote(t *testing.T, sl *slackfake.Server, sent time.Time) string {
	t.Helper()
	call, err := sl.WaitCall(waitCtx(t), "chat.postEphemeral", func(c slackfake.Call) bool {
		return c.At.After(sent) && strings.Contains(c.Params["text"], "Connected to LaunchDarkly")
	})
	if err != nil {
		t.Fatalf("no confirmation of the connection: %v", err)
	}
	var blocks []struct {
		Text struct{ Text string } `json:"text"`
	}
	_ = json.Unmarshal([]byte(call.Params["blocks"]), &blocks)
	if len(blocks) == 0 {
		t.Fatalf("confirmation without blocks: %s", call.Body)
	}
	return blocks[0].Text.Text
}

// ackErrors reads a view_submission ack's inline errors.
func ackErrors(t *testing.T, ack slackfake.Ack) map[string]string {
	t.Helper()
	var p struct {
		ResponseAction string            `json:"response_action"`
		Errors         map[string]string `json:"errors"`
	}
	if len(ack.Payload) == 0 {
		return nil
	}
	if err := json.Unmarshal(ack.Payload, &p); err != nil || p.ResponseAction != "errors" {
		t.Fatalf("ack %s is not response_action errors", ack.Payload)
	}
	return p.Errors
}

// TestConnectInfersDefaults connects with only a token (or a typed project
// or environment) against accounts of different shapes.
func TestConnectInfersDefaults(t *testing.T) {
	t.Parallel()
	const confirmed = ":white_check_mark: Connected to LaunchDarkly as token *flagbot-writer* (Writer), ending in `c2e7`.\n"
	const change = " Change them with `/flag config project &lt;key&gt;` and `/flag config env &lt;key&gt;`."
	type project struct {
		p    ld.Project
		envs []ldtest.EnvSpec
	}
	web := project{ld.Project{Key: "web", Name: "Web app"}, []ldtest.EnvSpec{{Key: "staging"}, {Key: "production", Critical: true}}}
	tests := []struct {
		name            string
		projects        []project
		typedP, typedE  string
		wantNote        string
		wantFieldErrors map[string]string
	}{
		{name: "only project", projects: []project{web},
			wantNote: confirmed + "I chose the defaults from what this token sees. Default project `web` (the only project this token can see), environment `production`." + change},
		{name: "project named default, first critical environment", projects: []project{web,
			{ld.Project{Key: "default", Name: "Zed"}, []ldtest.EnvSpec{{Key: "test"}, {Key: "live-eu", Critical: true}, {Key: "live-us", Critical: true}}}},
			wantNote: confirmed + "I chose the defaults from what this token sees. Default project `default` (the project with key `default`), environment `live-eu` (its first critical environment)." + change},
		{name: "first by name, no environment qualifies", projects: []project{web, {ld.Project{Key: "apps", Name: "Mobile apps"}, []ldtest.EnvSpec{{Key: "dev"}}}},
			wantNote: confirmed + "I chose the defaults from what this token sees. Default project `apps` (the first of its 2 projects by name), no default environment (it has no `production` or critical one): commands name one, or set it with `/flag config env &lt;key&gt;`."},
		{name: "typed project, environment inferred", projects: []project{web, {ld.Project{Key: "apps"}, nil}}, typedP: "web",
			wantNote: confirmed + "I chose the defaults from what this token sees. Default project `web`, environment `production`." + change},
		{name: "typed both", projects: []project{web}, typedP: "web", typedE: "staging",
			wantNote: confirmed + "Default project `web`, environment `staging`."},
		{name: "unknown project", projects: []project{web, {ld.Project{Key: "apps"}, nil}, {ld.Project{Key: "webshop"}, nil}}, typedP: "wbe",
			wantFieldErrors: map[string]string{"ld_project": `LaunchDarkly has no project "wbe" (or this token can't see it). It has: web, apps, webshop.`}},
		{name: "unknown environment", projects: []project{web}, typedP: "web", typedE: "prod",
			wantFieldErrors: map[string]string{"ld_env": `Project "web" has no environment "prod". It has: staging, production.`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sl, lds := newSlack(t), ldtest.NewServer(t)
			lds.AddToken(writerToken, ldtest.TokenInfo{ID: "tok-writer", Name: "flagbot-writer", Role: "writer", ServiceToken: true})
			for _, p := range tt.projects {
				lds.AddProject(p.p, p.envs...)
			}
			b := startBot(t, sl, lds)
			sent := time.Now()
			ack := b.connect(t, teamID, adminID, writerToken, tt.typedP, tt.typedE)
			if tt.wantFieldErrors != nil {
				if got := ackErrors(t, ack); !equalMaps(got, tt.wantFieldErrors) {
					t.Errorf("inline errors = %q, want %q", got, tt.wantFieldErrors)
				}
				return
			}
			if len(ack.Payload) != 0 {
				t.Fatalf("connect refused: %s", ack.Payload)
			}
			wantText(t, "connect confirmation", connectedNote(t, sl, sent), tt.wantNote)
		})
	}
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestFirstMinute is a new admin who pastes only a token and goes straight
// to /flag list and /flag off <flag>.
func TestFirstMinute(t *testing.T) {
	t.Parallel()
	sl, lds := newApprovalSlack(t), newLD(t)
	lds.AddProject(ld.Project{Key: "default", Name: "Default"}, ldtest.EnvSpec{Key: "test"}, ldtest.EnvSpec{Key: "production", Critical: true})
	lds.AddFlag("default", ld.Flag{Key: "checkout-banner", Name: "Checkout banner", Kind: "boolean",
		Variations:   []ld.Variation{{ID: "t", Value: json.RawMessage("true")}, {ID: "f", Value: json.RawMessage("false")}},
		Environments: map[string]ld.FlagEnvironment{"production": {On: true}, "test": {}}})
	b := startBot(t, sl, lds)
	if ack := b.connect(t, teamID, adminID, writerToken, "", ""); len(ack.Payload) != 0 {
		t.Fatalf("connect refused: %s", ack.Payload)
	}
	r := b.command(t, teamID, userID, "list")
	wantContains(t, "/flag list", string(r.Body), "checkout-banner", "production")
	id, posted := b.request(t, userID, "off checkout-banner")
	if id == "" {
		t.Fatalf("/flag off posted no request: %s", posted.Body)
	}
	wantText(t, "request", posted.Params["text"], "<@"+userID+"> wants to turn off `checkout-banner` in *production* (pending).")
}

// TestDefaultsChosenOnFirstUse is a connection stored without defaults
// (connected before the account had a project, or by an older version):
// the first command chooses them, stores them and says so once.
func TestDefaultsChosenOnFirstUse(t *testing.T) {
	t.Parallel()
	sl, lds := newSlack(t), ldtest.NewServer(t)
	lds.AddToken(writerToken, ldtest.TokenInfo{ID: "tok-writer", Name: "flagbot-writer", Role: "writer"})
	b := startBot(t, sl, lds)
	sent := time.Now()
	if ack := b.connect(t, teamID, adminID, writerToken, "", ""); len(ack.Payload) != 0 {
		t.Fatalf("connect refused: %s", ack.Payload)
	}
	wantText(t, "connect confirmation", connectedNote(t, sl, sent),
		":white_check_mark: Connected to LaunchDarkly as token *flagbot-writer* (Writer), ending in `c2e7`.\nNo default project yet: set one with `/flag config project &lt;key&gt;`.")
	lds.AddProject(ld.Project{Key: "web"}, ldtest.EnvSpec{Key: "production"})

	r := b.command(t, teamID, userID, "list")
	var first struct {
		Text   string
		Blocks []struct {
			Elements []struct{ Text string } `json:"elements"`
		}
	}
	if err := json.Unmarshal(r.Body, &first); err != nil {
		t.Fatal(err)
	}
	const notice = ":information_source: This workspace had no default project, so I chose one. Default project `web` (the only project this token can see), environment `production`. Change them with `/flag config project &lt;key&gt;` and `/flag config env &lt;key&gt;`."
	if len(first.Blocks) == 0 || len(first.Blocks[0].Elements) == 0 {
		t.Fatalf("first reply without a notice: %s", r.Body)
	}
	wantText(t, "first reply's notice", first.Blocks[0].Elements[0].Text, notice)
	r = b.command(t, teamID, userID, "list")
	if strings.Contains(string(r.Body), "had no default project") {
		t.Errorf("the notice was said twice: %s", r.Body)
	}
	r = b.command(t, teamID, userID, "status")
	wantContains(t, "status", string(r.Body), "*Default project*\\n`web`", "*Default environment*\\n`production`")
}

// waitModal waits until user's top modal satisfies ok and returns it.
func waitModal(t *testing.T, sl *slackfake.Server, user string, what string, ok func(v slackfake.View) bool) slackfake.View {
	t.Helper()
	ctx := waitCtx(t)
	for {
		if ms := sl.Modals(user); len(ms) > 0 && ok(ms[len(ms)-1]) {
			return ms[len(ms)-1]
		}
		select {
		case <-ctx.Done():
			ms := sl.Modals(user)
			if len(ms) > 0 {
				t.Fatalf("%s: the modal never did; it is %s (errors %v, problem %q)", what, ms[len(ms)-1].JSON, ms[len(ms)-1].Errors, ms[len(ms)-1].Problem)
			}
			t.Fatalf("%s: no modal open", what)
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func hasText(s string) func(v slackfake.View) bool {
	return func(v slackfake.View) bool {
		return strings.Contains(strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&").Replace(string(v.JSON)), s)
	}
}

// TestRequestForm requests a change without its syntax: /flag opens the
// form, the flag picker answers a block_suggestion, picking a flag and an
// action rebuilds the form, problems show inline, and the submission posts
// exactly the request the typed command would.
func TestRequestForm(t *testing.T) {
	t.Parallel()
	sl, lds := newApprovalSlack(t), newLD(t)
	b := connected(t, sl, lds, writerToken)
	if _, err := sl.SlashCommand(slackfake.SlashCommand{UserID: userID, ChannelID: channelID, Text: ""}); err != nil {
		t.Fatal(err)
	}
	form := waitModal(t, sl, userID, "/flag opens the request form", func(v slackfake.View) bool { return v.CallbackID == "flag_request" })

	// The flag picker: a block_suggestion round trip, answered in the ack.
	sent := time.Now()
	opts, err := sl.Suggest(waitCtx(t), slackfake.Click{UserID: userID, ViewID: form.ID, BlockID: "req_flag", ActionID: "req_flag_pick", Value: "dark"})
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(sent); d > 3*time.Second {
		t.Errorf("suggestions took %v; Slack waits 3s", d)
	}
	var answer struct {
		Options []struct {
			Text  struct{ Text string } `json:"text"`
			Value string                `json:"value"`
		} `json:"options"`
	}
	if err := json.Unmarshal(opts, &answer); err != nil {
		t.Fatal(err)
	}
	if len(answer.Options) != 1 || answer.Options[0].Value != "dark-mode" {
		t.Fatalf("suggestions for %q = %s, want dark-mode alone", "dark", opts)
	}
	wantText(t, "suggestion", answer.Options[0].Text.Text, "dark-mode · Dark mode · off")
	// Tags match too, once the catalog has the flags.
	waitFor(t, "the catalog to have the checkout tag", func() bool {
		opts, _ := sl.Suggest(waitCtx(t), slackfake.Click{UserID: userID, ViewID: form.ID, BlockID: "req_flag", ActionID: "req_flag_pick", Value: "ui"})
		return strings.Contains(string(opts), `"dark-mode"`)
	})

	// Picking the flag shows its state; choosing "serve" asks for a variation.
	if err := sl.Click(slackfake.Click{UserID: userID, ViewID: form.ID, BlockID: "req_flag", ActionID: "req_flag_pick", Value: "dark-mode", OptionText: answer.Options[0].Text.Text}); err != nil {
		t.Fatal(err)
	}
	form = waitModal(t, sl, userID, "the form shows the flag", hasText("*Dark mode*: `production` off · `staging` on"))
	if err := sl.Click(slackfake.Click{UserID: userID, ViewID: form.ID, BlockID: "req_action", ActionID: "req_action_pick", Value: "serve"}); err != nil {
		t.Fatal(err)
	}
	form = waitModal(t, sl, userID, "the form asks for a variation", hasText(`"req_variation"`))

	// Problems show inline, on the field to fix; nothing is posted.
	posts := len(sl.Calls("chat.postMessage"))
	values := map[string]map[string]string{
		"req_flag": {"req_flag_pick": "dark-mode"}, "req_env": {"req_env_pick": "production"}, "req_action": {"req_action_pick": "off"},
	}
	if err := sl.SubmitView(waitCtx(t), userID, form.ID, values); err != nil {
		t.Fatal(err)
	}
	form = waitModal(t, sl, userID, "an inline error", func(v slackfake.View) bool { return len(v.Errors) > 0 })
	if want := map[string]string{"req_action": "dark-mode is already off in production."}; !equalMaps(form.Errors, want) {
		t.Errorf("inline errors = %q, want %q", form.Errors, want)
	}
	values["req_action"]["req_action_pick"] = "serve"
	values["req_variation"] = map[string]string{"req_variation_pick": "false"}
	values["req_reason"] = map[string]string{"req_reason_input": "dark by default"}
	sent = time.Now()
	if err := sl.SubmitView(waitCtx(t), userID, form.ID, values); err != nil {
		t.Fatal(err)
	}
	posted, err := sl.WaitCall(waitCtx(t), "chat.postMessage", func(c slackfake.Call) bool { return c.At.After(sent) })
	if err != nil {
		t.Fatalf("the form posted no request: %v", err)
	}
	if n := len(sl.Calls("chat.postMessage")); n != posts+1 {
		t.Errorf("%d posts, want exactly the one request", n-posts)
	}
	if ms := sl.Modals(userID); len(ms) != 0 {
		t.Errorf("the form is still open after a good submission: %s", ms[0].JSON)
	}
	wantText(t, "request", posted.Params["text"], "<@"+userID+"> wants to change what `dark-mode` serves by default in *production* (pending).")
	wantContains(t, "request", posted.Params["blocks"], "/flag serve dark-mode false production --project web --reason \\\"dark by default\\\"")
	id := buttonValue(t, json.RawMessage(posted.Params["blocks"]), "change_approve")
	if updated, _ := b.click(t, approverID, "change_approve", id); updated == nil {
		t.Fatal("the request from the form could not be approved")
	}
	f, _ := lds.Flag("web", "dark-mode")
	if fv := f.Environments["production"].Fallthrough; fv == nil || fv.Variation == nil || *fv.Variation != 1 {
		t.Errorf("production serves %+v by default, want variation 1 (false)", fv)
	}
	b.assertNoSecrets(t)
}

// TestShowButtonsOpenTheForm clicks "Turn off in production" under /flag
// show: the form opens with the flag, environment and action chosen.
func TestShowButtonsOpenTheForm(t *testing.T) {
	t.Parallel()
	sl, lds := newApprovalSlack(t), newLD(t)
	b := connected(t, sl, lds, writerToken)
	r := b.command(t, teamID, userID, "show new-checkout production")
	value := buttonValue(t, r.Blocks, "flag_request_toggle")
	wantContains(t, "show", string(r.Body), "Turn off in production", "Request a change…")
	if _, err := sl.BlockAction(slackfake.BlockAction{UserID: userID, ChannelID: channelID, ActionID: "flag_request_toggle", Value: value, MessageTS: "1.1"}); err != nil {
		t.Fatal(err)
	}
	form := waitModal(t, sl, userID, "the button opens the form", func(v slackfake.View) bool { return v.CallbackID == "flag_request" })
	want := map[string]string{"req_flag": "new-checkout", "req_env": "production", "req_action": "off"}
	if got := initialOptions(t, form); !equalMaps(got, want) {
		t.Errorf("form starts with %v, want %v", got, want)
	}
}

// initialOptions returns the value of each input's initial option.
func initialOptions(t *testing.T, v slackfake.View) map[string]string {
	t.Helper()
	var view struct {
		Blocks []struct {
			BlockID string `json:"block_id"`
			Element struct {
				InitialOption *struct{ Value string } `json:"initial_option"`
			} `json:"element"`
		} `json:"blocks"`
	}
	if err := json.Unmarshal(v.JSON, &view); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, b := range view.Blocks {
		if b.Element.InitialOption != nil {
			out[b.BlockID] = b.Element.InitialOption.Value
		}
	}
	return out
}

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	ctx := waitCtx(t)
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// homeTexts returns the texts of user's published Home, block by block
// (sections, contexts, headers), and the view's ID.
func homeTexts(t *testing.T, sl *slackfake.Server, user string) ([]string, string) {
	t.Helper()
	v, ok := sl.Home(user)
	if !ok {
		return nil, ""
	}
	var view struct {
		Blocks []struct {
			Type     string                 `json:"type"`
			Text     *struct{ Text string } `json:"text"`
			Elements []json.RawMessage      `json:"elements"`
		} `json:"blocks"`
	}
	if err := json.Unmarshal(v.JSON, &view); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, b := range view.Blocks {
		switch {
		case b.Text != nil:
			out = append(out, b.Text.Text)
		case b.Type == "context" && len(b.Elements) > 0:
			var el struct{ Text string }
			_ = json.Unmarshal(b.Elements[0], &el)
			out = append(out, el.Text)
		}
	}
	return slices.Clip(out), v.ID
}

// waitHome waits until user's Home holds a block with text want.
func waitHome(t *testing.T, sl *slackfake.Server, user, want string) ([]string, string) {
	t.Helper()
	var texts []string
	var id string
	waitFor(t, "the Home of "+user+" to show "+want, func() bool {
		texts, id = homeTexts(t, sl, user)
		for _, s := range texts {
			if slackDates.ReplaceAllString(s, "<DATE>") == want {
				return true
			}
		}
		return false
	})
	return texts, id
}

// TestAppHome is the Home tab of a requester and of an approver, before
// and after the approver decides from their Home.
func TestAppHome(t *testing.T) {
	t.Parallel()
	sl, lds := newApprovalSlack(t), newLD(t)
	b := connected(t, sl, lds, writerToken)
	if err := sl.OpenHome(approverID); err != nil {
		t.Fatal(err)
	}
	waitHome(t, sl, approverID, "Nothing is waiting for you.")
	if err := sl.OpenHome(userID); err != nil {
		t.Fatal(err)
	}
	waitHome(t, sl, userID, "You have no requests yet. Type `/flag` in a channel to make one.")

	// A request refreshes both Homes.
	id, _ := b.request(t, userID, `off new-checkout production --reason "errors spiking"`)
	waiting := "<@" + userID + "> wants to turn off `new-checkout` in *production*.\nproject `web` · environment `production` · 0 of 1 approvals · expires <DATE>\n> errors spiking"
	_, homeID := waitHome(t, sl, approverID, waiting)
	waitHome(t, sl, userID, ":hourglass_flowing_sand: Turn off `new-checkout` in *production* · 0 of 1 approvals · expires <DATE>")
	texts, _ := homeTexts(t, sl, approverID)
	wantText(t, "approver's connection line", texts[1], ":white_check_mark: Connected to LaunchDarkly as token *flagbot-writer* (Writer).\nDefault project `web`, environment `production`.")

	// The requester's Home has nothing to approve; a guest's says why.
	sl.SetUser(slackfake.User{ID: "UGUEST", Name: "gus", IsRestricted: true})
	if err := sl.OpenHome("UGUEST"); err != nil {
		t.Fatal(err)
	}
	waitHome(t, sl, "UGUEST", "Guests can't approve or reject changes.")

	// Approve from the Home: the same action as the request message.
	if err := sl.Click(slackfake.Click{UserID: approverID, ViewID: homeID, BlockID: "home_decide_" + id, ActionID: "change_approve"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the change to apply", func() bool { return !flagOn(t, lds, "new-checkout", "production") })
	updated, err := sl.WaitCall(waitCtx(t), "chat.update", func(c slackfake.Call) bool { return strings.Contains(c.Params["blocks"], "Applied") })
	if err != nil {
		t.Fatalf("the request message was not updated: %v", err)
	}
	if updated.Params["channel"] != channelID {
		t.Errorf("updated a message in %q, want the request's channel", updated.Params["channel"])
	}
	waitHome(t, sl, approverID, "Nothing is waiting for you.")
	waitHome(t, sl, userID, ":white_check_mark: Turn off `new-checkout` in *production* · *applied* <DATE>")
	if n := patches(lds); n != 1 {
		t.Errorf("%d patches, want 1", n)
	}
}

// TestUnfurl pastes LaunchDarkly flag links: a member's unfurls into a
// flag card whose button opens the request form; an outsider's, one in a
// channel shared with another organisation and links that are no flag's
// do not.
func TestUnfurl(t *testing.T) {
	t.Parallel()
	sl, lds := newApprovalSlack(t), newLD(t)
	host := strings.TrimPrefix(lds.URL(), "http://")
	sl.SetUnfurlDomains(host)
	sl.SetChannel(slackfake.Channel{ID: "CSHARED", Name: "with-partner", ExtShared: true})
	b := connected(t, sl, lds, writerToken)

	flagURL := lds.URL() + "/web/production/features/new-checkout/targeting"
	if err := sl.Compose(userID, channelID, "the new checkout: <"+flagURL+">"); err != nil {
		t.Fatal(err)
	}
	var msg slackfake.Message
	waitFor(t, "the link to unfurl", func() bool {
		for _, m := range sl.Messages(channelID, userID) {
			if m.UserID == userID && len(m.Unfurls) == 1 {
				msg = m
				return true
			}
		}
		return false
	})
	if msg.Unfurls[0].URL != flagURL {
		t.Errorf("unfurled %q, want %q", msg.Unfurls[0].URL, flagURL)
	}
	var card []struct {
		Text   *struct{ Text string }  `json:"text"`
		Fields []struct{ Text string } `json:"fields"`
	}
	if err := json.Unmarshal(msg.Unfurls[0].Blocks, &card); err != nil {
		t.Fatal(err)
	}
	wantText(t, "card title", card[0].Text.Text, "*<"+flagURL+"|New checkout>* `new-checkout` · temporary\nThe redesigned checkout flow")
	if len(card[1].Fields) != 2 || card[1].Fields[0].Text != "*Production*\n:large_green_circle: On" || card[1].Fields[1].Text != "*Staging*\n:white_circle: Off" {
		t.Errorf("card environments = %+v", card[1].Fields)
	}

	// The card's button opens the request form on that flag.
	if err := sl.Click(slackfake.Click{UserID: approverID, MessageKey: msg.Key, BlockID: "flag_card", ActionID: "flag_request_open"}); err != nil {
		t.Fatal(err)
	}
	form := waitModal(t, sl, approverID, "the card's button opens the form", func(v slackfake.View) bool { return v.CallbackID == "flag_request" })
	if got := initialOptions(t, form); got["req_flag"] != "new-checkout" || got["req_env"] != "production" || got["req_action"] != "off" {
		t.Errorf("form starts with %v", got)
	}

	// No card for an outsider, in a shared channel, or for links that are
	// not a flag's.
	unfurls := len(sl.Calls("chat.unfurl"))
	sl.SetUser(slackfake.User{ID: "UPARTNER", TeamID: otherTeamID, Name: "pat"})
	for _, post := range []struct{ user, channel, text string }{
		{"UPARTNER", channelID, flagURL},
		{userID, "CSHARED", flagURL},
		{userID, channelID, lds.URL() + "/settings/tokens"},
		{userID, channelID, "https://example.com/web/production/features/new-checkout"},
	} {
		if err := sl.Compose(post.user, post.channel, post.text); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the outsider's and the shared channel's links to be turned down", func() bool {
		logs := b.logs.String()
		return strings.Contains(logs, `"msg":"not unfurling in a channel shared with another organisation"`) &&
			strings.Contains(logs, `"msg":"not unfurling a flag link","component":"slack","team_id":"T0FLAG","user_id":"UPARTNER"`)
	})
	time.Sleep(50 * time.Millisecond) // the links that are no flag's make no call at all
	if n := len(sl.Calls("chat.unfurl")); n != unfurls {
		t.Errorf("%d more unfurls, want none", n-unfurls)
	}
	b.assertNoSecrets(t)
}

// TestConnectModalOffersChoices pastes a token into the connect modal: it
// is checked at once and the project and environment fields become selects
// of what it sees, Flagbot's choice selected; the admin picks others.
func TestConnectModalOffersChoices(t *testing.T) {
	t.Parallel()
	sl, lds := newSlack(t), newLD(t)
	b := startBot(t, sl, lds)
	if _, err := sl.SlashCommand(slackfake.SlashCommand{UserID: adminID, ChannelID: channelID, Text: "connect"}); err != nil {
		t.Fatal(err)
	}
	modal := waitModal(t, sl, adminID, "the connect modal", func(v slackfake.View) bool { return v.CallbackID == "flag_connect" })
	if err := sl.Click(slackfake.Click{UserID: adminID, ViewID: modal.ID, BlockID: "ld_token", ActionID: "ld_token_input", Value: writerToken}); err != nil {
		t.Fatal(err)
	}
	modal = waitModal(t, sl, adminID, "the modal offers projects", hasText(`"ld_project_pick"`))
	if got := initialOptions(t, modal); got["ld_project"] != "mobile" || got["ld_env"] != "production" {
		t.Errorf("the modal starts with %v, want Flagbot's choice mobile/production", got)
	}
	if strings.Contains(string(modal.JSON), writerToken) {
		t.Error("the token was sent back in a view")
	}
	// Another project: its environments replace the list.
	if err := sl.Click(slackfake.Click{UserID: adminID, ViewID: modal.ID, BlockID: "ld_project", ActionID: "ld_project_pick", Value: "web"}); err != nil {
		t.Fatal(err)
	}
	modal = waitModal(t, sl, adminID, "web's environments", hasText(`"value":"staging"`))
	sent := time.Now()
	if err := sl.SubmitView(waitCtx(t), adminID, modal.ID, map[string]map[string]string{
		"ld_token": {"ld_token_input": writerToken}, "ld_project": {"ld_project_pick": "web"}, "ld_env": {"ld_env_pick": "staging"},
	}); err != nil {
		t.Fatal(err)
	}
	wantText(t, "confirmation", connectedNote(t, sl, sent),
		":white_check_mark: Connected to LaunchDarkly as token *flagbot-writer* (Writer), ending in `c2e7`.\nDefault project `web`, environment `staging`.")
	b.assertNoSecrets(t)
}

// TestFlagPickerWithASlowLaunchDarkly: the picker answers within Slack's 3
// seconds whatever LaunchDarkly does, with what the flag catalog has.
func TestFlagPickerWithASlowLaunchDarkly(t *testing.T) {
	t.Parallel()
	sl, lds := newApprovalSlack(t), newLD(t)
	connected(t, sl, lds, writerToken)
	if _, err := sl.SlashCommand(slackfake.SlashCommand{UserID: userID, ChannelID: channelID}); err != nil {
		t.Fatal(err)
	}
	form := waitModal(t, sl, userID, "the request form", func(v slackfake.View) bool { return v.CallbackID == "flag_request" })
	suggest := func(q string) (string, time.Duration) {
		t.Helper()
		start := time.Now()
		opts, err := sl.Suggest(waitCtx(t), slackfake.Click{UserID: userID, ViewID: form.ID, BlockID: "req_flag", ActionID: "req_flag_pick", Value: q})
		if err != nil {
			t.Fatal(err)
		}
		return string(opts), time.Since(start)
	}

	// Cold and slow: an answer in time, empty, rather than none.
	lds.SetDelay(4 * time.Second)
	opts, took := suggest("dark")
	if took > 2500*time.Millisecond || opts != `{"options":[]}` {
		t.Errorf("cold, slow LaunchDarkly: %s after %v, want no options within Slack's 3 s", opts, took)
	}
	// Once the catalog has the flags, a slow LaunchDarkly does not matter.
	lds.SetDelay(0)
	waitFor(t, "the catalog to fill", func() bool {
		// Only the catalog matches tags: LaunchDarkly's search does not.
		opts, _ := suggest("ui")
		return strings.Contains(opts, `"value":"dark-mode"`)
	})
	lds.SetDelay(4 * time.Second)
	opts, took = suggest("dark")
	if took > time.Second || !strings.Contains(opts, `"value":"dark-mode"`) {
		t.Errorf("warm catalog, slow LaunchDarkly: %s after %v, want dark-mode at once", opts, took)
	}
	opts, _ = suggest("")
	var answer struct{ Options []json.RawMessage }
	_ = json.Unmarshal([]byte(opts), &answer)
	if n := len(answer.Options); n != 32 {
		t.Errorf("an empty query offers %d flags, want all 32", n)
	}
	lds.SetDelay(0)
}
