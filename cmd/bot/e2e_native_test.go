package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/flagbot/flagbot/internal/ld"
	"github.com/flagbot/flagbot/internal/ld/ldtest"
	"github.com/flagbot/flagbot/internal/slackfake"
)

// The Slack-native surfaces end to end: defaults at connect, the request
// form, App Home and unfurls.

// connectedNote waits for the ephemeral note the bot posts after a connect
// submission sent at sent and returns its text.
func connectedNote(t *testing.T, sl *slackfake.Server, sent time.Time) string {
	t.Helper()
	call, err := sl.WaitCall(waitCtx(t), "chat.postEphemeral", func(c slackfake.Call) bool {
		return c.At.After(sent) && strings.Contains(c.Params["text"], "Connected to LaunchDarkly")
	})
	if err != nil {
		t.Fatalf("no confirmation of the connection: %v", err)
	}
	var blocks []struct {
		Text struct{ Text string } `json:"text"`
	}
	_ = json.Unmarshal([]byte(call.Params["blocks"]), &blocks)
	if len(blocks) == 0 {
		t.Fatalf("confirmation without blocks: %s", call.Body)
	}
	return blocks[0].Text.Text
}

// ackErrors reads a view_submission ack's inline errors.
func ackErrors(t *testing.T, ack slackfake.Ack) map[string]string {
	t.Helper()
	var p struct {
		ResponseAction string            `json:"response_action"`
		Errors         map[string]string `json:"errors"`
	}
	if len(ack.Payload) == 0 {
		return nil
	}
	if err := json.Unmarshal(ack.Payload, &p); err != nil || p.ResponseAction != "errors" {
		t.Fatalf("ack %s is not response_action errors", ack.Payload)
	}
	return p.Errors
}

// TestConnectInfersDefaults connects with only a token (or a typed project
// or environment) against accounts of different shapes.
func TestConnectInfersDefaults(t *testing.T) {
	t.Parallel()
	const confirmed = ":white_check_mark: Connected to LaunchDarkly as token *flagbot-writer* (Writer), ending in `c2e7`.\n"
	const change = " Change them with `/flag config project &lt;key&gt;` and `/flag config env &lt;key&gt;`."
	type project struct {
		p    ld.Project
		envs []ldtest.EnvSpec
	}
	web := project{ld.Project{Key: "web", Name: "Web app"}, []ldtest.EnvSpec{{Key: "staging"}, {Key: "production", Critical: true}}}
	tests := []struct {
		name            string
		projects        []project
		typedP, typedE  string
		wantNote        string
		wantFieldErrors map[string]string
	}{
		{name: "only project", projects: []project{web},
			wantNote: confirmed + "I chose the defaults from what this token sees. Default project `web` (the only project this token can see), environment `production`." + change},
		{name: "project named default, first critical environment", projects: []project{web,
			{ld.Project{Key: "default", Name: "Zed"}, []ldtest.EnvSpec{{Key: "test"}, {Key: "live-eu", Critical: true}, {Key: "live-us", Critical: true}}}},
			wantNote: confirmed + "I chose the defaults from what this token sees. Default project `default` (the project with key `default`), environment `live-eu` (its first critical environment)." + change},
		{name: "first by name, no environment qualifies", projects: []project{web, {ld.Project{Key: "apps", Name: "Mobile apps"}, []ldtest.EnvSpec{{Key: "dev"}}}},
			wantNote: confirmed + "I chose the defaults from what this token sees. Default project `apps` (the first of its 2 projects by name), no default environment (it has no `production` or critical one): commands name one, or set it with `/flag config env &lt;key&gt;`."},
		{name: "typed project, environment inferred", projects: []project{web, {ld.Project{Key: "apps"}, nil}}, typedP: "web",
			wantNote: confirmed + "I chose the defaults from what this token sees. Default project `web`, environment `production`." + change},
		{name: "typed both", projects: []project{web}, typedP: "web", typedE: "staging",
			wantNote: confirmed + "Default project `web`, environment `staging`."},
		{name: "unknown project", projects: []project{web, {ld.Project{Key: "apps"}, nil}, {ld.Project{Key: "webshop"}, nil}}, typedP: "wbe",
			wantFieldErrors: map[string]string{"ld_project": `LaunchDarkly has no project "wbe" (or this token can't see it). It has: web, apps, webshop.`}},
		{name: "unknown environment", projects: []project{web}, typedP: "web", typedE: "prod",
			wantFieldErrors: map[string]string{"ld_env": `Project "web" has no environment "prod". It has: staging, production.`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sl, lds := newSlack(t), ldtest.NewServer(t)
			lds.AddToken(writerToken, ldtest.TokenInfo{ID: "tok-writer", Name: "flagbot-writer", Role: "writer", ServiceToken: true})
			for _, p := range tt.projects {
				lds.AddProject(p.p, p.envs...)
			}
			b := startBot(t, sl, lds)
			sent := time.Now()
			ack := b.connect(t, teamID, adminID, writerToken, tt.typedP, tt.typedE)
			if tt.wantFieldErrors != nil {
				if got := ackErrors(t, ack); !equalMaps(got, tt.wantFieldErrors) {
					t.Errorf("inline errors = %q, want %q", got, tt.wantFieldErrors)
				}
				return
			}
			if len(ack.Payload) != 0 {
				t.Fatalf("connect refused: %s", ack.Payload)
			}
			wantText(t, "connect confirmation", connectedNote(t, sl, sent), tt.wantNote)
		})
	}
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestFirstMinute is a new admin who pastes only a token and goes straight
// to /flag list and /flag off <flag>.
func TestFirstMinute(t *testing.T) {
	t.Parallel()
	sl, lds := newApprovalSlack(t), newLD(t)
	lds.AddProject(ld.Project{Key: "default", Name: "Default"}, ldtest.EnvSpec{Key: "test"}, ldtest.EnvSpec{Key: "production", Critical: true})
	lds.AddFlag("default", ld.Flag{Key: "checkout-banner", Name: "Checkout banner", Kind: "boolean",
		Variations:   []ld.Variation{{ID: "t", Value: json.RawMessage("true")}, {ID: "f", Value: json.RawMessage("false")}},
		Environments: map[string]ld.FlagEnvironment{"production": {On: true}, "test": {}}})
	b := startBot(t, sl, lds)
	if ack := b.connect(t, teamID, adminID, writerToken, "", ""); len(ack.Payload) != 0 {
		t.Fatalf("connect refused: %s", ack.Payload)
	}
	r := b.command(t, teamID, userID, "list")
	wantContains(t, "/flag list", string(r.Body), "checkout-banner", "production")
	id, posted := b.request(t, userID, "off checkout-banner")
	if id == "" {
		t.Fatalf("/flag off posted no request: %s", posted.Body)
	}
	wantText(t, "request", posted.Params["text"], "<@"+userID+"> wants to turn off `checkout-banner` in *production* (pending).")
}

// TestDefaultsChosenOnFirstUse is a connection stored without defaults
// (connected before the account had a project, or by an older version):
// the first command chooses them, stores them and says so once.
func TestDefaultsChosenOnFirstUse(t *testing.T) {
	t.Parallel()
	sl, lds := newSlack(t), ldtest.NewServer(t)
	lds.AddToken(writerToken, ldtest.TokenInfo{ID: "tok-writer", Name: "flagbot-writer", Role: "writer"})
	b := startBot(t, sl, lds)
	sent := time.Now()
	if ack := b.connect(t, teamID, adminID, writerToken, "", ""); len(ack.Payload) != 0 {
		t.Fatalf("connect refused: %s", ack.Payload)
	}
	wantText(t, "connect confirmation", connectedNote(t, sl, sent),
		":white_check_mark: Connected to LaunchDarkly as token *flagbot-writer* (Writer), ending in `c2e7`.\nNo default project yet: set one with `/flag config project &lt;key&gt;`.")
	lds.AddProject(ld.Project{Key: "web"}, ldtest.EnvSpec{Key: "production"})

	r := b.command(t, teamID, userID, "list")
	var first struct {
		Text   string
		Blocks []struct {
			Elements []struct{ Text string } `json:"elements"`
		}
	}
	if err := json.Unmarshal(r.Body, &first); err != nil {
		t.Fatal(err)
	}
	const notice = ":information_source: This workspace had no default project, so I chose one. Default project `web` (the only project this token can see), environment `production`. Change them with `/flag config project &lt;key&gt;` and `/flag config env &lt;key&gt;`."
	if len(first.Blocks) == 0 || len(first.Blocks[0].Elements) == 0 {
		t.Fatalf("first reply without a notice: %s", r.Body)
	}
	wantText(t, "first reply's notice", first.Blocks[0].Elements[0].Text, notice)
	r = b.command(t, teamID, userID, "list")
	if strings.Contains(string(r.Body), "had no default project") {
		t.Errorf("the notice was said twice: %s", r.Body)
	}
	r = b.command(t, teamID, userID, "status")
	wantContains(t, "status", string(r.Body), "*Default project*\\n`web`", "*Default environment*\\n`production`")
}
