package slackapp

import (
	"context"
	"time"

	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"

	"github.com/flagbot/flagbot/internal/commands"
)

// uninstallTimeout bounds forgetting one installation's data.
const uninstallTimeout = time.Minute

// installationOf returns the installation an Events API envelope was
// delivered for: its first authorization (an org-wide installation when it
// says is_enterprise_install), else the envelope's team and enterprise.
func installationOf(ev slackevents.EventsAPIEvent) commands.Installation {
	inst := commands.Installation{TeamID: ev.TeamID, EnterpriseID: ev.EnterpriseID}
	if cb, ok := ev.Data.(*slackevents.EventsAPICallbackEvent); ok && len(cb.Authorizations) > 0 {
		au := cb.Authorizations[0]
		inst = commands.Installation{TeamID: au.TeamID, EnterpriseID: au.EnterpriseID, EnterpriseInstall: au.IsEnterpriseInstall}
		if au.IsEnterpriseInstall {
			inst.TeamID = ""
		}
		if inst.TeamID == "" && !inst.EnterpriseInstall {
			inst.TeamID = ev.TeamID
		}
	}
	return inst
}

// onUninstalled handles app_uninstalled and tokens_revoked: once the app is
// removed from a workspace or org (or its bot token is revoked, which ends
// the installation just the same), the installation's bot token and its
// workspaces' data go (Uninstaller.Uninstalled). Nothing can be posted or
// edited in Slack any more, so nothing is. tokens_revoked for user tokens
// only concerns tokens Flagbot never asks for: nothing to do.
func (a *App) onUninstalled(evt *socketmode.Event, c *socketmode.Client) {
	defer a.ack(evt, c, "events_api") // after the hand-off: see workers
	ev, ok := evt.Data.(slackevents.EventsAPIEvent)
	if !ok {
		return
	}
	inst := installationOf(ev)
	log := a.log.With("team_id", inst.TeamID, "enterprise_id", inst.EnterpriseID, "event", ev.InnerEvent.Type)
	if tr, ok := ev.InnerEvent.Data.(*slackevents.TokensRevokedEvent); ok && len(tr.Tokens.Bot) == 0 {
		log.Info("user tokens revoked; Flagbot holds none, nothing to do")
		return
	}
	if inst.TeamID == "" && inst.EnterpriseID == "" {
		log.Warn("uninstall event names no workspace or org; ignored")
		return
	}
	if a.uninst == nil {
		log.Warn("Flagbot was uninstalled, but this deployment forgets nothing (no uninstaller)", "installation", inst.String())
		return
	}
	a.spawn(func() {
		ctx, cancel := context.WithTimeout(a.base, uninstallTimeout)
		defer cancel()
		start := time.Now()
		// Deleting the installation drops it from every replica's
		// cache (tokenstore.Cache), so no call uses its token after.
		err := a.uninst.Uninstalled(ctx, inst)
		if err != nil {
			log.Error("could not forget an uninstalled installation; Slack sends the event again if it was not acked, else forget it by hand",
				"installation", inst.String(), "ref", newRef(), "err", err)
			return
		}
		log.Info("Flagbot was uninstalled: forgot the installation and its workspaces' data", "installation", inst.String(), "duration", time.Since(start))
	})
}

// onTeamAccessRevoked handles team_access_revoked: an org-wide installation
// no longer serves some workspaces of its org (removed from them). Their
// data goes; the installation keeps serving the org's other workspaces.
func (a *App) onTeamAccessRevoked(evt *socketmode.Event, c *socketmode.Client) {
	defer a.ack(evt, c, "events_api") // after the hand-off: see workers
	ev, ok := evt.Data.(slackevents.EventsAPIEvent)
	if !ok {
		return
	}
	in, ok := ev.InnerEvent.Data.(*slackevents.TeamAccessRevokedEvent)
	if !ok {
		return
	}
	ent := installationOf(ev).EnterpriseID
	log := a.log.With("enterprise_id", ent, "event", ev.InnerEvent.Type)
	if ent == "" || a.uninst == nil {
		log.Warn("Flagbot was removed from workspaces of an org; nothing forgotten", "team_ids", in.TeamIDs)
		return
	}
	a.spawn(func() {
		ctx, cancel := context.WithTimeout(a.base, uninstallTimeout)
		defer cancel()
		for _, team := range in.TeamIDs {
			ws := commands.Workspace{TeamID: team, EnterpriseID: ent}
			err := a.uninst.UninstalledFromTeam(ctx, ws)
			if err != nil {
				log.Error("could not forget the data of a workspace Flagbot was removed from", "team_id", team, "ref", newRef(), "err", err)
				continue
			}
			log.Info("Flagbot was removed from a workspace of its org: forgot the workspace's data", "team_id", team)
		}
	})
}
