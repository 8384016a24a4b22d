package main

import (
	"strings"
	"testing"
	"time"

	"github.com/flagbot/flagbot/internal/redisstore"
	"github.com/flagbot/flagbot/internal/redisstore/redistest"
	"github.com/flagbot/flagbot/internal/slackfake"
)

// TestAcksNeverWait is issue 12's "the ack never waits on LaunchDarkly,
// Redis or Slack": with all three answering only after a second, a slash
// command and an Approve click are each acked in well under that, and
// their work finishes once the three answer again: the command gets its
// reply and the change is applied exactly once.
func TestAcksNeverWait(t *testing.T) {
	t.Parallel()
	const (
		delay = time.Second
		bound = delay / 2 // an ack that waited on any of them took delay
	)
	sl, lds := newApprovalSlack(t), newLD(t)
	// The bot's Redis is behind a proxy that can slow every command.
	_, proxy := redistest.NewCounter(t, redistest.NewTestStore(t), redisstore.Options{})
	b := connected(t, sl, lds, writerToken, withEnv("REDIS_URL", proxy.URL()), withEnv("FLAGBOT_ENCRYPTION_KEY", testKeyB64))
	id, posted := b.request(t, userID, "on dark-mode production")
	if id == "" {
		t.Fatalf("no Approve button in %s", posted.Params["blocks"])
	}

	lds.SetDelay(delay)
	sl.SetDelay(delay)
	proxy.SetDelay(delay)
	slow := true
	fast := func() {
		if slow {
			lds.SetDelay(0)
			sl.SetDelay(0)
			proxy.SetDelay(0)
			slow = false
		}
	}
	t.Cleanup(fast)
	acked := func(what string, eid string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("send %s: %v", what, err)
		}
		ack, err := sl.WaitAck(waitCtx(t), eid)
		if err != nil {
			t.Fatalf("no ack for %s: %v", what, err)
		}
		if took := ack.At.Sub(ack.Sent); took > bound {
			t.Errorf("%s was acked after %v with LaunchDarkly, Redis and Slack each taking %v; want under %v", what, took, delay, bound)
		}
	}
	sent := time.Now()
	eid, err := sl.SlashCommand(slackfake.SlashCommand{UserID: userID, ChannelID: channelID, Text: "show dark-mode production"})
	acked("/flag show", eid, err)
	eid, err = sl.BlockAction(slackfake.BlockAction{UserID: approverID, ChannelID: channelID, ActionID: "change_approve", Value: id, MessageTS: posted.TS})
	acked("the Approve click", eid, err)
	fast()

	reply, err := sl.WaitResponse(waitCtx(t), func(r slackfake.Response) bool {
		return r.At.After(sent) && strings.Contains(string(r.Body), "dark-mode")
	})
	if err != nil {
		t.Fatalf("/flag show was never answered: %v", err)
	}
	if reply.Error != "" {
		t.Fatalf("/flag show's reply failed: %s", reply.Error)
	}
	updated, err := sl.WaitCall(waitCtx(t), "chat.update", func(c slackfake.Call) bool { return c.At.After(sent) })
	if err != nil {
		t.Fatalf("the approved request was never updated: %v", err)
	}
	wantContains(t, "updated request", updated.Params["blocks"], "Applied", "<@"+approverID+">")
	if !flagOn(t, lds, "dark-mode", "production") {
		t.Error("the approved change was not applied")
	}
	if n := patches(lds); n != 1 {
		t.Errorf("%d patches sent to LaunchDarkly, want exactly 1", n)
	}
}
