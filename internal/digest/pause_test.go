package digest

import (
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flagbot/flagbot/internal/commands"
	"github.com/flagbot/flagbot/internal/ld"
	"github.com/flagbot/flagbot/internal/redisstore"
	"github.com/flagbot/flagbot/internal/secret"
)

// lockedWorkspaces is fakeWorkspaces whose connection becomes unreadable
// (as after a change of encryption key) while unreadable is set.
type lockedWorkspaces struct {
	fakeWorkspaces
	unreadable *atomic.Bool
}

func (w lockedWorkspaces) Get(ctx context.Context, ws commands.Workspace) (commands.Connection, error) {
	if w.unreadable.Load() {
		return commands.Connection{}, fmt.Errorf("fake: key 0badc0de: %w", commands.ErrUnreadable)
	}
	return w.fakeWorkspaces.Get(ctx, ws)
}

// noticeSlack is fakeSlack with the Notifier ability.
type noticeSlack struct {
	*fakeSlack
	mu        sync.Mutex
	notices   []posted // Digest unused
	texts     []commands.Text
	failNotes int
}

func (n *noticeSlack) PostNotice(_ context.Context, _ commands.Workspace, ch string, msg commands.Text) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.failNotes > 0 {
		n.failNotes--
		return fmt.Errorf("fake: slack is down")
	}
	n.notices = append(n.notices, posted{Channel: ch})
	n.texts = append(n.texts, msg)
	return nil
}

func (n *noticeSlack) Notices() ([]posted, []commands.Text) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.notices), slices.Clone(n.texts)
}

// TestUnreadableTokenPausesDigest: while the workspace's stored token
// cannot be read, scheduled runs are skipped (no retry every tick), the
// channel is told once, and the first run after a reconnect covers the
// whole pause.
func TestUnreadableTokenPausesDigest(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, store *redisstore.Store) {
		h := newHarness(t, store)
		var unreadable atomic.Bool
		ws := lockedWorkspaces{h.ws, &unreadable}
		sl := &noticeSlack{fakeSlack: h.slack}
		c, err := ld.NewClient(h.base, ld.Options{Sleep: h.sleep.Sleep})
		if err != nil {
			t.Fatal(err)
		}
		clients := func(tok secret.Secret) commands.LaunchDarkly { return ld.NewService(c.WithToken(tok)) }
		log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
		s := New(h.store, ws, clients, sl, h.changes, Options{Clock: h.clock.Clock, Now: h.clock.Now, Logger: log, Owner: "r1"})
		sub := h.subscribe(s, commands.DigestSubscription{})

		day := func(d, hh int) time.Time { return time.Date(2026, 11, d, hh, 0, 10, 0, time.UTC) }
		h.entry("e1", day(26, 15), "web", "production", "checkout", "")
		h.clock.Set(day(27, 9))
		h.tick(s)
		if got := len(h.slack.Posts()); got != 1 {
			t.Fatalf("%d digests before the key change, want 1", got)
		}

		unreadable.Store(true)
		h.entry("e2", day(27, 12), "web", "production", "checkout", "")
		h.entry("e3", day(28, 12), "web", "staging", "checkout", "")
		sl.failNotes = 1 // Slack is down at first: the notice is retried, not lost
		h.clock.Set(day(28, 9))
		h.tick(s)
		if n, _ := sl.Notices(); len(n) != 0 {
			t.Fatalf("notice posted while Slack was failing: %v", n)
		}
		for range 3 { // the next ticks, the same day
			h.tick(s)
		}
		h.clock.Set(day(29, 9)) // the next scheduled run, still locked out
		h.tick(s)
		h.tick(s)
		notices, texts := sl.Notices()
		if len(notices) != 1 || notices[0].Channel != testChan {
			t.Fatalf("notices = %v, want exactly one in %s", notices, testChan)
		}
		if !reflect.DeepEqual(texts[0], PausedNotice(sub)) {
			t.Errorf("notice = %q, want %q", texts[0], PausedNotice(sub))
		}
		if got := len(h.slack.Posts()); got != 1 {
			t.Fatalf("%d digests while paused, want none after the first", got-1)
		}
		attempts := h.slack.attempts
		recs, err := h.store.ListDigests(t.Context(), testTeam, "")
		if err != nil || len(recs) != 1 || !recs[0].NextRun.Equal(time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)) {
			t.Fatalf("while paused: subscriptions %v, %v; want the next run on the 30th", recs, err)
		}

		unreadable.Store(false) // an admin ran /flag connect
		h.clock.Set(day(30, 9))
		h.tick(s)
		posts := h.slack.Posts()
		if len(posts) != 2 || h.slack.attempts != attempts+1 {
			t.Fatalf("%d digests after the reconnect (%d attempts), want 2", len(posts), h.slack.attempts-attempts)
		}
		if got := ids(posts[1].Digest); !slices.Equal(got, []string{"e2", "e3"}) || posts[1].Digest.Capped {
			t.Errorf("first digest after the pause has %v (capped %v), want e2 and e3", got, posts[1].Digest.Capped)
		}

		// Locked out again later: one new notice.
		unreadable.Store(true)
		h.clock.Set(day(30, 9).AddDate(0, 0, 1))
		h.tick(s)
		if n, _ := sl.Notices(); len(n) != 2 {
			t.Errorf("notices after a second lockout = %d, want 2", len(n))
		}
	})
}

// TestUnreadableBeforeFirstDigest: a subscription that never posted keeps
// the window of its first paused run.
func TestUnreadableBeforeFirstDigest(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, store *redisstore.Store) {
		h := newHarness(t, store)
		var unreadable atomic.Bool
		unreadable.Store(true)
		sl := &noticeSlack{fakeSlack: h.slack}
		c, err := ld.NewClient(h.base, ld.Options{Sleep: h.sleep.Sleep})
		if err != nil {
			t.Fatal(err)
		}
		clients := func(tok secret.Secret) commands.LaunchDarkly { return ld.NewService(c.WithToken(tok)) }
		s := New(h.store, lockedWorkspaces{h.ws, &unreadable}, clients, sl, h.changes, Options{Clock: h.clock.Clock, Now: h.clock.Now, Owner: "r1"})
		h.subscribe(s, commands.DigestSubscription{})
		h.entry("e1", time.Date(2026, 11, 26, 15, 0, 0, 0, time.UTC), "web", "production", "checkout", "")
		h.clock.Set(time.Date(2026, 11, 27, 9, 0, 10, 0, time.UTC))
		h.tick(s)
		unreadable.Store(false)
		h.clock.Set(time.Date(2026, 11, 28, 9, 0, 10, 0, time.UTC))
		h.tick(s)
		posts := h.slack.Posts()
		if n, _ := sl.Notices(); len(n) != 1 || len(posts) != 1 {
			t.Fatalf("%d notices, %d digests; want 1 and 1", len(n), len(posts))
		}
		if got := ids(posts[0].Digest); !slices.Equal(got, []string{"e1"}) {
			t.Errorf("digest has %v, want e1 from before the pause", got)
		}
	})
}
