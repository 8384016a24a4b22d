package main

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flagbot/flagbot/internal/slackfake"
)

// TestTimedOutCommandStillAnswers checks that a command which runs out of
// FLAGBOT_COMMAND_TIMEOUT is still told so: replies have their own context.
func TestTimedOutCommandStillAnswers(t *testing.T) {
	sl, lds := newSlack(t), newLD(t)
	target, err := url.Parse(lds.URL())
	if err != nil {
		t.Fatal(err)
	}
	var slow atomic.Bool
	rp := httputil.NewSingleHostReverseProxy(target)
	px := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if slow.Load() {
			select {
			case <-time.After(3 * time.Second):
			case <-r.Context().Done():
				return
			}
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(px.Close)
	b := startBot(t, sl, lds, withEnv("LD_BASE_URL", px.URL), withEnv("FLAGBOT_COMMAND_TIMEOUT", "1s"))
	if ack := b.connect(t, teamID, adminID, readerToken, "web", "production"); len(ack.Payload) != 0 {
		t.Fatalf("connect: %s", ack.Payload)
	}
	slow.Store(true)
	r := b.command(t, teamID, userID, "projects")
	wantContains(t, "reply to a timed-out command", string(r.Body), "took too long")
	b.assertNoSecrets(t)
}

// TestOtherSlashCommandIsAnswered checks that a command Flagbot does not
// serve (the app's command renamed in the manifest, say) gets a reply
// saying which one it answers, not silence.
func TestOtherSlashCommandIsAnswered(t *testing.T) {
	sl, lds := newSlack(t), newLD(t)
	startBot(t, sl, lds)
	id, err := sl.SlashCommand(slackfake.SlashCommand{UserID: userID, ChannelID: channelID, Command: "/flag-dev", Text: "list"})
	if err != nil {
		t.Fatal(err)
	}
	ack, err := sl.WaitAck(waitCtx(t), id)
	if err != nil {
		t.Fatal(err)
	}
	wantContains(t, "ack", string(ack.Payload), "/flag help")
}
