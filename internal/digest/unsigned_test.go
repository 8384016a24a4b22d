package digest

import (
	"context"
	"testing"
	"time"

	"github.com/flagbot/flagbot/internal/commands"
	"github.com/flagbot/flagbot/internal/redisstore/redistest"
)

// TestUnsignedKillsListed: a digest lists the kills of its project nobody
// signed off (Options.Unsigned), and posts for them even without changes.
func TestUnsignedKillsListed(t *testing.T) {
	t.Parallel()
	h := newHarness(t, redistest.NewTestStore(t))
	var asked []time.Time
	kills := []commands.Change{
		{ID: "k1", Project: "web", Env: "production", Flag: "checkout", Emergency: true},
		{ID: "k2", Project: "mobile", Env: "production", Flag: "checkout", Emergency: true},
	}
	s := h.service("r1")
	s.opts.Unsigned = func(_ context.Context, ws commands.Workspace, now time.Time) ([]commands.Change, error) {
		if ws != testWS {
			t.Errorf("Unsigned asked for %+v", ws)
		}
		asked = append(asked, now)
		return kills, nil
	}
	h.subscribe(s, commands.DigestSubscription{})
	h.clock.Set(time.Date(2026, 11, 27, 9, 0, 1, 0, time.UTC))
	h.tick(s)
	posts := h.slack.Posts()
	if len(posts) != 1 || len(asked) != 1 || !asked[0].Equal(h.clock.Now()) {
		t.Fatalf("%d posts, Unsigned asked at %v; want one post for the unsigned kill", len(posts), asked)
	}
	if got := posts[0].Digest.Unsigned; len(got) != 1 || got[0].ID != "k1" || posts[0].Digest.Total != 0 {
		t.Errorf("digest lists %+v (total %d), want k1 of project web only", got, posts[0].Digest.Total)
	}
	kills = nil
	h.clock.Set(time.Date(2026, 11, 28, 9, 0, 1, 0, time.UTC))
	h.tick(s)
	if n := len(h.slack.Posts()); n != 1 {
		t.Errorf("%d posts once it was signed off, want no new one (empty, no --post-empty)", n)
	}
}
