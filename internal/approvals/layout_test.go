package approvals

import (
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/flagbot/flagbot/internal/commands"
	"github.com/flagbot/flagbot/internal/redisstore"
	"github.com/flagbot/flagbot/internal/redisstore/redistest"
)

// TestRedisLayout pins the keys and values Changes, Policies and the
// Sweeper write, byte for byte, so that a deployed Redis keeps working.
// The layout changed once, for Redis Cluster (hash tags, each workspace's
// own indexes, changes:workspaces): testdata/redis-layout-v1.golden is
// what the same steps wrote before, and TestUpgradeFromV1 shows that the
// migration at start turns it into testdata/redis-layout.golden exactly.
// Do not regenerate either: a difference is a data migration. Call tokens
// are random, so they read <token>.
func TestRedisLayout(t *testing.T) {
	t.Parallel()
	want, err := os.ReadFile("testdata/redis-layout.golden")
	if err != nil {
		t.Fatal(err)
	}
	tokens := regexp.MustCompile(`\b(ctok|dtok|k:[^=]+)="[^"]*"`)
	forEachStore(t, func(t *testing.T, s *redisstore.Store) {
		ctx := t.Context()
		c := NewChanges(s, ChangesOptions{})
		p := NewPolicies(s)
		wsE := commands.Workspace{TeamID: "T0A", EnterpriseID: "E:0"}
		must := func(err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}
		if _, _, err := c.Create(ctx, newChange(wsA(), "c1", 2), "env-1"); err != nil {
			t.Fatal(err)
		}
		mustCreate(t, c, newChange(wsE, "c2", 1))
		mustCreate(t, c, newChange(wsA(), "c3", 1))
		mustCreate(t, c, newChange(wsA(), "c4", 1))
		mustCreate(t, c, newChange(wsA(), "c5", 1))
		_, _, err := c.Approve(ctx, wsA(), "c1", "bob", at(time.Minute), commands.Claim{}, false)
		must(err)
		_, _, err = c.Approve(ctx, wsE, "c2", "bob", at(time.Minute), commands.Claim{}, false)
		must(err)
		must(c.SetMessage(ctx, wsE, "c2", "C9", "123.456"))
		_, err = c.Reject(ctx, wsA(), "c3", "bob", at(2*time.Minute))
		must(err)
		_, _, err = c.Approve(ctx, wsA(), "c4", "carol", at(3*time.Minute), commands.Claim{}, false)
		must(err)
		_, err = c.Finish(ctx, wsA(), "c4", 0, commands.StatusApplied, commands.Notation("done"), nil, at(4*time.Minute))
		must(err)
		c6 := newChange(wsA(), "c6", 1)
		c6.ExpiresAt = at(time.Minute)
		mustCreate(t, c, c6)
		sw := NewSweeper(s, c, nil, SweeperOptions{Now: func() time.Time { return at(2 * time.Minute) }})
		_, err = sw.Sweep(ctx)
		must(err)
		_, err = c.Cancel(ctx, wsA(), "c5", "alice", at(5*time.Minute))
		must(err)
		must(p.SetPolicy(ctx, wsE, commands.Policy{
			RequireReason: true, ApproverGroup: "S1",
			Approvals: map[string]int{"production": 2}, LegacyApprovalEnvs: []string{"production"},
		}))

		got := tokens.ReplaceAllString(redistest.Dump(t, s), `$1="<token>"`)
		if got != string(want) {
			t.Errorf("Redis holds:\n%s\nwant (testdata/redis-layout.golden):\n%s", got, want)
		}
	})
}

// TestLegacyOutcomeStillReads: a change finished before outcomes were
// structured text holds Slack mrkdwn in its "out" field; it reads back as
// structured text, mentions and code spans included.
func TestLegacyOutcomeStillReads(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *redisstore.Store) {
		c := NewChanges(s, ChangesOptions{})
		ctx := t.Context()
		mustCreate(t, c, newChange(wsA(), "old1", 1))
		if _, _, err := c.Approve(ctx, wsA(), "old1", "bob", at(time.Minute), commands.Claim{}, false); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Finish(ctx, wsA(), "old1", 0, commands.StatusFailed, commands.Notation("new"), nil, at(2*time.Minute)); err != nil {
			t.Fatal(err)
		}
		key := s.Key(redisstore.WorkspaceKey("T0A", "", "change", "old1"))
		redistest.Do(t, s, "HSET", key, "out", "<@U9> approved; `checkout` is on &amp; more")
		got, err := c.Get(ctx, wsA(), "old1")
		if err != nil {
			t.Fatal(err)
		}
		want := commands.Text{commands.User("U9"), commands.Plain(" approved; "), commands.Code("checkout"), commands.Plain(" is on & more")}
		if !reflect.DeepEqual(got.Outcome, want) {
			t.Errorf("legacy outcome = %#v, want %#v", got.Outcome, want)
		}
	})
}

// TestUpgradeFromV1: a Redis holding what TestRedisLayout's steps wrote in
// the layout before hash tags (redis-layout-v1.golden) holds, after the
// migration at start (redisstore's UpgradeLayout, then UpgradeIndexes),
// exactly what they write today (redis-layout.golden), on one server and
// on a cluster; running it again changes nothing; and the migrated
// changes work: listed, approved, swept.
func TestUpgradeFromV1(t *testing.T) {
	t.Parallel()
	v1, err := os.ReadFile("testdata/redis-layout-v1.golden")
	if err != nil {
		t.Fatal(err)
	}
	layout, err := os.ReadFile("testdata/redis-layout.golden")
	if err != nil {
		t.Fatal(err)
	}
	// The v1 changes predate the del field, and the upgrade does not add
	// it: Approve reads a change without it from its body (c1 below).
	want := strings.ReplaceAll(string(layout), ` del="0"`, "")
	forEachStore(t, func(t *testing.T, s *redisstore.Store) {
		ctx := t.Context()
		redistest.Load(t, s, string(v1))
		c := NewChanges(s, ChangesOptions{})
		upgrade := func() (redisstore.UpgradeReport, int) {
			t.Helper()
			r, err := s.UpgradeLayout(ctx)
			if err != nil {
				t.Fatalf("UpgradeLayout: %v", err)
			}
			n, err := c.UpgradeIndexes(ctx)
			if err != nil {
				t.Fatalf("UpgradeIndexes: %v", err)
			}
			return r, n
		}
		r, n := upgrade()
		if r.Moved != 10 || r.Kept != 0 || n != 3 {
			t.Errorf("first upgrade: %+v, %d index entries; want 10 keys moved, 3 index entries", r, n)
		}
		if got := redistest.Dump(t, s); got != want {
			t.Errorf("after the upgrade Redis holds:\n%s\nwant (testdata/redis-layout.golden):\n%s", got, want)
		}
		if r, n := upgrade(); r != (redisstore.UpgradeReport{}) || n != 0 {
			t.Errorf("second upgrade: %+v, %d; want nothing to do", r, n)
		}
		if got := redistest.Dump(t, s); got != want {
			t.Errorf("the second upgrade changed Redis:\n%s", got)
		}
		if p, err := c.Pending(ctx, wsA()); err != nil || len(p) != 1 || p[0].ID != "c1" {
			t.Fatalf("Pending after the upgrade = %v, %v; want c1", ids(p), err)
		}
		if _, now, err := c.Approve(ctx, wsA(), "c1", "carol", at(2*time.Minute), commands.Claim{}, false); err != nil || !now {
			t.Fatalf("Approve(c1) after the upgrade = %v, %v", now, err)
		}
		wsE := commands.Workspace{TeamID: "T0A", EnterpriseID: "E:0"}
		if st, err := c.Reclaimable(ctx, at(time.Hour), time.Minute, 0); err != nil || len(st) != 2 {
			t.Errorf("Reclaimable after the upgrade = %v, %v; want c2 and c1", ids(st), err)
		}
		if h, err := c.History(ctx, wsA(), "", 0); err != nil || len(h) != 4 {
			t.Errorf("History after the upgrade = %v, %v", ids(h), err)
		}
		if pol, err := NewPolicies(s).Policy(ctx, wsE); err != nil || pol.ApproverGroup != "S1" {
			t.Errorf("policy after the upgrade = %+v, %v", pol, err)
		}
	})
}
