package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/flagbot/flagbot/internal/slackapp"
)

// TestWrongBotTokenStopsAtStart checks that a bot token Slack rejects stops
// run at once with a message naming SLACK_BOT_TOKEN.
func TestWrongBotTokenStopsAtStart(t *testing.T) {
	sl, lds := newSlack(t), newLD(t)
	env := map[string]string{
		"SLACK_APP_TOKEN":   "xapp-1-slackfake",
		"SLACK_BOT_TOKEN":   "xoxb-wrong-token",
		"SLACK_API_URL":     sl.APIURL(),
		"LD_BASE_URL":       lds.URL(),
		"FLAGBOT_HTTP_ADDR": "127.0.0.1:0",
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var logs bytes.Buffer
	err := run(ctx, []string{"flagbot"}, func(k string) string { return env[k] }, &bytes.Buffer{}, &logs)
	if !errors.Is(err, slackapp.ErrBotTokenRejected) || !strings.Contains(err.Error(), "SLACK_BOT_TOKEN") {
		t.Fatalf("run = %v, want an error naming SLACK_BOT_TOKEN", err)
	}
	if strings.Contains(logs.String(), "xoxb-wrong-token") || strings.Contains(err.Error(), "xoxb-wrong-token") {
		t.Error("the rejected token was printed")
	}
}
