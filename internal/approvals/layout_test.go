package approvals

import (
	"os"
	"reflect"
	"regexp"
	"testing"
	"time"

	"github.com/flagbot/flagbot/internal/commands"
	"github.com/flagbot/flagbot/internal/redisstore"
	"github.com/flagbot/flagbot/internal/redisstore/redistest"
)

// TestRedisLayout pins the keys and values Changes, Policies and the
// Sweeper write, byte for byte: the golden file was written by the code
// before it moved onto internal/redisstore, and a deployed Redis must keep
// working unchanged. Do not regenerate it: a difference is a data
// migration. Call tokens are random, so they read <token>. (New keys may be
// added: changes:remind, the reminder index, is one; an existing Redis
// without it works on, its pending changes just get no reminder.)
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
		_, _, err := c.Approve(ctx, wsA(), "c1", "bob", at(time.Minute), commands.Claim{})
		must(err)
		_, _, err = c.Approve(ctx, wsE, "c2", "bob", at(time.Minute), commands.Claim{})
		must(err)
		must(c.SetMessage(ctx, wsE, "c2", "C9", "123.456"))
		_, err = c.Reject(ctx, wsA(), "c3", "bob", at(2*time.Minute))
		must(err)
		_, _, err = c.Approve(ctx, wsA(), "c4", "carol", at(3*time.Minute), commands.Claim{})
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
		if _, _, err := c.Approve(ctx, wsA(), "old1", "bob", at(time.Minute), commands.Claim{}); err != nil {
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
