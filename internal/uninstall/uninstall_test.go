package uninstall_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flagbot/flagbot/internal/approvals"
	"github.com/flagbot/flagbot/internal/commands"
	"github.com/flagbot/flagbot/internal/digest"
	"github.com/flagbot/flagbot/internal/redisstore"
	"github.com/flagbot/flagbot/internal/redisstore/redistest"
	"github.com/flagbot/flagbot/internal/secret"
	"github.com/flagbot/flagbot/internal/tokenstore"
	"github.com/flagbot/flagbot/internal/uninstall"
)

// rig is every store run wires, on one Redis.
type rig struct {
	store    *redisstore.Store
	tokens   *tokenstore.Store
	policies *approvals.Policies
	changes  *approvals.Changes
	digests  *digest.RedisStore
	svc      *uninstall.Service
	now      time.Time
}

func newRig(t *testing.T, store *redisstore.Store) *rig {
	t.Helper()
	k, err := tokenstore.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	ring, err := tokenstore.NewKeyring(tokenstore.KeyID(k), map[string]secret.Secret{tokenstore.KeyID(k): k})
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{
		store:    store,
		tokens:   tokenstore.New(store, ring, func(err error) bool { return errors.Is(err, redisstore.ErrNotFound) }, tokenstore.Options{}),
		policies: approvals.NewPolicies(store),
		changes:  approvals.NewChanges(store, approvals.ChangesOptions{}),
		digests:  digest.NewRedisStore(store, nil),
		now:      time.Now().Truncate(time.Millisecond),
	}
	r.svc = uninstall.New(r.tokens, store, r.tokens, r.policies, r.changes, r.digests,
		uninstall.Options{Now: func() time.Time { return r.now }, Logger: redistest.Logger(t)})
	return r
}

// populate gives workspace ws everything a busy workspace has: a
// connection, a policy, pending, approved and decided changes (one with a
// dedupe key), and two digest subscriptions, one mid-run with a cursor.
func (r *rig) populate(t *testing.T, ws commands.Workspace) {
	t.Helper()
	ctx := t.Context()
	if err := r.tokens.Put(ctx, ws, commands.Connection{Token: secret.Secret("api-" + ws.TeamID), TokenName: "t", ConnectedAt: r.now}); err != nil {
		t.Fatal(err)
	}
	if err := r.policies.SetPolicy(ctx, ws, commands.Policy{RequireReason: true, Approvals: map[string]int{"production": 2}}); err != nil {
		t.Fatal(err)
	}
	for i, id := range []string{"pend1", "pend2", "appr", "rej"} {
		c := commands.Change{
			ID: id + strings.ToLower(ws.TeamID), Workspace: ws, ChannelID: "C" + ws.TeamID, RequesterID: "UREQ",
			CommandText: "/flag on f production", Kind: "on", Project: "web", Env: "production", Flag: "f",
			CreatedAt: r.now.Add(-time.Minute), ExpiresAt: r.now.Add(time.Hour), RequiredApprovals: 1,
		}
		dedupe := ""
		if i == 0 {
			dedupe = "slash:" + ws.TeamID
		}
		if _, _, err := r.changes.Create(ctx, c, dedupe); err != nil {
			t.Fatal(err)
		}
		switch id {
		case "appr":
			if _, _, err := r.changes.Approve(ctx, ws, c.ID, "UAPP", r.now, commands.Claim{Owner: "r1", For: time.Minute}, false); err != nil {
				t.Fatal(err)
			}
		case "rej":
			if _, err := r.changes.Reject(ctx, ws, c.ID, "UAPP", r.now); err != nil {
				t.Fatal(err)
			}
		}
	}
	next := r.now.Add(time.Hour)
	for _, id := range []string{"d1", "d2"} {
		k := digest.Key{TeamID: ws.TeamID, EnterpriseID: ws.EnterpriseID, ID: id}
		if err := r.digests.PutDigest(ctx, k, []byte(`{"id":"`+id+`"}`), next); err != nil {
			t.Fatal(err)
		}
	}
	k := digest.Key{TeamID: ws.TeamID, EnterpriseID: ws.EnterpriseID, ID: "d1"}
	if ok, err := r.digests.ClaimDigestRun(ctx, k, next, "r1", time.Minute); err != nil || !ok {
		t.Fatalf("claim: %v %v", ok, err)
	}
	if err := r.digests.CompleteDigestRun(ctx, k, next, "r1", []byte(`{"window_end":1}`), next.Add(24*time.Hour)); err != nil {
		t.Fatal(err)
	}
}

// dump is redistest.Dump as key -> the rest of its line; members of the
// sets shared by every workspace are listed apart, as "set member".
func dump(t *testing.T, s *redisstore.Store) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(redistest.Dump(t, s)), "\n") {
		key, rest, _ := strings.Cut(line, " ")
		// The sets of workspaces the sweeps visit (changes:workspaces,
		// digests:workspaces): each member is its workspace's.
		if strings.HasPrefix(rest, "set") && !strings.HasPrefix(key, "ws:") && !strings.HasPrefix(key, "org:") {
			_, members, _ := strings.Cut(rest, ": ")
			for _, m := range strings.Fields(strings.Trim(members, "[]")) {
				out[key+" "+m] = "member"
			}
			continue
		}
		out[key] = rest
	}
	return out
}

// owner names whose a dumped key (or index member) is, by team or org.
func owner(key string) string {
	k := key
	if i := strings.Index(k, " "); i >= 0 { // a set member: "ws:..."
		k = strings.Trim(k[i+1:], `"`)
	}
	if team, ent, _, ok := redisstore.ParseWorkspaceKey(k); ok {
		if ent != "" {
			return ent + "/" + team
		}
		return team
	}
	if rest, ok := strings.CutPrefix(k, "org:"); ok {
		return strings.Trim(strings.SplitN(rest, ":", 2)[0], "{}")
	}
	return "?" + k
}

// TestUninstallTouchesNoOtherInstallation installs Flagbot in a workspace
// (T1), org-wide in an org (E2: T2 and T3, T3 once outside the org) and in
// a workspace of that org with its own installation (T4), fills every
// workspace with data, uninstalls one installation and checks, on a real
// Redis and on a Redis Cluster, that every key (and set member) of the
// others is byte for byte what it was, and that the uninstalled one's data
// is gone.
func TestUninstallTouchesNoOtherInstallation(t *testing.T) {
	t.Parallel()
	installs := map[string]commands.Installation{
		"T1": {TeamID: "T1", BotToken: "xoxb-t1"},
		"E2": {EnterpriseID: "E2", EnterpriseInstall: true, BotToken: "xoxb-e2"},
		"T4": {TeamID: "T4", EnterpriseID: "E2", BotToken: "xoxb-t4"},
	}
	workspaces := map[string][]commands.Workspace{
		"T1": {{TeamID: "T1"}},
		"E2": {{TeamID: "T2", EnterpriseID: "E2"}, {TeamID: "T3", EnterpriseID: "E2"}, {TeamID: "T3"}},
		"T4": {{TeamID: "T4", EnterpriseID: "E2"}},
	}
	owners := map[string]string{"T1": "T1", "E2/T2": "E2", "T2": "E2", "E2/T3": "E2", "T3": "E2", "E2": "E2", "E2/T4": "T4", "T4": "T4"}
	for _, tt := range []struct {
		backend string
		open    func(testing.TB) *redisstore.Store
		gone    string
	}{
		{"redis", redistest.NewRealTestStore, "T1"}, {"redis", redistest.NewRealTestStore, "E2"}, {"redis", redistest.NewRealTestStore, "T4"},
		{"cluster", redistest.NewClusterTestStore, "T1"}, {"cluster", redistest.NewClusterTestStore, "E2"}, {"cluster", redistest.NewClusterTestStore, "T4"},
	} {
		gone := tt.gone
		t.Run(tt.backend+"/uninstall "+gone, func(t *testing.T) {
			t.Parallel()
			r := newRig(t, tt.open(t))
			ctx := t.Context()
			for _, inst := range installs {
				if err := r.tokens.PutInstallation(ctx, inst); err != nil {
					t.Fatal(err)
				}
			}
			for _, wss := range workspaces {
				for _, ws := range wss {
					r.populate(t, ws)
				}
			}
			before := dump(t, r.store)
			for k := range before {
				if _, ok := owners[owner(k)]; !ok {
					t.Fatalf("test setup: key %q has no known owner (%q)", k, owner(k))
				}
			}

			if err := r.svc.Uninstalled(ctx, installs[gone]); err != nil {
				t.Fatalf("Uninstalled(%s): %v", gone, err)
			}
			after := dump(t, r.store)

			for k, v := range before {
				if owners[owner(k)] == gone {
					continue
				}
				if got, ok := after[k]; !ok || got != v {
					t.Errorf("another installation's %s changed:\nbefore %s\nafter  %s", k, v, got)
				}
			}
			var left []string
			for k, v := range after {
				if owners[owner(k)] != gone {
					if _, ok := before[k]; !ok {
						t.Errorf("a new key of another installation: %s %s", k, v)
					}
					continue
				}
				left = append(left, k)
				// What may stay: decided changes, their history, the
				// pending dedupe marker and the digest run markers, all
				// expiring on their own; the approved change finishes
				// (so the workspace stays among those the sweeps visit).
				switch {
				case strings.Contains(k, ":change:pend"):
					if !strings.Contains(v, `status="cancelled"`) || !strings.Contains(v, `by=""`) || !strings.Contains(v, "Flagbot was removed") {
						t.Errorf("pending change %s after uninstall: %s", k, v)
					}
				case strings.Contains(k, ":change:rej"), strings.Contains(k, ":change:appr"), strings.HasSuffix(k, ":applying"),
					strings.HasPrefix(k, "changes:workspaces "), strings.HasPrefix(k, "digests:workspaces "):
				case strings.HasSuffix(k, ":history"), strings.Contains(k, ":dedupe:"), strings.Contains(k, ":run:"):
					if !strings.Contains(v, "(ttl)") && !strings.HasPrefix(k, "changes:") {
						t.Errorf("%s stays and does not expire: %s", k, v)
					}
				default:
					t.Errorf("%s was not forgotten: %s", k, v)
				}
			}
			slices.Sort(left)
			t.Logf("left of %s: %q", gone, left)
			for _, ws := range workspaces[gone] {
				if _, err := r.tokens.Get(ctx, ws); !errors.Is(err, commands.ErrNotConnected) {
					t.Errorf("%+v still connected: %v", ws, err)
				}
				if p, err := r.changes.Pending(ctx, ws); err != nil || len(p) != 0 {
					t.Errorf("%+v still has %d pending changes (%v)", ws, len(p), err)
				}
				if inst, err := r.tokens.Installation(ctx, ws); err == nil && (inst.EnterpriseInstall == installs[gone].EnterpriseInstall && inst.TeamID == installs[gone].TeamID) {
					t.Errorf("%+v is still served by the removed installation", ws)
				}
			}
			// A second time changes nothing and is no error (Slack may send
			// tokens_revoked and app_uninstalled both).
			if err := r.svc.Uninstalled(ctx, installs[gone]); err != nil {
				t.Errorf("a second Uninstalled: %v", err)
			}
			if again := dump(t, r.store); fmt.Sprint(again) != fmt.Sprint(after) {
				t.Errorf("a second Uninstalled changed keys")
			}
		})
	}
}

// TestUninstalledFromTeam: an org-wide installation removed from one
// workspace of its org forgets that workspace only.
func TestUninstalledFromTeam(t *testing.T) {
	t.Parallel()
	r := newRig(t, redistest.NewTestStore(t))
	ctx := t.Context()
	org := commands.Installation{EnterpriseID: "E2", EnterpriseInstall: true, BotToken: "xoxb-e2"}
	if err := r.tokens.PutInstallation(ctx, org); err != nil {
		t.Fatal(err)
	}
	t2, t3 := commands.Workspace{TeamID: "T2", EnterpriseID: "E2"}, commands.Workspace{TeamID: "T3", EnterpriseID: "E2"}
	r.populate(t, t2)
	r.populate(t, t3)
	if err := r.svc.UninstalledFromTeam(ctx, t2); err != nil {
		t.Fatal(err)
	}
	if _, err := r.tokens.Get(ctx, t2); !errors.Is(err, commands.ErrNotConnected) {
		t.Errorf("T2 still connected: %v", err)
	}
	if _, err := r.tokens.Get(ctx, t3); err != nil {
		t.Errorf("T3 lost its connection: %v", err)
	}
	if _, err := r.tokens.Installation(ctx, t2); err != nil {
		t.Errorf("the org's installation went: %v", err)
	}
}

// failing is a store part that fails.
type failing struct{}

func (failing) Forget(context.Context, commands.Workspace) error { return errors.New("boom") }

// TestUninstallReportsFailures: when a workspace's data
// cannot be forgotten the error says so, the other parts are still
// forgotten, and the installation itself is removed regardless.
func TestUninstallReportsFailures(t *testing.T) {
	t.Parallel()
	r := newRig(t, redistest.NewTestStore(t))
	ctx := t.Context()
	inst := commands.Installation{TeamID: "T1", BotToken: "xoxb-t1"}
	if err := r.tokens.PutInstallation(ctx, inst); err != nil {
		t.Fatal(err)
	}
	ws := commands.Workspace{TeamID: "T1"}
	r.populate(t, ws)
	svc := uninstall.New(r.tokens, r.store, r.tokens, failing{}, r.changes, r.digests, uninstall.Options{})
	if err := svc.Uninstalled(ctx, inst); err == nil || !strings.Contains(err.Error(), "boom") || !strings.Contains(err.Error(), "T1") {
		t.Errorf("Uninstalled error = %v, want the failure named", err)
	}
	if _, err := r.tokens.Get(ctx, ws); !errors.Is(err, commands.ErrNotConnected) {
		t.Errorf("the connection stayed after another part failed: %v", err)
	}
	if _, err := r.tokens.Installation(ctx, ws); !errors.Is(err, commands.ErrNotInstalled) {
		t.Errorf("the installation stayed: %v", err)
	}
	for _, bad := range []commands.Installation{{}, {EnterpriseInstall: true}} {
		if err := r.svc.Uninstalled(ctx, bad); err == nil {
			t.Errorf("Uninstalled(%+v) succeeded", bad)
		}
	}
}
