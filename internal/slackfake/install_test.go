package slackfake_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/flagbot/flagbot/internal/slackfake"
)

// TestInstallationsAreIsolated: a token of one installation is refused
// where Slack would refuse it; the default token still acts anywhere.
func TestInstallationsAreIsolated(t *testing.T) {
	t.Parallel()
	f := newFake(t, slackfake.Options{})
	c, _ := dial(t, f)
	f.AddTeam(slackfake.Team{ID: "T1", Name: "One"})
	f.AddTeam(slackfake.Team{ID: "T2", Name: "Two", EnterpriseID: "E1", EnterpriseName: "Org"})
	f.AddTeam(slackfake.Team{ID: "T3", EnterpriseID: "E1"})
	one := f.Install(slackfake.Installation{TeamID: "T1"})
	org := f.Install(slackfake.Installation{EnterpriseID: "E1", EnterpriseInstall: true})
	f.SetUser(slackfake.User{ID: "U1", TeamID: "T1"})
	f.SetUser(slackfake.User{ID: "U2", TeamID: "T2"})
	f.SetUser(slackfake.User{ID: "U3", TeamID: "T3"})
	f.SetUser(slackfake.User{ID: "UEXT", TeamID: "T9"}) // a workspace the fake does not host

	// Envelopes show which workspace a channel and a user belong to.
	for _, sc := range []slackfake.SlashCommand{{TeamID: "T1", UserID: "U1", ChannelID: "C1"}, {TeamID: "T2", UserID: "U2", ChannelID: "C2"}} {
		if _, err := f.SlashCommand(sc); err != nil {
			t.Fatal(err)
		}
		env := c.next(t)
		if got := path(payload(t, env), "enterprise_id"); sc.TeamID == "T2" && got != "E1" {
			t.Errorf("T2's slash command names enterprise %v, want E1", got)
		}
		if got := path(payload(t, env), "is_enterprise_install"); got != map[bool]string{true: "true", false: "false"}[sc.TeamID == "T2"] {
			t.Errorf("%s's slash command says is_enterprise_install %v", sc.TeamID, got)
		}
	}
	post := func(token, channel string) string {
		t.Helper()
		return postForm(t, f, "chat.postMessage", url.Values{"token": {token}, "channel": {channel}, "text": {"hi"}}).err()
	}
	info := func(token, user string) string {
		t.Helper()
		return postForm(t, f, "users.info", url.Values{"token": {token}, "user": {user}}).err()
	}
	tests := []struct {
		name, got, want string
	}{
		{"own channel", post(one.Token, "C1"), ""},
		{"another workspace's channel", post(one.Token, "C2"), "channel_not_found"},
		{"a channel no envelope named", post(one.Token, "CNEW"), ""},
		{"org token in its workspace", post(org.Token, "C2"), ""},
		{"org token outside the org", post(org.Token, "C1"), "channel_not_found"},
		{"default token anywhere", post(botToken, "C2"), ""},
		{"own user", info(one.Token, "U1"), ""},
		{"another installed workspace's user", info(one.Token, "U2"), "user_not_found"},
		{"org token, a user of the org's other workspace", info(org.Token, "U3"), ""},
		{"an outside organisation's user", info(one.Token, "UEXT"), ""},
		{"default token, any user", info(botToken, "U2"), ""},
		{"unknown token", post("xoxb-nobody", "C1"), "invalid_auth"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: error %q, want %q", tt.name, tt.got, tt.want)
		}
	}
	// U2 acts in T1 (a shared channel): now T1's installation sees them.
	if _, err := f.SlashCommand(slackfake.SlashCommand{TeamID: "T1", UserID: "U2", ChannelID: "C1"}); err != nil {
		t.Fatal(err)
	}
	c.next(t)
	if got := info(one.Token, "U2"); got != "" {
		t.Errorf("a user who acted in T1: users.info error %q", got)
	}
	res := postForm(t, f, "auth.test", url.Values{"token": {org.Token}})
	if !res.ok() || res.body["enterprise_id"] != "E1" || res.body["is_enterprise_install"] != true || res.body["user_id"] != org.BotUserID {
		t.Errorf("auth.test for the org = %v", res.body)
	}
	// A reinstall revokes the earlier token.
	again := f.Install(slackfake.Installation{TeamID: "T1"})
	if got := post(one.Token, "C1"); got != "token_revoked" {
		t.Errorf("the replaced token: error %q, want token_revoked", got)
	}
	if got := post(again.Token, "C1"); got != "" || again.Token == one.Token {
		t.Errorf("the new token: error %q (token %q)", got, again.Token)
	}
	if in, ok := f.Installed("T3"); !ok || !in.EnterpriseInstall {
		t.Errorf("Installed(T3) = %+v, %v; want the org's", in, ok)
	}
}

// noRedirect is an HTTP client that shows redirects instead of following.
func noRedirect() *http.Client {
	return &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func authorize(t *testing.T, f *slackfake.Server, q url.Values) (int, *url.URL) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, f.AuthorizeURL()+"?"+q.Encode(), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := noRedirect().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := resp.Location()
	return resp.StatusCode, loc
}

func TestOAuthFlow(t *testing.T) {
	t.Parallel()
	f := newFake(t, slackfake.Options{})
	f.AddTeam(slackfake.Team{ID: "T7", Name: "Seven", EnterpriseID: "E7", EnterpriseName: "Org Seven"})
	const redirect = "https://flagbot.example.com/slack/oauth_redirect"
	q := url.Values{"client_id": {slackfake.DefaultClientID}, "scope": {"commands,chat:write"}, "redirect_uri": {redirect}, "state": {"st4te"}}

	bad := url.Values{"client_id": {"nope"}, "redirect_uri": {redirect}}
	if status, _ := authorize(t, f, bad); status != http.StatusBadRequest {
		t.Errorf("a wrong client_id: HTTP %d, want 400", status)
	}
	f.NextAuthorization(slackfake.Authorization{TeamID: "T7", UserID: "UANA"})
	status, loc := authorize(t, f, q)
	if status != http.StatusFound || loc == nil || !strings.HasPrefix(loc.String(), redirect+"?") || loc.Query().Get("state") != "st4te" {
		t.Fatalf("authorize = %d to %v; want a redirect with the state", status, loc)
	}
	code := loc.Query().Get("code")
	access := func(v url.Values) apiResult {
		t.Helper()
		return postForm(t, f, "oauth.v2.access", v)
	}
	creds := url.Values{"client_id": {slackfake.DefaultClientID}, "client_secret": {slackfake.DefaultClientSecret}, "code": {code}, "redirect_uri": {redirect}}
	for name, tt := range map[string]struct {
		change func(url.Values)
		want   string
	}{
		"wrong secret":   {func(v url.Values) { v.Set("client_secret", "x") }, "bad_client_secret"},
		"wrong client":   {func(v url.Values) { v.Set("client_id", "x") }, "invalid_client_id"},
		"unknown code":   {func(v url.Values) { v.Set("code", "x") }, "invalid_code"},
		"wrong redirect": {func(v url.Values) { v.Set("redirect_uri", "https://evil.example/") }, "bad_redirect_uri"},
	} {
		v := url.Values{}
		for k, vs := range creds {
			v[k] = vs
		}
		tt.change(v)
		if got := access(v).err(); got != tt.want {
			t.Errorf("%s: error %q, want %q", name, got, tt.want)
		}
	}
	res := access(creds)
	if !res.ok() {
		t.Fatalf("oauth.v2.access = %v", res.body)
	}
	tok, _ := res.body["access_token"].(string)
	if !strings.HasPrefix(tok, "xoxb-") || res.body["token_type"] != "bot" || res.body["scope"] != "commands,chat:write" ||
		path(res.body, "team", "id") != "T7" || path(res.body, "team", "name") != "Seven" ||
		path(res.body, "enterprise", "id") != "E7" || res.body["is_enterprise_install"] != false ||
		path(res.body, "authed_user", "id") != "UANA" || res.body["bot_user_id"] == "" {
		t.Errorf("oauth.v2.access = %v", res.body)
	}
	if got := access(creds).err(); got != "code_already_used" {
		t.Errorf("the code used twice: %q, want code_already_used", got)
	}
	if in, ok := f.Installed("T7"); !ok || in.Token != tok {
		t.Errorf("Installed(T7) = %+v, %v", in, ok)
	}

	// An org-wide install, then a denial.
	f.NextAuthorization(slackfake.Authorization{EnterpriseID: "E7", EnterpriseInstall: true})
	f.NextAuthorization(slackfake.Authorization{Deny: true})
	_, loc = authorize(t, f, q)
	creds.Set("code", loc.Query().Get("code"))
	res = access(creds)
	if !res.ok() || res.body["is_enterprise_install"] != true || res.body["team"] != nil || path(res.body, "enterprise", "id") != "E7" {
		t.Errorf("org-wide oauth.v2.access = %v", res.body)
	}
	_, loc = authorize(t, f, q)
	if loc.Query().Get("error") != "access_denied" || loc.Query().Get("code") != "" || loc.Query().Get("state") != "st4te" {
		t.Errorf("a denial redirected to %v", loc)
	}
}

// TestUninstallSendsEvents: Uninstall revokes the token and sends
// tokens_revoked then app_uninstalled with the installation's
// authorizations.
func TestUninstallSendsEvents(t *testing.T) {
	t.Parallel()
	f := newFake(t, slackfake.Options{})
	c, _ := dial(t, f)
	f.AddTeam(slackfake.Team{ID: "T5", EnterpriseID: "E5"})
	org := f.Install(slackfake.Installation{EnterpriseID: "E5", EnterpriseInstall: true})
	if _, err := f.Uninstall("", "E5"); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"tokens_revoked", "app_uninstalled"} {
		env := c.next(t)
		p := payload(t, env)
		if env["type"] != "events_api" || path(p, "event", "type") != want || p["enterprise_id"] != "E5" {
			t.Fatalf("envelope = %v, want events_api %s for E5", env, want)
		}
		auths, _ := p["authorizations"].([]any)
		if len(auths) != 1 || path(auths[0], "is_enterprise_install") != true || path(auths[0], "enterprise_id") != "E5" || path(auths[0], "team_id") != nil {
			t.Errorf("%s authorizations = %v", want, p["authorizations"])
		}
		if want == "tokens_revoked" {
			if bots, _ := path(p, "event", "tokens", "bot").([]any); len(bots) != 1 || bots[0] != org.BotUserID {
				t.Errorf("tokens_revoked names bots %v, want %s", path(p, "event", "tokens", "bot"), org.BotUserID)
			}
		}
	}
	if got := postForm(t, f, "auth.test", url.Values{"token": {org.Token}}).err(); got != "token_revoked" {
		t.Errorf("auth.test after uninstall: %q, want token_revoked", got)
	}
	if _, ok := f.Installed("T5"); ok {
		t.Error("T5 is still served after the org's uninstall")
	}
	if _, err := f.Uninstall("T5", ""); err == nil {
		t.Error("uninstalling what is not installed succeeded")
	}
}

// TestAdopt: a token another fake issued works here once adopted, and
// adopting a newer one revokes it, as a reinstall does; a token is
// required.
func TestAdopt(t *testing.T) {
	t.Parallel()
	issuer, f := newFake(t, slackfake.Options{}), newFake(t, slackfake.Options{})
	f.SetUser(slackfake.User{ID: "U1", TeamID: "T1"})
	info := func(token, user string) string {
		t.Helper()
		return postForm(t, f, "users.info", url.Values{"token": {token}, "user": {user}}).err()
	}
	first := issuer.Install(slackfake.Installation{TeamID: "T1"})
	if got := info(first.Token, "U1"); got != "invalid_auth" {
		t.Fatalf("before Adopt, users.info with another fake's token = %q, want invalid_auth", got)
	}
	if _, err := f.Adopt(first); err != nil {
		t.Fatal(err)
	}
	second := issuer.Install(slackfake.Installation{TeamID: "T1"})
	tests := []struct {
		name, got, want string
	}{
		{"adopted, own workspace", info(first.Token, "U1"), ""},
		{"reinstalled there, not adopted here", info(second.Token, "U1"), "invalid_auth"},
	}
	if _, err := f.Adopt(second); err != nil {
		t.Fatal(err)
	}
	tests = append(tests, []struct{ name, got, want string }{
		{"the newer one adopted", info(second.Token, "U1"), ""},
		{"the older one after that", info(first.Token, "U1"), "token_revoked"},
	}...)
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: error %q, want %q", tt.name, tt.got, tt.want)
		}
	}
	if _, err := f.Adopt(slackfake.Installation{TeamID: "T1"}); err == nil {
		t.Error("Adopt without a token did not fail")
	}
}
