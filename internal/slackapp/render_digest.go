package slackapp

import (
	"fmt"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/flagbot/flagbot/internal/commands"
	"github.com/flagbot/flagbot/internal/digest"
)

// How much of a digest one message shows.
const (
	maxDigestChangesPerFlag = 15  // changes listed under one flag
	maxDigestLines          = 100 // changes listed in one message
	maxDigestFlaps          = 5   // "switched several times" lines
	maxDigestComment        = 200 // runes of a comment
	maxDigestPeople         = 10  // names in the header
	maxHiddenIDs            = 50  // ids of hidden subscriptions shown to an admin
	// digestChunkReserve is the room a flag's section keeps for its
	// "…and N more changes to this flag" line.
	digestChunkReserve = 64
)

// RenderDigest renders a digest as a channel message within Slack's limits:
// a header, the window and counts, highlights, then the changes grouped by
// flag and environment. What does not fit is summarised as "and N more
// changes" with a link to LaunchDarkly's audit log.
func RenderDigest(d digest.Digest) Message {
	loc := d.Location
	if loc == nil {
		loc = time.UTC
	}
	title := "LaunchDarkly digest"
	if d.Filter.Project != "" {
		title += ": " + d.Filter.Project
	}
	blocks := []slack.Block{headerBlock(title)}

	layout := "Mon 2 Jan 15:04"
	window := fmt.Sprintf("%s – %s (%s)", d.From.In(loc).Format(layout), d.To.In(loc).Format(layout), loc.String())
	info := []string{esc(window), countNoun(d.Total, "change", "changes"), countNoun(len(d.Flags), "flag", "flags"), countNoun(len(d.People), "person", "people")}
	if scope := digestScope(d.Filter); scope != "" {
		info = append(info, scope)
	}
	blocks = append(blocks, contextBlock(strings.Join(info, " · ")))
	if len(d.People) > 0 {
		names := make([]string, 0, maxDigestPeople)
		for _, p := range d.People[:min(len(d.People), maxDigestPeople)] {
			names = append(names, oneLine(p))
		}
		s := "By " + strings.Join(names, ", ")
		if n := len(d.People) - maxDigestPeople; n > 0 {
			s += fmt.Sprintf(" and %d more", n)
		}
		blocks = append(blocks, contextBlock(s))
	}
	if d.Capped {
		s := fmt.Sprintf(":warning: No digest was posted since %s (Flagbot was down or paused), so this one covers only the last %s.",
			esc(d.CappedFrom.In(loc).Format(layout)), digestSpan(d.To.Sub(d.From)))
		if u := safeURL(d.AuditURL); u != "" {
			s += " Earlier changes are in " + link(u, "LaunchDarkly's audit log") + "."
		}
		blocks = append(blocks, contextBlock(s))
	}
	if d.Truncated {
		s := "This window had more changes than one digest fetches; only the newest are counted."
		if u := safeURL(d.AuditURL); u != "" {
			s += " See " + link(u, "LaunchDarkly's audit log") + " for all."
		}
		blocks = append(blocks, contextBlock(s))
	}
	if len(d.Unsigned) > 0 {
		blocks = append(blocks, digestUnsigned(d.Unsigned))
	}
	if d.Total == 0 {
		blocks = append(blocks, sectionBlock("No flag changes in this window."))
		return Fit(Message{Text: "LaunchDarkly digest: no changes", Blocks: blocks})
	}
	if h := digestHighlights(d); h != "" {
		blocks = append(blocks, sectionBlock(h), slack.NewDividerBlock())
	}

	chunks := make([]string, 0, len(d.Flags))
	counts := make([]int, 0, len(d.Flags)) // changes shown per chunk
	hiddenInFlags := 0
	sameDay := d.To.Sub(d.From) <= 24*time.Hour
	budget := maxDigestLines
	for _, fg := range d.Flags {
		if budget == 0 {
			hiddenInFlags += fg.Changes
			continue
		}
		text, shown := digestFlagChunk(fg, loc, sameDay, min(budget, maxDigestChangesPerFlag))
		budget -= shown
		chunks = append(chunks, text)
		counts = append(counts, shown)
		hiddenInFlags += fg.Changes - shown
	}
	// Leave room for the overflow line.
	sections, used := packChunks(chunks, "\n\n", MaxBlocks-len(blocks)-1)
	blocks = append(blocks, sections...)
	hidden := hiddenInFlags
	for i := used; i < len(counts); i++ {
		hidden += counts[i]
	}
	if hidden > 0 {
		s := fmt.Sprintf("…and %s", countNoun(hidden, "more change", "more changes"))
		if u := safeURL(d.AuditURL); u != "" {
			s += " in " + link(u, "LaunchDarkly's audit log")
		}
		blocks = append(blocks, contextBlock(s+"."))
	}
	text := fmt.Sprintf("LaunchDarkly digest: %s to %s", countNoun(d.Total, "change", "changes"), countNoun(len(d.Flags), "flag", "flags"))
	return Fit(Message{Text: text, Blocks: blocks})
}

func digestScope(f commands.DigestFilter) string {
	var parts []string
	if len(f.Envs) > 0 {
		envs := make([]string, len(f.Envs))
		for i, e := range f.Envs {
			envs[i] = code(e)
		}
		parts = append(parts, "environments "+strings.Join(envs, ", "))
	}
	if f.Flag != "" {
		parts = append(parts, "flag "+code(f.Flag))
	}
	if f.Tag != "" {
		parts = append(parts, "tag "+code(f.Tag))
	}
	return strings.Join(parts, " · ")
}

func digestSpan(d time.Duration) string {
	if d >= 24*time.Hour && d%(24*time.Hour) == 0 {
		return countNoun(int(d/(24*time.Hour)), "day", "days")
	}
	return d.Round(time.Minute).String()
}

func digestHighlights(d digest.Digest) string {
	var lines []string
	if d.Critical > 0 {
		lines = append(lines, fmt.Sprintf(":red_circle: %s in production or critical environments", countNoun(d.Critical, "change", "changes")))
	}
	if d.NoComment > 0 {
		lines = append(lines, fmt.Sprintf(":speech_balloon: %s without a comment", countNoun(d.NoComment, "change", "changes")))
	}
	if d.OutsideFlagbot > 0 {
		lines = append(lines, fmt.Sprintf(":wrench: %s made outside Flagbot", countNoun(d.OutsideFlagbot, "change", "changes")))
	}
	if d.Unverified > 0 {
		lines = append(lines, fmt.Sprintf(":warning: %s say they came through Flagbot, but match no Flagbot request", countNoun(d.Unverified, "change", "changes")))
	}
	for i, f := range d.Switched {
		if i == maxDigestFlaps {
			lines = append(lines, fmt.Sprintf(":repeat: …and %d more flags switched several times", len(d.Switched)-i))
			break
		}
		where := "all environments"
		if f.Env != "" {
			where = code(f.Env)
		}
		lines = append(lines, fmt.Sprintf(":repeat: %s switched on or off %d times in %s", code(f.Flag), f.Times, where))
	}
	if len(lines) == 0 {
		return ""
	}
	return "*Highlights*\n" + strings.Join(lines, "\n")
}

// digestFlagChunk renders one flag's changes; shown is how many it lists.
func digestFlagChunk(fg digest.FlagGroup, loc *time.Location, sameDay bool, limit int) (string, int) {
	var b strings.Builder
	if name := strings.TrimSpace(fg.Name); name != "" && name != fg.Key {
		b.WriteString("*" + oneLine(truncPlain(name, maxNameRunes)) + "* ")
	}
	b.WriteString(code(fg.Key))
	fmt.Fprintf(&b, " · %s", countNoun(fg.Changes, "change", "changes"))
	// The chunk must fit one section with its "…and N more" line, or
	// packChunks would cut changes off without counting them.
	budget := MaxSectionText - digestChunkReserve
	n := runeLen(b.String())
	shown := 0
envs:
	for _, eg := range fg.Envs {
		env := "_all environments_"
		if eg.Key != "" {
			env = code(eg.Key)
		}
		if eg.Critical {
			env += " :red_circle:"
		}
		header := "\n" + env
		for i, c := range eg.Changes {
			if shown == limit {
				break envs
			}
			line := "\n• " + digestChangeLine(c, loc, sameDay)
			if i == 0 {
				line = header + line
			}
			l := runeLen(line)
			if n+l > budget {
				if shown > 0 {
					break envs
				}
				line = truncMrkdwn(line, budget-n) // one change longer than a section
				l = runeLen(line)
			}
			b.WriteString(line)
			n += l
			shown++
		}
	}
	if n := fg.Changes - shown; n > 0 {
		fmt.Fprintf(&b, "\n…and %s to this flag", countNoun(n, "more change", "more changes"))
	}
	return b.String(), shown
}

func digestChangeLine(c digest.Change, loc *time.Location, sameDay bool) string {
	layout := "Mon 15:04"
	if sameDay {
		layout = "15:04"
	}
	verb := c.Verb
	if verb == "" {
		verb = "changed the flag"
	}
	s := c.At.In(loc).Format(layout) + " " + "*" + oneLine(c.Who) + "* " + oneLine(truncPlain(verb, maxNameRunes))
	switch {
	case c.Flagbot != nil:
		approvers := make([]string, len(c.Flagbot.Approvers))
		for i, a := range c.Flagbot.Approvers {
			approvers[i] = oneLine(a)
		}
		s += " · via Flagbot: requested by " + oneLine(c.Flagbot.Requester) + ", approved by " + strings.Join(approvers, ", ")
		if c.Flagbot.Reason != "" {
			s += " — _" + oneLine(truncPlain(c.Flagbot.Reason, maxDigestComment)) + "_"
		}
	case c.Comment != "":
		s += " — _" + oneLine(truncPlain(c.Comment, maxDigestComment)) + "_"
	default:
		s += " · _no comment_"
	}
	return s
}

func renderDigestSubscribed(r commands.DigestSubscribedResult) Message {
	s := r.Subscription
	return textMessage(fmt.Sprintf(":white_check_mark: Subscribed %s to LaunchDarkly digests of %s, %s. The first one is due %s. Subscription %s; `/flag digest unsubscribe %s` stops it.",
		digestChannel(s), digestWhat(s), esc(s.Schedule.String()), slackDate(s.NextRun), code(s.ID), escAmp(s.ID)))
}

func renderDigestList(r commands.DigestListResult) Message {
	if len(r.Subscriptions) == 0 && r.Hidden == 0 {
		return textMessage("This workspace has no digest subscriptions. `/flag digest subscribe` creates one.")
	}
	lines := make([]string, 0, len(r.Subscriptions))
	for _, s := range r.Subscriptions {
		line := fmt.Sprintf("%s · %s · %s, %s · next %s", code(s.ID), digestChannel(s), digestWhat(s), esc(s.Schedule.String()), slackDate(s.NextRun))
		if s.PostEmpty {
			line += " · posts when quiet"
		}
		lines = append(lines, line)
	}
	blocks := []slack.Block{headerBlock("Digest subscriptions")}
	if len(lines) == 0 {
		lines = append(lines, "None that you can see.")
	}
	blocks = append(blocks, listSections(lines)...)
	if r.Hidden > 0 {
		blocks = append(blocks, contextBlock(digestHidden(r)))
	}
	return Message{Text: "Digest subscriptions: " + countNoun(len(r.Subscriptions), "subscription", "subscriptions"), Blocks: blocks}
}

// digestHidden says how many subscriptions the list leaves out, and to an
// admin which.
func digestHidden(r commands.DigestListResult) string {
	s := fmt.Sprintf(":lock: %d more subscriptions post in private channels you are not in, so they aren't listed.", r.Hidden)
	them := "them"
	if r.Hidden == 1 {
		s, them = ":lock: 1 more subscription posts in a private channel you are not in, so it isn't listed.", "it"
	}
	if len(r.HiddenIDs) == 0 {
		return s
	}
	ids := make([]string, 0, min(len(r.HiddenIDs), maxHiddenIDs))
	for _, id := range r.HiddenIDs[:min(len(r.HiddenIDs), maxHiddenIDs)] {
		ids = append(ids, code(id))
	}
	list := strings.Join(ids, ", ")
	if n := len(r.HiddenIDs) - maxHiddenIDs; n > 0 {
		list += fmt.Sprintf(" and %d more", n)
	}
	return s + " As an admin you can remove " + them + " with `/flag digest unsubscribe <id>`: " + list + "."
}

func renderDigestUnsubscribed(r commands.DigestUnsubscribedResult) Message {
	return textMessage(fmt.Sprintf("Unsubscribed: %s no longer gets digest %s.", digestChannel(r.Subscription), code(r.Subscription.ID)))
}

func renderDigestNow(r commands.DigestNowResult) Message {
	run := r.Run
	return textMessage(fmt.Sprintf("Posted digest %s in %s: %s since %s.", code(run.Subscription.ID), digestChannel(run.Subscription),
		countNoun(run.Changes, "change", "changes"), slackDate(run.From)))
}

func digestChannel(s commands.DigestSubscription) string {
	if s.ChannelID != "" && validChannelID(s.ChannelID) {
		return "<#" + s.ChannelID + ">"
	}
	if s.ChannelName != "" {
		return "#" + oneLine(s.ChannelName)
	}
	return "the channel"
}

func validChannelID(id string) bool {
	if len(id) > 32 || (id[0] != 'C' && id[0] != 'G' && id[0] != 'D') {
		return false
	}
	for i := 1; i < len(id); i++ {
		if c := id[i]; (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

func digestWhat(s commands.DigestSubscription) string {
	w := "project " + code(s.Filter.Project)
	if scope := digestScope(s.Filter); scope != "" {
		w += " (" + scope + ")"
	}
	return w
}
