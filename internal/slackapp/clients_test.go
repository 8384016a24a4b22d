package slackapp

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flagbot/flagbot/internal/commands"
	"github.com/flagbot/flagbot/internal/secret"
	"github.com/flagbot/flagbot/internal/slackfake"
)

// fakeInstalls serves workspaces from a map by team (org-wide ones by
// enterprise), counting lookups.
type fakeInstalls struct {
	mu      sync.Mutex
	byTeam  map[string]commands.Installation
	byOrg   map[string]commands.Installation
	err     error
	lookups int
}

func (f *fakeInstalls) Installation(_ context.Context, ws commands.Workspace) (commands.Installation, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lookups++
	if f.err != nil {
		return commands.Installation{}, f.err
	}
	if in, ok := f.byTeam[ws.TeamID]; ok {
		return in, nil
	}
	if in, ok := f.byOrg[ws.EnterpriseID]; ok && ws.EnterpriseID != "" {
		return in, nil
	}
	return commands.Installation{}, commands.ErrNotInstalled
}

func (f *fakeInstalls) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lookups
}

func (f *fakeInstalls) set(team string, in commands.Installation) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if in.EnterpriseInstall {
		f.byOrg[in.EnterpriseID] = in
		return
	}
	f.byTeam[team] = in
}

// TestClientsFollowInstallations: every For asks Installations (which
// answers from memory in production: tokenstore.Cache), so a reinstall's
// token is used by the next call; one client serves each bot token.
func TestClientsFollowInstallations(t *testing.T) {
	t.Parallel()
	fi := &fakeInstalls{byTeam: map[string]commands.Installation{}, byOrg: map[string]commands.Installation{}}
	fi.set("T1", commands.Installation{TeamID: "T1", BotToken: "xoxb-t1"})
	fi.set("", commands.Installation{EnterpriseID: "E1", EnterpriseInstall: true, BotToken: "xoxb-e1"})
	c := NewClients(fi, Options{InstallURL: "https://flagbot.example.com/slack/install"})
	ctx := t.Context()
	t1, t2, t3 := commands.Workspace{TeamID: "T1"}, commands.Workspace{TeamID: "T2", EnterpriseID: "E1"}, commands.Workspace{TeamID: "T3", EnterpriseID: "E1"}
	a, err := c.For(ctx, t1)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := c.For(ctx, t1); b != a || fi.count() != 2 {
		t.Errorf("a second For made %d lookups in all (want 2) or gave another client", fi.count())
	}
	x, _ := c.For(ctx, t2)
	y, _ := c.For(ctx, t3)
	if x != y || x == a {
		t.Error("an org's workspaces do not share the org's client, or share T1's")
	}
	// A reinstall: the very next call has the new token's client.
	fi.set("T1", commands.Installation{TeamID: "T1", BotToken: "xoxb-t1-again"})
	b, err := c.For(ctx, t1)
	if err != nil || b == a {
		t.Errorf("after a reinstall: %v; the old client is still used: %t", err, b == a)
	}
	// An uninstall: the very next call is refused.
	fi.mu.Lock()
	delete(fi.byOrg, "E1")
	fi.mu.Unlock()
	if _, err := c.For(ctx, t2); !errors.Is(err, commands.ErrNotInstalled) {
		t.Errorf("after the org's uninstall, For = %v; want ErrNotInstalled", err)
	}
}

func TestClientsErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		err     error
		kind    commands.Kind
		message string
	}{
		{"not installed", commands.ErrNotInstalled, commands.KindUnavailable,
			"Flagbot isn't installed in this workspace (any more), so it can't act here. Ask an admin to install it again at <https://flagbot.example.com/slack/install|https://flagbot.example.com/slack/install>."},
		{"unreadable", commands.ErrUnreadable, commands.KindInternal,
			"Flagbot's stored installation in this workspace can't be read with the current encryption key. Ask an admin to install Flagbot again."},
		{"store down", errors.New("redis: connection refused"), commands.KindStoreUnavailable, ""},
	}
	for _, tt := range tests {
		fi := &fakeInstalls{err: tt.err}
		c := NewClients(fi, Options{InstallURL: "https://flagbot.example.com/slack/install"})
		_, err := c.For(t.Context(), commands.Workspace{TeamID: "T1"})
		var ce *commands.Error
		if !errors.As(err, &ce) || ce.Kind != tt.kind || md(ce.Msg) != tt.message || !errors.Is(err, tt.err) {
			t.Errorf("%s: For error = %v (%q), want kind %v saying %q", tt.name, err, md(ce.Msg), tt.kind, tt.message)
		}
	}
}

// multiApp runs an App in multi-workspace mode against a fake Slack with
// two installed workspaces, T0A and T0B, resolving installations from the
// fake, and records uninstalls.
type multiApp struct {
	slack  *slackfake.Server
	exec   *fakeExec
	forgot *fakeUninstaller
	fi     *fakeInstalls
}

type fakeUninstaller struct {
	mu    sync.Mutex
	insts []commands.Installation
	teams []commands.Workspace
	done  chan struct{}
}

func (f *fakeUninstaller) Uninstalled(_ context.Context, inst commands.Installation) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.insts = append(f.insts, inst)
	f.done <- struct{}{}
	return nil
}

func (f *fakeUninstaller) UninstalledFromTeam(_ context.Context, ws commands.Workspace) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.teams = append(f.teams, ws)
	f.done <- struct{}{}
	return nil
}

func (f *fakeUninstaller) wait(t *testing.T) {
	t.Helper()
	select {
	case <-f.done:
	case <-waitFor(t).Done():
		t.Fatal("the uninstaller was not called")
	}
}

func startMultiApp(t *testing.T, exec *fakeExec) *multiApp {
	t.Helper()
	sl := slackfake.New(t, slackfake.Options{})
	sl.AddTeam(slackfake.Team{ID: "T0A"})
	sl.AddTeam(slackfake.Team{ID: "T0B", EnterpriseID: "E0B"})
	fi := &fakeInstalls{byTeam: map[string]commands.Installation{}, byOrg: map[string]commands.Installation{}}
	a := sl.Install(slackfake.Installation{TeamID: "T0A"})
	fi.set("T0A", commands.Installation{TeamID: "T0A", BotToken: secretOf(a.Token)})
	b := sl.Install(slackfake.Installation{EnterpriseID: "E0B", EnterpriseInstall: true})
	fi.set("", commands.Installation{EnterpriseID: "E0B", EnterpriseInstall: true, BotToken: secretOf(b.Token)})
	sl.SetUser(slackfake.User{ID: "UANA", TeamID: "T0A", Name: "ana"})
	sl.SetUser(slackfake.User{ID: "UBO", TeamID: "T0B", EnterpriseID: "E0B", Name: "bo"})
	opts := Options{APIURL: sl.APIURL(), CommandTimeout: 5 * time.Second, InstallURL: "https://flagbot.example.com/slack/install"}
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	clients := NewClients(fi, opts)
	forgot := &fakeUninstaller{done: make(chan struct{}, 8)}
	app, err := New(slackfake.DefaultAppToken, clients, exec, NewDirectory(clients, nil), forgot, log, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- app.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return &multiApp{slack: sl, exec: exec, forgot: forgot, fi: fi}
}

// TestEachWorkspaceUsesItsInstallation: replies, users.info and posts go
// out with the token of the envelope's installation; an uninstalled
// workspace is told so, and nothing runs.
func TestEachWorkspaceUsesItsInstallation(t *testing.T) {
	t.Parallel()
	exec := &fakeExec{execute: func(a commands.Actor, cmd commands.Command) (commands.Result, error) {
		return commands.StatusResult{}, nil
	}}
	m := startMultiApp(t, exec)
	sl := m.slack
	for _, tt := range []struct{ team, ent, user string }{{"T0A", "", "UANA"}, {"T0B", "E0B", "UBO"}} {
		since := time.Now()
		if _, err := sl.SlashCommand(slackfake.SlashCommand{TeamID: tt.team, EnterpriseID: tt.ent, UserID: tt.user, ChannelID: "C" + tt.team, Text: "status"}); err != nil {
			t.Fatal(err)
		}
		reply(t, sl, since)
		in, _ := sl.Installed(tt.team)
		call, err := sl.WaitCall(waitFor(t), "users.info", func(c slackfake.Call) bool { return c.At.After(since) && c.Params["user"] == tt.user })
		if err != nil || call.Token != in.Token || call.Error != "" {
			t.Errorf("%s: users.info with token %q (error %q), want the installation's %q", tt.team, call.Token, call.Error, in.Token)
		}
	}
	if a := exec.seen(); len(a) != 2 || a[0].Outsider || a[1].Outsider || a[1].EnterpriseID != "E0B" {
		t.Errorf("actors = %+v", a)
	}

	// A workspace nobody installed Flagbot in.
	since := time.Now()
	if _, err := sl.SlashCommand(slackfake.SlashCommand{TeamID: "T0NONE", UserID: "UANA", ChannelID: "CX", Text: "status"}); err != nil {
		t.Fatal(err)
	}
	want := "Flagbot isn't installed in this workspace (any more), so it can't act here. Ask an admin to install it again at <https://flagbot.example.com/slack/install|https://flagbot.example.com/slack/install>."
	if got := reply(t, sl, since); got != want {
		t.Errorf("reply in an uninstalled workspace = %q, want %q", got, want)
	}
	if n := len(exec.seen()); n != 2 {
		t.Errorf("the core ran for a workspace without an installation")
	}
}

// TestUninstallEvents: app_uninstalled and tokens_revoked (bot) hand the
// envelope's installation to the uninstaller; tokens_revoked for user
// tokens only does nothing; team_access_revoked forgets each workspace.
func TestUninstallEvents(t *testing.T) {
	t.Parallel()
	m := startMultiApp(t, &fakeExec{})
	sl := m.slack
	a, _ := sl.Installed("T0A")
	if _, err := sl.Event(slackfake.Installation{TeamID: "T0A", BotUserID: a.BotUserID}, map[string]any{"type": "tokens_revoked", "tokens": map[string]any{"oauth": []string{"UANA"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := sl.Uninstall("T0A", ""); err != nil { // tokens_revoked (bot) then app_uninstalled
		t.Fatal(err)
	}
	m.forgot.wait(t)
	m.forgot.wait(t)
	if _, err := sl.Uninstall("", "E0B"); err != nil {
		t.Fatal(err)
	}
	m.forgot.wait(t)
	m.forgot.wait(t)
	ent := slackfake.Installation{EnterpriseID: "E0B", EnterpriseInstall: true}
	if _, err := sl.Event(ent, map[string]any{"type": "team_access_revoked", "team_ids": []string{"T0B", "T0C"}}); err != nil {
		t.Fatal(err)
	}
	m.forgot.wait(t)
	m.forgot.wait(t)
	m.forgot.mu.Lock()
	defer m.forgot.mu.Unlock()
	want := []commands.Installation{
		{TeamID: "T0A"}, {TeamID: "T0A"},
		{EnterpriseID: "E0B", EnterpriseInstall: true}, {EnterpriseID: "E0B", EnterpriseInstall: true},
	}
	if len(m.forgot.insts) != len(want) {
		t.Fatalf("uninstalled %+v, want %+v (nothing for user tokens)", m.forgot.insts, want)
	}
	for i := range want {
		if m.forgot.insts[i] != want[i] {
			t.Errorf("uninstall %d = %+v, want %+v", i, m.forgot.insts[i], want[i])
		}
	}
	teams := []string{}
	for _, ws := range m.forgot.teams {
		if ws.EnterpriseID != "E0B" {
			t.Errorf("team_access_revoked forgot %+v outside the org", ws)
		}
		teams = append(teams, ws.TeamID)
	}
	if strings.Join(teams, ",") != "T0B,T0C" {
		t.Errorf("team_access_revoked forgot %v, want T0B and T0C", teams)
	}
}

func secretOf(s string) secret.Secret { return secret.Secret(s) }
