package main

import (
	"bytes"
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/flagbot/flagbot/internal/slackfake"
)

// TestLoadConfigBadDurationNamedOnce: a duration that does not parse is one
// problem, not also "must be between …".
func TestLoadConfigBadDurationNamedOnce(t *testing.T) {
	for _, name := range []string{"FLAGBOT_COMMAND_TIMEOUT", "FLAGBOT_APPROVAL_TTL", "FLAGBOT_SWEEP_INTERVAL"} {
		t.Run(name, func(t *testing.T) {
			m := validEnv()
			m[name] = "5"
			_, err := loadConfig(env(m))
			if err == nil {
				t.Fatalf("%s=5 accepted", name)
			}
			if n := strings.Count(err.Error(), name); n != 1 {
				t.Errorf("the error names %s %d times, want once:\n%v", name, n, err)
			}
		})
	}
}

// TestRedisDriverLogsReachTheBotLog stops Redis under a running bot: the
// driver's own complaints must come through the bot's structured logger
// (component "redis"), not as raw lines on the process's stderr.
func TestRedisDriverLogsReachTheBotLog(t *testing.T) {
	rs := startRedisServer(t)
	sl, lds := newSlack(t), newLD(t)
	b := startBot(t, sl, lds, withEnv("REDIS_URL", rs.url()), withEnv("FLAGBOT_ENCRYPTION_KEY", testKeyB64))
	rs.stop(t)
	b.command(t, teamID, userID, "status")
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(b.logs.String(), `"component":"redis"`) {
		if time.Now().After(deadline) {
			t.Fatalf("no go-redis line in the bot's log after Redis stopped:\n%s", b.logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	b.assertNoSecrets(t)
}

// TestEmbeddedWarningNamesTheConfiguredKey: with the embedded Redis and a
// configured key, the warning must not claim the key is a throwaway one.
func TestEmbeddedWarningNamesTheConfiguredKey(t *testing.T) {
	sl, lds := newSlack(t), newLD(t)
	b := startBot(t, sl, lds, withEnv("FLAGBOT_ENCRYPTION_KEY", testKeyB64))
	logs := b.logs.String()
	if !strings.Contains(logs, "NOT DURABLE") {
		t.Fatalf("no embedded-Redis warning:\n%s", logs)
	}
	if strings.Contains(logs, "throwaway") {
		t.Errorf("the warning calls the configured FLAGBOT_ENCRYPTION_KEY a throwaway key:\n%s", logs)
	}
	b.assertNoSecrets(t)
}

// TestTakenHTTPPortFailsFirst: a taken FLAGBOT_HTTP_ADDR stops the bot
// before it opens Redis or starts background work (which used to log
// spurious warnings such as "digest tick failed … context canceled").
func TestTakenHTTPPortFailsFirst(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { taken.Close() })
	sl, lds := newSlack(t), newLD(t)
	env := map[string]string{
		"SLACK_APP_TOKEN":   slackfake.DefaultAppToken,
		"SLACK_BOT_TOKEN":   slackfake.DefaultBotToken,
		"SLACK_API_URL":     sl.APIURL(),
		"LD_BASE_URL":       lds.URL(),
		"FLAGBOT_HTTP_ADDR": taken.Addr().String(),
	}
	logs := &syncBuffer{}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = run(ctx, []string{"flagbot"}, func(k string) string { return env[k] }, &bytes.Buffer{}, logs)
	if err == nil || !strings.Contains(err.Error(), "FLAGBOT_HTTP_ADDR") {
		t.Fatalf("run() = %v, want an error naming FLAGBOT_HTTP_ADDR", err)
	}
	if out := logs.String(); strings.Contains(out, "NOT DURABLE") || strings.Contains(out, `"component":"digest"`) || sl.Opens() != 0 {
		t.Errorf("the bot got going before finding its port taken (Slack opens %d):\n%s", sl.Opens(), logs.String())
	}
}
