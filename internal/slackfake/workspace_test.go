package slackfake_test

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/flagbot/flagbot/internal/slackfake"
)

const (
	ana = "UANA" // a member of the fake's own team
	eve = "UEVE" // a Slack Connect partner
	chn = "C1"
)

func newWorkspace(t *testing.T) *slackfake.Server {
	t.Helper()
	f := newFake(t, slackfake.Options{})
	f.SetUser(slackfake.User{ID: ana, Name: "ana", RealName: "Ana"})
	f.SetUser(slackfake.User{ID: eve, TeamID: "T0PARTNER", Name: "eve", RealName: "Eve"})
	f.SetChannel(slackfake.Channel{ID: chn, Name: "flags", ExtShared: true, Members: []string{ana, eve}})
	return f
}

func form(kv ...string) url.Values {
	v := url.Values{"token": {botToken}}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v
}

const buttonBlocks = `[{"type":"section","text":{"type":"mrkdwn","text":"pick"}},` +
	`{"type":"actions","block_id":"acts","elements":[` +
	`{"type":"button","action_id":"approve","text":{"type":"plain_text","text":"Approve"},"value":"id-1","style":"primary"},` +
	`{"type":"static_select","action_id":"env","placeholder":{"type":"plain_text","text":"Env"},"options":[{"text":{"type":"plain_text","text":"Production"},"value":"production"}]}]}]`

func TestMessagesFollowTheWebAPI(t *testing.T) {
	t.Parallel()
	f := newWorkspace(t)
	res := postForm(t, f, "chat.postMessage", form("channel", chn, "text", "hello", "blocks", buttonBlocks))
	ts, _ := res.body["ts"].(string)
	postForm(t, f, "chat.postEphemeral", form("channel", chn, "user", ana, "text", "psst"))

	if got := f.Messages(chn, eve); len(got) != 1 || got[0].Text != "hello" || got[0].TS != ts || got[0].UserID != slackfake.BotUserID {
		t.Fatalf("Messages as eve = %+v, want only the posted message", got)
	}
	got := f.Messages(chn, ana)
	if len(got) != 2 || got[1].VisibleTo != ana || got[1].Text != "psst" {
		t.Fatalf("Messages as ana = %+v, want the message and her ephemeral one", got)
	}
	// Slack gives blocks without an ID one.
	var blocks []map[string]any
	if err := json.Unmarshal(got[0].Blocks, &blocks); err != nil || blocks[0]["block_id"] == "" || blocks[0]["block_id"] == nil || blocks[1]["block_id"] != "acts" {
		t.Errorf("blocks = %s, want a block_id on each and acts kept", got[0].Blocks)
	}

	postForm(t, f, "chat.update", form("channel", chn, "ts", ts, "text", "edited", "blocks", `[]`))
	if m := f.Messages(chn, eve)[0]; m.Text != "edited" || !m.Edited || m.Key != chn+"/"+ts {
		t.Errorf("after chat.update: %+v, want the same message edited", m)
	}
	postForm(t, f, "chat.postMessage", form("channel", ana, "text", "a direct message"))
	if dm := f.Messages(ana, ana); len(dm) != 1 || dm[0].Text != "a direct message" {
		t.Errorf("direct messages = %+v", dm)
	}
}

func TestSlashCommandRepliesAndAcks(t *testing.T) {
	t.Parallel()
	f := newWorkspace(t)
	c, _ := dial(t, f)
	if err := f.Compose(ana, chn, "/flag list"); err != nil {
		t.Fatal(err)
	}
	env := c.next(t)
	p := payload(t, env)
	if p["command"] != "/flag" || p["text"] != "list" || p["user_id"] != ana || p["channel_id"] != chn {
		t.Fatalf("slash command payload = %v", p)
	}
	// An ack with text shows as an ephemeral reply.
	c.send(t, map[string]any{"envelope_id": env["envelope_id"], "payload": map[string]any{"text": "working"}})
	if _, err := f.WaitAck(waitCtx(t), env["envelope_id"].(string)); err != nil {
		t.Fatal(err)
	}
	// response_url posts: ephemeral to the user, in_channel to all.
	u := p["response_url"].(string)
	postURL(t, u, map[string]any{"text": "just you"})
	postURL(t, u, map[string]any{"text": "everyone", "response_type": "in_channel"})
	var texts []string
	for _, m := range f.Messages(chn, ana) {
		texts = append(texts, m.Via+":"+m.Text)
	}
	if strings.Join(texts, "|") != "ack:working|response_url:just you|response_url:everyone" {
		t.Errorf("ana sees %q", texts)
	}
	if got := f.Messages(chn, eve); len(got) != 1 || got[0].Text != "everyone" {
		t.Errorf("eve sees %+v, want only the in_channel reply", got)
	}

	// A partner's slash command never reaches the app: Slackbot says so.
	if err := f.Compose(eve, chn, "/flag list"); err != nil {
		t.Fatal(err)
	}
	c.none(t)
	if got := f.Messages(chn, eve); len(got) != 2 || got[1].UserID != "USLACKBOT" || got[1].VisibleTo != eve {
		t.Errorf("after eve's command: %+v, want a notice from Slackbot to her", got)
	}
	// Plain text is a message from the person.
	if err := f.Compose(ana, chn, "hi all"); err != nil {
		t.Fatal(err)
	}
	if got := f.Messages(chn, eve); got[len(got)-1].UserID != ana || got[len(got)-1].Text != "hi all" {
		t.Errorf("composed message = %+v", got[len(got)-1])
	}
}

func TestClicksAndReplaceOriginal(t *testing.T) {
	t.Parallel()
	f := newWorkspace(t)
	c, _ := dial(t, f)
	res := postForm(t, f, "chat.postMessage", form("channel", chn, "text", "request", "blocks", buttonBlocks))
	key := chn + "/" + res.body["ts"].(string)

	if err := f.Click(slackfake.Click{UserID: eve, MessageKey: key, BlockID: "acts", ActionID: "approve"}); err != nil {
		t.Fatal(err)
	}
	p := payload(t, c.next(t))
	if path(p, "user", "team_id") != "T0PARTNER" || path(p, "team", "id") != slackfake.TeamID || path(p, "container", "message_ts") != res.body["ts"] {
		t.Errorf("block_actions from a partner = %v", p)
	}
	act := p["actions"].([]any)[0].(map[string]any)
	if act["value"] != "id-1" || act["type"] != "button" || act["block_id"] != "acts" {
		t.Errorf("button action = %v", act)
	}
	if path(p, "message", "blocks") == nil {
		t.Error("block_actions on a channel message carries no message")
	}
	approveURL := p["response_url"].(string)
	if err := f.Click(slackfake.Click{UserID: ana, MessageKey: key, BlockID: "acts", ActionID: "env", Value: "production"}); err != nil {
		t.Fatal(err)
	}
	p = payload(t, c.next(t))
	act = p["actions"].([]any)[0].(map[string]any)
	if path(act, "selected_option", "value") != "production" || path(act, "selected_option", "text", "text") != "Production" {
		t.Errorf("select action = %v", act)
	}
	postURL(t, approveURL, map[string]any{"replace_original": true, "text": "decided"})
	if got := f.Messages(chn, ana); len(got) != 1 || got[0].Text != "decided" || !got[0].Edited {
		t.Errorf("after replace_original: %+v", got)
	}

	postURL(t, p["response_url"].(string), map[string]any{"delete_original": true})
	if got := f.Messages(chn, ana); len(got) != 0 {
		t.Errorf("after delete_original: %+v", got)
	}
	if err := f.Click(slackfake.Click{UserID: ana, MessageKey: key, BlockID: "acts", ActionID: "approve"}); err == nil {
		t.Error("a click on a deleted message was sent")
	}
}

func TestModalsAndSuggestions(t *testing.T) {
	t.Parallel()
	f := newWorkspace(t)
	c, _ := dial(t, f)
	if err := f.Compose(ana, chn, "/flag connect"); err != nil {
		t.Fatal(err)
	}
	trigger := payload(t, c.next(t))["trigger_id"].(string)
	view := map[string]any{
		"type": "modal", "callback_id": "connect", "title": map[string]any{"type": "plain_text", "text": "Connect"},
		"submit": map[string]any{"type": "plain_text", "text": "Save"},
		"blocks": []any{
			map[string]any{"type": "input", "block_id": "tok", "label": map[string]any{"type": "plain_text", "text": "Token"},
				"element": map[string]any{"type": "plain_text_input", "action_id": "tok_in"}},
			map[string]any{"type": "input", "block_id": "flag", "label": map[string]any{"type": "plain_text", "text": "Flag"},
				"element": map[string]any{"type": "external_select", "action_id": "flag_in", "min_query_length": 1}},
		},
	}
	res := postJSON(t, f, "views.open", botToken, map[string]any{"trigger_id": trigger, "view": view})
	if !res.ok() {
		t.Fatalf("views.open = %v", res.body)
	}
	modals := f.Modals(ana)
	if len(modals) != 1 || modals[0].CallbackID != "connect" || len(f.Modals(eve)) != 0 {
		t.Fatalf("Modals = %+v, want ana's connect modal", modals)
	}
	id := modals[0].ID

	// Type-ahead: block_suggestion, answered in the ack.
	answered := make(chan struct{})
	go func() {
		defer close(answered)
		env := c.next(t)
		c.send(t, map[string]any{"envelope_id": env["envelope_id"], "payload": map[string]any{
			"options": []any{map[string]any{"text": map[string]any{"type": "plain_text", "text": "new-checkout"}, "value": "new-checkout"}}}})
	}()
	opts, err := f.Suggest(waitCtx(t), slackfake.Click{UserID: ana, ViewID: id, BlockID: "flag", ActionID: "flag_in", Value: "che"})
	<-answered
	if err != nil || !strings.Contains(string(opts), "new-checkout") {
		t.Fatalf("Suggest = %s, %v", opts, err)
	}

	// A submission answered with errors keeps the modal, with the errors
	// and what was typed.
	answer := func(ack map[string]any, done chan<- struct{}) {
		defer close(done)
		env := c.next(t)
		p := payload(t, env)
		if p["type"] != "view_submission" || path(p, "view", "state", "values", "tok", "tok_in", "value") != "api-x" ||
			path(p, "view", "state", "values", "flag", "flag_in", "selected_option", "value") != "new-checkout" {
			t.Errorf("view_submission = %v", p)
		}
		c.send(t, map[string]any{"envelope_id": env["envelope_id"], "payload": ack})
	}
	values := map[string]map[string]string{"tok": {"tok_in": "api-x"}, "flag": {"flag_in": "new-checkout"}}
	done := make(chan struct{})
	go answer(map[string]any{"response_action": "errors", "errors": map[string]any{"tok": "bad token"}}, done)
	if err := f.SubmitView(waitCtx(t), ana, id, values); err != nil {
		t.Fatal(err)
	}
	<-done
	m := f.Modals(ana)
	if len(m) != 1 || m[0].Errors["tok"] != "bad token" || path(m[0].Values["tok"], "tok_in", "value") != "api-x" {
		t.Fatalf("after errors: %+v", m)
	}
	// An empty ack closes it.
	done = make(chan struct{})
	go answer(nil, done)
	if err := f.SubmitView(waitCtx(t), ana, id, values); err != nil {
		t.Fatal(err)
	}
	<-done
	if m := f.Modals(ana); len(m) != 0 {
		t.Errorf("after an empty ack the modal is still open: %+v", m)
	}
}

func TestHomeAndClose(t *testing.T) {
	t.Parallel()
	f := newWorkspace(t)
	c, _ := dial(t, f)
	home := map[string]any{"type": "home", "blocks": []any{map[string]any{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": "hi"}}}}
	if res := postJSON(t, f, "views.publish", botToken, map[string]any{"user_id": ana, "view": home}); !res.ok() {
		t.Fatalf("views.publish = %v", res.body)
	}
	if v, ok := f.Home(ana); !ok || v.Type != "home" {
		t.Errorf("Home(ana) = %+v, %v", v, ok)
	}
	if err := f.OpenHome(ana); err != nil {
		t.Fatal(err)
	}
	env := c.next(t)
	if env["type"] != "events_api" || path(env, "payload", "event", "type") != "app_home_opened" || path(env, "payload", "event", "view", "type") != "home" {
		t.Errorf("app_home_opened envelope = %v", env)
	}
	if err := f.CloseView(ana, "V-nope"); err == nil {
		t.Error("closing an unknown view succeeded")
	}
}

func TestStartOnlyOnLoopback(t *testing.T) {
	t.Parallel()
	for _, addr := range []string{"0.0.0.0:0", ":0", "192.0.2.1:0"} {
		if s, err := slackfake.Start(slackfake.Options{Addr: addr}); err == nil {
			s.Close()
			t.Errorf("Start(%q) succeeded, want a refusal", addr)
		}
	}
	s, err := slackfake.Start(slackfake.Options{Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	s.Close() // twice is fine
}

// TestMaxRecords checks that a bounded fake forgets old records but still
// finds new ones for the Wait methods.
func TestMaxRecords(t *testing.T) {
	t.Parallel()
	f := newFake(t, slackfake.Options{MaxRecords: 4})
	for i := range 20 {
		postForm(t, f, "chat.postMessage", form("channel", chn, "text", strings.Repeat("x", 100)+string(rune('a'+i))))
	}
	if n := len(f.Calls("")); n > 4 || n == 0 {
		t.Errorf("Calls = %d, want at most 4", n)
	}
	if n := len(f.AllTraffic()); n > 4<<10 {
		t.Errorf("AllTraffic = %d bytes, want at most 4 KB", n)
	}
	postForm(t, f, "chat.postMessage", form("channel", chn, "text", "last"))
	if _, err := f.WaitCall(waitCtx(t), "chat.postMessage", func(c slackfake.Call) bool { return c.Params["text"] == "last" }); err != nil {
		t.Errorf("WaitCall after trimming: %v", err)
	}
	if n := len(f.Messages(chn, "")); n != 21 {
		t.Errorf("Messages = %d, want all 21: the channel is not a record", n)
	}
}

func TestLinksSharedAndUnfurled(t *testing.T) {
	t.Parallel()
	f := newWorkspace(t)
	f.SetChannel(slackfake.Channel{ID: "C2", Name: "ours", Members: []string{ana}})
	f.SetUnfurlDomains("LD.example:8443")
	c, _ := dial(t, f)
	if err := f.Compose(ana, "C2", "see <https://ld.example:8443/web/prod/features/x|the flag> and https://other.example/y."); err != nil {
		t.Fatal(err)
	}
	env := c.next(t)
	if env["type"] != "events_api" {
		t.Fatalf("envelope %v, want events_api", env)
	}
	ev, _ := path(env, "payload", "event").(map[string]any)
	links, _ := ev["links"].([]any)
	if ev["type"] != "link_shared" || ev["channel"] != "C2" || ev["user"] != ana || len(links) != 1 || path(env, "payload", "is_ext_shared_channel") != false {
		t.Fatalf("event %v, want link_shared for the one ld.example link", env)
	}
	if u := path(links[0], "url"); u != "https://ld.example:8443/web/prod/features/x" {
		t.Errorf("link %v", u)
	}
	card := `{"https://ld.example:8443/web/prod/features/x":{"blocks":[{"type":"section","text":{"type":"mrkdwn","text":"card"}}]}}`
	for _, tt := range []struct {
		values url.Values
		want   string
	}{
		{form("unfurl_id", "nope", "source", "composer", "unfurls", card), "cannot_find_message"},
		{form("unfurl_id", ev["unfurl_id"].(string), "source", "conversations_history", "unfurls", `{"https://other.example/y":{"blocks":[]}}`), "cannot_unfurl_url"},
		{form("channel", "C2", "ts", ev["message_ts"].(string), "unfurls", `{"https://ld.example:8443/web/prod/features/x":{"blocks":[{"type":"header","text":{"type":"plain_text","text":"`+strings.Repeat("x", 151)+`"}}]}}`), "invalid_blocks"},
		{form("unfurl_id", ev["unfurl_id"].(string), "source", "conversations_history", "unfurls", card), ""},
	} {
		res := postForm(t, f, "chat.unfurl", tt.values)
		if res.err() != tt.want {
			t.Errorf("chat.unfurl(%v) error %q, want %q", tt.values, res.err(), tt.want)
		}
	}
	m := f.Messages("C2", ana)[0]
	if len(m.Unfurls) != 1 || !strings.Contains(string(m.Unfurls[0].Blocks), `"card"`) {
		t.Errorf("unfurls %+v, want the card under the link", m.Unfurls)
	}
	// A shared channel says so.
	if err := f.Compose(ana, chn, "https://ld.example:8443/web/prod/features/x"); err != nil {
		t.Fatal(err)
	}
	if env := c.next(t); path(env, "payload", "is_ext_shared_channel") != true {
		t.Errorf("event in a shared channel: %v", env)
	}
}
