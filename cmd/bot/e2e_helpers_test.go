package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flagbot/flagbot/internal/ld"
	"github.com/flagbot/flagbot/internal/ld/ldtest"
	"github.com/flagbot/flagbot/internal/slackfake"
	"github.com/flagbot/flagbot/internal/testport"
)

// Identities and secrets used across the end-to-end tests. The secrets are
// checked for in everything the bot logs and sends to Slack.
const (
	teamID      = slackfake.TeamID
	otherTeamID = "T0OTHER"
	adminID     = "UADMIN"
	userID      = "UUSER"
	channelID   = "C0FLAGS"

	writerToken = "api-0f0e0d0c-writer-token-5ec2e7"
	readerToken = "api-11112222-reader-token-77aa"
	otherToken  = "api-33334444-other-team-token-99bb"
	sdkKey      = "sdk-6f1d1f7a-prod-sdk-key-d00d"
	mobileKey   = "mob-1a2b3c4d-prod-mobile-key-beef"
	testKeyB64  = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
)

var secrets = []string{writerToken, readerToken, otherToken, sdkKey, mobileKey, testKeyB64, slackfake.DefaultAppToken, slackfake.DefaultBotToken}

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// bot is a running Flagbot, started through run, wired to fakes.
type bot struct {
	slack   *slackfake.Server
	ld      *ldtest.Server
	logs    *syncBuffer
	ops     string // base URL of the ops HTTP server
	cancel  context.CancelFunc
	done    chan error
	stopped bool
}

type botOption func(env map[string]string)

func withEnv(k, v string) botOption { return func(env map[string]string) { env[k] = v } }

// startBot starts run with a fake environment and waits until it is
// connected to the fake Slack. It stops through t.Cleanup.
func startBot(t testing.TB, sl *slackfake.Server, lds *ldtest.Server, opts ...botOption) *bot {
	t.Helper()
	return startBotHooks(t, sl, lds, botHooks{}, opts...)
}

// startBotHooks is startBot with hooks (an injected clock): run's own
// runBot. Zero hooks start run itself.
func startBotHooks(t testing.TB, sl *slackfake.Server, lds *ldtest.Server, hooks botHooks, opts ...botOption) *bot {
	t.Helper()
	env := map[string]string{
		"SLACK_APP_TOKEN":   slackfake.DefaultAppToken,
		"SLACK_BOT_TOKEN":   slackfake.DefaultBotToken,
		"SLACK_API_URL":     sl.APIURL(),
		"LD_BASE_URL":       lds.URL(),
		"FLAGBOT_HTTP_ADDR": "127.0.0.1:0",
		"FLAGBOT_ADMINS":    "UFLAGBOTADMIN",
		"LOG_LEVEL":         "debug",
	}
	for _, o := range opts {
		o(env)
	}
	ctx, cancel := context.WithCancel(context.Background())
	b := &bot{slack: sl, ld: lds, logs: &syncBuffer{}, cancel: cancel, done: make(chan error, 1)}
	go func() {
		getenv := func(k string) string { return env[k] }
		if hooks.now == nil && hooks.wired == nil {
			b.done <- run(ctx, []string{"flagbot"}, getenv, &bytes.Buffer{}, b.logs)
			return
		}
		b.done <- runBot(ctx, []string{"flagbot"}, getenv, &bytes.Buffer{}, b.logs, hooks)
	}()
	t.Cleanup(func() {
		b.stop(t)
		if t.Failed() {
			t.Logf("bot log:\n%s", b.logs.String())
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		if addr := logField(b.logs.String(), "ops endpoints listening", "addr"); addr != "" && sl.Connected() > 0 {
			b.ops = "http://" + addr
			break
		}
		select {
		case err := <-b.done:
			b.stopped = true // nothing left to stop
			t.Fatalf("run returned early: %v\n%s", err, b.logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("bot did not connect within 10s\n%s", b.logs.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	b.waitReady(t)
	return b
}

// stop cancels run and checks that it returned cleanly.
func (b *bot) stop(t testing.TB) {
	t.Helper()
	if b.stopped {
		return
	}
	b.stopped = true
	b.cancel()
	select {
	case err := <-b.done:
		if err != nil {
			t.Errorf("run returned %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Errorf("run did not return within 15s of cancellation")
	}
}

func (b *bot) waitReady(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		status, _ := b.get(t, "/readyz")
		if status == http.StatusOK {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz never became ready (last status %d)", status)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (b *bot) get(t testing.TB, path string) (int, string) {
	t.Helper()
	resp, err := http.Get(b.ops + path)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	return resp.StatusCode, buf.String()
}

// logField finds the first JSON log line with msg and returns its key.
func logField(logs, msg, key string) string {
	for _, line := range strings.Split(logs, "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) != nil || m["msg"] != msg {
			continue
		}
		if v, ok := m[key].(string); ok {
			return v
		}
	}
	return ""
}

func waitCtx(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// command sends `/flag text` as user in team and returns the bot's first
// answer on the command's response_url, after checking the ack came fast
// and empty.
func (b *bot) command(t testing.TB, team, user, text string) slackfake.Response {
	t.Helper()
	sent := time.Now()
	id, err := b.slack.SlashCommand(slackfake.SlashCommand{TeamID: team, UserID: user, ChannelID: channelID, Text: text})
	if err != nil {
		t.Fatalf("send /flag %s: %v", text, err)
	}
	ack, err := b.slack.WaitAck(waitCtx(t), id)
	if err != nil {
		t.Fatalf("no ack for /flag %s: %v", text, err)
	}
	if d := ack.At.Sub(sent); d > 3*time.Second {
		t.Errorf("ack for /flag %s took %v, Slack allows 3s", text, d)
	}
	return b.responseAfter(t, sent, "/flag "+text)
}

func (b *bot) responseAfter(t testing.TB, after time.Time, what string) slackfake.Response {
	t.Helper()
	r, err := b.slack.WaitResponse(waitCtx(t), func(r slackfake.Response) bool { return r.At.After(after) })
	if err != nil {
		t.Fatalf("no response for %s: %v", what, err)
	}
	if r.Error != "" {
		t.Fatalf("the fake Slack refused the response to %s: %s\n%s", what, r.Error, r.Body)
	}
	return r
}

func wantContains(t testing.TB, what, body string, subs ...string) {
	t.Helper()
	// JSON from Go escapes <, > and & (mentions, links): compare them plainly.
	body = strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&").Replace(body)
	for _, s := range subs {
		if !strings.Contains(body, s) {
			t.Errorf("%s does not contain %q:\n%s", what, s, body)
		}
	}
}

// assertNoSecrets checks that no token or key reached a log line or Slack.
func (b *bot) assertNoSecrets(t testing.TB) {
	t.Helper()
	logs, traffic := b.logs.String(), string(b.slack.AllTraffic())
	for _, s := range secrets {
		if strings.Contains(logs, s) {
			t.Errorf("the bot's log contains secret %q…", s[:8])
		}
		// The fake records the bot token where the bot must send it (form
		// field "token"): only LaunchDarkly secrets are checked there.
		if strings.HasPrefix(s, "api-") || strings.HasPrefix(s, "sdk-") || strings.HasPrefix(s, "mob-") {
			if strings.Contains(traffic, s) {
				t.Errorf("something sent to Slack contains secret %q…", s[:8])
			}
		}
	}
}

// newLD returns a fake LaunchDarkly with a realistic account.
func newLD(t testing.TB) *ldtest.Server {
	t.Helper()
	s := ldtest.NewServer(t)
	s.AddToken(writerToken, ldtest.TokenInfo{ID: "tok-writer", Name: "flagbot-writer", Role: "writer", ServiceToken: true})
	s.AddToken(readerToken, ldtest.TokenInfo{ID: "tok-reader", Name: "flagbot-reader", Role: "reader", ServiceToken: true})
	s.AddToken(otherToken, ldtest.TokenInfo{ID: "tok-other", Name: "other-team", Role: "reader"})
	s.AddProject(ld.Project{Key: "web", Name: "Web app", Tags: []string{"frontend"}},
		ldtest.EnvSpec{Key: "production", Name: "Production", Critical: true, APIKey: sdkKey, MobileKey: mobileKey},
		ldtest.EnvSpec{Key: "staging", Name: "Staging"})
	s.AddProject(ld.Project{Key: "mobile", Name: "Mobile"}, ldtest.EnvSpec{Key: "production"})
	zero, one := 0, 1
	s.AddFlag("web", ld.Flag{
		Key: "new-checkout", Name: "New checkout", Description: "The redesigned checkout flow", Kind: "boolean",
		Temporary: true, Tags: []string{"checkout", "web"},
		Maintainer: &ld.Member{Email: "ana@example.com", FirstName: "Ana", LastName: "Lima"},
		Variations: []ld.Variation{{ID: "v-true", Value: json.RawMessage("true"), Name: "Enabled"}, {ID: "v-false", Value: json.RawMessage("false"), Name: "Disabled"}},
		Environments: map[string]ld.FlagEnvironment{
			"production": {On: true, Version: 12, OffVariation: &one, Site: ld.Link{Href: "/web/production/features/new-checkout"},
				Fallthrough: &ld.VariationOrRollout{Rollout: &ld.Rollout{Variations: []ld.WeightedVariation{{Variation: 0, Weight: 25000}, {Variation: 1, Weight: 75000}}}},
				Targets:     []ld.Target{{Values: []string{"ana", "bo"}, Variation: 0}}},
			"staging": {On: false, Version: 3, OffVariation: &one, Fallthrough: &ld.VariationOrRollout{Variation: &zero}},
		},
	})
	s.AddFlag("web", ld.Flag{Key: "dark-mode", Name: "Dark mode", Kind: "boolean", Tags: []string{"ui"},
		Variations:   []ld.Variation{{ID: "d-true", Value: json.RawMessage("true")}, {ID: "d-false", Value: json.RawMessage("false")}},
		Environments: map[string]ld.FlagEnvironment{"production": {On: false, OffVariation: &one, Fallthrough: &ld.VariationOrRollout{Variation: &zero}}, "staging": {On: true}}})
	for i := range 30 {
		s.AddFlag("web", ld.Flag{Key: fmt.Sprintf("bulk-flag-%02d", i), Name: fmt.Sprintf("Bulk flag %d", i), Kind: "boolean",
			Variations:   []ld.Variation{{ID: "b-true", Value: json.RawMessage("true")}, {ID: "b-false", Value: json.RawMessage("false")}},
			Environments: map[string]ld.FlagEnvironment{"production": {On: i%2 == 0}, "staging": {}}})
	}
	s.AddSegment("web", "production", ld.Segment{Key: "beta-users", Name: "Beta users", Description: "People who opted in", Included: []string{"ana", "bo", "cy"}, Tags: []string{"beta"}})
	s.AddContext("web", "production", ld.ContextRecord{Context: json.RawMessage(`{"kind":"user","key":"ana","name":"Ana Lima","email":"ana@example.com"}`), LastSeen: "2026-11-26T10:00:00Z"})
	s.AddAuditEntry(ld.AuditEntry{ID: "a1", Date: time.Now().Add(-2 * time.Hour).UnixMilli(), Kind: "flag", Name: "New checkout",
		TitleVerb: "turned on the flag", Title: "Ana Lima turned on the flag [New checkout](/web/production/features/new-checkout) in `Production`",
		Comment: "launch day", Member: &ld.Member{Email: "ana@example.com", FirstName: "Ana", LastName: "Lima"},
		Accesses: []ld.Access{{Action: "updateOn", Resource: "proj/web:env/production:flag/new-checkout"}}})
	s.AddAuditEntry(ld.AuditEntry{ID: "a2", Date: time.Now().Add(-90 * time.Minute).UnixMilli(), Kind: "flag", Name: "Dark mode",
		TitleVerb: "changed the fallthrough", Title: "Bo changed the default rule of [Dark mode](/web/staging/features/dark-mode)",
		Member:   &ld.Member{Email: "bo@example.com", FirstName: "Bo"},
		Accesses: []ld.Access{{Action: "updateFallthrough", Resource: "proj/web:env/staging:flag/dark-mode"}}})
	return s
}

// newSlack returns a fake Slack with an admin and a plain user.
func newSlack(t testing.TB) *slackfake.Server {
	t.Helper()
	s := slackfake.New(t, slackfake.Options{})
	s.SetUser(slackfake.User{ID: adminID, Name: "ana", RealName: "Ana Admin", IsAdmin: true})
	s.SetUser(slackfake.User{ID: userID, Name: "bo", RealName: "Bo User"})
	s.SetUser(slackfake.User{ID: "UOTHERADMIN", TeamID: otherTeamID, Name: "cy", IsAdmin: true})
	return s
}

// connect runs the whole connect flow for team as admin with token and
// returns the ack of the modal submission.
func (b *bot) connect(t testing.TB, team, admin, token, project, env string) slackfake.Ack {
	t.Helper()
	sent := time.Now()
	id, err := b.slack.SlashCommand(slackfake.SlashCommand{TeamID: team, UserID: admin, ChannelID: channelID, Text: "connect"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.slack.WaitAck(waitCtx(t), id); err != nil {
		t.Fatal(err)
	}
	call, err := b.slack.WaitCall(waitCtx(t), "views.open", func(c slackfake.Call) bool { return c.At.After(sent) })
	if err != nil {
		t.Fatalf("the connect modal did not open: %v", err)
	}
	if call.Error != "" {
		t.Fatalf("views.open failed: %s\n%s", call.Error, call.Body)
	}
	wantContains(t, "the connect modal", string(call.Body), "flag_connect", "ld_token")
	id, err = b.slack.ViewSubmission(slackfake.ViewSubmission{
		TeamID: team, UserID: admin, CallbackID: "flag_connect", PrivateMetadata: channelID,
		Values: map[string]map[string]any{
			"ld_token":   {"ld_token_input": map[string]any{"type": "plain_text_input", "value": token}},
			"ld_project": {"ld_project_input": map[string]any{"type": "plain_text_input", "value": project}},
			"ld_env":     {"ld_env_input": map[string]any{"type": "plain_text_input", "value": env}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ack, err := b.slack.WaitAck(waitCtx(t), id)
	if err != nil {
		t.Fatalf("no ack for the connect submission: %v", err)
	}
	return ack
}

// redisServer is a real redis-server process the test owns, so it can be
// stopped and started again.
type redisServer struct {
	port string
	dir  string // append-only file, so data survives a restart
	cmd  *exec.Cmd
}

func startRedisServer(t testing.TB) *redisServer {
	t.Helper()
	if os.Getenv("FLAGBOT_TEST_REDIS_URL") == "" {
		t.Skip("FLAGBOT_TEST_REDIS_URL is not set: skipping the test that stops and restarts a real Redis (scripts/test.sh sets it)")
	}
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatalf("FLAGBOT_TEST_REDIS_URL is set but redis-server is not on PATH: %v", err)
	}
	// The port outlives each server: restarts take it again.
	r := &redisServer{port: testport.Port(t), dir: t.TempDir()}
	r.start(t)
	t.Cleanup(func() { r.stop(t) })
	return r
}

func (r *redisServer) url() string { return "redis://127.0.0.1:" + r.port + "/0" }

func (r *redisServer) start(t testing.TB) {
	t.Helper()
	r.cmd = exec.Command("redis-server", "--bind", "127.0.0.1", "--port", r.port, "--save", "", "--appendonly", "yes", "--appendfsync", "always", "--dir", r.dir)
	if err := r.cmd.Start(); err != nil {
		t.Fatalf("start redis-server: %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+r.port, 100*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server did not listen on %s", r.port)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (r *redisServer) stop(t testing.TB) {
	t.Helper()
	if r.cmd == nil || r.cmd.Process == nil {
		return
	}
	_ = r.cmd.Process.Kill()
	_ = r.cmd.Wait()
	r.cmd = nil
}
