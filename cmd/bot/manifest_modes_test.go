package main

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/flagbot/flagbot/internal/slackapp"
)

// manifest is the part of a Slack app manifest Flagbot depends on.
type manifest struct {
	Features struct {
		SlashCommands []struct {
			Command string `yaml:"command"`
		} `yaml:"slash_commands"`
	} `yaml:"features"`
	OAuth struct {
		RedirectURLs []string `yaml:"redirect_urls"`
		Scopes       struct {
			Bot  []string `yaml:"bot"`
			User []string `yaml:"user"`
		} `yaml:"scopes"`
	} `yaml:"oauth_config"`
	Settings struct {
		Events struct {
			Bot []string `yaml:"bot_events"`
		} `yaml:"event_subscriptions"`
		Interactivity struct {
			Enabled bool `yaml:"is_enabled"`
		} `yaml:"interactivity"`
		OrgDeploy     bool `yaml:"org_deploy_enabled"`
		SocketMode    bool `yaml:"socket_mode_enabled"`
		TokenRotation bool `yaml:"token_rotation_enabled"`
	} `yaml:"settings"`
}

// TestManifests: manifest.yml (one workspace) and manifest.multi.yml (OAuth
// installs) ask for exactly the scopes the install link asks for, deliver
// the uninstall events the bot handles, and differ only where the modes
// differ.
func TestManifests(t *testing.T) {
	var single, multi manifest
	readYAML(t, "../../manifest.yml", &single)
	readYAML(t, "../../manifest.multi.yml", &multi)
	for name, m := range map[string]manifest{"manifest.yml": single, "manifest.multi.yml": multi} {
		if !slices.Equal(m.OAuth.Scopes.Bot, slackapp.BotScopes()) || len(m.OAuth.Scopes.User) != 0 {
			t.Errorf("%s: bot scopes %q (user %q), want exactly %q", name, m.OAuth.Scopes.Bot, m.OAuth.Scopes.User, slackapp.BotScopes())
		}
		if len(m.Features.SlashCommands) != 1 || m.Features.SlashCommands[0].Command != slackapp.SlashCommand {
			t.Errorf("%s: slash commands %+v, want %s", name, m.Features.SlashCommands, slackapp.SlashCommand)
		}
		if !m.Settings.SocketMode || !m.Settings.Interactivity.Enabled || m.Settings.TokenRotation {
			t.Errorf("%s: settings %+v; want Socket Mode and interactivity on, token rotation off", name, m.Settings)
		}
		for _, ev := range []string{"app_uninstalled", "tokens_revoked"} {
			if !slices.Contains(m.Settings.Events.Bot, ev) {
				t.Errorf("%s does not subscribe to %s", name, ev)
			}
		}
	}
	if len(single.OAuth.RedirectURLs) != 0 || single.Settings.OrgDeploy {
		t.Errorf("manifest.yml has redirect URLs %q or org deploy %v: those are for OAuth installs", single.OAuth.RedirectURLs, single.Settings.OrgDeploy)
	}
	if len(multi.OAuth.RedirectURLs) != 1 || !strings.HasSuffix(multi.OAuth.RedirectURLs[0], slackapp.RedirectPath) ||
		!strings.HasPrefix(multi.OAuth.RedirectURLs[0], "https://") {
		t.Errorf("manifest.multi.yml redirect URLs %q, want one https:// URL ending in %s", multi.OAuth.RedirectURLs, slackapp.RedirectPath)
	}
	if !multi.Settings.OrgDeploy || !slices.Contains(multi.Settings.Events.Bot, "team_access_revoked") {
		t.Errorf("manifest.multi.yml: org deploy %v, events %q; want org-wide installs and team_access_revoked", multi.Settings.OrgDeploy, multi.Settings.Events.Bot)
	}
	// Apart from that they are the same app.
	multi.OAuth.RedirectURLs, multi.Settings.OrgDeploy, multi.Settings.Events.Bot = nil, false, slices.DeleteFunc(slices.Clone(multi.Settings.Events.Bot), func(e string) bool { return e == "team_access_revoked" })
	if !reflect.DeepEqual(single, multi) {
		t.Errorf("the manifests differ beyond the OAuth settings:\n%+v\n%+v", single, multi)
	}
}
