package slackfake_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/flagbot/flagbot/internal/slackfake"
)

func TestHelloPingsAndAck(t *testing.T) {
	t.Parallel()
	f := newFake(t, slackfake.Options{PingInterval: 5 * time.Millisecond})
	c, hello := dial(t, f)

	if got := path(hello, "connection_info", "app_id"); got != slackfake.AppID {
		t.Errorf("hello app_id = %v, want %s", got, slackfake.AppID)
	}
	if got := hello["num_connections"]; got != float64(1) {
		t.Errorf("hello num_connections = %v, want 1", got)
	}
	if got := f.Connected(); got != 1 {
		t.Errorf("Connected() = %d, want 1", got)
	}

	beforeSend := time.Now()
	id, err := f.SlashCommand(slackfake.SlashCommand{ChannelID: "C1", UserID: "U1", UserName: "alice", Text: "list web"})
	if err != nil {
		t.Fatalf("SlashCommand: %v", err)
	}
	afterSend := time.Now()
	env := c.next(t)
	if env["envelope_id"] != id || env["type"] != "slash_commands" || env["accepts_response_payload"] != true {
		t.Errorf("envelope = %v, want id %s, type slash_commands, accepting a payload", env, id)
	}
	p := payload(t, env)
	want := map[string]any{
		"team_id": slackfake.TeamID, "channel_id": "C1", "user_id": "U1", "user_name": "alice",
		"command": "/flag", "text": "list web", "api_app_id": slackfake.AppID,
		"is_enterprise_install": "false", // a string, as Slack sends form fields
	}
	for k, v := range want {
		if p[k] != v {
			t.Errorf("payload[%q] = %v, want %v", k, p[k], v)
		}
	}
	if u, _ := p["response_url"].(string); !strings.HasPrefix(u, f.URL()+"/response_url/") {
		t.Errorf("response_url = %q, want a loopback URL on the fake", u)
	}
	if tr, _ := p["trigger_id"].(string); !strings.HasPrefix(tr, "trig-") {
		t.Errorf("trigger_id = %q, want trig-<run>-<n>", tr)
	}
	if _, ok := p["enterprise_id"]; ok {
		t.Errorf("payload has enterprise_id outside an org: %v", p)
	}

	c.send(t, map[string]any{"envelope_id": id, "payload": map[string]any{"text": "Working on it"}})
	ack, err := f.WaitAck(waitCtx(t), id)
	if err != nil {
		t.Fatalf("WaitAck: %v", err)
	}
	if string(ack.Payload) != `{"text":"Working on it"}` || ack.TooLarge() {
		t.Errorf("ack = %+v (payload %s), want the text payload, not too large", ack, ack.Payload)
	}
	// Sent is when the envelope was written: within Send, before the ack.
	if ack.Sent.Before(beforeSend) || ack.Sent.After(afterSend) || ack.At.Before(ack.Sent) {
		t.Errorf("ack sent at %v, read at %v; Send ran from %v to %v", ack.Sent, ack.At, beforeSend, afterSend)
	}
	// An ack for an envelope never written has no Sent time.
	c.send(t, map[string]any{"envelope_id": "no-such-envelope"})
	stray, err := f.WaitAck(waitCtx(t), "no-such-envelope")
	if err != nil {
		t.Fatalf("WaitAck: %v", err)
	}
	if !stray.Sent.IsZero() {
		t.Errorf("stray ack Sent = %v, want zero", stray.Sent)
	}

	// Pings arrive every PingInterval while the connection lives.
	deadline := time.Now().Add(waitFor)
	for c.pings.Load() < 3 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := c.pings.Load(); n < 3 {
		t.Errorf("got %d pings, want at least 3", n)
	}
}

func TestAckRecording(t *testing.T) {
	t.Parallel()
	f := newFake(t, slackfake.Options{})
	c, _ := dial(t, f)

	big := strings.Repeat("x", slackfake.AckSizeLimit)
	tests := []struct {
		name        string
		frame       string
		wantID      string
		wantPayload string
		wantLarge   bool
	}{
		{name: "plain", frame: `{"envelope_id":"e1"}`, wantID: "e1"},
		{name: "null payload", frame: `{"envelope_id":"e2","payload":null}`, wantID: "e2"},
		{name: "empty payload (Bolt)", frame: `{"envelope_id":"e3","payload":{}}`, wantID: "e3"},
		{name: "payload", frame: `{"envelope_id":"e4","payload":{"options":[]}}`, wantID: "e4", wantPayload: `{"options":[]}`},
		{name: "20 KB", frame: `{"envelope_id":"e5","payload":{"text":"` + big + `"}}`, wantID: "e5", wantPayload: `{"text":"` + big + `"}`, wantLarge: true},
		{name: "malformed", frame: `not json`, wantID: ""},
	}
	for _, tt := range tests {
		if err := c.ws.WriteMessage(websocket.TextMessage, []byte(tt.frame)); err != nil {
			t.Fatal(err)
		}
	}
	ctx := waitCtx(t)
	for len(f.Acks()) < len(tests) && ctx.Err() == nil {
		time.Sleep(time.Millisecond)
	}
	acks := f.Acks()
	if len(acks) != len(tests) {
		t.Fatalf("got %d acks, want %d", len(acks), len(tests))
	}
	for i, tt := range tests {
		a := acks[i]
		if a.EnvelopeID != tt.wantID || string(a.Payload) != tt.wantPayload || a.TooLarge() != tt.wantLarge || a.Size != len(tt.frame) {
			t.Errorf("%s: ack = {%q, %.40q, size %d, large %v}, want {%q, %.40q, size %d, large %v}", tt.name,
				a.EnvelopeID, a.Payload, a.Size, a.TooLarge(), tt.wantID, tt.wantPayload, len(tt.frame), tt.wantLarge)
		}
	}
	if !strings.Contains(string(f.AllTraffic()), `{"envelope_id":"e4","payload":{"options":[]}}`) {
		t.Error("AllTraffic() misses an ack frame")
	}
}

func TestEnvelopesGoToNewestConnection(t *testing.T) {
	t.Parallel()
	f := newFake(t, slackfake.Options{})
	old, _ := dial(t, f)
	newer, hello := dial(t, f)
	if hello["num_connections"] != float64(2) {
		t.Errorf("second hello num_connections = %v, want 2", hello["num_connections"])
	}
	if err := f.SendRaw(`{"type":"events_api","envelope_id":"raw-1","payload":{}}`); err != nil {
		t.Fatal(err)
	}
	if got := newer.next(t)["envelope_id"]; got != "raw-1" {
		t.Errorf("newest connection got %v, want raw-1", got)
	}
	old.none(t)

	// Disconnect goes to both; no envelope goes to a connection told to leave.
	f.Disconnect("refresh_requested")
	for _, c := range []*client{old, newer} {
		if m := c.next(t); m["type"] != "disconnect" || m["reason"] != "refresh_requested" {
			t.Errorf("got %v, want a refresh_requested disconnect", m)
		}
	}
	sent := make(chan error, 1)
	var id string
	go func() {
		var err error
		id, err = f.Interactive(map[string]any{"type": "block_suggestion", "action_id": "flag", "value": "che"})
		sent <- err
	}()
	select {
	case err := <-sent:
		t.Fatalf("Interactive returned %v before a new connection existed", err)
	case <-time.After(30 * time.Millisecond):
	}
	third, _ := dial(t, f)
	if err := <-sent; err != nil {
		t.Fatalf("Interactive: %v", err)
	}
	env := third.next(t)
	if env["envelope_id"] != id || env["type"] != "interactive" || env["accepts_response_payload"] != true {
		t.Errorf("envelope = %v, want %s, interactive, accepting a payload", env, id)
	}
	old.none(t)
	newer.none(t)
	if got := f.Opens(); got != 3 {
		t.Errorf("Opens() = %d, want 3", got)
	}
}

func TestDropConnections(t *testing.T) {
	t.Parallel()
	f := newFake(t, slackfake.Options{})
	c, _ := dial(t, f)
	f.DropConnections()
	select {
	case <-c.gone:
	case <-time.After(waitFor):
		t.Fatal("connection still open after DropConnections")
	}
	ctx := waitCtx(t)
	for f.Connected() != 0 && ctx.Err() == nil {
		time.Sleep(time.Millisecond)
	}
	if got := f.Connected(); got != 0 {
		t.Errorf("Connected() = %d after DropConnections, want 0", got)
	}
}

func TestSendWithoutConnectionTimesOut(t *testing.T) {
	t.Parallel()
	f := newFake(t, slackfake.Options{SendTimeout: 20 * time.Millisecond})
	_, err := f.SlashCommand(slackfake.SlashCommand{UserID: "U1"})
	if !errors.Is(err, slackfake.ErrNoConnection) {
		t.Errorf("SlashCommand with no connection: err = %v, want ErrNoConnection", err)
	}
}

func TestTickets(t *testing.T) {
	t.Parallel()
	f := newFake(t, slackfake.Options{})
	u := openURL(t, f)
	ws, resp, err := websocket.DefaultDialer.DialContext(t.Context(), u, nil)
	if err != nil {
		t.Fatalf("first dial: %v", err)
	}
	resp.Body.Close()
	t.Cleanup(func() { _ = ws.Close() })

	for _, tt := range []struct{ name, url string }{
		{"reused ticket", u},
		{"unknown ticket", strings.Replace(u, "ticket=", "ticket=x", 1)},
	} {
		ws2, resp, err := websocket.DefaultDialer.DialContext(t.Context(), tt.url, nil)
		if err == nil {
			_ = ws2.Close()
			t.Errorf("%s: dial succeeded, want a refusal", tt.name)
			continue
		}
		if resp == nil || resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s: dial err = %v, resp %v, want HTTP 401", tt.name, err, resp)
		}
		if resp != nil {
			resp.Body.Close()
		}
	}
}

func TestInteractionPayloads(t *testing.T) {
	t.Parallel()
	f := newFake(t, slackfake.Options{})
	c, _ := dial(t, f)

	id, err := f.BlockAction(slackfake.BlockAction{
		UserID: "U2", UserTeamID: "T0OTHER", ChannelID: "C1",
		ActionID: "approve", BlockID: "approval", Value: "req-1", MessageTS: "1700000000.000100",
	})
	if err != nil {
		t.Fatalf("BlockAction: %v", err)
	}
	env := c.next(t)
	if env["envelope_id"] != id || env["type"] != "interactive" || env["accepts_response_payload"] != false {
		t.Errorf("block_actions envelope = %v", env)
	}
	p := payload(t, env)
	checks := []struct {
		keys []string
		want any
	}{
		{[]string{"type"}, "block_actions"},
		{[]string{"team", "id"}, slackfake.TeamID},
		{[]string{"user", "id"}, "U2"},
		{[]string{"user", "team_id"}, "T0OTHER"},
		{[]string{"channel", "id"}, "C1"},
		{[]string{"container", "message_ts"}, "1700000000.000100"},
		{[]string{"container", "channel_id"}, "C1"},
		{[]string{"message", "ts"}, "1700000000.000100"},
		{[]string{"api_app_id"}, slackfake.AppID},
	}
	for _, ck := range checks {
		if got := path(p, ck.keys...); got != ck.want {
			t.Errorf("block_actions %v = %v, want %v", ck.keys, got, ck.want)
		}
	}
	actions, _ := p["actions"].([]any)
	if len(actions) != 1 || path(actions[0], "action_id") != "approve" || path(actions[0], "block_id") != "approval" || path(actions[0], "value") != "req-1" {
		t.Errorf("actions = %v", p["actions"])
	}
	if u, _ := p["response_url"].(string); !strings.HasPrefix(u, f.URL()+"/response_url/") {
		t.Errorf("response_url = %q", u)
	}

	// Raw interactive payloads: accepts_response_payload follows the type.
	for _, tt := range []struct {
		typ     string
		accepts bool
	}{{"block_actions", false}, {"block_suggestion", true}, {"view_submission", true}} {
		id, err := f.Interactive(map[string]any{"type": tt.typ})
		if err != nil {
			t.Fatalf("Interactive(%s): %v", tt.typ, err)
		}
		if env := c.next(t); env["envelope_id"] != id || env["accepts_response_payload"] != tt.accepts || path(env, "payload", "type") != tt.typ {
			t.Errorf("Interactive(%s) envelope = %v, want accepts_response_payload %v", tt.typ, env, tt.accepts)
		}
	}

	id, err = f.ViewSubmission(slackfake.ViewSubmission{
		UserID: "U1", CallbackID: "change", PrivateMetadata: "req-2",
		Values: map[string]map[string]any{"flag_block": {"flag": map[string]any{"type": "plain_text_input", "value": "checkout"}}},
	})
	if err != nil {
		t.Fatalf("ViewSubmission: %v", err)
	}
	env = c.next(t)
	if env["envelope_id"] != id || env["accepts_response_payload"] != true {
		t.Errorf("view_submission envelope = %v", env)
	}
	p = payload(t, env)
	if p["type"] != "view_submission" || path(p, "view", "callback_id") != "change" || path(p, "view", "private_metadata") != "req-2" ||
		path(p, "view", "state", "values", "flag_block", "flag", "value") != "checkout" || path(p, "user", "id") != "U1" {
		t.Errorf("view_submission payload = %v", p)
	}
}

func TestWaitsHonourContextAndClose(t *testing.T) {
	t.Parallel()
	f := newFake(t, slackfake.Options{})
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Millisecond)
	defer cancel()
	if _, err := f.WaitAck(ctx, "never"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("WaitAck err = %v, want DeadlineExceeded", err)
	}
	if _, err := f.WaitCall(ctx, "chat.postMessage", nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("WaitCall err = %v, want DeadlineExceeded", err)
	}
	if _, err := f.WaitResponse(ctx, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("WaitResponse err = %v, want DeadlineExceeded", err)
	}

	// Closing the server (its t.Cleanup) ends waits and connections.
	var (
		inner   *slackfake.Server
		c       *client
		waitErr = make(chan error, 1)
	)
	ok := t.Run("server", func(t *testing.T) {
		inner = newFake(t, slackfake.Options{})
		ws, resp, err := websocket.DefaultDialer.DialContext(t.Context(), openURL(t, inner), nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		c = &client{ws: ws, gone: make(chan struct{})}
		go func() {
			defer close(c.gone)
			for {
				if _, _, err := ws.ReadMessage(); err != nil {
					return
				}
			}
		}()
		go func() {
			_, err := inner.WaitAck(context.Background(), "never")
			waitErr <- err
		}()
	})
	if !ok {
		t.FailNow()
	}
	defer c.ws.Close()
	select {
	case err := <-waitErr:
		if !errors.Is(err, slackfake.ErrClosed) {
			t.Errorf("WaitAck after close: err = %v, want ErrClosed", err)
		}
	case <-time.After(waitFor):
		t.Fatal("WaitAck still blocked after the server closed")
	}
	select {
	case <-c.gone:
	case <-time.After(waitFor):
		t.Fatal("websocket still open after the server closed")
	}
	if _, err := inner.SlashCommand(slackfake.SlashCommand{}); !errors.Is(err, slackfake.ErrClosed) {
		t.Errorf("SlashCommand after close: err = %v, want ErrClosed", err)
	}
}
