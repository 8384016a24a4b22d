package main

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/flagbot/flagbot/internal/ld/ldtest"
	"github.com/flagbot/flagbot/internal/slackfake"
	"github.com/flagbot/flagbot/internal/testport"
)

// mode is how the bot serves workspaces: one, with SLACK_BOT_TOKEN, or
// many, each installed through OAuth on the install listener. The
// end-to-end tests that involve more than one team run in both.
type mode struct {
	name  string
	multi bool
}

func modes() []mode {
	return []mode{{name: "one workspace"}, {name: "many workspaces", multi: true}}
}

// forEachMode runs f once per mode, as subtests.
func forEachMode(t *testing.T, f func(t *testing.T, m mode)) {
	t.Helper()
	for _, m := range modes() {
		t.Run(m.name, func(t *testing.T) { f(t, m) })
	}
}

// withOAuth runs the bot in multi-workspace mode on the fake Slack's app
// credentials, with its install listener on a free loopback port.
func withOAuth(t testing.TB) botOption {
	addr := testport.Free(t) // the install listener's public URL must be known before it starts
	return func(env map[string]string) {
		delete(env, "SLACK_BOT_TOKEN")
		env["SLACK_CLIENT_ID"] = slackfake.DefaultClientID
		env["SLACK_CLIENT_SECRET"] = slackfake.DefaultClientSecret
		env["FLAGBOT_PUBLIC_URL"] = "http://" + addr
		env["FLAGBOT_INSTALL_ADDR"] = addr
	}
}

// start starts the bot in mode m. In multi-workspace mode it then installs
// it through OAuth, as a person would in a browser, in the test team
// (teamID) and the other team (otherTeamID); in single-workspace mode the
// one bot token serves both.
func (m mode) start(t testing.TB, sl *slackfake.Server, lds *ldtest.Server, opts ...botOption) *bot {
	t.Helper()
	sl.AddTeam(slackfake.Team{ID: otherTeamID, Name: "Other Team"})
	if !m.multi {
		return startBot(t, sl, lds, opts...)
	}
	b := startBot(t, sl, lds, append(opts, withOAuth(t))...)
	b.install(t, slackfake.Authorization{TeamID: teamID, UserID: adminID})
	b.install(t, slackfake.Authorization{TeamID: otherTeamID, UserID: "UOTHERADMIN"})
	return b
}

// connectedIn is connected in mode m.
func connectedIn(t testing.TB, m mode, sl *slackfake.Server, lds *ldtest.Server, token string, opts ...botOption) *bot {
	t.Helper()
	b := m.start(t, sl, lds, opts...)
	if ack := b.connect(t, teamID, adminID, token, "web", "production"); len(ack.Payload) != 0 {
		t.Fatalf("connect failed: %s", ack.Payload)
	}
	return b
}

// install goes through the install flow in a fresh browser: the install
// page, Slack's authorize page (approving as a), and back to the bot.
func (b *bot) install(t testing.TB, a slackfake.Authorization) {
	t.Helper()
	installURL := logField(b.logs.String(), "install listener listening", "install_url")
	if installURL == "" {
		t.Fatal("the bot logged no install listener")
	}
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	browser := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(u string) (int, string, string) {
		t.Helper()
		resp, err := browser.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body), resp.Header.Get("Location")
	}
	status, page, _ := get(installURL)
	link := regexp.MustCompile(`href="([^"]+)">Add to Slack<`).FindStringSubmatch(page)
	if status != http.StatusOK || link == nil {
		t.Fatalf("install page = %d:\n%s", status, page)
	}
	b.slack.NextAuthorization(a)
	status, _, back := get(strings.ReplaceAll(link[1], "&amp;", "&"))
	if status != http.StatusFound {
		t.Fatalf("Slack's authorize page = %d", status)
	}
	if status, page, _ = get(back); status != http.StatusOK || !strings.Contains(page, "Flagbot is installed in") {
		t.Fatalf("install of %+v = %d:\n%s", a, status, page)
	}
}

// assertNoSlackSecrets checks, in multi-workspace mode, that no bot token
// the fake issued and not the client secret reached the log.
func (b *bot) assertNoSlackSecrets(t testing.TB) {
	t.Helper()
	logs := b.logs.String()
	if regexp.MustCompile(`xoxb-[a-z0-9]+-[0-9]+-slackfake`).MatchString(logs) || strings.Contains(logs, slackfake.DefaultClientSecret) {
		t.Error("the bot's log contains a bot token or the client secret")
	}
}

// commandAt is command from a channel of team.
func (b *bot) commandAt(t testing.TB, team, channel, user, text string) slackfake.Response {
	t.Helper()
	sent := time.Now()
	id, err := b.slack.SlashCommand(slackfake.SlashCommand{TeamID: team, UserID: user, ChannelID: channel, Text: text})
	if err != nil {
		t.Fatalf("send /flag %s: %v", text, err)
	}
	if _, err := b.slack.WaitAck(waitCtx(t), id); err != nil {
		t.Fatalf("no ack for /flag %s: %v", text, err)
	}
	return b.responseAfter(t, sent, "/flag "+text)
}

// tokenOf is the bot token Slack calls for team must carry: its
// installation's in multi-workspace mode, SLACK_BOT_TOKEN otherwise.
func tokenOf(t testing.TB, m mode, sl *slackfake.Server, team string) string {
	t.Helper()
	if !m.multi {
		return slackfake.DefaultBotToken
	}
	in, ok := sl.Installed(team)
	if !ok {
		t.Fatalf("%s is not installed", team)
	}
	return in.Token
}

const (
	otherChannel = "C0OTHER"
	otherUserID  = "UOTHERUSER"
)

// TestTwoWorkspacesIsolated: two workspaces on one deployment, each
// connected to LaunchDarkly with its own token, request, approve and get
// digests, each through its own installation in multi-workspace mode; and
// neither sees nor decides the other's requests.
func TestTwoWorkspacesIsolated(t *testing.T) { forEachMode(t, testTwoWorkspacesIsolated) }

func testTwoWorkspacesIsolated(t *testing.T, m mode) {
	sl, lds := newApprovalSlack(t), newLD(t)
	sl.SetUser(slackfake.User{ID: otherUserID, TeamID: otherTeamID, Name: "ed", RealName: "Ed Other"})
	b := connectedIn(t, m, sl, lds, writerToken)
	if ack := b.connect(t, otherTeamID, "UOTHERADMIN", writerToken, "web", "staging"); len(ack.Payload) != 0 {
		t.Fatalf("connect of the other workspace: %s", ack.Payload)
	}
	ours, theirs := tokenOf(t, m, sl, teamID), tokenOf(t, m, sl, otherTeamID)
	if m.multi && ours == theirs {
		t.Fatal("both workspaces got one token")
	}

	// Each workspace's request is posted in its channel with its token.
	id, posted := b.request(t, userID, "on dark-mode production")
	if posted.Token != ours {
		t.Errorf("our request was posted with another workspace's token")
	}
	otherID, posted := b.requestIn(t, otherTeamID, otherChannel, otherUserID, "on new-checkout staging")
	if posted.Token != theirs || otherID == "" {
		t.Errorf("their request was posted with %q, want their token", posted.Token)
	}
	wantContains(t, "our pending", string(b.command(t, teamID, userID, "pending").Body), "dark-mode")
	if body := string(b.command(t, teamID, userID, "pending").Body); strings.Contains(body, "new-checkout") {
		t.Errorf("our pending list shows their request:\n%s", body)
	}
	if body := string(b.commandAt(t, otherTeamID, otherChannel, otherUserID, "pending").Body); !strings.Contains(body, "new-checkout") || strings.Contains(body, "dark-mode") {
		t.Errorf("their pending list:\n%s", body)
	}

	// Someone of the other workspace cannot decide ours.
	if _, refused := b.clickIn(t, otherTeamID, otherChannel, "UOTHERADMIN", "change_approve", id); refused == nil {
		t.Error("the other workspace approved our request")
	}
	if flagOn(t, lds, "dark-mode", "production") {
		t.Fatal("the other workspace's click applied our change")
	}
	updated, refused := b.click(t, approverID, "change_approve", id)
	if refused != nil || updated.Token != ours {
		t.Fatalf("our approval: refused %v, message updated with our token %v", refused, updated != nil && updated.Token == ours)
	}
	if !flagOn(t, lds, "dark-mode", "production") {
		t.Fatal("not applied")
	}

	// Digests: each posts in its own channel with its own token.
	for _, w := range []struct{ team, channel, user, token string }{{teamID, channelID, userID, ours}, {otherTeamID, otherChannel, otherUserID, theirs}} {
		b.commandAt(t, w.team, w.channel, w.user, "digest subscribe daily")
		sent := time.Now()
		wantContains(t, "digest now", unescapeJSON(string(b.commandAt(t, w.team, w.channel, w.user, "digest now").Body)), "Posted digest")
		call, err := sl.WaitCall(waitCtx(t), "chat.postMessage", func(c slackfake.Call) bool {
			return c.At.After(sent) && strings.HasPrefix(c.Params["text"], "LaunchDarkly digest")
		})
		if err != nil || call.Error != "" || call.Params["channel"] != w.channel || call.Token != w.token {
			t.Errorf("%s's digest: %v %q in %q, with its own token %v", w.team, err, call.Error, call.Params["channel"], call.Token == w.token)
		}
	}
	b.assertNoSecrets(t)
	b.assertNoSlackSecrets(t)
	if !m.multi {
		return
	}

	// The other workspace removes Flagbot: its data goes, ours stays.
	ourPending, _ := b.request(t, userID, "off dark-mode production")
	if _, err := sl.Uninstall(otherTeamID, ""); err != nil {
		t.Fatal(err)
	}
	notInstalled := "Flagbot isn't installed in this workspace (any more), so it can't act here. Ask an admin to install it again at"
	deadline := time.Now().Add(5 * time.Second)
	for {
		r := b.commandAt(t, otherTeamID, otherChannel, otherUserID, "status")
		if strings.Contains(replyText(t, &r), notInstalled) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the uninstall the other workspace reads %q", replyText(t, &r))
		}
		time.Sleep(20 * time.Millisecond)
	}
	wantContains(t, "our status", string(b.command(t, teamID, userID, "status").Body), "flagbot-writer")
	wantContains(t, "our pending", string(b.command(t, teamID, userID, "pending").Body), ourPending[:6])
	wantContains(t, "our digests", unescapeJSON(string(b.command(t, teamID, userID, "digest list").Body)), "daily")
	// Installed again: nothing of before but its history.
	b.install(t, slackfake.Authorization{TeamID: otherTeamID, UserID: "UOTHERADMIN"})
	wantContains(t, "their status", string(b.commandAt(t, otherTeamID, otherChannel, otherUserID, "status").Body), "not connected")
	if ack := b.connect(t, otherTeamID, "UOTHERADMIN", writerToken, "web", "staging"); len(ack.Payload) != 0 {
		t.Fatalf("connect again: %s", ack.Payload)
	}
	wantContains(t, "their digests", unescapeJSON(string(b.commandAt(t, otherTeamID, otherChannel, otherUserID, "digest list").Body)), "no digest subscriptions")
	wantContains(t, "their history", string(b.commandAt(t, otherTeamID, otherChannel, otherUserID, "history").Body), "wants to turn on `new-checkout` in *staging* · *cancelled*")
	if !strings.Contains(b.logs.String(), `"msg":"Flagbot was uninstalled: forgot the installation and its workspaces' data"`) {
		t.Error("no log line for the uninstall")
	}
	b.assertNoSlackSecrets(t)
}

// TestOrgWideInstallThroughRun: one org-wide installation serves every
// workspace of an Enterprise Grid org with the org's token; each workspace
// connects its own LaunchDarkly token; removing Flagbot from one workspace
// forgets that workspace only, and uninstalling it from the org forgets
// the rest.
func TestOrgWideInstallThroughRun(t *testing.T) {
	const (
		org          = "E0ORG"
		one, two     = "T0ONE", "T0TWO"
		chOne, chTwo = "C0ONE", "C0TWO"
	)
	sl, lds := newSlack(t), newLD(t)
	sl.AddTeam(slackfake.Team{ID: one, Name: "One", EnterpriseID: org, EnterpriseName: "The Org"})
	sl.AddTeam(slackfake.Team{ID: two, Name: "Two", EnterpriseID: org, EnterpriseName: "The Org"})
	sl.SetUser(slackfake.User{ID: "WORGADMIN", TeamID: one, EnterpriseID: org, Name: "oa", IsAdmin: true})
	sl.SetUser(slackfake.User{ID: "UTWOADMIN", TeamID: two, EnterpriseID: org, Name: "ta", IsAdmin: true})
	b := startBot(t, sl, lds, withOAuth(t))
	b.install(t, slackfake.Authorization{EnterpriseID: org, EnterpriseInstall: true, UserID: "WORGADMIN"})
	in, ok := sl.Installed(two)
	if !ok || !in.EnterpriseInstall {
		t.Fatalf("the org-wide install does not serve %s: %+v", two, in)
	}

	connectIn := func(team, channel, admin, token string) {
		t.Helper()
		sent := time.Now()
		if _, err := sl.SlashCommand(slackfake.SlashCommand{TeamID: team, UserID: admin, ChannelID: channel, Text: "connect"}); err != nil {
			t.Fatal(err)
		}
		call, err := sl.WaitCall(waitCtx(t), "views.open", func(c slackfake.Call) bool { return c.At.After(sent) })
		if err != nil || call.Error != "" || call.Token != in.Token {
			t.Fatalf("%s: the connect modal did not open with the org's token (%v %q)", team, err, call.Error)
		}
		id, err := sl.ViewSubmission(slackfake.ViewSubmission{TeamID: team, UserID: admin, CallbackID: "flag_connect", PrivateMetadata: channel,
			Values: map[string]map[string]any{
				"ld_token":   {"ld_token_input": map[string]any{"type": "plain_text_input", "value": token}},
				"ld_project": {"ld_project_input": map[string]any{"type": "plain_text_input", "value": "web"}},
				"ld_env":     {"ld_env_input": map[string]any{"type": "plain_text_input", "value": ""}},
			}})
		if err != nil {
			t.Fatal(err)
		}
		if ack, err := sl.WaitAck(waitCtx(t), id); err != nil || len(ack.Payload) != 0 {
			t.Fatalf("%s: connect ack %s, %v", team, ack.Payload, err)
		}
	}
	connectIn(one, chOne, "WORGADMIN", writerToken)
	connectIn(two, chTwo, "UTWOADMIN", readerToken)
	wantContains(t, "one's status", string(b.commandAt(t, one, chOne, "WORGADMIN", "status").Body), "flagbot-writer")
	wantContains(t, "two's status", string(b.commandAt(t, two, chTwo, "UTWOADMIN", "status").Body), "flagbot-reader")

	// Removed from workspace two only.
	if _, err := sl.Event(slackfake.Installation{EnterpriseID: org, EnterpriseInstall: true, BotUserID: in.BotUserID},
		map[string]any{"type": "team_access_revoked", "team_ids": []string{two}}); err != nil {
		t.Fatal(err)
	}
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("%s did not happen", what)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitFor("forgetting workspace two", func() bool {
		return strings.Contains(string(b.commandAt(t, two, chTwo, "UTWOADMIN", "status").Body), "not connected")
	})
	wantContains(t, "one's status after two left", string(b.commandAt(t, one, chOne, "WORGADMIN", "status").Body), "flagbot-writer")

	// Uninstalled from the org: nothing serves either workspace.
	if _, err := sl.Uninstall("", org); err != nil {
		t.Fatal(err)
	}
	waitFor("forgetting the org", func() bool {
		r := b.commandAt(t, one, chOne, "WORGADMIN", "status")
		return strings.Contains(replyText(t, &r), "Flagbot isn't installed in this workspace")
	})
	b.assertNoSecrets(t)
	b.assertNoSlackSecrets(t)
}
