package main

import (
	"context"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/flagbot/flagbot/internal/ld/ldtest"
	"github.com/flagbot/flagbot/internal/slackfake"
)

// childBotEnv marks the test binary re-run as a second bot process.
const childBotEnv = "FLAGBOT_TEST_CHILD_BOT"

// TestChildBot is not a test: it is the second bot process that
// TestConnectionCacheAcrossProcesses and TestInstallationCacheAcrossProcesses
// start by re-running the test binary.
func TestChildBot(t *testing.T) {
	if os.Getenv(childBotEnv) == "" {
		t.Skip("runs only as the second bot process of the tests across processes (startChildBot)")
	}
	if err := run(context.Background(), []string{"flagbot"}, os.Getenv, os.Stdout, os.Stderr); err != nil {
		t.Fatal(err)
	}
}

// childBotEnvFor is the environment of a second bot process on sl and
// lds, with adminID as Flagbot admin, then shared (the Redis both
// processes use) and opts (such as withOAuth) on top.
func childBotEnvFor(sl *slackfake.Server, lds *ldtest.Server, shared map[string]string, opts ...botOption) map[string]string {
	env := map[string]string{
		"SLACK_APP_TOKEN":   slackfake.DefaultAppToken,
		"SLACK_BOT_TOKEN":   slackfake.DefaultBotToken,
		"SLACK_API_URL":     sl.APIURL(),
		"LD_BASE_URL":       lds.URL(),
		"FLAGBOT_HTTP_ADDR": "127.0.0.1:0",
		"FLAGBOT_ADMINS":    adminID,
		"LOG_LEVEL":         "debug",
	}
	maps.Copy(env, shared)
	for _, o := range opts {
		o(env)
	}
	return env
}

// startChildBot runs a bot in another process with env, on sl, until the
// test ends (SIGTERM, as an orchestrator stops it).
func startChildBot(t *testing.T, sl *slackfake.Server, env map[string]string) *bot {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestChildBot$", "-test.v")
	cmd.Env = append(os.Environ(), childBotEnv+"=1")
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	logs := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("the child bot exited with %v", err)
			}
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			t.Error("the child bot did not stop within 15s of SIGTERM")
		}
		if t.Failed() {
			t.Logf("child bot log:\n%s", logs.String())
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for sl.Connected() == 0 {
		select {
		case err := <-exited:
			t.Fatalf("the child bot exited early: %v\n%s", err, logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the child bot did not connect within 20s\n%s", logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	return &bot{slack: sl, logs: logs, stopped: true}
}

// TestConnectionCacheAcrossProcesses is issue 12's correctness bar: two
// bot processes on one real Redis, each on its own Slack connection, with
// connections cached for a minute. A disconnect and a reconnect made
// through one are seen by the other within a second.
func TestConnectionCacheAcrossProcesses(t *testing.T) {
	rs := startRedisServer(t)
	lds := newLD(t)
	slA, slB := newSlack(t), newSlack(t)
	shared := map[string]string{
		"REDIS_URL":                    rs.url(),
		"FLAGBOT_ENCRYPTION_KEY":       testKeyB64,
		"FLAGBOT_CONNECTION_CACHE_TTL": "1m",
	}
	var opts []botOption
	for k, v := range shared {
		opts = append(opts, withEnv(k, v))
	}
	a := connected(t, slA, lds, writerToken, opts...)
	b := startChildBot(t, slB, childBotEnvFor(slB, lds, shared))

	// b reads the connection (and caches it).
	for range 3 {
		wantContains(t, "status on the other process", b.command(t, teamID, userID, "status").Text, "flagbot-writer")
	}

	seenWithin := func(what, want string) {
		t.Helper()
		start := time.Now()
		for {
			got := b.command(t, teamID, userID, "status").Text
			if strings.Contains(got, want) {
				t.Logf("%s seen by the other process after %v", what, time.Since(start).Round(time.Millisecond))
				return
			}
			if time.Since(start) > time.Second {
				t.Fatalf("%s on one process not seen by the other within 1s: /flag status still answers %q", what, got)
			}
		}
	}
	wantContains(t, "disconnect", a.command(t, teamID, adminID, "disconnect").Text, "flagbot-writer")
	seenWithin("a disconnect", "not connected")

	if ack := a.connect(t, teamID, adminID, readerToken, "web", "production"); len(ack.Payload) != 0 {
		t.Fatalf("reconnect failed: %s", ack.Payload)
	}
	seenWithin("a reconnect", "flagbot-reader")
}

// TestInstallationCacheAcrossProcesses: two bot processes in
// multi-workspace mode on one real Redis, each on its own Slack connection,
// with installations cached for a minute. A reinstall through one (a new
// bot token) is used by the other's next Web API call within a second, and
// an uninstall through one stops the other within a second.
func TestInstallationCacheAcrossProcesses(t *testing.T) {
	rs := startRedisServer(t)
	lds := newLD(t)
	slA, slB := newSlack(t), newSlack(t)
	shared := map[string]string{
		"REDIS_URL":                    rs.url(),
		"FLAGBOT_ENCRYPTION_KEY":       testKeyB64,
		"FLAGBOT_CONNECTION_CACHE_TTL": "1m",
	}
	opts := []botOption{withOAuth(t)}
	for k, v := range shared {
		opts = append(opts, withEnv(k, v))
	}
	a := startBot(t, slA, lds, opts...)
	// Slack gives the token of an install to every connection of the app:
	// slB accepts what slA issued.
	installed := func() string {
		t.Helper()
		a.install(t, slackfake.Authorization{TeamID: teamID, UserID: adminID})
		in, ok := slA.Installed(teamID)
		if !ok {
			t.Fatal("the install did not take")
		}
		if _, err := slB.Adopt(in); err != nil {
			t.Fatal(err)
		}
		return in.Token
	}
	first := installed()

	env := childBotEnvFor(slB, lds, shared, withOAuth(t))
	b := startChildBot(t, slB, env)

	// Each command comes from a new person, so that b asks users.info (it
	// caches people, not installations) with the token it holds then.
	people := 0
	tokenOfNext := func() (string, slackfake.Response) {
		t.Helper()
		people++
		user := fmt.Sprintf("U0PERSON%d", people)
		slB.SetUser(slackfake.User{ID: user, Name: "person"})
		res := b.command(t, teamID, user, "help")
		for _, c := range slB.Calls("users.info") {
			if c.Params["user"] == user {
				return c.Token, res
			}
		}
		return "", res
	}
	for range 3 {
		if got, _ := tokenOfNext(); got != first {
			t.Fatalf("the other process called users.info with %q, want the installation's token", got)
		}
	}

	seenWithin := func(what string, ok func(token string, res slackfake.Response) bool) {
		t.Helper()
		start := time.Now()
		for {
			token, res := tokenOfNext()
			if ok(token, res) {
				t.Logf("%s seen by the other process after %v", what, time.Since(start).Round(time.Millisecond))
				return
			}
			if time.Since(start) > time.Second {
				t.Fatalf("%s on one process not seen by the other within 1s: it called users.info with the first token: %t, the second: %t, and answered %q",
					what, token == first, token != "" && token != first, res.Text)
			}
		}
	}
	second := installed()
	if second == first {
		t.Fatal("the reinstall kept the token")
	}
	seenWithin("a reinstall", func(token string, _ slackfake.Response) bool { return token == second })

	if _, err := slA.Uninstall(teamID, ""); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(a.logs.String(), "Flagbot was uninstalled: forgot the installation") {
		if time.Now().After(deadline) {
			t.Fatal("the first process did not finish the uninstall within 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	installURL := env["FLAGBOT_PUBLIC_URL"] + "/slack/install"
	want := "Flagbot isn't installed in this workspace (any more), so it can't act here. Ask an admin to install it again at <" + installURL + "|" + installURL + ">."
	seenWithin("an uninstall", func(token string, res slackfake.Response) bool { return token == "" && res.Text == want })
}
