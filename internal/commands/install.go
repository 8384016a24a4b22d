package commands

import (
	"time"

	"github.com/flagbot/flagbot/internal/secret"
)

// Installation is Flagbot installed in Slack through OAuth: in one
// workspace (a team), or org-wide in an Enterprise Grid org, where one
// installation serves every workspace of the org. Each workspace it serves
// still connects its own LaunchDarkly token (Connection).
type Installation struct {
	// TeamID is the workspace of a workspace installation; "" for an
	// org-wide one.
	TeamID   string
	TeamName string
	// EnterpriseID is the Enterprise Grid org, "" outside one. An org-wide
	// installation (EnterpriseInstall) is known by it alone.
	EnterpriseID      string
	EnterpriseName    string
	EnterpriseInstall bool

	// BotToken is the xoxb- token every Web API call for the workspaces
	// it serves uses.
	BotToken  secret.Secret
	BotUserID string
	AppID     string
	// Scopes are the bot scopes Slack granted, comma-separated as Slack
	// sends them.
	Scopes      string
	InstalledBy string // the Slack user who approved the install
	InstalledAt time.Time
}

// Serves reports whether the installation serves workspace ws: it is ws's
// own (same team), or org-wide in ws's org.
func (i Installation) Serves(ws Workspace) bool {
	if i.EnterpriseInstall {
		return i.EnterpriseID != "" && i.EnterpriseID == ws.EnterpriseID
	}
	return i.TeamID != "" && i.TeamID == ws.TeamID
}

// String names the installation for logs: "team T0123 (enterprise E0456)"
// or "enterprise E0456 (org-wide)". It never shows the token.
func (i Installation) String() string {
	switch {
	case i.EnterpriseInstall:
		return "enterprise " + i.EnterpriseID + " (org-wide)"
	case i.EnterpriseID != "":
		return "team " + i.TeamID + " (enterprise " + i.EnterpriseID + ")"
	}
	return "team " + i.TeamID
}
