package slackapp

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"

	"github.com/flagbot/flagbot/internal/commands"
)

// Bounds of the Home refreshes.
const (
	// homeViewerTTL is how long someone who opened their Home tab counts as
	// looking at it: their Home is refreshed when a request is created or
	// decided in their workspace.
	homeViewerTTL = 24 * time.Hour
	// maxHomeViewers bounds the viewers remembered (oldest dropped first).
	maxHomeViewers = 2000
	// maxHomeRefresh bounds the Homes one event republishes, the most
	// recent viewers first (views.publish is rate limited per workspace).
	maxHomeRefresh = 50
)

// homeViewers remembers, in this process, who opened their Home tab and
// when. A replica refreshes the Homes it served; every Home is built
// afresh when it is opened, so one served by another replica is at worst
// as old as its last opening.
type homeViewers struct {
	mu   sync.Mutex
	seen map[homeViewer]time.Time
}

type homeViewer struct {
	ws   commands.Workspace
	user string
}

func (h *homeViewers) add(ws commands.Workspace, user string, now time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.seen == nil {
		h.seen = make(map[homeViewer]time.Time)
	}
	h.seen[homeViewer{ws, user}] = now
	for len(h.seen) > maxHomeViewers {
		var oldest homeViewer
		var at time.Time
		first := true
		for k, t := range h.seen {
			if first || t.Before(at) {
				oldest, at, first = k, t, false
			}
		}
		delete(h.seen, oldest)
	}
}

// of returns ws's viewers of the last homeViewerTTL, most recent first, at
// most maxHomeRefresh.
func (h *homeViewers) of(ws commands.Workspace, now time.Time) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	type seen struct {
		user string
		at   time.Time
	}
	var out []seen
	for k, t := range h.seen {
		switch {
		case now.Sub(t) > homeViewerTTL:
			delete(h.seen, k)
		case k.ws == ws:
			out = append(out, seen{k.user, t})
		}
	}
	slices.SortFunc(out, func(a, b seen) int { return b.at.Compare(a.at) })
	users := make([]string, 0, min(len(out), maxHomeRefresh))
	for _, s := range out[:min(len(out), maxHomeRefresh)] {
		users = append(users, s.user)
	}
	return users
}

// onHomeOpened publishes the Home tab of the person who opened it.
func (a *App) onHomeOpened(evt *socketmode.Event, c *socketmode.Client) {
	defer a.ack(evt, c, "events_api") // after the hand-off: see workers
	ev, ok := evt.Data.(slackevents.EventsAPIEvent)
	if !ok {
		return
	}
	opened, ok := ev.InnerEvent.Data.(*slackevents.AppHomeOpenedEvent)
	if !ok || opened.Tab != "home" || opened.User == "" {
		return
	}
	ws := commands.Workspace{TeamID: ev.TeamID, EnterpriseID: ev.EnterpriseID}
	a.work(who{ws: ws, userID: opened.User}, "home", func(r *request) {
		a.homes.add(ws, opened.User, a.now())
		home := a.exec.Home(r.ctx, r.actor)
		a.publishHome(r.ctx, r.log, ws, home)
		r.log.Info("home published", "duration", time.Since(r.start))
	})
}

func (a *App) publishHome(ctx context.Context, log *slog.Logger, ws commands.Workspace, h commands.HomeResult) {
	ctx, cancel := replyContext(ctx)
	defer cancel()
	api, err := a.client(ctx, ws)
	if err != nil {
		log.Warn("views.publish failed", "user_id", h.UserID, "err", err)
		return
	}
	if _, err := api.PublishViewContext(ctx, slack.PublishViewContextRequest{UserID: h.UserID, View: HomeView(h)}); err != nil {
		log.Warn("views.publish failed", "user_id", h.UserID, "err", err)
	}
}

// refreshHomes republishes, in the background, the Homes of ws's recent
// viewers (see homeViewers): a request was created or decided there.
func (a *App) refreshHomes(ws commands.Workspace) {
	users := a.homes.of(ws, a.now())
	if len(users) == 0 {
		return
	}
	a.spawn(func() {
		ctx, cancel := context.WithTimeout(a.base, a.opts.CommandTimeout)
		defer cancel()
		log := a.log.With("team_id", ws.TeamID)
		actors := make([]commands.Actor, 0, len(users))
		for _, u := range users {
			actor := commands.Actor{Workspace: ws, UserID: u}
			out, guest, err := a.users.Who(ctx, ws, u)
			if err != nil {
				continue // unknown: publish nothing rather than too much
			}
			actor.Outsider, actor.Guest = out, guest
			actors = append(actors, actor)
		}
		for _, h := range a.exec.Homes(ctx, ws, actors) {
			a.publishHome(ctx, log, ws, h)
		}
		log.Debug("homes refreshed", "count", len(actors))
	})
}

func (a *App) now() time.Time {
	if a.opts.Now != nil {
		return a.opts.Now()
	}
	return time.Now()
}
