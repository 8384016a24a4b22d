package slackapp

import (
	"encoding/json"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"

	"github.com/flagbot/flagbot/internal/commands"
)

// maxUnfurls is how many links of one message are unfurled.
const maxUnfurls = 5

// onLinkShared unfurls links to flags on the configured LaunchDarkly into
// flag cards, read with the workspace's own connection and as the person
// who shared them: never for someone of another organisation (the core
// refuses them), and never in a channel shared with another organisation,
// whose members would read the card.
func (a *App) onLinkShared(evt *socketmode.Event, c *socketmode.Client) {
	defer a.ack(evt, c, "events_api") // after the hand-off: see workers
	ev, ok := evt.Data.(slackevents.EventsAPIEvent)
	if !ok {
		return
	}
	shared, ok := ev.InnerEvent.Data.(*slackevents.LinkSharedEvent)
	if !ok || shared.User == "" {
		return
	}
	ws := commands.Workspace{TeamID: ev.TeamID, EnterpriseID: ev.EnterpriseID}
	if ev.IsExtSharedChannel {
		a.log.Info("not unfurling in a channel shared with another organisation", "team_id", ws.TeamID, "channel_id", shared.Channel)
		return
	}
	// slack-go's event has no unfurl_id or source; the composer's links
	// (before the message exists) are unfurled with them.
	var raw struct {
		Event struct {
			UnfurlID string `json:"unfurl_id"`
			Source   string `json:"source"`
		} `json:"event"`
	}
	if evt.Request != nil {
		_ = json.Unmarshal(evt.Request.Payload, &raw)
	}
	a.work(who{ws: ws, userID: shared.User, channelID: shared.Channel}, "unfurl", func(r *request) {
		unfurls := map[string]slack.Attachment{}
		for _, l := range shared.Links {
			if len(unfurls) == maxUnfurls {
				break
			}
			link, ok := a.exec.FlagLink(l.URL)
			if !ok {
				continue
			}
			res, err := a.exec.Execute(r.ctx, r.actor, link.Show())
			if err != nil {
				r.log.Info("not unfurling a flag link", "flag_key", link.Flag, "kind", commands.KindOf(err).String())
				if k := commands.KindOf(err); k == commands.KindOutsider || k == commands.KindNotConnected {
					return
				}
				continue
			}
			res, _ = commands.SplitNotice(res)
			fr, ok := res.(commands.FlagResult)
			if !ok {
				continue
			}
			unfurls[l.URL] = slack.Attachment{Blocks: slack.Blocks{BlockSet: FlagCard(fr, l.URL).Blocks}}
		}
		if len(unfurls) == 0 {
			return
		}
		ctx, cancel := replyContext(r.ctx)
		defer cancel()
		api, err := a.client(ctx, r.actor.Workspace)
		switch {
		case err != nil:
		case raw.Event.UnfurlID != "" && raw.Event.Source != "":
			_, _, _, err = api.UnfurlMessageByIDContext(ctx, raw.Event.UnfurlID, raw.Event.Source, unfurls)
		default:
			_, _, _, err = api.UnfurlMessageContext(ctx, shared.Channel, shared.MessageTimeStamp, unfurls)
		}
		a.finish(r, err)
		if err != nil {
			r.log.Warn("chat.unfurl failed", "err", err)
			return
		}
		r.log.Info("unfurled flag links", "count", len(unfurls), "duration", time.Since(r.start))
	})
}
