package slackfake_test

import (
	"net/url"
	"testing"

	"github.com/flagbot/flagbot/internal/slackfake"
)

func TestChannelsAndHistory(t *testing.T) {
	t.Parallel()
	f := newFake(t, slackfake.Options{})
	f.SetChannel(slackfake.Channel{ID: "G0IN", Name: "secret", Private: true, Members: []string{"U1", "U2", "U3", slackfake.BotUserID}})
	f.SetChannel(slackfake.Channel{ID: "G0OUT", Name: "hidden", Private: true, Members: []string{"U1"}, BotAbsent: true})
	f.SetChannel(slackfake.Channel{ID: "C0OUT", Name: "elsewhere", Members: []string{"U1"}, BotAbsent: true})
	f.SetChannel(slackfake.Channel{ID: "C0OLD", Name: "old", Archived: true})
	call := func(method string, kv ...string) apiResult {
		t.Helper()
		v := url.Values{"token": {botToken}}
		for i := 0; i < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return postForm(t, f, method, v)
	}
	tests := []struct {
		name, method string
		args         []string
		wantErr      string
	}{
		{"info, private with the bot", "conversations.info", []string{"channel", "G0IN"}, ""},
		{"info, private without the bot", "conversations.info", []string{"channel", "G0OUT"}, "channel_not_found"},
		{"info, public without the bot", "conversations.info", []string{"channel", "C0OUT"}, ""},
		{"post, private without the bot", "chat.postMessage", []string{"channel", "G0OUT", "text", "x"}, "channel_not_found"},
		{"post, public without the bot", "chat.postMessage", []string{"channel", "C0OUT", "text", "x"}, "not_in_channel"},
		{"members, private without the bot", "conversations.members", []string{"channel", "G0OUT"}, "channel_not_found"},
		{"history, public without the bot", "conversations.history", []string{"channel", "C0OUT"}, "not_in_channel"},
		{"post, archived", "chat.postMessage", []string{"channel", "C0OLD", "text", "x"}, "is_archived"},
		{"members, a channel never set", "conversations.members", []string{"channel", "C0NEW"}, "channel_not_found"},
	}
	for _, tt := range tests {
		if res := call(tt.method, tt.args...); res.err() != tt.wantErr {
			t.Errorf("%s: %v, want error %q", tt.name, res.body, tt.wantErr)
		}
	}
	if res := call("conversations.info", "channel", "G0IN"); path(res.body, "channel", "is_private") != true || path(res.body, "channel", "name") != "secret" || path(res.body, "channel", "is_member") != true {
		t.Errorf("conversations.info(G0IN) = %v", res.body)
	}
	if res := call("conversations.info", "channel", "C0OUT"); path(res.body, "channel", "is_member") != false || path(res.body, "channel", "is_private") != false {
		t.Errorf("conversations.info(C0OUT) = %v", res.body)
	}

	// Members a page at a time.
	res := call("conversations.members", "channel", "G0IN", "limit", "3")
	if m, _ := res.body["members"].([]any); len(m) != 3 || path(res.body, "response_metadata", "next_cursor") != "3" {
		t.Fatalf("first page = %v", res.body)
	}
	res = call("conversations.members", "channel", "G0IN", "limit", "3", "cursor", "3")
	if m, _ := res.body["members"].([]any); len(m) != 1 || m[0] != slackfake.BotUserID || path(res.body, "response_metadata", "next_cursor") != "" {
		t.Fatalf("second page = %v", res.body)
	}

	// History: newest first, after oldest, metadata only when asked for.
	first := call("chat.postMessage", "channel", "G0IN", "text", "one")
	call("chat.postMessage", "channel", "G0IN", "text", "two", "metadata", `{"event_type":"e","event_payload":{"k":"v"}}`)
	call("chat.postMessage", "channel", "C1", "text", "elsewhere")
	res = call("conversations.history", "channel", "G0IN", "oldest", first.body["ts"].(string))
	msgs, _ := res.body["messages"].([]any)
	if len(msgs) != 1 || path(msgs[0], "text") != "two" || path(msgs[0], "metadata") != nil {
		t.Fatalf("history after the first = %v", res.body)
	}
	res = call("conversations.history", "channel", "G0IN", "include_all_metadata", "1", "limit", "1")
	msgs, _ = res.body["messages"].([]any)
	if len(msgs) != 1 || path(msgs[0], "metadata", "event_payload", "k") != "v" || res.body["has_more"] != true {
		t.Fatalf("history with metadata = %v", res.body)
	}
	if got := f.Messages("G0IN", ""); len(got) != 2 || got[0].Text != "one" || got[1].Metadata == nil {
		t.Errorf("Messages(G0IN) = %+v", got)
	}
}
