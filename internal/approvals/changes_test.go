package approvals

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flagbot/flagbot/internal/commands"
	"github.com/flagbot/flagbot/internal/redisstore"
	"github.com/flagbot/flagbot/internal/redisstore/redistest"
)

// forEachStore runs f against a miniredis Store and a real Redis Store (the
// latter skipped without FLAGBOT_TEST_REDIS_URL), as parallel subtests.
func forEachStore(t *testing.T, f func(t *testing.T, s *redisstore.Store)) {
	t.Helper()
	forEachBackend(t, func(t *testing.T, _ backend, s *redisstore.Store) { f(t, s) })
}

// replica opens a second Store, with a connection pool of its own, on the
// same server and prefix as s: another bot replica.
func replica(t testing.TB, s *redisstore.Store) *redisstore.Store {
	t.Helper()
	return redistest.Replica(t, s, redisstore.Options{})
}

// Test workspaces: the same team ID, once alone and once in an org.
func wsA() commands.Workspace { return commands.Workspace{TeamID: "T0A"} }
func wsB() commands.Workspace { return commands.Workspace{TeamID: "T0A", EnterpriseID: "E0B"} }

// testTTL is how long test changes stay approvable.
const testTTL = time.Hour

// at returns the tests' clock: changes are created at at(0).
func at(d time.Duration) time.Time {
	return time.Date(2026, 11, 27, 6, 0, 0, 0, time.UTC).Add(d)
}

// newChange returns a pending change by alice in ws, created at at(0),
// expiring testTTL later, that needs required approvals.
func newChange(ws commands.Workspace, id string, required int) commands.Change {
	return commands.Change{
		ID:          id,
		Workspace:   ws,
		ChannelID:   "C0CHAN",
		RequesterID: "alice",
		CommandText: "/flag rollout checkout a=33.333 b=66.667 production",
		Kind:        "rollout",
		Project:     "web",
		Env:         "production",
		Flag:        "checkout",
		Patch: &commands.Patch{
			Env:     "production",
			Comment: "Requested by Alice (alice) via Flagbot",
			Instructions: []commands.Instruction{{
				Kind:           commands.InstrUpdateFallthrough,
				RolloutWeights: map[string]int{"v-a": 33333, "v-b": 66667},
			}},
		},
		FlagVersion:       41,
		EnvVersion:        7,
		Diff:              []commands.DiffLine{{Field: "fallthrough", Before: "serve a", After: "a 33.333% / b 66.667%"}},
		Reason:            `ramp up "safely" – ünïcode`,
		CreatedAt:         at(0),
		ExpiresAt:         at(testTTL),
		Status:            commands.StatusPending,
		RequiredApprovals: required,
	}
}

func mustCreate(t *testing.T, c *Changes, ch commands.Change) commands.Change {
	t.Helper()
	got, created, err := c.Create(t.Context(), ch, "")
	if err != nil || !created {
		t.Fatalf("Create(%s) = created %v, %v; want a new change", ch.ID, created, err)
	}
	return got
}

func ids(cs []commands.Change) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.ID
	}
	return out
}

// isContractErr reports whether err matches one of commands' Changes
// errors, which a store failure must never do.
func isContractErr(err error) bool {
	for _, s := range []error{commands.ErrChangeNotFound, commands.ErrSelfApproval, commands.ErrAlreadyApproved,
		commands.ErrDecided, commands.ErrExpired, commands.ErrNotRequester} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

func TestChangeStateMachine(t *testing.T) {
	t.Parallel()
	type step struct {
		op         string // approve, reject, cancel or finish
		by         string
		at         time.Duration         // since creation
		outcome    commands.ChangeStatus // for finish
		wantErr    error                 // nil: success
		wantNow    bool                  // approve: approvedNow
		wantStatus commands.ChangeStatus // of the returned change and of Get afterwards
	}
	tests := []struct {
		name          string
		required      int
		steps         []step
		wantApprovers []string
		wantDecidedBy string
		wantOutcome   string
	}{
		{
			name: "approved then applied", required: 1,
			steps: []step{
				{op: "approve", by: "bob", at: time.Minute, wantNow: true, wantStatus: commands.StatusApproved},
				{op: "finish", outcome: commands.StatusApplied, at: 2 * time.Minute, wantStatus: commands.StatusApplied},
				{op: "approve", by: "carol", at: 3 * time.Minute, wantErr: commands.ErrDecided, wantStatus: commands.StatusApplied},
				{op: "finish", outcome: commands.StatusApplied, at: 3 * time.Minute, wantErr: commands.ErrDecided, wantStatus: commands.StatusApplied},
				{op: "reject", by: "carol", at: 3 * time.Minute, wantErr: commands.ErrDecided, wantStatus: commands.StatusApplied},
			},
			wantApprovers: []string{"bob"}, wantOutcome: "finish applied",
		},
		{
			name: "approved then failed", required: 1,
			steps: []step{
				{op: "approve", by: "bob", wantNow: true, wantStatus: commands.StatusApproved},
				{op: "finish", outcome: commands.StatusFailed, wantStatus: commands.StatusFailed},
				{op: "finish", outcome: commands.StatusApplied, wantErr: commands.ErrDecided, wantStatus: commands.StatusFailed},
			},
			wantApprovers: []string{"bob"}, wantOutcome: "finish failed",
		},
		{
			name: "approved then stale", required: 1,
			steps: []step{
				{op: "approve", by: "bob", wantNow: true, wantStatus: commands.StatusApproved},
				{op: "finish", outcome: commands.StatusStale, wantStatus: commands.StatusStale},
			},
			wantApprovers: []string{"bob"}, wantOutcome: "finish stale",
		},
		{
			name: "approved then handed to LaunchDarkly approvals", required: 1,
			steps: []step{
				{op: "approve", by: "bob", wantNow: true, wantStatus: commands.StatusApproved},
				{op: "finish", outcome: commands.StatusLDApproval, wantStatus: commands.StatusLDApproval},
			},
			wantApprovers: []string{"bob"}, wantOutcome: "finish ld_approval",
		},
		{
			name: "finish before approval", required: 1,
			steps: []step{
				{op: "finish", outcome: commands.StatusApplied, wantErr: commands.ErrDecided, wantStatus: commands.StatusPending},
				{op: "approve", by: "bob", wantNow: true, wantStatus: commands.StatusApproved},
			},
			wantApprovers: []string{"bob"},
		},
		{
			name: "rejected", required: 1,
			steps: []step{
				{op: "reject", by: "bob", at: time.Minute, wantStatus: commands.StatusRejected},
				{op: "approve", by: "carol", wantErr: commands.ErrDecided, wantStatus: commands.StatusRejected},
				{op: "reject", by: "carol", wantErr: commands.ErrDecided, wantStatus: commands.StatusRejected},
				{op: "cancel", by: "alice", wantErr: commands.ErrDecided, wantStatus: commands.StatusRejected},
				{op: "finish", outcome: commands.StatusApplied, wantErr: commands.ErrDecided, wantStatus: commands.StatusRejected},
			},
			wantDecidedBy: "bob",
		},
		{
			name: "rejected after one of two approvals", required: 2,
			steps: []step{
				{op: "approve", by: "bob", wantStatus: commands.StatusPending},
				{op: "reject", by: "carol", wantStatus: commands.StatusRejected},
				{op: "approve", by: "dave", wantErr: commands.ErrDecided, wantStatus: commands.StatusRejected},
			},
			wantApprovers: []string{"bob"}, wantDecidedBy: "carol",
		},
		{
			name: "cancelled by the requester", required: 1,
			steps: []step{
				{op: "cancel", by: "alice", wantStatus: commands.StatusCancelled},
				{op: "approve", by: "bob", wantErr: commands.ErrDecided, wantStatus: commands.StatusCancelled},
				{op: "cancel", by: "alice", wantErr: commands.ErrDecided, wantStatus: commands.StatusCancelled},
			},
			wantDecidedBy: "alice",
		},
		{
			name: "cancel by someone else", required: 1,
			steps: []step{
				{op: "cancel", by: "bob", wantErr: commands.ErrNotRequester, wantStatus: commands.StatusPending},
				{op: "approve", by: "bob", wantNow: true, wantStatus: commands.StatusApproved},
				{op: "cancel", by: "alice", wantErr: commands.ErrDecided, wantStatus: commands.StatusApproved},
				{op: "reject", by: "carol", wantErr: commands.ErrDecided, wantStatus: commands.StatusApproved},
			},
			wantApprovers: []string{"bob"},
		},
		{
			name: "self-approval", required: 1,
			steps: []step{
				{op: "approve", by: "alice", wantErr: commands.ErrSelfApproval, wantStatus: commands.StatusPending},
				{op: "approve", by: "bob", wantNow: true, wantStatus: commands.StatusApproved},
			},
			wantApprovers: []string{"bob"},
		},
		{
			name: "duplicate approver", required: 2,
			steps: []step{
				{op: "approve", by: "bob", wantStatus: commands.StatusPending},
				{op: "approve", by: "bob", wantErr: commands.ErrAlreadyApproved, wantStatus: commands.StatusPending},
				{op: "approve", by: "carol", wantNow: true, wantStatus: commands.StatusApproved},
				{op: "approve", by: "bob", wantErr: commands.ErrDecided, wantStatus: commands.StatusApproved},
			},
			wantApprovers: []string{"bob", "carol"},
		},
		{
			name: "two of three", required: 2,
			steps: []step{
				{op: "approve", by: "bob", at: time.Minute, wantStatus: commands.StatusPending},
				{op: "approve", by: "alice", at: 2 * time.Minute, wantErr: commands.ErrSelfApproval, wantStatus: commands.StatusPending},
				{op: "approve", by: "carol", at: 3 * time.Minute, wantNow: true, wantStatus: commands.StatusApproved},
				{op: "approve", by: "dave", at: 4 * time.Minute, wantErr: commands.ErrDecided, wantStatus: commands.StatusApproved},
			},
			wantApprovers: []string{"bob", "carol"},
		},
		{
			name: "three required", required: 3,
			steps: []step{
				{op: "approve", by: "bob", wantStatus: commands.StatusPending},
				{op: "approve", by: "carol", wantStatus: commands.StatusPending},
				{op: "approve", by: "dave", wantNow: true, wantStatus: commands.StatusApproved},
			},
			wantApprovers: []string{"bob", "carol", "dave"},
		},
		{
			name: "zero required means one", required: 0,
			steps: []step{
				{op: "approve", by: "alice", wantErr: commands.ErrSelfApproval, wantStatus: commands.StatusPending},
				{op: "approve", by: "bob", wantNow: true, wantStatus: commands.StatusApproved},
			},
			wantApprovers: []string{"bob"},
		},
		{
			name: "expired but not swept", required: 1,
			steps: []step{
				{op: "approve", by: "bob", at: testTTL + time.Nanosecond, wantErr: commands.ErrExpired, wantStatus: commands.StatusPending},
				{op: "reject", by: "bob", at: testTTL + time.Second, wantErr: commands.ErrExpired, wantStatus: commands.StatusPending},
				{op: "cancel", by: "alice", at: 2 * testTTL, wantErr: commands.ErrExpired, wantStatus: commands.StatusPending},
				{op: "cancel", by: "bob", at: 2 * testTTL, wantErr: commands.ErrExpired, wantStatus: commands.StatusPending},
				{op: "approve", by: "alice", at: 2 * testTTL, wantErr: commands.ErrExpired, wantStatus: commands.StatusPending},
			},
		},
		{
			name: "expiry after one of two approvals", required: 2,
			steps: []step{
				{op: "approve", by: "bob", at: time.Minute, wantStatus: commands.StatusPending},
				{op: "approve", by: "carol", at: testTTL + time.Millisecond, wantErr: commands.ErrExpired, wantStatus: commands.StatusPending},
			},
			wantApprovers: []string{"bob"},
		},
		{
			name: "approved at the expiry instant", required: 1,
			steps: []step{
				{op: "approve", by: "bob", at: testTTL, wantNow: true, wantStatus: commands.StatusApproved},
				{op: "finish", outcome: commands.StatusApplied, at: 2 * testTTL, wantStatus: commands.StatusApplied},
			},
			wantApprovers: []string{"bob"}, wantOutcome: "finish applied",
		},
	}
	forEachStore(t, func(t *testing.T, s *redisstore.Store) {
		c := NewChanges(s, ChangesOptions{})
		ctx := t.Context()
		for i, tt := range tests {
			id := fmt.Sprintf("sm%02d", i)
			mustCreate(t, c, newChange(wsA(), id, tt.required))
			for j, st := range tt.steps {
				var (
					got commands.Change
					now bool
					err error
				)
				when := at(st.at)
				switch st.op {
				case "approve":
					got, now, err = c.Approve(ctx, wsA(), id, st.by, when, commands.Claim{}, false)
				case "reject":
					got, err = c.Reject(ctx, wsA(), id, st.by, when)
				case "cancel":
					got, err = c.Cancel(ctx, wsA(), id, st.by, when)
				case "finish":
					got, err = c.Finish(ctx, wsA(), id, 0, st.outcome, commands.Notation("finish "+string(st.outcome)), nil, when)
				default:
					t.Fatalf("%s: unknown op %q", tt.name, st.op)
				}
				desc := fmt.Sprintf("%s: step %d: %s by %q", tt.name, j, st.op, st.by)
				switch {
				case st.wantErr == nil && err != nil:
					t.Fatalf("%s: error %v, want none", desc, err)
				case st.wantErr != nil && !errors.Is(err, st.wantErr):
					t.Fatalf("%s: error %v, want %v", desc, err, st.wantErr)
				case errors.Is(err, redisstore.ErrUnavailable):
					t.Fatalf("%s: error %v matches redisstore.ErrUnavailable", desc, err)
				}
				if now != st.wantNow {
					t.Errorf("%s: approvedNow = %v, want %v", desc, now, st.wantNow)
				}
				if got.ID != id || got.Status != st.wantStatus {
					t.Errorf("%s: returned change %q status %q, want %q %q", desc, got.ID, got.Status, id, st.wantStatus)
				}
				stored, err := c.Get(ctx, wsA(), id)
				if err != nil || stored.Status != st.wantStatus {
					t.Errorf("%s: Get = status %q, %v; want %q", desc, stored.Status, err, st.wantStatus)
				}
				if !reflect.DeepEqual(stored, got) {
					t.Errorf("%s: returned change differs from Get:\n%+v\n%+v", desc, got, stored)
				}
			}
			final, err := c.Get(ctx, wsA(), id)
			if err != nil {
				t.Fatalf("%s: Get: %v", tt.name, err)
			}
			var approvers []string
			for _, a := range final.Approvals {
				approvers = append(approvers, a.UserID)
			}
			if !slices.Equal(approvers, tt.wantApprovers) {
				t.Errorf("%s: approvers %q, want %q", tt.name, approvers, tt.wantApprovers)
			}
			if final.DecidedBy != tt.wantDecidedBy || final.Outcome.String() != tt.wantOutcome {
				t.Errorf("%s: decided by %q outcome %q, want %q %q", tt.name, final.DecidedBy, final.Outcome.String(), tt.wantDecidedBy, tt.wantOutcome)
			}
			if final.Status.Final() == final.DecidedAt.IsZero() {
				t.Errorf("%s: status %q with DecidedAt %v", tt.name, final.Status, final.DecidedAt)
			}
		}
	})
}

// TestChangeRoundTrip checks that a change comes back exactly as stored,
// its patch values included (which a cjson round trip in Lua would break),
// with the state fields laid over it.
func TestChangeRoundTrip(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *redisstore.Store) {
		c := NewChanges(s, ChangesOptions{})
		ctx := t.Context()
		in := newChange(wsB(), "rt1", 2)
		in.Kind, in.Patch, in.Env = "create", nil, ""
		in.NewFlag = &commands.NewFlag{
			Key: "checkout", Name: "Checkout", Tags: []string{"ops"}, Temporary: true,
			Variations: []commands.Variation{
				{Value: json.RawMessage(`123456789012345678`), Name: "big"},
				{Value: json.RawMessage(`{"a":[],"b":3.141592653589793,"c":null,"d":{}}`)},
				{Value: json.RawMessage(`[]`), Description: "empty"},
			},
			Defaults: &commands.Defaults{OnVariation: 0, OffVariation: 2},
		}
		in.Reason = "line\nbreak \x00 nul"

		got, created, err := c.Create(ctx, in, "envelope-1")
		if err != nil || !created {
			t.Fatalf("Create = %v, %v", created, err)
		}
		if !reflect.DeepEqual(got, in) {
			t.Fatalf("Create returned\n%+v\nwant\n%+v", got, in)
		}
		if got, err := c.Get(ctx, wsB(), "rt1"); err != nil || !reflect.DeepEqual(got, in) {
			t.Fatalf("Get = %+v, %v\nwant %+v", got, err, in)
		}

		if err := c.SetMessage(ctx, wsB(), "rt1", "C0OTHER", "1732690000.000100"); err != nil {
			t.Fatalf("SetMessage: %v", err)
		}
		t1, t2, t3 := at(time.Minute+123*time.Nanosecond), at(2*time.Minute), at(3*time.Minute)
		if _, _, err := c.Approve(ctx, wsB(), "rt1", "U0:bob", t1, commands.Claim{}, false); err != nil {
			t.Fatalf("Approve bob: %v", err)
		}
		if _, now, err := c.Approve(ctx, wsB(), "rt1", "U0carol", t2, commands.Claim{}, false); err != nil || !now {
			t.Fatalf("Approve carol = %v, %v", now, err)
		}
		got, err = c.Finish(ctx, wsB(), "rt1", 0, commands.StatusFailed, commands.Notation("LaunchDarkly said: no"), nil, t3)
		if err != nil {
			t.Fatalf("Finish: %v", err)
		}
		want := in
		want.ChannelID, want.MessageTS = "C0OTHER", "1732690000.000100"
		want.Approvals = []commands.Approval{{UserID: "U0:bob", At: t1}, {UserID: "U0carol", At: t2}}
		want.Status, want.Outcome, want.DecidedAt = commands.StatusFailed, commands.Notation("LaunchDarkly said: no"), t3
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Finish returned\n%+v\nwant\n%+v", got, want)
		}
		if got, err := c.Get(ctx, wsB(), "rt1"); err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("Get after Finish = %+v, %v\nwant %+v", got, err, want)
		}
	})
}

func TestChangeCreateDedupe(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *redisstore.Store) {
		c := NewChanges(s, ChangesOptions{})
		ctx := t.Context()
		tests := []struct {
			name        string
			ws          commands.Workspace
			id, dedupe  string
			wantCreated bool
			wantID      string
		}{
			{name: "first delivery", ws: wsA(), id: "d1", dedupe: "env-1", wantCreated: true, wantID: "d1"},
			{name: "redelivery", ws: wsA(), id: "d2", dedupe: "env-1", wantID: "d1"},
			{name: "redelivery again", ws: wsA(), id: "d3", dedupe: "env-1", wantID: "d1"},
			{name: "other envelope", ws: wsA(), id: "d4", dedupe: "env-2", wantCreated: true, wantID: "d4"},
			{name: "same envelope id in another workspace", ws: wsB(), id: "d5", dedupe: "env-1", wantCreated: true, wantID: "d5"},
			{name: "no dedupe key", ws: wsA(), id: "d6", wantCreated: true, wantID: "d6"},
			{name: "no dedupe key again", ws: wsA(), id: "d7", wantCreated: true, wantID: "d7"},
			{name: "dedupe key with separators", ws: wsA(), id: "d8", dedupe: "a:b*c", wantCreated: true, wantID: "d8"},
			{name: "its redelivery", ws: wsA(), id: "d9", dedupe: "a:b*c", wantID: "d8"},
		}
		for _, tt := range tests {
			got, created, err := c.Create(ctx, newChange(tt.ws, tt.id, 1), tt.dedupe)
			if err != nil || created != tt.wantCreated || got.ID != tt.wantID || got.Workspace != tt.ws {
				t.Errorf("%s: Create = %q in %v, created %v, %v; want %q, created %v",
					tt.name, got.ID, got.Workspace, created, err, tt.wantID, tt.wantCreated)
			}
			if !tt.wantCreated {
				if _, err := c.Get(ctx, tt.ws, tt.id); !errors.Is(err, commands.ErrChangeNotFound) {
					t.Errorf("%s: the duplicate %q was stored too (Get error %v)", tt.name, tt.id, err)
				}
			}
		}
		// A redelivery after the first change was decided still finds it.
		if _, err := c.Reject(ctx, wsA(), "d1", "bob", at(time.Minute)); err != nil {
			t.Fatalf("Reject: %v", err)
		}
		got, created, err := c.Create(ctx, newChange(wsA(), "d10", 1), "env-1")
		if err != nil || created || got.ID != "d1" || got.Status != commands.StatusRejected {
			t.Errorf("redelivery after rejection = %q %q created %v, %v; want the rejected d1", got.ID, got.Status, created, err)
		}
		pending, err := c.Pending(ctx, wsA())
		if err != nil {
			t.Fatalf("Pending: %v", err)
		}
		if want := []string{"d4", "d6", "d7", "d8"}; !slices.Equal(ids(pending), want) {
			t.Errorf("Pending = %q, want %q", ids(pending), want)
		}
	})
}

func TestChangeCreateInvalid(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *redisstore.Store) {
		c := NewChanges(s, ChangesOptions{})
		ctx := t.Context()
		tests := []struct {
			name   string
			change func(*commands.Change)
		}{
			{name: "no id", change: func(ch *commands.Change) { ch.ID = "" }},
			{name: "no team", change: func(ch *commands.Change) { ch.Workspace = commands.Workspace{EnterpriseID: "E1"} }},
			{name: "no requester", change: func(ch *commands.Change) { ch.RequesterID = "" }},
			{name: "not pending", change: func(ch *commands.Change) { ch.Status = commands.StatusApproved }},
			{name: "with approvals", change: func(ch *commands.Change) { ch.Approvals = []commands.Approval{{UserID: "bob"}} }},
			{name: "no created time", change: func(ch *commands.Change) { ch.CreatedAt = time.Time{} }},
			{name: "no expiry", change: func(ch *commands.Change) { ch.ExpiresAt = time.Time{} }},
			{name: "expiry at creation", change: func(ch *commands.Change) { ch.ExpiresAt = ch.CreatedAt }},
			{name: "expiry before creation", change: func(ch *commands.Change) { ch.ExpiresAt = ch.CreatedAt.Add(-time.Second) }},
			{name: "before 1970", change: func(ch *commands.Change) { ch.CreatedAt = time.Date(1969, 1, 1, 0, 0, 0, 0, time.UTC) }},
			{name: "after 2262", change: func(ch *commands.Change) { ch.ExpiresAt = time.Date(2263, 1, 1, 0, 0, 0, 0, time.UTC) }},
		}
		for i, tt := range tests {
			ch := newChange(wsA(), fmt.Sprintf("bad%d", i), 1)
			tt.change(&ch)
			_, created, err := c.Create(ctx, ch, "")
			if !errors.Is(err, ErrInvalidChange) || created || errors.Is(err, redisstore.ErrUnavailable) {
				t.Errorf("%s: Create = created %v, %v; want ErrInvalidChange", tt.name, created, err)
			}
		}
		if p, err := c.Pending(ctx, wsA()); err != nil || len(p) != 0 {
			t.Errorf("Pending after invalid creates = %q, %v; want none", ids(p), err)
		}

		mustCreate(t, c, newChange(wsA(), "dup", 1))
		if _, _, err := c.Approve(ctx, wsA(), "dup", "bob", at(time.Minute), commands.Claim{}, false); err != nil {
			t.Fatalf("Approve: %v", err)
		}
		_, created, err := c.Create(ctx, newChange(wsA(), "dup", 1), "")
		if !errors.Is(err, ErrChangeIDInUse) || created || isContractErr(err) || errors.Is(err, redisstore.ErrUnavailable) {
			t.Errorf("Create with an ID in use = created %v, %v; want ErrChangeIDInUse", created, err)
		}
		if got, err := c.Get(ctx, wsA(), "dup"); err != nil || got.Status != commands.StatusApproved {
			t.Errorf("the first change was overwritten: %q, %v", got.Status, err)
		}

		if _, err := c.Finish(ctx, wsA(), "dup", 0, commands.StatusRejected, commands.Notation(""), nil, at(time.Minute)); !errors.Is(err, ErrInvalidChange) {
			t.Errorf("Finish with status rejected: %v, want ErrInvalidChange", err)
		}
		if _, _, err := c.Approve(ctx, wsA(), "dup", "", at(time.Minute), commands.Claim{}, false); !errors.Is(err, ErrInvalidChange) {
			t.Errorf("Approve by nobody: %v, want ErrInvalidChange", err)
		}
		if _, err := c.Reject(ctx, wsA(), "dup", "", at(time.Minute)); !errors.Is(err, ErrInvalidChange) {
			t.Errorf("Reject by nobody: %v, want ErrInvalidChange", err)
		}
		if _, err := c.Cancel(ctx, wsA(), "dup", "", at(time.Minute)); !errors.Is(err, ErrInvalidChange) {
			t.Errorf("Cancel by nobody: %v, want ErrInvalidChange", err)
		}
		if _, _, err := c.Approve(ctx, wsA(), "dup", "bob", time.Time{}, commands.Claim{}, false); !errors.Is(err, ErrInvalidChange) {
			t.Errorf("Approve at the zero time: %v, want ErrInvalidChange", err)
		}
	})
}

func TestChangeNotFound(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *redisstore.Store) {
		c := NewChanges(s, ChangesOptions{})
		ctx := t.Context()
		mustCreate(t, c, newChange(wsA(), "known", 1))
		now := at(time.Minute)
		tests := []struct {
			name string
			ws   commands.Workspace
			id   string
		}{
			{name: "unknown id", ws: wsA(), id: "unknown"},
			{name: "other workspace", ws: wsB(), id: "known"},
			{name: "other team", ws: commands.Workspace{TeamID: "T0C"}, id: "known"},
			{name: "empty id", ws: wsA(), id: ""},
		}
		for _, tt := range tests {
			ops := map[string]func() error{
				"get": func() error { _, err := c.Get(ctx, tt.ws, tt.id); return err },
				"approve": func() error {
					_, _, err := c.Approve(ctx, tt.ws, tt.id, "bob", now, commands.Claim{}, false)
					return err
				},
				"reject": func() error { _, err := c.Reject(ctx, tt.ws, tt.id, "bob", now); return err },
				"cancel": func() error { _, err := c.Cancel(ctx, tt.ws, tt.id, "alice", now); return err },
				"finish": func() error {
					_, err := c.Finish(ctx, tt.ws, tt.id, 0, commands.StatusApplied, commands.Notation(""), nil, now)
					return err
				},
				"set message": func() error { return c.SetMessage(ctx, tt.ws, tt.id, "C1", "1.2") },
			}
			for name, op := range ops {
				if err := op(); !errors.Is(err, commands.ErrChangeNotFound) || errors.Is(err, redisstore.ErrUnavailable) {
					t.Errorf("%s: %s error = %v, want ErrChangeNotFound", tt.name, name, err)
				}
			}
		}
		if got, err := c.Get(ctx, wsA(), "known"); err != nil || got.Status != commands.StatusPending || got.MessageTS != "" {
			t.Errorf("known change was touched: %+v, %v", got, err)
		}
	})
}

func TestChangePending(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *redisstore.Store) {
		c := NewChanges(s, ChangesOptions{})
		ctx := t.Context()
		for i, id := range []string{"p3", "p1", "p2", "p4"} {
			ch := newChange(wsA(), id, 1)
			ch.CreatedAt = at(time.Duration([]int{3, 1, 2, 4}[i]) * time.Minute)
			mustCreate(t, c, ch)
		}
		mustCreate(t, c, newChange(wsB(), "other", 1))
		if _, _, err := c.Approve(ctx, wsA(), "p2", "bob", at(5*time.Minute), commands.Claim{}, false); err != nil {
			t.Fatalf("Approve: %v", err)
		}
		if _, err := c.Cancel(ctx, wsA(), "p4", "alice", at(5*time.Minute)); err != nil {
			t.Fatalf("Cancel: %v", err)
		}
		got, err := c.Pending(ctx, wsA())
		if err != nil {
			t.Fatalf("Pending: %v", err)
		}
		if want := []string{"p1", "p3"}; !slices.Equal(ids(got), want) {
			t.Errorf("Pending(A) = %q, want %q (oldest first)", ids(got), want)
		}
		for _, ch := range got {
			if ch.Status != commands.StatusPending || ch.Flag != "checkout" {
				t.Errorf("pending change %s: status %q flag %q", ch.ID, ch.Status, ch.Flag)
			}
		}
		if got, err := c.Pending(ctx, wsB()); err != nil || !slices.Equal(ids(got), []string{"other"}) {
			t.Errorf("Pending(B) = %q, %v; want [other]", ids(got), err)
		}
		if got, err := c.Pending(ctx, commands.Workspace{TeamID: "T0NONE"}); err != nil || len(got) != 0 {
			t.Errorf("Pending(empty workspace) = %q, %v; want none", ids(got), err)
		}

		// An index entry whose change vanished (evicted, deleted by hand)
		// is dropped, not returned.
		if err := s.Del(ctx, c.changeKey(wsA(), "p1")); err != nil {
			t.Fatalf("del: %v", err)
		}
		if got, err := c.Pending(ctx, wsA()); err != nil || !slices.Equal(ids(got), []string{"p3"}) {
			t.Errorf("Pending after a change vanished = %q, %v; want [p3]", ids(got), err)
		}
		if n := do(t, s, "ZCARD", s.Key(c.wsKey(wsA(), "pending"))); n != int64(1) {
			t.Errorf("pending index holds %d; want 1", n)
		}
	})
}

func TestChangeHistory(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *redisstore.Store) {
		c := NewChanges(s, ChangesOptions{})
		ctx := t.Context()
		// 55 final changes, in this order: rejected, cancelled, applied,
		// expired; even ones on flag "search".
		var all []string
		flags := map[string]string{}
		for i := range 55 {
			id := fmt.Sprintf("h%02d", i)
			ch := newChange(wsA(), id, 1)
			if i%2 == 0 {
				ch.Flag = "search"
			}
			flags[id] = ch.Flag
			mustCreate(t, c, ch)
			now := at(time.Duration(i) * time.Second)
			var err error
			switch i % 4 {
			case 0:
				_, err = c.Reject(ctx, wsA(), id, "bob", now)
			case 1:
				_, err = c.Cancel(ctx, wsA(), id, "alice", now)
			case 2:
				if _, _, err = c.Approve(ctx, wsA(), id, "bob", now, commands.Claim{}, false); err == nil {
					_, err = c.Finish(ctx, wsA(), id, 0, commands.StatusApplied, commands.Notation("ok"), nil, now)
				}
			case 3:
				var exp []commands.Change
				exp, err = c.ExpireDue(ctx, at(2*testTTL), 100)
				if err == nil && (len(exp) != 1 || exp[0].ID != id) {
					err = fmt.Errorf("ExpireDue = %q, want [%s]", ids(exp), id)
				}
			}
			if err != nil {
				t.Fatalf("deciding %s: %v", id, err)
			}
			all = append(all, id)
		}
		// One approved and one pending change are not history.
		mustCreate(t, c, newChange(wsA(), "approved", 1))
		if _, _, err := c.Approve(ctx, wsA(), "approved", "bob", at(time.Minute), commands.Claim{}, false); err != nil {
			t.Fatal(err)
		}
		mustCreate(t, c, newChange(wsA(), "pending", 1))
		mustCreate(t, c, newChange(wsB(), "b1", 1))
		if _, err := c.Reject(ctx, wsB(), "b1", "bob", at(time.Minute)); err != nil {
			t.Fatal(err)
		}

		newest := slices.Clone(all)
		slices.Reverse(newest)
		var search []string
		for _, id := range newest[:50] {
			if flags[id] == "search" {
				search = append(search, id)
			}
		}
		tests := []struct {
			name  string
			ws    commands.Workspace
			flag  string
			limit int
			want  []string
		}{
			{name: "all, default limit", ws: wsA(), want: newest[:50]},
			{name: "all, limit above the cap", ws: wsA(), limit: 500, want: newest[:50]},
			{name: "last five", ws: wsA(), limit: 5, want: newest[:5]},
			{name: "one flag", ws: wsA(), flag: "search", want: search},
			{name: "one flag, limit", ws: wsA(), flag: "search", limit: 3, want: search[:3]},
			{name: "unknown flag", ws: wsA(), flag: "nope", want: []string{}},
			{name: "other workspace", ws: wsB(), want: []string{"b1"}},
			{name: "empty workspace", ws: commands.Workspace{TeamID: "T0NONE"}, want: []string{}},
		}
		for _, tt := range tests {
			got, err := c.History(ctx, tt.ws, tt.flag, tt.limit)
			if err != nil {
				t.Fatalf("%s: History: %v", tt.name, err)
			}
			if !slices.Equal(ids(got), tt.want) {
				t.Errorf("%s: History(%q, %d) = %q, want %q", tt.name, tt.flag, tt.limit, ids(got), tt.want)
			}
			for _, ch := range got {
				if !ch.Status.Final() {
					t.Errorf("%s: history holds %s with status %q", tt.name, ch.ID, ch.Status)
				}
			}
		}
		if n := do(t, s, "LLEN", s.Key(c.wsKey(wsA(), "history"))); n != int64(50) {
			t.Errorf("history list length %d; want the cap, 50", n)
		}
	})
}

func TestChangeHistoryLimitOption(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *redisstore.Store) {
		c := NewChanges(s, ChangesOptions{HistoryLimit: 3})
		for i := range 5 {
			id := fmt.Sprintf("x%d", i)
			mustCreate(t, c, newChange(wsA(), id, 1))
			if _, err := c.Reject(t.Context(), wsA(), id, "bob", at(time.Minute)); err != nil {
				t.Fatal(err)
			}
		}
		got, err := c.History(t.Context(), wsA(), "", 0)
		if want := []string{"x4", "x3", "x2"}; err != nil || !slices.Equal(ids(got), want) {
			t.Errorf("History = %q, %v; want %q", ids(got), err, want)
		}
	})
}

func TestChangeExpireDue(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *redisstore.Store) {
		c := NewChanges(s, ChangesOptions{})
		ctx := t.Context()
		mustCreate(t, c, newChange(wsA(), "e1", 1)) // expires at(testTTL)
		late := newChange(wsA(), "late", 1)
		late.ExpiresAt = at(2 * testTTL)
		mustCreate(t, c, late)
		mustCreate(t, c, newChange(wsB(), "e2", 2))
		if _, _, err := c.Approve(ctx, wsB(), "e2", "bob", at(time.Minute), commands.Claim{}, false); err != nil {
			t.Fatal(err) // one of two approvals: still pending, still expires
		}
		mustCreate(t, c, newChange(wsA(), "approved", 1))
		if _, _, err := c.Approve(ctx, wsA(), "approved", "bob", at(time.Minute), commands.Claim{}, false); err != nil {
			t.Fatal(err)
		}
		mustCreate(t, c, newChange(wsA(), "rejected", 1))
		if _, err := c.Reject(ctx, wsA(), "rejected", "bob", at(time.Minute)); err != nil {
			t.Fatal(err)
		}

		if got, err := c.ExpireDue(ctx, at(testTTL), 10); err != nil || len(got) != 0 {
			t.Errorf("ExpireDue at the expiry instant = %q, %v; want none", ids(got), err)
		}
		now := at(testTTL + time.Nanosecond)
		first, err := c.ExpireDue(ctx, now, 1)
		if err != nil || len(first) != 1 {
			t.Fatalf("ExpireDue(limit 1) = %q, %v; want one", ids(first), err)
		}
		rest, err := c.ExpireDue(ctx, now, 10)
		if err != nil || len(rest) != 1 {
			t.Fatalf("second ExpireDue = %q, %v; want one", ids(rest), err)
		}
		got := append(first, rest...)
		slices.SortFunc(got, func(a, b commands.Change) int { return strings.Compare(a.ID, b.ID) })
		if !slices.Equal(ids(got), []string{"e1", "e2"}) {
			t.Errorf("expired %q, want [e1 e2]", ids(got))
		}
		for _, ch := range got {
			if ch.Status != commands.StatusExpired || !ch.DecidedAt.Equal(now) || ch.Flag != "checkout" {
				t.Errorf("expired change %s: status %q decided %v flag %q", ch.ID, ch.Status, ch.DecidedAt, ch.Flag)
			}
		}
		if got[1].Workspace != wsB() || len(got[1].Approvals) != 1 {
			t.Errorf("e2 came back as %+v", got[1])
		}
		if again, err := c.ExpireDue(ctx, at(testTTL+time.Minute), 10); err != nil || len(again) != 0 {
			t.Errorf("third ExpireDue = %q, %v; want none (each change once)", ids(again), err)
		}

		for _, op := range []struct {
			name string
			run  func() error
		}{
			{"approve", func() error {
				_, _, err := c.Approve(ctx, wsA(), "e1", "bob", at(time.Minute), commands.Claim{}, false)
				return err
			}},
			{"reject", func() error { _, err := c.Reject(ctx, wsA(), "e1", "bob", at(time.Minute)); return err }},
			{"cancel", func() error { _, err := c.Cancel(ctx, wsA(), "e1", "alice", at(time.Minute)); return err }},
		} {
			if err := op.run(); !errors.Is(err, commands.ErrExpired) {
				t.Errorf("%s of a swept change: %v, want ErrExpired", op.name, err)
			}
		}
		if _, err := c.Finish(ctx, wsA(), "e1", 0, commands.StatusApplied, commands.Notation(""), nil, at(time.Minute)); !errors.Is(err, commands.ErrDecided) {
			t.Errorf("Finish of an expired change: %v, want ErrDecided", err)
		}
		if p, err := c.Pending(ctx, wsA()); err != nil || !slices.Equal(ids(p), []string{"late"}) {
			t.Errorf("Pending(A) = %q, %v; want [late]", ids(p), err)
		}
		if p, err := c.Pending(ctx, wsB()); err != nil || len(p) != 0 {
			t.Errorf("Pending(B) = %q, %v; want none", ids(p), err)
		}
		if h, err := c.History(ctx, wsA(), "", 0); err != nil || !slices.Equal(ids(h), []string{"e1", "rejected"}) {
			t.Errorf("History(A) = %q, %v; want [e1 rejected]", ids(h), err)
		}
		if h, err := c.History(ctx, wsB(), "", 0); err != nil || !slices.Equal(ids(h), []string{"e2"}) {
			t.Errorf("History(B) = %q, %v; want [e2]", ids(h), err)
		}
		if got, err := c.Get(ctx, wsA(), "approved"); err != nil || got.Status != commands.StatusApproved {
			t.Errorf("approved change = %q, %v; an approved change never expires", got.Status, err)
		}
		if members := members(t, do(t, s, "ZRANGE", s.Key(c.wsKey(wsA(), idxExpiry)), 0, -1)); !slices.Equal(members, []string{s.Key(c.changeKey(wsA(), "late"))}) {
			t.Errorf("expiry index = %q; want only late", members)
		}
		if got, err := c.ExpireDue(ctx, at(3*testTTL), 0); err != nil || !slices.Equal(ids(got), []string{"late"}) {
			t.Errorf("ExpireDue with limit 0 = %q, %v; want [late]", ids(got), err)
		}
	})
}

// TestChangeKeyLifetimes checks the TTLs that keep Redis from growing
// forever, and that History skips changes whose retention ran out.
func TestChangeKeyLifetimes(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b backend, s *redisstore.Store) {
		const retention = 2 * time.Second
		c := NewChanges(s, ChangesOptions{Retention: retention})
		ctx := t.Context()
		if _, _, err := c.Create(ctx, newChange(wsA(), "l1", 1), "env-l1"); err != nil {
			t.Fatal(err)
		}
		mustCreate(t, c, newChange(wsA(), "l2", 1))
		ttlOf := func(key string) time.Duration {
			t.Helper()
			ms, ok := do(t, s, "PTTL", s.Key(key)).(int64)
			if !ok {
				t.Fatalf("PTTL %s: not a number", key)
			}
			return time.Duration(ms) * time.Millisecond
		}
		near := func(what string, got, want time.Duration) {
			t.Helper()
			if got > want || got < want-time.Second {
				t.Errorf("%s TTL = %v, want about %v", what, got, want)
			}
		}
		near("pending change", ttlOf(c.changeKey(wsA(), "l1")), testTTL+retention)
		near("dedupe key", ttlOf(c.wsKey(wsA(), "dedupe", "env-l1")), testTTL)

		if _, err := c.Reject(ctx, wsA(), "l1", "bob", at(time.Minute)); err != nil {
			t.Fatal(err)
		}
		near("final change", ttlOf(c.changeKey(wsA(), "l1")), retention)
		near("history", ttlOf(c.wsKey(wsA(), "history")), retention)

		b.advance(t, s, retention/2)
		if _, err := c.Cancel(ctx, wsA(), "l2", "alice", at(time.Minute)); err != nil {
			t.Fatal(err)
		}
		b.advance(t, s, retention/2+300*time.Millisecond)
		if _, err := c.Get(ctx, wsA(), "l1"); !errors.Is(err, commands.ErrChangeNotFound) {
			t.Errorf("Get after retention: %v, want ErrChangeNotFound", err)
		}
		if h, err := c.History(ctx, wsA(), "", 0); err != nil || !slices.Equal(ids(h), []string{"l2"}) {
			t.Errorf("History = %q, %v; want [l2] (l1's retention is over)", ids(h), err)
		}
		b.advance(t, s, retention/2+300*time.Millisecond)
		if n := do(t, s, "EXISTS", s.Key(c.wsKey(wsA(), "history")), s.Key(c.changeKey(wsA(), "l2"))); n != int64(0) {
			t.Errorf("%d keys of l2 and the history left after retention", n)
		}
	})
}

// TestChangeRoundTrips pins the commands of every operation once Redis has
// the scripts: a state operation is one script, so one round trip; a
// listing reads its index, then runs one script over the changes it names
// (so that the script declares every key, for Redis Cluster); a create
// first adds the workspace to the set the sweeps visit; a sweep reads that
// set and then one index of every workspace in one pipeline. A flushed
// script cache (a Redis restart) costs one extra command (EVAL after
// EVALSHA), once.
func TestChangeRoundTrips(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b backend, s *redisstore.Store) {
		if b.name == "cluster" {
			t.Skip("the command counter is a proxy in front of one server")
		}
		cs, h := redistest.NewCounter(t, s, redisstore.Options{})
		c := NewChanges(cs, ChangesOptions{})
		ctx := t.Context()
		now := at(time.Minute)
		n, id := 0, ""
		create := func(required int, dedupe string) error {
			n++
			id = fmt.Sprintf("rt%d", n)
			_, _, err := c.Create(ctx, newChange(wsA(), id, required), dedupe)
			return err
		}
		script := []string{"evalsha"}
		ops := []struct {
			name string
			run  func() error
			want []string
		}{
			{"create with dedupe key", func() error { return create(2, fmt.Sprintf("env-%d", n)) }, []string{"sadd", "get", "evalsha"}},
			{"approve (first of two)", func() error { _, _, err := c.Approve(ctx, wsA(), id, "bob", now, commands.Claim{}, false); return err }, script},
			{"approve (completing)", func() error {
				_, _, err := c.Approve(ctx, wsA(), id, "carol", now, commands.Claim{}, false)
				return err
			}, script},
			{"finish", func() error {
				_, err := c.Finish(ctx, wsA(), id, 0, commands.StatusApplied, commands.Notation(""), nil, now)
				return err
			}, script},
			{"create", func() error { return create(1, "") }, []string{"sadd", "evalsha"}},
			{"set message", func() error { return c.SetMessage(ctx, wsA(), id, "C1", "1.1") }, script},
			{"get", func() error { _, err := c.Get(ctx, wsA(), id); return err }, []string{"hgetall"}},
			{"reject", func() error { _, err := c.Reject(ctx, wsA(), id, "bob", now); return err }, script},
			{"create again", func() error { return create(1, "") }, []string{"sadd", "evalsha"}},
			{"pending", func() error { _, err := c.Pending(ctx, wsA()); return err }, []string{"zrange", "evalsha"}},
			{"cancel", func() error { _, err := c.Cancel(ctx, wsA(), id, "alice", now); return err }, script},
			{"pending (none)", func() error { _, err := c.Pending(ctx, wsA()); return err }, []string{"zrange"}},
			{"history", func() error { _, err := c.History(ctx, wsA(), "checkout", 10); return err }, []string{"lrange", "evalsha"}},
			{"expire due", func() error { _, err := c.ExpireDue(ctx, now, 10); return err }, []string{"smembers", "zrange"}},
		}
		for round := range 3 {
			if round == 2 {
				do(t, s, "SCRIPT", "FLUSH")
				h.Take()
			}
			for _, op := range ops {
				if err := op.run(); err != nil {
					t.Fatalf("round %d: %s: %v", round, op.name, err)
				}
				cmds := h.Take()
				if round != 1 { // an EVALSHA may meet NOSCRIPT and be followed by EVAL
					var kept []string
					for i, c := range cmds {
						if c != "eval" || i == 0 || cmds[i-1] != "evalsha" {
							kept = append(kept, c)
						}
					}
					cmds = kept
				}
				if !slices.Equal(cmds, op.want) {
					t.Errorf("round %d: %s sent %q, want %q", round, op.name, cmds, op.want)
				}
			}
		}
	})
}

func TestChangesUnavailable(t *testing.T) {
	t.Parallel()
	s, err := redisstore.OpenEmbedded(t.Context(), redistest.Logger(t), redisstore.Options{OpTimeout: outageTimeout, Prefix: "down"})
	if err != nil {
		t.Fatalf("OpenEmbedded: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	c := NewChanges(s, ChangesOptions{})
	ctx := t.Context()
	mustCreate(t, c, newChange(wsA(), "u1", 1))
	s.EmbeddedServer().Stop()
	now := at(time.Minute)
	ops := map[string]func() error{
		"create": func() error { _, _, err := c.Create(ctx, newChange(wsA(), "u2", 1), "x"); return err },
		"get":    func() error { _, err := c.Get(ctx, wsA(), "u1"); return err },
		"approve": func() error {
			_, _, err := c.Approve(ctx, wsA(), "u1", "bob", now, commands.Claim{}, false)
			return err
		},
		"reject": func() error { _, err := c.Reject(ctx, wsA(), "u1", "bob", now); return err },
		"cancel": func() error { _, err := c.Cancel(ctx, wsA(), "u1", "alice", now); return err },
		"finish": func() error {
			_, err := c.Finish(ctx, wsA(), "u1", 0, commands.StatusApplied, commands.Notation(""), nil, now)
			return err
		},
		"set message": func() error { return c.SetMessage(ctx, wsA(), "u1", "C", "1") },
		"pending":     func() error { _, err := c.Pending(ctx, wsA()); return err },
		"history":     func() error { _, err := c.History(ctx, wsA(), "", 0); return err },
		"expire due":  func() error { _, err := c.ExpireDue(ctx, now, 10); return err },
	}
	for name, op := range ops {
		start := time.Now()
		err := op()
		if !errors.Is(err, redisstore.ErrUnavailable) || isContractErr(err) {
			t.Errorf("%s while Redis is down: %v, want redisstore.ErrUnavailable only", name, err)
		}
		if took := time.Since(start); took > outageTimeout+slack {
			t.Errorf("%s while Redis is down took %v", name, took)
		}
	}
	if err := s.EmbeddedServer().Restart(); err != nil {
		t.Fatalf("restart: %v", err)
	}
	deadline := time.Now().Add(recoverWithin)
	for {
		_, now, err := c.Approve(ctx, wsA(), "u1", "bob", now, commands.Claim{}, false)
		if err == nil && now {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Approve after Redis came back: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestNewChangeID(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 1000 {
		id, err := NewChangeID()
		if err != nil {
			t.Fatalf("NewChangeID: %v", err)
		}
		if len(id) != 26 || strings.Trim(id, "abcdefghijklmnopqrstuvwxyz234567") != "" {
			t.Fatalf("NewChangeID = %q, want 26 lower-case base32 characters", id)
		}
		if seen[id] {
			t.Fatalf("NewChangeID repeated %q", id)
		}
		seen[id] = true
	}
	if k := redisstore.WorkspaceKey("T1", "", "change", "abcdefghijklmnopqrstuvwxyz"); k != "ws:_:{T1}:change:abcdefghijklmnopqrstuvwxyz" {
		t.Errorf("a change ID is escaped in keys: %q", k)
	}
}

// TestPendingByAge: pending changes counted by age across workspaces;
// decided ones are not pending.
func TestPendingByAge(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *redisstore.Store) {
		c := NewChanges(s, ChangesOptions{})
		const ttl = 24 * time.Hour
		now := at(48 * time.Hour)
		for i, age := range []time.Duration{time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour, 7 * time.Hour, 23 * time.Hour} {
			ws := wsA()
			if i%2 == 1 {
				ws = commands.Workspace{TeamID: "T0OTHER"}
			}
			ch := newChange(ws, fmt.Sprintf("p%d", i), 1)
			ch.CreatedAt, ch.ExpiresAt = now.Add(-age), now.Add(-age).Add(ttl)
			mustCreate(t, c, ch)
		}
		decided := newChange(wsA(), "gone", 1)
		decided.CreatedAt, decided.ExpiresAt = now.Add(-time.Minute), now.Add(-time.Minute).Add(ttl)
		mustCreate(t, c, decided)
		if _, err := c.Reject(t.Context(), wsA(), "gone", "bob", now); err != nil {
			t.Fatal(err)
		}
		got, err := c.PendingByAge(t.Context(), now, ttl, []time.Duration{time.Hour, 6 * time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(got) != "[2 2 2]" {
			t.Errorf("PendingByAge = %v, want [2 2 2] (under 1h, 1h to 6h, over 6h)", got)
		}
	})
}

// TestApproveDeletion: the approval script itself refuses to approve a
// pending deletion unless the caller says its key was typed, and records
// nothing then; it answers the other refusals first. A change stored before
// the del field is decided on its body instead, still in one call.
func TestApproveDeletion(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b backend, s *redisstore.Store) {
		c := NewChanges(s, ChangesOptions{})
		ctx := t.Context()
		now := at(time.Minute)
		deletion := func(id string) commands.Change {
			ch := newChange(wsA(), id, 1)
			ch.Kind, ch.Env, ch.Patch, ch.Delete = "delete", "", nil, true
			ch.Diff = []commands.DiffLine{{Field: "flag", Before: "exists", After: "deleted"}}
			return ch
		}
		legacy := func(id string) {
			t.Helper()
			if n := do(t, s, "HDEL", s.Key(c.changeKey(wsA(), id)), "del"); n != int64(1) {
				t.Fatalf("HDEL del of %s = %v, want 1", id, n)
			}
		}
		approve := func(id, by string, confirmed bool) (commands.Change, bool, error) {
			t.Helper()
			return c.Approve(ctx, wsA(), id, by, now, commands.Claim{Owner: "o", For: time.Minute}, confirmed)
		}
		pendingUntouched := func(id string) {
			t.Helper()
			got, err := c.Get(ctx, wsA(), id)
			if err != nil || got.Status != commands.StatusPending || len(got.Approvals) != 0 || got.Lease.Owner != "" {
				t.Fatalf("%s after a refused approval: status %q, approvals %v, lease %+v, err %v; want pending and untouched", id, got.Status, got.Approvals, got.Lease, err)
			}
		}

		mustCreate(t, c, deletion("del1"))
		got, now1, err := approve("del1", "bob", false)
		if !errors.Is(err, commands.ErrConfirmDelete) || now1 || got.ID != "del1" || !got.Delete {
			t.Fatalf("unconfirmed approval of a deletion = %q (delete %v), %v, %v; want the change and ErrConfirmDelete", got.ID, got.Delete, now1, err)
		}
		pendingUntouched("del1")
		if _, _, err := approve("del1", "alice", false); !errors.Is(err, commands.ErrSelfApproval) {
			t.Fatalf("the requester's unconfirmed approval: %v, want ErrSelfApproval before any confirmation", err)
		}
		got, now1, err = approve("del1", "bob", true)
		if err != nil || !now1 || got.Status != commands.StatusApproved || got.Lease.Fence != 1 {
			t.Fatalf("confirmed approval = status %q, %v, fence %d, %v; want approved now with the lease", got.Status, now1, got.Lease.Fence, err)
		}
		if _, _, err := approve("del1", "carol", false); !errors.Is(err, commands.ErrDecided) {
			t.Fatalf("unconfirmed approval of a decided deletion: %v, want ErrDecided", err)
		}

		// Any other change needs no confirmation.
		mustCreate(t, c, newChange(wsA(), "plain1", 1))
		if got, now1, err := approve("plain1", "bob", false); err != nil || !now1 || got.Status != commands.StatusApproved {
			t.Fatalf("approval of a rollout = %q, %v, %v; want approved now", got.Status, now1, err)
		}

		// Stored before del existed: the body decides.
		mustCreate(t, c, newChange(wsA(), "old-plain", 1))
		legacy("old-plain")
		if got, now1, err := approve("old-plain", "bob", false); err != nil || !now1 || got.Status != commands.StatusApproved || len(got.Approvals) != 1 {
			t.Fatalf("approval of an old rollout = %q, %v, %v approvals, %v; want approved now once", got.Status, now1, len(got.Approvals), err)
		}
		mustCreate(t, c, deletion("old-del"))
		legacy("old-del")
		if _, _, err := approve("old-del", "bob", false); !errors.Is(err, commands.ErrConfirmDelete) {
			t.Fatalf("unconfirmed approval of an old deletion: %v, want ErrConfirmDelete", err)
		}
		pendingUntouched("old-del")
		if _, now1, err := approve("old-del", "bob", true); err != nil || !now1 {
			t.Fatalf("confirmed approval of an old deletion: %v, %v; want approved now", now1, err)
		}
		// An old change whose body can't be read is not taken for one
		// that deletes nothing.
		mustCreate(t, c, deletion("old-bad"))
		legacy("old-bad")
		do(t, s, "HSET", s.Key(c.changeKey(wsA(), "old-bad")), "body", "{")
		if _, now1, err := approve("old-bad", "bob", false); err == nil || now1 {
			t.Fatalf("unconfirmed approval of an old change with a broken body = %v, %v; want an error", now1, err)
		}
		if n := do(t, s, "HGET", s.Key(c.changeKey(wsA(), "old-bad")), "n"); n != "0" {
			t.Fatalf("approvals recorded on the broken change: %v, want 0", n)
		}
	})
}
