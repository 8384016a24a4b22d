package slackfake_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/flagbot/flagbot/internal/slackfake"
)

func TestConnectionsOpenAuth(t *testing.T) {
	t.Parallel()
	f := newFake(t, slackfake.Options{})
	tests := []struct {
		name    string
		call    func() apiResult
		wantErr string
	}{
		{"bearer app token", func() apiResult { return postJSON(t, f, "apps.connections.open", appToken, nil) }, ""},
		{"no token", func() apiResult { return postJSON(t, f, "apps.connections.open", "", nil) }, "not_authed"},
		{"bot token", func() apiResult { return postJSON(t, f, "apps.connections.open", botToken, nil) }, "invalid_auth"},
		{"app token as form field", func() apiResult {
			return postForm(t, f, "apps.connections.open", url.Values{"token": {appToken}})
		}, "not_authed"},
	}
	for i, tt := range tests {
		res := tt.call()
		if res.err() != tt.wantErr || res.ok() != (tt.wantErr == "") {
			t.Errorf("%s: answer %v, want error %q", tt.name, res.body, tt.wantErr)
		}
		if got := f.Opens(); got != i+1 {
			t.Errorf("%s: Opens() = %d, want %d", tt.name, got, i+1)
		}
	}
	u, _ := postJSON(t, f, "apps.connections.open", appToken, nil).body["url"].(string)
	if !strings.HasPrefix(u, "ws://127.0.0.1:") || !strings.Contains(u, "/ws?ticket=") {
		t.Errorf("url = %q, want ws://127.0.0.1:port/ws?ticket=...", u)
	}

	f.FailNext("apps.connections.open", 2, "account_inactive")
	for range 2 {
		if res := postJSON(t, f, "apps.connections.open", appToken, nil); res.err() != "account_inactive" {
			t.Errorf("with FailNext: %v, want account_inactive", res.body)
		}
	}
	if res := postJSON(t, f, "apps.connections.open", appToken, nil); !res.ok() {
		t.Errorf("after FailNext ran out: %v, want ok", res.body)
	}
}

func TestWebAPIBodiesAndTokens(t *testing.T) {
	t.Parallel()
	f := newFake(t, slackfake.Options{})
	blocks := `[{"type":"section","text":{"type":"mrkdwn","text":"*hi*"}}]`

	// A form body, token in a field, blocks as a JSON string (chat.postMessage).
	res := postForm(t, f, "chat.postMessage", url.Values{"token": {botToken}, "channel": {"C1"}, "text": {"hi"}, "blocks": {blocks}})
	if !res.ok() || res.body["channel"] != "C1" || res.body["ts"] == "" || path(res.body, "message", "ts") != res.body["ts"] {
		t.Errorf("chat.postMessage = %v", res.body)
	}
	// A JSON body with a Bearer token (views.*); nested objects become raw JSON text.
	trig := f.NewTriggerID()
	view := map[string]any{"type": "modal", "title": map[string]any{"type": "plain_text", "text": "Change"}, "callback_id": "change", "blocks": []any{}}
	res = postJSON(t, f, "views.open", botToken, map[string]any{"trigger_id": trig, "view": view})
	if !res.ok() || path(res.body, "view", "id") == nil || path(res.body, "view", "callback_id") != "change" {
		t.Errorf("views.open = %v", res.body)
	}

	post := f.Calls("chat.postMessage")
	if len(post) != 1 {
		t.Fatalf("Calls(chat.postMessage) = %d calls, want 1", len(post))
	}
	if c := post[0]; c.Token != botToken || c.Params["channel"] != "C1" || c.Params["blocks"] != blocks || c.Error != "" {
		t.Errorf("form call = %+v", c)
	}
	open := f.Calls("views.open")
	if len(open) != 1 {
		t.Fatalf("Calls(views.open) = %d calls, want 1", len(open))
	}
	var gotView map[string]any
	if err := json.Unmarshal([]byte(open[0].Params["view"]), &gotView); err != nil || gotView["callback_id"] != "change" {
		t.Errorf("views.open Params[view] = %q (%v), want the view's JSON text", open[0].Params["view"], err)
	}
	if open[0].Token != botToken || open[0].Params["trigger_id"] != trig {
		t.Errorf("JSON call = %+v", open[0])
	}
	if got := len(f.Calls("")); got != 2 {
		t.Errorf("Calls(\"\") = %d calls, want 2", got)
	}

	// Token checks, both placements.
	for _, tt := range []struct {
		name    string
		call    func() apiResult
		wantErr string
	}{
		{"form, wrong token", func() apiResult { return postForm(t, f, "auth.test", url.Values{"token": {"xoxb-other"}}) }, "invalid_auth"},
		{"form, no token", func() apiResult { return postForm(t, f, "auth.test", nil) }, "not_authed"},
		{"json, app token", func() apiResult { return postJSON(t, f, "auth.test", appToken, map[string]any{}) }, "invalid_auth"},
		{"json, bot token", func() apiResult { return postJSON(t, f, "auth.test", botToken, map[string]any{}) }, ""},
		{"bad json", func() apiResult {
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, f.APIURL()+"auth.test", strings.NewReader("{"))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+botToken)
			return do(t, req)
		}, "invalid_json"},
	} {
		if res := tt.call(); res.err() != tt.wantErr || res.ok() != (tt.wantErr == "") {
			t.Errorf("%s: answer %v, want error %q", tt.name, res.body, tt.wantErr)
		}
	}
	calls := f.Calls("auth.test")
	if len(calls) != 5 || calls[0].Error != "invalid_auth" || calls[3].Error != "" {
		t.Errorf("auth.test calls = %+v, want 5 with their errors recorded", calls)
	}
}

func TestCannedAnswers(t *testing.T) {
	t.Parallel()
	f := newFake(t, slackfake.Options{})
	f.SetUser(slackfake.User{ID: "U1", Name: "alice", RealName: "Alice A", IsAdmin: true, TZ: "Europe/Paris"})
	f.SetUser(slackfake.User{ID: "U2", TeamID: "T0OTHER", Name: "bob", Deleted: true})
	f.SetUserGroup("S1", "U1", "U2")
	form := func(kv ...string) url.Values {
		v := url.Values{"token": {botToken}}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	tests := []struct {
		method  string
		values  url.Values
		wantErr string
		want    map[string]any // path "a.b" -> value
	}{
		{"auth.test", form(), "", map[string]any{"team_id": slackfake.TeamID, "user_id": slackfake.BotUserID, "bot_id": slackfake.BotID}},
		{"users.info", form("user", "U1"), "", map[string]any{
			"user.id": "U1", "user.team_id": slackfake.TeamID, "user.name": "alice", "user.real_name": "Alice A",
			"user.is_admin": true, "user.is_owner": false, "user.deleted": false, "user.tz": "Europe/Paris",
			"user.profile.display_name": "alice", "user.profile.real_name": "Alice A",
		}},
		{"users.info", form("user", "U2"), "", map[string]any{"user.team_id": "T0OTHER", "user.deleted": true}},
		{"users.info", form("user", "U9"), "user_not_found", nil},
		{"usergroups.users.list", form("usergroup", "S9"), "no_such_subteam", nil},
		{"conversations.info", form("channel", "C1"), "", map[string]any{"channel.id": "C1", "channel.is_member": true}},
		{"chat.postEphemeral", form("channel", "C1", "user", "U1", "text", "psst"), "", nil},
		{"chat.postEphemeral", form("channel", "C1", "text", "psst"), "user_not_in_channel", nil},
		{"chat.postMessage", form("channel", "C1"), "no_text", nil},
		{"chat.update", form("channel", "C1", "ts", "1700000000.000100", "text", "edited"), "", map[string]any{
			"channel": "C1", "ts": "1700000000.000100", "message.text": "edited",
		}},
		{"chat.update", form("channel", "C1", "text", "edited"), "message_not_found", nil},
		{"views.update", form("view_id", "V1", "view", `{"type":"modal","title":{"type":"plain_text","text":"x"}}`), "", map[string]any{"view.id": "V1"}},
		{"chat.delete", form("channel", "C1", "ts", "1"), "unknown_method", nil},
	}
	for _, tt := range tests {
		res := postForm(t, f, tt.method, tt.values)
		if res.err() != tt.wantErr || res.ok() != (tt.wantErr == "") {
			t.Errorf("%s %v: answer %v, want error %q", tt.method, tt.values, res.body, tt.wantErr)
			continue
		}
		for p, want := range tt.want {
			if got := path(res.body, strings.Split(p, ".")...); got != want {
				t.Errorf("%s %v: %s = %v, want %v", tt.method, tt.values, p, got, want)
			}
		}
	}

	res := postForm(t, f, "usergroups.users.list", form("usergroup", "S1"))
	if users, _ := res.body["users"].([]any); len(users) != 2 || users[0] != "U1" || users[1] != "U2" {
		t.Errorf("usergroups.users.list = %v, want [U1 U2]", res.body)
	}
	res = postForm(t, f, "users.info", form("users", "U1,U2"))
	if users, _ := res.body["users"].([]any); len(users) != 2 {
		t.Errorf("users.info users=U1,U2 = %v, want two users", res.body)
	}
	// Timestamps increase.
	var last string
	for range 3 {
		ts, _ := postForm(t, f, "chat.postMessage", form("channel", "C1", "text", "x")).body["ts"].(string)
		if ts <= last {
			t.Errorf("ts %q after %q, want increasing", ts, last)
		}
		last = ts
	}
}

func TestFailNextAndRateLimit(t *testing.T) {
	t.Parallel()
	f := newFake(t, slackfake.Options{})
	msg := url.Values{"token": {botToken}, "channel": {"C1"}, "text": {"x"}}

	f.FailNext("chat.postMessage", 1, "ratelimited")
	res := postForm(t, f, "chat.postMessage", msg)
	if res.status != http.StatusTooManyRequests || res.header.Get("Retry-After") != "1" || res.err() != "ratelimited" {
		t.Errorf("rate limited answer: status %d, Retry-After %q, body %v", res.status, res.header.Get("Retry-After"), res.body)
	}
	f.FailNext("chat.postMessage", 2, "channel_not_found")
	for range 2 {
		if res := postForm(t, f, "chat.postMessage", msg); res.status != http.StatusOK || res.err() != "channel_not_found" {
			t.Errorf("FailNext answer: status %d, body %v", res.status, res.body)
		}
	}
	if res := postForm(t, f, "chat.postMessage", msg); !res.ok() {
		t.Errorf("after FailNext ran out: %v", res.body)
	}
	f.FailNext("chat.update", 1, "cant_update_message")
	f.FailNext("chat.update", 0, "")
	if res := postForm(t, f, "chat.update", url.Values{"token": {botToken}, "channel": {"C1"}, "ts": {"1"}, "text": {"x"}}); !res.ok() {
		t.Errorf("cancelled FailNext still fired: %v", res.body)
	}
}

func TestTriggers(t *testing.T) {
	t.Parallel()
	f := newFake(t, slackfake.Options{TriggerTTL: 30 * time.Millisecond})
	view := map[string]any{"type": "modal", "title": map[string]any{"type": "plain_text", "text": "x"}, "blocks": []any{}}
	open := func(trigger string) string {
		return postJSON(t, f, "views.open", botToken, map[string]any{"trigger_id": trigger, "view": view}).err()
	}
	tr := f.NewTriggerID()
	if got := open(tr); got != "" {
		t.Errorf("first use: %q, want ok", got)
	}
	if got := open(tr); got != "trigger_exchanged" {
		t.Errorf("second use: %q, want trigger_exchanged", got)
	}
	if got := open("trig-forged"); got != "invalid_trigger_id" {
		t.Errorf("unknown trigger: %q, want invalid_trigger_id", got)
	}

	// The lifetime starts when the envelope carrying the trigger is sent.
	c, _ := dial(t, f)
	if _, err := f.SlashCommand(slackfake.SlashCommand{UserID: "U1"}); err != nil {
		t.Fatal(err)
	}
	expired, _ := payload(t, c.next(t))["trigger_id"].(string)
	if _, err := f.SlashCommand(slackfake.SlashCommand{UserID: "U1"}); err != nil {
		t.Fatal(err)
	}
	fresh, _ := payload(t, c.next(t))["trigger_id"].(string)
	if got := open(fresh); got != "" {
		t.Errorf("fresh trigger: %q, want ok", got)
	}
	time.Sleep(40 * time.Millisecond)
	if got := open(expired); got != "trigger_expired" {
		t.Errorf("old trigger: %q, want trigger_expired", got)
	}
}

func TestBlockKitLimits(t *testing.T) {
	t.Parallel()
	f := newFake(t, slackfake.Options{})
	section := func(n int) map[string]any {
		return map[string]any{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": strings.Repeat("é", n)}}
	}
	blocks := func(n int) []any {
		out := make([]any, n)
		for i := range out {
			out[i] = section(10)
		}
		return out
	}
	button := func(text, value string) map[string]any {
		return map[string]any{"type": "actions", "elements": []any{map[string]any{
			"type": "button", "action_id": "a", "text": map[string]any{"type": "plain_text", "text": text}, "value": value,
		}}}
	}
	fields := func(n, size int) map[string]any {
		fs := make([]any, n)
		for i := range fs {
			fs[i] = map[string]any{"type": "mrkdwn", "text": strings.Repeat("x", size)}
		}
		return map[string]any{"type": "section", "fields": fs}
	}
	tests := []struct {
		name    string
		blocks  any
		wantErr string
	}{
		{"50 blocks", blocks(50), ""},
		{"51 blocks", blocks(51), "invalid_blocks"},
		{"section of 3000 characters", []any{section(3000)}, ""},
		{"section of 3001 characters", []any{section(3001)}, "invalid_blocks"},
		{"10 fields of 2000", []any{fields(10, 2000)}, ""},
		{"11 fields", []any{fields(11, 10)}, "invalid_blocks"},
		{"field of 2001", []any{fields(1, 2001)}, "invalid_blocks"},
		{"header of 151", []any{map[string]any{"type": "header", "text": map[string]any{"type": "plain_text", "text": strings.Repeat("h", 151)}}}, "invalid_blocks"},
		{"button text of 76", []any{button(strings.Repeat("b", 76), "v")}, "invalid_blocks"},
		{"button value of 2001", []any{button("ok", strings.Repeat("v", 2001))}, "invalid_blocks"},
		{"block_id of 256", []any{map[string]any{"type": "divider", "block_id": strings.Repeat("i", 256)}}, "invalid_blocks"},
		{"not a list", "oops", "invalid_blocks_format"}, // a JSON string where the array belongs
	}
	for _, tt := range tests {
		raw, err := json.Marshal(tt.blocks)
		if err != nil {
			t.Fatal(err)
		}
		for _, method := range []string{"chat.postMessage", "chat.update", "chat.postEphemeral"} {
			v := url.Values{"token": {botToken}, "channel": {"C1"}, "ts": {"1"}, "user": {"U1"}, "blocks": {string(raw)}}
			if res := postForm(t, f, method, v); res.err() != tt.wantErr {
				t.Errorf("%s via %s: answer %v, want error %q", tt.name, method, res.body, tt.wantErr)
			}
		}
		u := f.NewResponseURL()
		if res := postURL(t, u, map[string]any{"blocks": json.RawMessage(raw)}); res.err() != tt.wantErr {
			t.Errorf("%s via response_url: answer %v, want error %q", tt.name, res.body, tt.wantErr)
		}
	}

	long := strings.Repeat("t", 4001)
	if res := postForm(t, f, "chat.update", url.Values{"token": {botToken}, "channel": {"C1"}, "ts": {"1"}, "text": {long}}); res.err() != "msg_too_long" {
		t.Errorf("chat.update with 4001 characters: %v, want msg_too_long", res.body)
	}

	viewTests := []struct {
		name    string
		view    map[string]any
		wantErr string
	}{
		{"100 blocks", map[string]any{"type": "modal", "title": map[string]any{"type": "plain_text", "text": "ok"}, "blocks": blocks(100)}, ""},
		{"101 blocks", map[string]any{"type": "modal", "title": map[string]any{"type": "plain_text", "text": "ok"}, "blocks": blocks(101)}, "invalid_arguments"},
		{"title of 25", map[string]any{"type": "modal", "title": map[string]any{"type": "plain_text", "text": strings.Repeat("t", 25)}, "blocks": []any{}}, "invalid_arguments"},
		{"private_metadata of 3001", map[string]any{"type": "modal", "private_metadata": strings.Repeat("p", 3001), "blocks": []any{}}, "invalid_arguments"},
		{"long section in a modal", map[string]any{"type": "modal", "blocks": []any{section(3001)}}, "invalid_arguments"},
	}
	for _, tt := range viewTests {
		res := postJSON(t, f, "views.open", botToken, map[string]any{"trigger_id": f.NewTriggerID(), "view": tt.view})
		if res.err() != tt.wantErr {
			t.Errorf("views.open %s: answer %v, want error %q", tt.name, res.body, tt.wantErr)
		}
	}
}

func TestResponseURL(t *testing.T) {
	t.Parallel()
	f := newFake(t, slackfake.Options{})
	u := f.NewResponseURL()
	if !strings.HasPrefix(u, f.URL()+"/response_url/") {
		t.Fatalf("NewResponseURL() = %q", u)
	}
	bodies := []map[string]any{
		{"response_type": "in_channel", "text": "hello", "blocks": []any{map[string]any{"type": "divider"}}},
		{"replace_original": true, "text": "replaced"},
		{"replace_original": "true", "text": "string flag"},
		{"delete_original": true},
		{"text": "five"},
	}
	for i, b := range bodies {
		if res := postURL(t, u, b); !res.ok() || res.status != http.StatusOK {
			t.Errorf("post %d: status %d, %v, want ok", i+1, res.status, res.body)
		}
	}
	res := postURL(t, u, map[string]any{"text": "six"})
	if res.status != http.StatusNotFound || res.err() != "used_url" {
		t.Errorf("sixth post: status %d, %v, want 404 used_url", res.status, res.body)
	}
	if res := postURL(t, f.URL()+"/response_url/999", map[string]any{"text": "x"}); res.status != http.StatusNotFound {
		t.Errorf("unknown response_url: status %d, want 404", res.status)
	}
	// A rejected post does not use one of the five.
	u2 := f.NewResponseURL()
	if res := postURL(t, u2, map[string]any{}); res.err() != "no_text" {
		t.Errorf("empty post: %v, want no_text", res.body)
	}
	for i := range slackfake.ResponseURLUses {
		if res := postURL(t, u2, map[string]any{"text": fmt.Sprint(i)}); !res.ok() {
			t.Errorf("post %d after a rejected one: %v, want ok", i+1, res.body)
		}
	}

	all := f.Responses()
	if len(all) != 6+1+1+slackfake.ResponseURLUses {
		t.Fatalf("Responses() = %d, want %d", len(all), 6+1+1+slackfake.ResponseURLUses)
	}
	want := []slackfake.Response{
		{URL: u, ResponseType: "in_channel", Text: "hello", Blocks: json.RawMessage(`[{"type":"divider"}]`)},
		{URL: u, ReplaceOriginal: true, Text: "replaced"},
		{URL: u, ReplaceOriginal: true, Text: "string flag"},
		{URL: u, DeleteOriginal: true},
		{URL: u, Text: "five"},
		{URL: u, Text: "six", Error: "used_url"},
	}
	for i, w := range want {
		g := all[i]
		if g.URL != w.URL || g.ResponseType != w.ResponseType || g.ReplaceOriginal != w.ReplaceOriginal ||
			g.DeleteOriginal != w.DeleteOriginal || g.Text != w.Text || string(g.Blocks) != string(w.Blocks) || g.Error != w.Error {
			t.Errorf("Responses()[%d] = %+v, want %+v", i, g, w)
		}
	}
	r, err := f.WaitResponse(waitCtx(t), func(r slackfake.Response) bool { return r.DeleteOriginal })
	if err != nil || string(r.Body) != `{"delete_original":true}` {
		t.Errorf("WaitResponse = %+v, %v", r, err)
	}
}

func TestAllTraffic(t *testing.T) {
	t.Parallel()
	f := newFake(t, slackfake.Options{})
	postForm(t, f, "chat.postMessage", url.Values{"token": {botToken}, "channel": {"C1"}, "text": {"form-secret-1"}})
	postJSON(t, f, "views.open", botToken, map[string]any{"trigger_id": "x", "view": map[string]any{"title": "json-secret-2"}})
	postURL(t, f.NewResponseURL(), map[string]any{"text": "url-secret-3"})
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, f.APIURL()+"chat.getPermalink?channel=query-secret-4", nil)
	req.Header.Set("Authorization", "Bearer "+botToken)
	do(t, req)
	c, _ := dial(t, f)
	c.send(t, map[string]any{"envelope_id": "e", "payload": map[string]any{"text": "ack-secret-5"}})
	if _, err := f.WaitAck(waitCtx(t), "e"); err != nil {
		t.Fatal(err)
	}
	all := string(f.AllTraffic())
	for _, s := range []string{"form-secret-1", "json-secret-2", "url-secret-3", "query-secret-4", "ack-secret-5"} {
		if !strings.Contains(all, s) {
			t.Errorf("AllTraffic() misses %q", s)
		}
	}
	if strings.Contains(all, "Bearer") {
		t.Error("AllTraffic() records Authorization headers; it should hold only what the bot sent as content")
	}
	if _, err := f.WaitCall(waitCtx(t), "chat.postMessage", func(c slackfake.Call) bool { return c.Params["text"] == "form-secret-1" }); err != nil {
		t.Errorf("WaitCall for a recorded call: %v", err)
	}
}

// TestOnCall checks that the OnCall hook sees every Web API call as it was
// recorded, refused ones included, with the ts an ok answer gave.
func TestOnCall(t *testing.T) {
	t.Parallel()
	seen := make(chan slackfake.Call, 3)
	f := newFake(t, slackfake.Options{OnCall: func(c slackfake.Call) { seen <- c }})
	res := postForm(t, f, "chat.postMessage", url.Values{"token": {botToken}, "channel": {"C1"}, "text": {"hi"}})
	ts, _ := res.body["ts"].(string)
	if !res.ok() || ts == "" {
		t.Fatalf("chat.postMessage = %v", res.body)
	}
	postForm(t, f, "chat.update", url.Values{"token": {botToken}, "channel": {"C1"}, "text": {"edited"}})
	postForm(t, f, "chat.update", url.Values{"token": {botToken}, "channel": {"C1"}, "ts": {ts}, "text": {"edited"}})
	tests := []struct {
		method, channel, text, wantErr, wantTS string
	}{
		{"chat.postMessage", "C1", "hi", "", ts},
		{"chat.update", "C1", "edited", "message_not_found", ""},
		{"chat.update", "C1", "edited", "", ts},
	}
	for _, tt := range tests {
		select {
		case c := <-seen:
			if c.Method != tt.method || c.Params["channel"] != tt.channel || c.Params["text"] != tt.text || c.Error != tt.wantErr || c.TS != tt.wantTS || c.At.IsZero() {
				t.Errorf("OnCall got %s %v (error %q, ts %q), want %s channel %s text %q error %q ts %q", c.Method, c.Params, c.Error, c.TS, tt.method, tt.channel, tt.text, tt.wantErr, tt.wantTS)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("OnCall not called for %s", tt.method)
		}
	}
}

// TestTriggerIDsDifferAcrossServers checks that two fakes never issue the
// same trigger ID: a bot that files a change once per trigger ID may keep
// them in a Redis that outlives one fake.
func TestTriggerIDsDifferAcrossServers(t *testing.T) {
	t.Parallel()
	a, b := newFake(t, slackfake.Options{}), newFake(t, slackfake.Options{})
	seen := map[string]bool{}
	for range 3 {
		for _, id := range []string{a.NewTriggerID(), b.NewTriggerID()} {
			if seen[id] {
				t.Errorf("trigger ID %q issued twice", id)
			}
			seen[id] = true
		}
	}
}

// TestSetDelay: a slow Slack answers a Web API call only after the delay
// (response_url posts go through the same wrapper), and at once again
// after SetDelay(0).
func TestSetDelay(t *testing.T) {
	t.Parallel()
	f := newFake(t, slackfake.Options{})
	f.SetUser(slackfake.User{ID: "U1"})
	took := func() time.Duration {
		t.Helper()
		start := time.Now()
		if got := postForm(t, f, "users.info", url.Values{"token": {botToken}, "user": {"U1"}}).err(); got != "" {
			t.Fatalf("users.info: %s", got)
		}
		return time.Since(start)
	}
	f.SetDelay(300 * time.Millisecond)
	if d := took(); d < 300*time.Millisecond {
		t.Errorf("with a 300ms delay, users.info answered after %v", d)
	}
	f.SetDelay(0)
	if d := took(); d >= 300*time.Millisecond {
		t.Errorf("without a delay, users.info answered after %v", d)
	}
}
