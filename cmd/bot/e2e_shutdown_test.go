package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/flagbot/flagbot/internal/slackfake"
)

// approveInFlight requests dark-mode on, holds LaunchDarkly's PATCH, and
// clicks Approve as someone else; it returns once the PATCH is held.
func approveInFlight(t *testing.T, b *bot) (release func()) {
	t.Helper()
	id, _ := b.request(t, userID, "on dark-mode production")
	arrived, release := b.ld.Gate(http.MethodPatch)
	if _, err := b.slack.BlockAction(slackfake.BlockAction{UserID: approverID, ChannelID: channelID,
		ActionID: "change_approve", Value: id, MessageTS: "1700000000.000001"}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-arrived:
	case <-waitCtx(t).Done():
		t.Fatal("the approved change never reached LaunchDarkly")
	}
	return release
}

// TestShutdownFinishesInFlightApproval: on SIGTERM the bot leaves Slack at
// once (Slack sends new envelopes to the other replicas), lets an approval
// that is mid-PATCH finish and update its message, then returns.
func TestShutdownFinishesInFlightApproval(t *testing.T) {
	sl, lds := newApprovalSlack(t), newLD(t)
	b := connected(t, sl, lds, writerToken)
	release := approveInFlight(t, b)

	b.cancel() // what SIGTERM does through signal.NotifyContext
	deadline := time.Now().Add(5 * time.Second)
	for sl.Connected() > 0 {
		if time.Now().After(deadline) {
			t.Fatal("the bot kept its Socket Mode connection after shutdown began")
		}
		time.Sleep(5 * time.Millisecond)
	}
	select {
	case err := <-b.done:
		t.Fatalf("run returned (%v) while an approval was still being applied", err)
	case <-time.After(100 * time.Millisecond):
	}

	sent := time.Now()
	release()
	select {
	case err := <-b.done:
		b.stopped = true
		if err != nil {
			t.Fatalf("run returned %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("run did not return after the in-flight approval finished")
	}
	if !flagOn(t, lds, "dark-mode", "production") {
		t.Fatal("the in-flight approval was not applied")
	}
	updated, err := sl.WaitCall(waitCtx(t), "chat.update", func(c slackfake.Call) bool { return c.At.After(sent) })
	if err != nil {
		t.Fatalf("the request message was not updated before exit: %v", err)
	}
	wantContains(t, "updated request", updated.Params["blocks"], "Applied", "<@"+approverID+">")
	if n := patches(lds); n != 1 {
		t.Errorf("%d patches, want 1", n)
	}
}

// TestShutdownTimeoutBoundsTheWait: work that outlives
// FLAGBOT_SHUTDOWN_TIMEOUT does not hold the process; run returns and says
// so (the change keeps its lease, and a sweeper finishes it later:
// TestResumeApprovedAfterALandedPatch covers that path).
func TestShutdownTimeoutBoundsTheWait(t *testing.T) {
	sl, lds := newApprovalSlack(t), newLD(t)
	b := connected(t, sl, lds, writerToken, withEnv("FLAGBOT_SHUTDOWN_TIMEOUT", "1s"))
	release := approveInFlight(t, b)
	defer release()

	start := time.Now()
	b.cancel()
	select {
	case err := <-b.done:
		b.stopped = true
		if err != nil {
			t.Fatalf("run returned %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run ignored FLAGBOT_SHUTDOWN_TIMEOUT")
	}
	if d := time.Since(start); d < time.Second {
		t.Errorf("run returned after %v, before the 1s shutdown timeout, with work in flight", d)
	}
	if !strings.Contains(b.logs.String(), "in-flight commands did not finish in time") {
		t.Errorf("no warning that work was left in flight:\n%s", b.logs.String())
	}
}
