package digest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/flagbot/flagbot/internal/commands"
	"github.com/flagbot/flagbot/internal/redisstore"
)

// RedisStore is the Redis side of digests: it implements Store on a
// redisstore.Store. Subscriptions are opaque JSON documents to it; what it
// owns is where they live and the atomic steps that make a scheduled run
// happen exactly once across replicas. Keys, without the Store's prefix:
//
//	W:digests                  set of the workspace's subscription IDs
//	W:digests:due              sorted set: subscription -> next run (ms)
//	W:digest:{id}              the subscription (JSON)
//	W:digest:{id}:cursor       the newest entry already reported (JSON)
//	W:digest:{id}:lock         the lease of the replica running it now
//	W:digest:{id}:intent       a post about to be made, until recorded (JSON, expires)
//	W:digest:{id}:run:{dueMs}  a scheduled run that is done (expires)
//	digests:workspaces         set: W of every workspace that ever had a subscription
//
// where W is redisstore.WorkspaceKey(team, enterprise), which carries the
// workspace's Redis Cluster hash tag: every script touches keys of one
// workspace only, so of one slot, and declares them all. A due-set member
// is the subscription's key without the prefix (Key.member). DueDigests
// reads digests:workspaces and then every workspace's due set in one
// pipeline (one round trip per Redis node): one cheap command per
// workspace per tick. A workspace is added to digests:workspaces before
// its first subscription is stored, and stays there. A run is claimed
// with SET NX on the lock, refused while the run for that due time is
// marked done; the intent is written before a post, only while the lease is
// held; CompleteDigestRun writes the cursor, removes the intent, marks the
// run done and moves the next-run time in one script, only while the lease
// is still held. Every multi-key step is one Lua script, so atomic.
type RedisStore struct {
	store *redisstore.Store
	log   *slog.Logger

	put, get, del, claim, complete, putIntent, settle *redisstore.Script
}

var _ Store = (*RedisStore)(nil)

// NewRedisStore returns the digest store on s. A nil log discards log
// output.
func NewRedisStore(s *redisstore.Store, log *slog.Logger) *RedisStore {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &RedisStore{
		store:     s,
		log:       log.With("component", "digest-store"),
		put:       redisstore.NewScript(luaPut),
		get:       redisstore.NewScript(luaGet),
		del:       redisstore.NewScript(luaDelete),
		claim:     redisstore.NewScript(luaClaim),
		complete:  redisstore.NewScript(luaComplete),
		putIntent: redisstore.NewScript(luaPutIntent),
		settle:    redisstore.NewScript(luaSettle),
	}
}

// doneTTL is how long a finished scheduled run stays marked done, so a
// slow replica that read an old due time cannot run it again.
const doneTTL = 8 * 24 * time.Hour

// workspacesKey names the set of the workspaces (WorkspaceKey(team,
// enterprise), without the prefix) that ever had a subscription: the ones
// DueDigests visits.
const workspacesKey = "digests:workspaces"

// legacyDueKey is the due set across workspaces of the layout before hash
// tags, which UpgradeIndexes dissolves.
const legacyDueKey = "digests:due"

func (k Key) sub() string { return redisstore.WorkspaceKey(k.TeamID, k.EnterpriseID, "digest", k.ID) }
func (k Key) part(p ...string) string {
	return redisstore.WorkspaceKey(k.TeamID, k.EnterpriseID, append([]string{"digest", k.ID}, p...)...)
}
func (k Key) index() string { return redisstore.WorkspaceKey(k.TeamID, k.EnterpriseID, "digests") }
func (k Key) due() string   { return redisstore.WorkspaceKey(k.TeamID, k.EnterpriseID, "digests", "due") }
func (k Key) base() string  { return redisstore.WorkspaceKey(k.TeamID, k.EnterpriseID) }

// workspace is the workspace whose subscription k names, as it is keyed
// (a subscription made before its workspace joined an Enterprise Grid org
// names it without the org).
func (k Key) workspace() commands.Workspace {
	return commands.Workspace{TeamID: k.TeamID, EnterpriseID: k.EnterpriseID}
}

// member is the subscription's entry in the due set: its key without the
// store prefix, which parseMember reverses.
func (k Key) member() string { return k.sub() }

// parseMember reverses Key.member.
func parseMember(m string) (Key, bool) {
	team, ent, parts, ok := redisstore.ParseWorkspaceKey(m)
	if !ok || len(parts) != 2 || parts[0] != "digest" {
		return Key{}, false
	}
	return Key{TeamID: team, EnterpriseID: ent, ID: parts[1]}, true
}

// luaPut stores a subscription and schedules it.
// KEYS: subscription, index, due set. ARGV: data, id, next ms, member.
const luaPut = `
redis.call('SET', KEYS[1], ARGV[1])
redis.call('SADD', KEYS[2], ARGV[2])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[4])
return 1
`

// PutDigest stores a subscription and schedules its next run at next.
// Errors wrap redisstore.ErrUnavailable.
func (r *RedisStore) PutDigest(ctx context.Context, k Key, data []byte, next time.Time) error {
	if err := r.store.SAdd(ctx, workspacesKey, k.base()); err != nil {
		return fmt.Errorf("digest: put %q: %w", k.sub(), err)
	}
	_, err := r.store.Run(ctx, r.put, []string{k.sub(), k.index(), k.due()},
		data, k.ID, strconv.FormatInt(next.UnixMilli(), 10), k.member())
	if err != nil {
		return fmt.Errorf("digest: put %q: %w", k.sub(), err)
	}
	return nil
}

// luaGet reads subscriptions with their next runs.
// KEYS: due set, subscription... ARGV: member... (one per subscription).
// Returns one {data, next ms} per subscription, each false when missing.
const luaGet = `
local out = {}
for i = 2, #KEYS do
  out[#out + 1] = {redis.call('GET', KEYS[i]), redis.call('ZSCORE', KEYS[1], ARGV[i - 1])}
end
return out
`

// getRecords reads the subscriptions of keys, all of one workspace, in
// order; a missing one is a Record with nil Data.
func (r *RedisStore) getRecords(ctx context.Context, keys []Key) ([]Record, error) {
	rkeys := make([]string, 0, len(keys)+1)
	members := make([]any, 0, len(keys))
	rkeys = append(rkeys, keys[0].due())
	for _, k := range keys {
		rkeys = append(rkeys, k.sub())
		members = append(members, k.member())
	}
	v, err := r.store.Run(ctx, r.get, rkeys, members...)
	if err != nil {
		return nil, err
	}
	rows, ok := v.([]any)
	if !ok || len(rows) != len(keys) {
		return nil, fmt.Errorf("%w: unexpected script reply", redisstore.ErrUnavailable)
	}
	out := make([]Record, len(keys))
	for i, row := range rows {
		pair, ok := row.([]any)
		if !ok || len(pair) != 2 {
			return nil, fmt.Errorf("%w: unexpected script reply", redisstore.ErrUnavailable)
		}
		out[i].Key = keys[i]
		if data, ok := pair[0].(string); ok {
			out[i].Data = append([]byte{}, data...) // not nil, even when empty
		}
		if score, ok := pair[1].(string); ok {
			if ms, err := strconv.ParseFloat(score, 64); err == nil {
				out[i].NextRun = time.UnixMilli(int64(ms))
			}
		}
	}
	return out, nil
}

// GetDigest returns a stored subscription with its next run; the error
// wraps ErrNotFound when there is none.
func (r *RedisStore) GetDigest(ctx context.Context, k Key) (Record, error) {
	recs, err := r.getRecords(ctx, []Key{k})
	if err != nil {
		return Record{}, fmt.Errorf("digest: get %q: %w", k.sub(), err)
	}
	if recs[0].Data == nil {
		return Record{}, fmt.Errorf("digest: get %q: %w", k.sub(), ErrNotFound)
	}
	return recs[0], nil
}

// ListDigests returns the workspace's subscriptions (in no particular
// order) with their next runs. Errors wrap redisstore.ErrUnavailable.
func (r *RedisStore) ListDigests(ctx context.Context, teamID, enterpriseID string) ([]Record, error) {
	idx := Key{TeamID: teamID, EnterpriseID: enterpriseID}.index()
	ids, err := r.store.SMembers(ctx, idx)
	if err != nil {
		return nil, fmt.Errorf("digest: list %q: %w", idx, err)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	keys := make([]Key, len(ids))
	for i, id := range ids {
		keys[i] = Key{TeamID: teamID, EnterpriseID: enterpriseID, ID: id}
	}
	recs, err := r.getRecords(ctx, keys)
	if err != nil {
		return nil, fmt.Errorf("digest: list %q: %w", idx, err)
	}
	out := recs[:0]
	for _, rec := range recs {
		if rec.Data != nil { // else deleted since SMEMBERS
			out = append(out, rec)
		}
	}
	return out, nil
}

// luaDelete removes a subscription, its cursor, lease, intent and
// schedule, and returns 1 when the subscription existed.
// KEYS: subscription, cursor, lock, index, due set, intent. ARGV: id, member.
const luaDelete = `
local n = redis.call('DEL', KEYS[1])
redis.call('DEL', KEYS[2], KEYS[3], KEYS[6])
redis.call('SREM', KEYS[4], ARGV[1])
redis.call('ZREM', KEYS[5], ARGV[2])
return n
`

// DeleteDigest removes a subscription, its cursor, lease, intent and
// schedule. deleted is false when there was no such subscription.
func (r *RedisStore) DeleteDigest(ctx context.Context, k Key) (deleted bool, err error) {
	v, err := r.store.Run(ctx, r.del, []string{k.sub(), k.part("cursor"), k.part("lock"), k.index(), k.due(), k.part("intent")}, k.ID, k.member())
	if err != nil {
		return false, fmt.Errorf("digest: delete %q: %w", k.sub(), err)
	}
	n, _ := v.(int64)
	return n > 0, nil
}

// DueDigests returns at most limit subscriptions whose next run is at or
// before now, earliest first, across all workspaces (limit <= 0: all).
func (r *RedisStore) DueDigests(ctx context.Context, now time.Time, limit int) ([]Due, error) {
	members, err := r.store.SMembers(ctx, workspacesKey)
	if err != nil {
		return nil, fmt.Errorf("digest: due subscriptions: %w", err)
	}
	slices.Sort(members)
	keys := make([]string, 0, len(members))
	for _, m := range members {
		team, ent, parts, ok := redisstore.ParseWorkspaceKey(m)
		if !ok || len(parts) != 0 {
			r.log.WarnContext(ctx, "ignoring malformed digest workspace entry", "member", m)
			continue
		}
		keys = append(keys, Key{TeamID: team, EnterpriseID: ent}.due())
	}
	each, err := r.store.ZRangeUpToEach(ctx, keys, float64(now.UnixMilli()), limit)
	if err != nil {
		return nil, fmt.Errorf("digest: due subscriptions: %w", err)
	}
	var out []Due
	for _, zs := range each {
		for _, z := range zs {
			k, ok := parseMember(z.Member)
			if !ok {
				r.log.WarnContext(ctx, "ignoring malformed digest schedule entry", "member", z.Member)
				continue
			}
			out = append(out, Due{Key: k, Due: time.UnixMilli(int64(z.Score))})
		}
	}
	slices.SortStableFunc(out, func(a, b Due) int { return a.Due.Compare(b.Due) })
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// UpgradeIndexes is this package's part of the one-time migration to the
// key layout with hash tags, run at start after
// redisstore.Store.UpgradeLayout moved the workspace keys: it moves every
// entry of digests:due, the due set across workspaces of the layout before
// (which a script on a Redis Cluster cannot touch together with a
// workspace's keys), into its workspace's due set, as a member of today's
// layout and with its next run, adds the workspace to digests:workspaces,
// and deletes digests:due. It is idempotent, and returns how many entries
// it moved.
func (r *RedisStore) UpgradeIndexes(ctx context.Context) (int, error) {
	entries, err := r.store.ZRangeUpTo(ctx, legacyDueKey, math.Inf(1), 0)
	if err != nil {
		return 0, fmt.Errorf("digest: upgrade indexes: %w", err)
	}
	n := 0
	for _, e := range entries {
		k, ok := parseMember(e.Member)
		if !ok {
			r.log.WarnContext(ctx, "dropping malformed digest schedule entry", "member", e.Member)
			continue
		}
		if err := r.store.SAdd(ctx, workspacesKey, k.base()); err != nil {
			return n, fmt.Errorf("digest: upgrade indexes: %w", err)
		}
		if err := r.store.ZAdd(ctx, k.due(), e.Score, k.member()); err != nil {
			return n, fmt.Errorf("digest: upgrade indexes: %w", err)
		}
		n++
	}
	if len(entries) > 0 {
		if err := r.store.Del(ctx, legacyDueKey); err != nil {
			return n, fmt.Errorf("digest: upgrade indexes: %w", err)
		}
	}
	return n, nil
}

// luaClaim takes the subscription's lease unless the scheduled run is
// already done. KEYS: done, lock. ARGV: owner, lease ms, check done (1/0).
const luaClaim = `
if ARGV[3] == "1" and redis.call("EXISTS", KEYS[1]) == 1 then return 0 end
if redis.call("SET", KEYS[2], ARGV[1], "NX", "PX", ARGV[2]) then return 1 end
return 0
`

// ClaimDigestRun takes a lease of length lease on the subscription for
// owner. For a scheduled run (due not zero) it refuses when the run due at
// that time was already completed by anyone; for an unscheduled run (due
// zero, `/flag digest now`) it only takes the lease. claimed is false when
// another owner holds the lease or the run is done.
func (r *RedisStore) ClaimDigestRun(ctx context.Context, k Key, due time.Time, owner string, lease time.Duration) (claimed bool, err error) {
	check := "0"
	if !due.IsZero() {
		check = "1"
	}
	v, err := r.store.Run(ctx, r.claim,
		[]string{k.part("run", strconv.FormatInt(due.UnixMilli(), 10)), k.part("lock")},
		owner, lease.Milliseconds(), check)
	if err != nil {
		return false, fmt.Errorf("digest: claim run of %q: %w", k.sub(), err)
	}
	return v == int64(1), nil
}

// ReleaseDigestRun gives up owner's lease without completing the run, so
// the next tick (of any replica) retries it.
func (r *RedisStore) ReleaseDigestRun(ctx context.Context, k Key, owner string) error {
	if _, err := r.store.Unlock(ctx, k.part("lock"), owner); err != nil {
		return fmt.Errorf("digest: release run of %q: %w", k.sub(), err)
	}
	return nil
}

// luaComplete records a finished run. KEYS: lock, cursor, done, due set,
// subscription, intent. ARGV: owner, cursor, done ttl ms, member, next ms
// or "", mark done (1/0).
const luaComplete = `
if redis.call("GET", KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] ~= "" then redis.call("SET", KEYS[2], ARGV[2]) end
redis.call("DEL", KEYS[6])
if ARGV[6] == "1" then redis.call("SET", KEYS[3], "1", "PX", ARGV[3]) end
if ARGV[5] ~= "" and redis.call("EXISTS", KEYS[5]) == 1 then redis.call("ZADD", KEYS[4], ARGV[5], ARGV[4]) end
redis.call("DEL", KEYS[1])
return 1
`

// CompleteDigestRun finishes owner's run in one atomic step: it stores
// cursor (unless empty), removes the intent, marks the scheduled run due at due as done (unless
// due is zero), schedules the next run at next (unless next is zero or the
// subscription was deleted meanwhile) and releases the lease. It returns
// ErrLeaseLost, writing nothing, when owner no longer holds the lease.
func (r *RedisStore) CompleteDigestRun(ctx context.Context, k Key, due time.Time, owner string, cursor []byte, next time.Time) error {
	mark, nextArg := "0", ""
	if !due.IsZero() {
		mark = "1"
	}
	if !next.IsZero() {
		nextArg = strconv.FormatInt(next.UnixMilli(), 10)
	}
	v, err := r.store.Run(ctx, r.complete,
		[]string{
			k.part("lock"), k.part("cursor"),
			k.part("run", strconv.FormatInt(due.UnixMilli(), 10)),
			k.due(), k.sub(), k.part("intent"),
		},
		owner, string(cursor), doneTTL.Milliseconds(), k.member(), nextArg, mark)
	if err != nil {
		return fmt.Errorf("digest: complete run of %q: %w", k.sub(), err)
	}
	if v != int64(1) {
		return fmt.Errorf("digest: complete run of %q: %w", k.sub(), ErrLeaseLost)
	}
	return nil
}

// DigestCursor returns the subscription's stored cursor; the error wraps
// ErrNotFound before its first completed run.
func (r *RedisStore) DigestCursor(ctx context.Context, k Key) ([]byte, error) {
	c, err := r.store.Get(ctx, k.part("cursor"))
	switch {
	case errors.Is(err, redisstore.ErrNotFound):
		return nil, fmt.Errorf("digest: cursor of %q: %w", k.sub(), ErrNotFound)
	case err != nil:
		return nil, fmt.Errorf("digest: cursor of %q: %w", k.sub(), err)
	}
	return c, nil
}

// Forget removes every digest subscription of workspace ws (under ws's
// keys only: a subscription made before its team joined an Enterprise Grid
// org is under the workspace without the org, which the caller forgets as
// a workspace of its own), each with its cursor, lease and schedule, then
// the workspace's index, and returns how many it removed. The markers of
// finished runs are left to expire (8 days), and ws leaves
// digests:workspaces. It is for an uninstall.
// Errors wrap redisstore.ErrUnavailable.
func (r *RedisStore) Forget(ctx context.Context, ws commands.Workspace) (int, error) {
	idx := Key{TeamID: ws.TeamID, EnterpriseID: ws.EnterpriseID}.index()
	ids, err := r.store.SMembers(ctx, idx)
	if err != nil {
		return 0, fmt.Errorf("digest: forget %q: %w", idx, err)
	}
	n := 0
	for _, id := range ids {
		deleted, err := r.DeleteDigest(ctx, key(ws, id))
		if err != nil {
			return n, fmt.Errorf("digest: forget %q: %w", idx, err)
		}
		if deleted {
			n++
		}
	}
	if err := r.store.Del(ctx, idx); err != nil {
		return n, fmt.Errorf("digest: forget %q: %w", idx, err)
	}
	// Nothing is left to schedule: DueDigests need not visit ws any more.
	// (A subscription made while this runs may lose its schedule; an
	// uninstalled workspace makes none.)
	if err := r.store.SRem(ctx, workspacesKey, Key{TeamID: ws.TeamID, EnterpriseID: ws.EnterpriseID}.base()); err != nil {
		return n, fmt.Errorf("digest: forget %q: %w", idx, err)
	}
	return n, nil
}

// Time returns Redis's clock, the one every replica shares.
func (r *RedisStore) Time(ctx context.Context) (time.Time, error) {
	t, err := r.store.Time(ctx)
	if err != nil {
		return time.Time{}, fmt.Errorf("digest: clock: %w", err)
	}
	return t, nil
}

// luaPutIntent stores an intent while the lease is held.
// KEYS: lock, intent. ARGV: owner, intent, ttl ms.
const luaPutIntent = `
if redis.call("GET", KEYS[1]) ~= ARGV[1] then return 0 end
redis.call("SET", KEYS[2], ARGV[2], "PX", ARGV[3])
return 1
`

// PutDigestIntent stores owner's intent to post, replacing any earlier
// one, only while owner holds the lease (else ErrLeaseLost, writing
// nothing). It expires with the run's done mark, so an intent nobody
// resolves does not stay for ever.
func (r *RedisStore) PutDigestIntent(ctx context.Context, k Key, owner string, intent []byte) error {
	v, err := r.store.Run(ctx, r.putIntent, []string{k.part("lock"), k.part("intent")}, owner, string(intent), doneTTL.Milliseconds())
	if err != nil {
		return fmt.Errorf("digest: put intent of %q: %w", k.sub(), err)
	}
	if v != int64(1) {
		return fmt.Errorf("digest: put intent of %q: %w", k.sub(), ErrLeaseLost)
	}
	return nil
}

// DigestIntent returns the intent an unrecorded run left; the error wraps
// ErrNotFound when there is none.
func (r *RedisStore) DigestIntent(ctx context.Context, k Key) ([]byte, error) {
	b, err := r.store.Get(ctx, k.part("intent"))
	switch {
	case errors.Is(err, redisstore.ErrNotFound):
		return nil, fmt.Errorf("digest: intent of %q: %w", k.sub(), ErrNotFound)
	case err != nil:
		return nil, fmt.Errorf("digest: intent of %q: %w", k.sub(), err)
	}
	return b, nil
}

// luaSettle stores the cursor of an earlier run found posted and removes
// its intent, keeping the lease. KEYS: lock, cursor, intent. ARGV: owner,
// cursor.
const luaSettle = `
if redis.call("GET", KEYS[1]) ~= ARGV[1] then return 0 end
redis.call("SET", KEYS[2], ARGV[2])
redis.call("DEL", KEYS[3])
return 1
`

// SettleDigestIntent records an earlier run whose post was found after
// all: it stores cursor and removes the intent in one step, only while
// owner holds the lease (else ErrLeaseLost, writing nothing), and keeps
// the lease for owner's own run.
func (r *RedisStore) SettleDigestIntent(ctx context.Context, k Key, owner string, cursor []byte) error {
	v, err := r.store.Run(ctx, r.settle, []string{k.part("lock"), k.part("cursor"), k.part("intent")}, owner, string(cursor))
	if err != nil {
		return fmt.Errorf("digest: settle intent of %q: %w", k.sub(), err)
	}
	if v != int64(1) {
		return fmt.Errorf("digest: settle intent of %q: %w", k.sub(), ErrLeaseLost)
	}
	return nil
}
