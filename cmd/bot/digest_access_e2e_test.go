package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/flagbot/flagbot/internal/commands"
	"github.com/flagbot/flagbot/internal/digest"
	"github.com/flagbot/flagbot/internal/redisstore"
	"github.com/flagbot/flagbot/internal/redisstore/redistest"
	"github.com/flagbot/flagbot/internal/slackfake"
)

// Issue 8, items 7 and 11, end to end: who may do what with digests
// (through run), a digest labels only Flagbot's own changes, a crash after
// Slack accepted a digest does not post it twice, and a replica whose
// clock is ahead skips nothing.

const eveID = "UEVE" // a member of the workspace: neither subscriber nor admin

// textOf is what a response shows, with JSON's escapes of <, > and & undone.
func textOf(r slackfake.Response) string { return unescapeJSON(r.Text + string(r.Blocks)) }

func TestDigestAccessThroughRun(t *testing.T) {
	t.Parallel()
	sl, lds := newSlack(t), newLD(t)
	sl.SetUser(slackfake.User{ID: eveID, Name: "eve", RealName: "Eve Member"})
	sl.SetChannel(slackfake.Channel{ID: "G0PRIV", Name: "launch-room", Private: true, Members: []string{userID, slackfake.BotUserID}})
	b := startBot(t, sl, lds)
	b.connect(t, teamID, adminID, writerToken, "web", "production")

	// Bo subscribes this channel and his private one.
	r := b.command(t, teamID, userID, "digest subscribe")
	wantContains(t, "public subscribe", textOf(r), "Subscribed <#"+channelID+">")
	pubID := subscriptionID(t, textOf(r))
	r = b.command(t, teamID, userID, "digest subscribe <#G0PRIV|launch-room> hourly")
	wantContains(t, "private subscribe by a member", textOf(r), "Subscribed <#G0PRIV>")
	privID := subscriptionID(t, textOf(r))

	refusals := []struct {
		name, user, cmd, want string
	}{
		{"eve subscribes a private channel she is not in", eveID, "digest subscribe <#G0PRIV|launch-room>",
			"<#G0PRIV> is a private channel you are not in, so you can't subscribe it to digests. Ask one of its members to run `/flag digest subscribe` there."},
		{"the admin is not in it either", adminID, "digest subscribe <#G0PRIV>",
			"<#G0PRIV> is a private channel you are not in, so you can't subscribe it to digests. Ask one of its members to run `/flag digest subscribe` there."},
		{"eve removes Bo's digest", eveID, "digest unsubscribe " + pubID,
			"Only <@" + userID + ">, who subscribed it, or a workspace admin can remove digest `" + pubID + "`."},
		{"eve posts Bo's digest", eveID, "digest now " + privID,
			"Only <@" + userID + ">, who subscribed it, or a workspace admin can post digest `" + privID + "`."},
		{"eve posts this channel's digest", eveID, "digest now",
			"Only <@" + userID + ">, who subscribed it, or a workspace admin can post digest `" + pubID + "`."},
	}
	for _, tt := range refusals {
		if got := unescapeJSON(b.command(t, teamID, tt.user, tt.cmd).Text); got != tt.want {
			t.Errorf("%s:\n got %q\nwant %q", tt.name, got, tt.want)
		}
	}
	if n := len(sl.Calls("chat.postMessage")); n != 0 {
		t.Errorf("%d messages posted by refused commands", n)
	}

	// Eve's list leaves the private channel out, names and all.
	r = b.command(t, teamID, eveID, "digest list")
	body := textOf(r)
	wantContains(t, "eve's list", body, "`"+pubID+"` · <#"+channelID+">",
		":lock: 1 more subscription posts in a private channel you are not in, so it isn't listed.")
	for _, secret := range []string{privID, "G0PRIV", "launch-room", "hourly"} {
		if strings.Contains(body, secret) {
			t.Errorf("eve's list shows %q:\n%s", secret, body)
		}
	}
	// Bo sees both; the admin gets the hidden one's id, and may post and
	// remove it.
	wantContains(t, "bo's list", textOf(b.command(t, teamID, userID, "digest list")), "`"+privID+"` · <#G0PRIV>", "`"+pubID+"` · <#"+channelID+">")
	wantContains(t, "the admin's list", textOf(b.command(t, teamID, adminID, "digest list")),
		"As an admin you can remove it with `/flag digest unsubscribe <id>`: `"+privID+"`.")
	wantContains(t, "the admin posts it", textOf(b.command(t, teamID, adminID, "digest now "+privID)), "Posted digest `"+privID+"` in <#G0PRIV>")
	if msgs := posted(sl, "G0PRIV"); len(msgs) != 1 {
		t.Errorf("%d digests in the private channel, want 1", len(msgs))
	}
	wantContains(t, "the admin removes it", textOf(b.command(t, teamID, adminID, "digest unsubscribe "+privID)), "no longer gets digest `"+privID+"`")
	wantContains(t, "bo removes his", textOf(b.command(t, teamID, userID, "digest unsubscribe "+pubID)), "no longer gets digest `"+pubID+"`")
	b.assertNoSecrets(t)
}

// posted returns the messages the bot posted in channel with
// chat.postMessage (digests), oldest first.
func posted(sl *slackfake.Server, channel string) []slackfake.Message {
	var out []slackfake.Message
	for _, m := range sl.Messages(channel, "") {
		if m.Via == "chat.postMessage" {
			out = append(out, m)
		}
	}
	return out
}

// subscriptionID reads the id out of a "Subscribed …" answer.
func subscriptionID(t *testing.T, body string) string {
	t.Helper()
	_, rest, ok := strings.Cut(body, "`/flag digest unsubscribe ")
	id, _, ok2 := strings.Cut(rest, "`")
	if !ok || !ok2 || id == "" {
		t.Fatalf("no subscription id in %q", body)
	}
	return id
}

func TestDigestLabelsOnlyFlagbotsChanges(t *testing.T) {
	t.Parallel()
	for name, store := range map[string]func(testing.TB) *redisstore.Store{"miniredis": redistest.NewTestStore, "redis": redistest.NewRealTestStore} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := newDigestRig(t, store(t))
			s := r.scheduler(t, "r1")
			subscribeDigest(t, s, channelID, berlinNine, false)
			at := time.Date(2030, 1, 15, 7, 30, 0, 0, time.UTC)
			ws := commands.Workspace{TeamID: teamID}
			r.flagbotChange(t, ws, "real1", userID, adminID, at, "staging", "dark-mode", "fix the banner")
			r.flagbotChange(t, commands.Workspace{TeamID: otherTeamID}, "theirs1", userID, adminID, at, "production", "new-checkout", "theirs")
			comment := func(id, reason string) string {
				return "Requested by Bo User (UUSER), approved by Ana Admin (UADMIN) via Flagbot; reason: " + reason + "; request " + id
			}
			r.entry("genuine", at.Add(time.Second), "staging", "dark-mode", comment("real1", "fix the banner"))
			r.entry("typed", at.Add(2*time.Second), "production", "new-checkout", comment("made-up", "trust me"))
			r.entry("other-workspace", at.Add(3*time.Second), "production", "new-checkout", comment("theirs1", "theirs"))
			r.clock.Set(time.Date(2030, 1, 15, 8, 0, 1, 0, time.UTC))
			tickDigests(t, s)
			posts := r.digestPosts()
			if len(posts) != 1 {
				t.Fatalf("%d digests, want 1", len(posts))
			}
			blocks := unescapeJSON(posts[0].Params["blocks"])
			wantContains(t, "the digest", blocks,
				"via Flagbot: requested by Bo User, approved by Ana Admin — _fix the banner_",
				":wrench: 2 changes made outside Flagbot",
				":warning: 2 changes say they came through Flagbot, but match no Flagbot request",
				"_"+comment("made-up", "trust me")+"_")
			if n := strings.Count(blocks, "via Flagbot: requested by"); n != 1 {
				t.Errorf("%d changes labelled via Flagbot, want 1:\n%s", n, blocks)
			}
		})
	}
}

// dyingStore records no run: the replica died (or lost Redis) right after
// Slack accepted its digest, so its lease is not released either.
type dyingStore struct{ digest.Store }

func (dyingStore) CompleteDigestRun(context.Context, digest.Key, time.Time, string, []byte, time.Time) error {
	return fmt.Errorf("died before recording: %w", redisstore.ErrUnavailable)
}

func TestDigestCrashAfterPostPostsOnce(t *testing.T) {
	t.Parallel()
	for name, store := range map[string]func(testing.TB) *redisstore.Store{"miniredis": redistest.NewTestStore, "redis": redistest.NewRealTestStore} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := newDigestRig(t, store(t))
			const lease = 300 * time.Millisecond
			opts := digest.Options{Clock: r.clock.Clock, Now: r.clock.Now, Lease: lease}
			dying := r.schedulerWith(t, "dying", func(s digest.Store) digest.Store { return dyingStore{s} }, opts)
			next := r.schedulerWith(t, "next", func(s digest.Store) digest.Store { return s }, opts)
			subscribeDigest(t, next, channelID, berlinNine, false)
			r.entry("d1", time.Date(2030, 1, 15, 7, 0, 0, 0, time.UTC), "production", "new-checkout", "")
			r.clock.Set(time.Date(2030, 1, 15, 8, 0, 1, 0, time.UTC))
			tickDigests(t, dying)
			if n := len(r.digestPosts()); n != 1 {
				t.Fatalf("%d digests accepted before the crash, want 1", n)
			}
			var meta struct {
				EventType string `json:"event_type"`
			}
			if msgs := posted(r.slack, channelID); len(msgs) != 1 || json.Unmarshal(msgs[0].Metadata, &meta) != nil || meta.EventType != "flagbot_digest" {
				t.Fatalf("the digest carries no flagbot_digest metadata: %+v", msgs)
			}
			time.Sleep(2 * lease) // the dead replica's lease runs out
			r.clock.Set(time.Date(2030, 1, 15, 8, 0, 31, 0, time.UTC))
			tickDigests(t, next, next)
			if n := len(r.digestPosts()); n != 1 {
				t.Fatalf("%d digests after the crash, want the one Slack accepted", n)
			}
			if n := len(r.slack.Calls("conversations.history")); n != 1 {
				t.Errorf("%d conversations.history calls, want 1 (the retry looked for its post once)", n)
			}
			// The found post was recorded: the next day reports only what is new.
			r.entry("d2", time.Date(2030, 1, 15, 12, 0, 0, 0, time.UTC), "production", "dark-mode", "")
			r.clock.Set(time.Date(2030, 1, 16, 8, 0, 1, 0, time.UTC))
			tickDigests(t, next)
			posts := r.digestPosts()
			if len(posts) != 2 {
				t.Fatalf("%d digests, want 2", len(posts))
			}
			if blocks := unescapeJSON(posts[1].Params["blocks"]); !strings.Contains(blocks, "`dark-mode`") || strings.Contains(blocks, "`new-checkout`") {
				t.Errorf("the next day's digest repeats the crashed one or misses the new change:\n%s", blocks)
			}
		})
	}
}

func TestDigestReplicaClockAheadSkipsNothing(t *testing.T) {
	t.Parallel()
	for name, store := range map[string]func(testing.TB) *redisstore.Store{"miniredis": redistest.NewTestStore, "redis": redistest.NewRealTestStore} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := newDigestRig(t, store(t))
			same := func(s digest.Store) digest.Store { return s }
			// No Clock: Redis's, as run wires it. One replica's own clock
			// is ten minutes ahead.
			ahead := r.schedulerWith(t, "ahead", same, digest.Options{Now: func() time.Time { return time.Now().Add(10 * time.Minute) }})
			right := r.schedulerWith(t, "right", same, digest.Options{})
			sub := subscribeDigest(t, right, channelID, berlinNine, false)
			ws := commands.Workspace{TeamID: teamID}
			if _, err := ahead.RunNow(t.Context(), ws, sub.ID); err != nil {
				t.Fatal(err)
			}
			time.Sleep(5 * time.Millisecond)
			r.entry("meanwhile", time.Now(), "production", "new-checkout", "")
			time.Sleep(5 * time.Millisecond)
			run, err := right.RunNow(t.Context(), ws, sub.ID)
			if err != nil || run.Changes != 1 {
				t.Fatalf("second digest = %+v, %v; want the change made after the first digest", run, err)
			}
			if posts := r.digestPosts(); len(posts) != 2 || !strings.Contains(unescapeJSON(posts[1].Params["blocks"]), "`new-checkout`") {
				t.Fatalf("%d digests; want the second to report new-checkout", len(posts))
			}
		})
	}
}
