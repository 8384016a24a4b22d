package tokenstore_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/flagbot/flagbot/internal/commands"
	"github.com/flagbot/flagbot/internal/redisstore"
	"github.com/flagbot/flagbot/internal/redisstore/redistest"
	"github.com/flagbot/flagbot/internal/secret"
	"github.com/flagbot/flagbot/internal/tokenstore"
)

const botToken = "xoxb-1111-2222-installation-token"

func teamInstall(team, ent string) commands.Installation {
	return commands.Installation{
		TeamID: team, TeamName: "Team " + team, EnterpriseID: ent,
		BotToken: secret.Secret(botToken + "-" + team), BotUserID: "UBOT" + team, AppID: "A0FLAGBOT",
		Scopes: "commands,chat:write", InstalledBy: "UADMIN", InstalledAt: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC),
	}
}

func orgInstall(ent string) commands.Installation {
	return commands.Installation{
		EnterpriseID: ent, EnterpriseName: "Org " + ent, EnterpriseInstall: true,
		BotToken: secret.Secret(botToken + "-" + ent), BotUserID: "UBOT" + ent, AppID: "A0FLAGBOT",
		Scopes: "commands", InstalledBy: "UORGADMIN", InstalledAt: time.Date(2026, 5, 2, 12, 0, 0, 0, time.UTC),
	}
}

// TestInstallationLookup: each workspace finds the installation that
// serves it, its own before its org's, and nothing else.
func TestInstallationLookup(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, kv *redisstore.Store) {
		ctx := t.Context()
		s := tokenstore.New(kv, ring(t, newKey(t)), notFound, tokenstore.Options{})
		for _, inst := range []commands.Installation{
			teamInstall("T1", ""), teamInstall("T2", "E1"), teamInstall("T4", ""), orgInstall("E1"), orgInstall("E2"),
		} {
			if err := s.PutInstallation(ctx, inst); err != nil {
				t.Fatalf("PutInstallation(%s): %v", inst, err)
			}
		}
		// T5's connection moved into E2 once: a lookup without the org
		// follows that record to E2's installation.
		if err := s.Put(ctx, commands.Workspace{TeamID: "T5", EnterpriseID: "E2"}, connection()); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name string
			ws   commands.Workspace
			want commands.Installation // zero: not installed
		}{
			{"own install", commands.Workspace{TeamID: "T1"}, teamInstall("T1", "")},
			{"own install in an org", commands.Workspace{TeamID: "T2", EnterpriseID: "E1"}, teamInstall("T2", "E1")},
			{"org-wide install", commands.Workspace{TeamID: "T3", EnterpriseID: "E1"}, orgInstall("E1")},
			{"installed before joining an org", commands.Workspace{TeamID: "T4", EnterpriseID: "E2"}, teamInstall("T4", "")},
			{"named without its org", commands.Workspace{TeamID: "T5"}, orgInstall("E2")},
			{"another team", commands.Workspace{TeamID: "T9"}, commands.Installation{}},
			{"another org", commands.Workspace{TeamID: "T9", EnterpriseID: "E9"}, commands.Installation{}},
			{"org alone", commands.Workspace{EnterpriseID: "E1"}, orgInstall("E1")},
		}
		for _, tt := range tests {
			got, err := s.Installation(ctx, tt.ws)
			if tt.want.BotToken.Empty() {
				if !errors.Is(err, commands.ErrNotInstalled) {
					t.Errorf("%s: Installation(%+v) = %s, %v; want ErrNotInstalled", tt.name, tt.ws, got, err)
				}
				continue
			}
			if err != nil {
				t.Errorf("%s: Installation(%+v): %v", tt.name, tt.ws, err)
				continue
			}
			if got.BotToken.Reveal() != tt.want.BotToken.Reveal() || got != withToken(tt.want, got.BotToken) {
				t.Errorf("%s: Installation(%+v) = %+v, want %+v", tt.name, tt.ws, got, tt.want)
			}
			if !got.Serves(tt.ws) && tt.name != "installed before joining an org" && tt.name != "named without its org" {
				t.Errorf("%s: %s does not serve %+v", tt.name, got, tt.ws)
			}
		}
		if _, err := s.Installation(ctx, commands.Workspace{}); !errors.Is(err, tokenstore.ErrInvalidWorkspace) {
			t.Errorf("Installation of no workspace error = %v", err)
		}
	})
}

// withToken returns inst with token, so two installations compare with ==
// once their tokens were compared by value.
func withToken(inst commands.Installation, token secret.Secret) commands.Installation {
	inst.BotToken = token
	return inst
}

// TestInstallationStoredSealed: what lands in Redis is the connection's
// envelope, bound to its key, with no plaintext token or name.
func TestInstallationStoredSealed(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, kv *redisstore.Store) {
		ctx := t.Context()
		key := newKey(t)
		s := tokenstore.New(kv, ring(t, key), notFound, tokenstore.Options{})
		inst := teamInstall("T1", "E1")
		if err := s.PutInstallation(ctx, inst); err != nil {
			t.Fatal(err)
		}
		raw, err := kv.Get(ctx, redisstore.WorkspaceKey("T1", "E1", "installation"))
		if err != nil {
			t.Fatal(err)
		}
		var env struct {
			V   int    `json:"v"`
			KID string `json:"kid"`
		}
		if err := json.Unmarshal(raw, &env); err != nil || env.V != 1 || env.KID != tokenstore.KeyID(key) {
			t.Errorf("stored %s: want a v1 envelope with kid %s (%v)", raw, tokenstore.KeyID(key), err)
		}
		for _, plain := range []string{botToken, "Team T1", "UADMIN"} {
			if strings.Contains(string(raw), plain) {
				t.Errorf("the stored installation shows %q", plain)
			}
		}
		// Copied under another team's key it does not open.
		if err := kv.Set(ctx, redisstore.WorkspaceKey("T2", "", "installation"), raw, 0); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Installation(ctx, commands.Workspace{TeamID: "T2"}); !errors.Is(err, commands.ErrUnreadable) || !errors.Is(err, tokenstore.ErrCorrupt) {
			t.Errorf("a moved installation error = %v, want ErrUnreadable and ErrCorrupt", err)
		}
	})
}

// TestInstallationRotation: an installation sealed with an old key is read
// and sealed again with the current key; one sealed with a lost key is
// unreadable, not "not installed".
func TestInstallationRotation(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, kv *redisstore.Store) {
		ctx := t.Context()
		a, b, lost := newKey(t), newKey(t), newKey(t)
		if err := tokenstore.New(kv, ring(t, a), notFound, tokenstore.Options{}).PutInstallation(ctx, orgInstall("E1")); err != nil {
			t.Fatal(err)
		}
		ws := commands.Workspace{TeamID: "T1", EnterpriseID: "E1"}
		got, err := tokenstore.New(kv, ring(t, b, a), notFound, tokenstore.Options{}).Installation(ctx, ws)
		if err != nil || got.BotToken.Reveal() != orgInstall("E1").BotToken.Reveal() {
			t.Fatalf("Installation with current B and old A = %v, %v", got, err)
		}
		if _, err := tokenstore.New(kv, ring(t, b), notFound, tokenstore.Options{}).Installation(ctx, ws); err != nil {
			t.Errorf("after the re-seal, B alone cannot read it: %v", err)
		}
		_, err = tokenstore.New(kv, ring(t, lost), notFound, tokenstore.Options{}).Installation(ctx, ws)
		if !errors.Is(err, commands.ErrUnreadable) || !errors.Is(err, tokenstore.ErrUnknownKey) || errors.Is(err, commands.ErrNotInstalled) {
			t.Errorf("with a lost key error = %v, want ErrUnreadable and ErrUnknownKey", err)
		}
	})
}

func TestDeleteInstallationAndForget(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, kv *redisstore.Store) {
		ctx := t.Context()
		s := tokenstore.New(kv, ring(t, newKey(t)), notFound, tokenstore.Options{})
		for _, inst := range []commands.Installation{teamInstall("T1", ""), teamInstall("T1", "E1"), orgInstall("E1"), teamInstall("T2", "")} {
			if err := s.PutInstallation(ctx, inst); err != nil {
				t.Fatal(err)
			}
		}
		// The team's own installation goes under both of its keys; the
		// org's stays and now serves it.
		if err := s.DeleteInstallation(ctx, teamInstall("T1", "E1")); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Installation(ctx, commands.Workspace{TeamID: "T1", EnterpriseID: "E1"}); err != nil || !got.EnterpriseInstall {
			t.Errorf("after deleting T1's own installation: %v, %v; want the org's", got, err)
		}
		if err := s.DeleteInstallation(ctx, orgInstall("E1")); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Installation(ctx, commands.Workspace{TeamID: "T1", EnterpriseID: "E1"}); !errors.Is(err, commands.ErrNotInstalled) {
			t.Errorf("after deleting the org's installation: %v; want ErrNotInstalled", err)
		}
		if err := s.DeleteInstallation(ctx, orgInstall("E1")); err != nil {
			t.Errorf("deleting a missing installation: %v", err)
		}
		if err := s.DeleteInstallation(ctx, commands.Installation{}); !errors.Is(err, tokenstore.ErrInvalidInstallation) {
			t.Errorf("deleting nothing: %v", err)
		}
		if _, err := s.Installation(ctx, commands.Workspace{TeamID: "T2"}); err != nil {
			t.Errorf("T2's installation went too: %v", err)
		}

		// Forget: the connection under both keys and the org record.
		ws := commands.Workspace{TeamID: "T3", EnterpriseID: "E3"}
		if err := s.Put(ctx, commands.Workspace{TeamID: "T3"}, connection()); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Get(ctx, ws); err != nil { // moves it into E3
			t.Fatal(err)
		}
		if err := s.Put(ctx, commands.Workspace{TeamID: "T4"}, connection()); err != nil {
			t.Fatal(err)
		}
		if err := s.Forget(ctx, ws); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{redisstore.WorkspaceKey("T3", "E3", "connection"), redisstore.WorkspaceKey("T3", "", "connection"), redisstore.WorkspaceKey("T3", "", "enterprise")} {
			if _, err := kv.Get(ctx, k); !errors.Is(err, redisstore.ErrNotFound) {
				t.Errorf("%s after Forget: %v", k, err)
			}
		}
		if _, err := s.Get(ctx, commands.Workspace{TeamID: "T4"}); err != nil {
			t.Errorf("T4's connection went too: %v", err)
		}
	})
}

func TestPutInstallationRefuses(t *testing.T) {
	t.Parallel()
	s := tokenstore.New(redistest.NewTestStore(t), ring(t, newKey(t)), notFound, tokenstore.Options{})
	for name, inst := range map[string]commands.Installation{
		"no team":       {BotToken: botToken},
		"org, no id":    {EnterpriseInstall: true, BotToken: botToken},
		"no bot token":  {TeamID: "T1"},
		"org, no token": {EnterpriseID: "E1", EnterpriseInstall: true},
	} {
		err := s.PutInstallation(t.Context(), inst)
		if !errors.Is(err, tokenstore.ErrInvalidInstallation) || strings.Contains(err.Error(), botToken) {
			t.Errorf("%s: PutInstallation error = %v, want ErrInvalidInstallation without the token", name, err)
		}
	}
}
