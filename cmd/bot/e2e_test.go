package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/flagbot/flagbot/internal/slackfake"
)

// TestEndToEnd drives the real bot (run → socketmode → handlers → executor
// → ld client → token store) against the fake Slack and fake LaunchDarkly:
// an admin connects, then every read command answers.
func TestEndToEnd(t *testing.T) { forEachMode(t, testEndToEnd) }

func testEndToEnd(t *testing.T, m mode) {
	sl, lds := newSlack(t), newLD(t)
	b := m.start(t, sl, lds)

	t.Run("not connected", func(t *testing.T) {
		before := len(lds.Requests())
		r := b.command(t, teamID, userID, "list")
		wantContains(t, "reply", string(r.Body), "not connected", "/flag connect")
		if n := len(lds.Requests()); n != before {
			t.Errorf("a workspace with no token made %d LaunchDarkly calls", n-before)
		}
	})

	t.Run("non-admin cannot connect", func(t *testing.T) {
		r := b.command(t, teamID, userID, "connect")
		wantContains(t, "reply", string(r.Body), "admin")
		if calls := sl.Calls("views.open"); len(calls) != 0 {
			t.Errorf("a non-admin got the connect modal")
		}
	})

	t.Run("invalid token shown inline", func(t *testing.T) {
		ack := b.connect(t, teamID, adminID, "api-not-a-real-token-0000", "", "")
		var p struct {
			ResponseAction string            `json:"response_action"`
			Errors         map[string]string `json:"errors"`
		}
		if err := json.Unmarshal(ack.Payload, &p); err != nil {
			t.Fatalf("ack payload %s: %v", ack.Payload, err)
		}
		if p.ResponseAction != "errors" || !strings.Contains(p.Errors["ld_token"], "rejected") {
			t.Errorf("ack = %s, want response_action errors on ld_token saying the token was rejected", ack.Payload)
		}
	})

	t.Run("unknown default environment shown inline", func(t *testing.T) {
		ack := b.connect(t, teamID, adminID, writerToken, "web", "prod")
		wantContains(t, "ack", string(ack.Payload), `"ld_env"`, "production")
	})

	t.Run("admin connects", func(t *testing.T) {
		sent := time.Now()
		ack := b.connect(t, teamID, adminID, writerToken, "web", "production")
		if len(ack.Payload) != 0 {
			t.Fatalf("successful submission acked with %s, want an empty ack that closes the modal", ack.Payload)
		}
		call, err := sl.WaitCall(waitCtx(t), "chat.postEphemeral", func(c slackfake.Call) bool { return c.At.After(sent) })
		if err != nil {
			t.Fatalf("no confirmation: %v", err)
		}
		wantContains(t, "confirmation", string(call.Body), "flagbot-writer", "Writer", writerToken[len(writerToken)-4:])
	})

	reads := []struct {
		text string
		want []string
	}{
		{"status", []string{"flagbot-writer", "Writer", "web", "production"}},
		{"help", []string{"list", "show", "audit", "connect"}},
		{"help show", []string{"/flag show", "Shows one flag", "/flag show new-checkout production"}},
		{"projects", []string{"web", "Web app", "mobile"}},
		{"envs", []string{"production", "staging"}},
		{"envs web", []string{"Production", "Staging"}},
		{"list checkout", []string{"new-checkout", "New checkout"}},
		{"show new-checkout", []string{"New checkout", "new-checkout", "25", "75", "Enabled", "Disabled", "Ana Lima", "/web/production/features/new-checkout"}},
		{"show NEW-CHECKOUT staging", []string{"new-checkout", "staging"}},
		{"segments", []string{"beta-users", "Beta users"}},
		{"segment beta-users", []string{"Beta users", "3"}},
		{"contexts ana", []string{"ana", "Ana Lima"}},
		{"context user:ana", []string{"Ana Lima"}},
		{"audit --since 24h", []string{"New checkout", "launch day", "Dark mode"}},
		{"audit --flag new-checkout --env production", []string{"New checkout", "launch day"}},
	}
	for _, tt := range reads {
		t.Run(tt.text, func(t *testing.T) {
			r := b.command(t, teamID, userID, tt.text)
			if r.ResponseType != "ephemeral" {
				t.Errorf("response_type = %q, want ephemeral", r.ResponseType)
			}
			wantContains(t, "reply to /flag "+tt.text, string(r.Body), tt.want...)
		})
	}

	t.Run("share posts in channel", func(t *testing.T) {
		r := b.command(t, teamID, userID, "show dark-mode --share")
		if r.ResponseType != "in_channel" {
			t.Errorf("response_type = %q, want in_channel", r.ResponseType)
		}
	})

	t.Run("list pages with a button", func(t *testing.T) {
		r := b.command(t, teamID, userID, "list")
		wantContains(t, "first page", string(r.Body), "flag_list_next", "of 32")
		value := buttonValue(t, r.Blocks, "flag_list_next")
		sent := time.Now()
		if _, err := sl.BlockAction(slackfake.BlockAction{UserID: userID, ChannelID: channelID, ActionID: "flag_list_next", Value: value, MessageTS: "1.2"}); err != nil {
			t.Fatal(err)
		}
		next := b.responseAfter(t, sent, "next page")
		if !next.ReplaceOriginal {
			t.Errorf("next page did not replace the original message")
		}
		if string(next.Blocks) == string(r.Blocks) {
			t.Errorf("next page shows the same flags as the first")
		}
	})

	t.Run("unknown flag suggests", func(t *testing.T) {
		r := b.command(t, teamID, userID, "show new-chekout")
		wantContains(t, "reply", string(r.Body), "new-chekout", "new-checkout")
	})

	t.Run("usage error", func(t *testing.T) {
		r := b.command(t, teamID, userID, "shwo new-checkout")
		wantContains(t, "reply", string(r.Body), "show")
	})

	t.Run("rate limited then success", func(t *testing.T) {
		lds.RateLimitNext(1, time.Second)
		r := b.command(t, teamID, userID, "projects")
		wantContains(t, "reply", string(r.Body), "Web app")
	})

	t.Run("LaunchDarkly failing", func(t *testing.T) {
		// One try and three retries, all failing.
		lds.FailNext(4, http.StatusInternalServerError, "internal", "boom")
		r := b.command(t, teamID, userID, "projects")
		wantContains(t, "reply", string(r.Body), "LaunchDarkly")
		if strings.Contains(string(r.Body), "boom") {
			t.Errorf("the reply shows LaunchDarkly's internal message")
		}
	})

	t.Run("another workspace uses its own token", func(t *testing.T) {
		b.command(t, otherTeamID, "UOTHERADMIN", "status") // not connected yet
		ack := b.connect(t, otherTeamID, "UOTHERADMIN", otherToken, "mobile", "")
		if len(ack.Payload) != 0 {
			t.Fatalf("connect for the other team failed: %s", ack.Payload)
		}
		before := len(lds.Requests())
		b.command(t, otherTeamID, "UOTHERADMIN", "projects")
		b.command(t, teamID, userID, "projects")
		reqs := lds.Requests()[before:]
		if len(reqs) != 2 || reqs[0].Token != otherToken || reqs[1].Token != writerToken {
			var got []string
			for _, r := range reqs {
				got = append(got, r.Token[:8])
			}
			t.Errorf("tokens used = %v, want the other team's then ours", got)
		}
	})

	t.Run("metrics", func(t *testing.T) {
		status, body := b.get(t, "/metrics")
		if status != http.StatusOK {
			t.Fatalf("/metrics = %d", status)
		}
		wantContains(t, "/metrics", body, `flagbot_commands_total{command="show",outcome="ok"}`, "flagbot_slack_connected 1")
	})

	t.Run("admin disconnects", func(t *testing.T) {
		r := b.command(t, teamID, adminID, "disconnect")
		wantContains(t, "reply", string(r.Body), "flagbot-writer")
		r = b.command(t, teamID, userID, "show new-checkout")
		wantContains(t, "reply", string(r.Body), "not connected")
	})

	b.assertNoSecrets(t)
}

// TestSlackDisconnectReconnects checks that the bot reconnects when Slack
// asks it to and keeps answering.
func TestSlackDisconnectReconnects(t *testing.T) {
	sl, lds := newSlack(t), newLD(t)
	b := startBot(t, sl, lds)
	opens := sl.Opens()
	sl.Disconnect("refresh_requested")
	deadline := time.Now().Add(5 * time.Second)
	for sl.Opens() <= opens || sl.Connected() == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no reconnect: opens %d, connected %d", sl.Opens(), sl.Connected())
		}
		time.Sleep(10 * time.Millisecond)
	}
	r := b.command(t, teamID, userID, "help")
	wantContains(t, "reply after reconnect", string(r.Body), "show")
	sl.DropConnections()
	r = b.command(t, teamID, userID, "status")
	wantContains(t, "reply after a dropped socket", string(r.Body), "not connected")
}

// TestRedisDownThenBack stops the real Redis under a running bot: users are
// told nothing was changed, the Slack connection stays, and the bot recovers
// by itself when Redis is back.
func TestRedisDownThenBack(t *testing.T) {
	rs := startRedisServer(t)
	sl, lds := newSlack(t), newLD(t)
	b := startBot(t, sl, lds, withEnv("REDIS_URL", rs.url()), withEnv("FLAGBOT_ENCRYPTION_KEY", testKeyB64))
	if ack := b.connect(t, teamID, adminID, readerToken, "web", "production"); len(ack.Payload) != 0 {
		t.Fatalf("connect failed: %s", ack.Payload)
	}
	wantContains(t, "before", string(b.command(t, teamID, userID, "show dark-mode").Body), "Dark mode")

	rs.stop(t)
	// A read may still be answered from the connection cache until the bot
	// notices its Redis subscription is gone (milliseconds; at most
	// FLAGBOT_CONNECTION_CACHE_TTL): what it shows comes from LaunchDarkly
	// either way. Then every command says the store is down.
	var r slackfake.Response
	for start := time.Now(); ; {
		r = b.command(t, teamID, userID, "show dark-mode")
		if !strings.Contains(string(r.Body), "Dark mode") || time.Since(start) > 3*time.Second {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	wantContains(t, "reply with Redis down", string(r.Body), "state store is unavailable", "nothing was changed")
	if status, _ := b.get(t, "/readyz"); status != http.StatusServiceUnavailable {
		t.Errorf("/readyz = %d with Redis down, want 503", status)
	}
	if sl.Connected() == 0 {
		t.Errorf("the Slack connection dropped with Redis")
	}

	rs.start(t)
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := b.command(t, teamID, userID, "show dark-mode")
		if strings.Contains(string(r.Body), "Dark mode") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the bot did not recover after Redis came back; last reply:\n%s", r.Body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	b.waitReady(t)
	b.assertNoSecrets(t)
}

// TestTokensSurviveRestart checks that a connection stored in a real Redis
// is read back, decrypted, by a new bot process with the same key.
func TestTokensSurviveRestart(t *testing.T) {
	rs := startRedisServer(t)
	sl, lds := newSlack(t), newLD(t)
	env := []botOption{withEnv("REDIS_URL", rs.url()), withEnv("FLAGBOT_ENCRYPTION_KEY", testKeyB64)}
	first := startBot(t, sl, lds, env...)
	if ack := first.connect(t, teamID, adminID, writerToken, "web", "production"); len(ack.Payload) != 0 {
		t.Fatalf("connect failed: %s", ack.Payload)
	}
	first.stop(t)
	second := startBot(t, sl, lds, env...)
	wantContains(t, "after restart", string(second.command(t, teamID, userID, "status").Body), "flagbot-writer")
	second.assertNoSecrets(t)
	first.assertNoSecrets(t)
}

func buttonValue(t testing.TB, blocks json.RawMessage, actionID string) string {
	t.Helper()
	var bs []struct {
		Elements []struct {
			ActionID string `json:"action_id"`
			Value    string `json:"value"`
		} `json:"elements"`
		Accessory *struct {
			ActionID string `json:"action_id"`
			Value    string `json:"value"`
		} `json:"accessory"`
	}
	if err := json.Unmarshal(blocks, &bs); err != nil {
		t.Fatalf("blocks: %v", err)
	}
	for _, b := range bs {
		for _, e := range b.Elements {
			if e.ActionID == actionID {
				return e.Value
			}
		}
		if b.Accessory != nil && b.Accessory.ActionID == actionID {
			return b.Accessory.Value
		}
	}
	t.Fatalf("no button %s in %s", actionID, blocks)
	return ""
}
