package approvals

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// The Redis side of audit-log digests (internal/digest). Subscriptions are
// opaque JSON documents to this package; what it owns is where they live and
// the atomic steps that make a scheduled run happen exactly once across
// replicas:
//
//	ws:{ent}:{team}:digests                  set of the workspace's subscription IDs
//	ws:{ent}:{team}:digest:{id}              the subscription (JSON)
//	ws:{ent}:{team}:digest:{id}:cursor       the newest entry already reported (JSON)
//	ws:{ent}:{team}:digest:{id}:lock         the lease of the replica running it now
//	ws:{ent}:{team}:digest:{id}:run:{dueMs}  a scheduled run that is done (expires)
//	digests:due                              sorted set: subscription -> next run (ms)
//
// A run is claimed with SET NX on the lock, refused while the run for that
// due time is marked done; CompleteDigestRun writes the cursor, marks the run
// done and moves the next-run time in one script, only while the lease is
// still held.

// ErrLeaseLost is returned by CompleteDigestRun when the caller's lease on
// the subscription expired or was taken over, so nothing was written.
var ErrLeaseLost = errors.New("digest run lease lost")

// digestDoneTTL is how long a finished scheduled run stays marked done, so a
// slow replica that read an old due time cannot run it again.
const digestDoneTTL = 8 * 24 * time.Hour

const digestDueKey = "digests:due"

// DigestKey names one digest subscription of a workspace.
type DigestKey struct {
	TeamID       string
	EnterpriseID string
	ID           string
}

func (k DigestKey) sub() string { return WorkspaceKey(k.TeamID, k.EnterpriseID, "digest", k.ID) }
func (k DigestKey) part(p ...string) string {
	return WorkspaceKey(k.TeamID, k.EnterpriseID, append([]string{"digest", k.ID}, p...)...)
}
func (k DigestKey) index() string { return WorkspaceKey(k.TeamID, k.EnterpriseID, "digests") }

// member is the subscription's entry in the due set: its key without the
// store prefix, which parseDigestMember reverses.
func (k DigestKey) member() string { return k.sub() }

// parseDigestMember reverses DigestKey.member.
func parseDigestMember(m string) (DigestKey, bool) {
	parts := strings.Split(m, ":")
	if len(parts) != 5 || parts[0] != "ws" || parts[3] != "digest" {
		return DigestKey{}, false
	}
	ent, ok1 := unescapeSegment(parts[1])
	team, ok2 := unescapeSegment(parts[2])
	id, ok3 := unescapeSegment(parts[4])
	if !ok1 || !ok2 || !ok3 {
		return DigestKey{}, false
	}
	if parts[1] == noEnterprise {
		ent = ""
	}
	return DigestKey{TeamID: team, EnterpriseID: ent, ID: id}, true
}

// unescapeSegment reverses escapeSegment.
func unescapeSegment(s string) (string, bool) {
	if !strings.Contains(s, "%") {
		return s, true
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b = append(b, s[i])
			continue
		}
		if i+2 >= len(s) {
			return "", false
		}
		n, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
		if err != nil {
			return "", false
		}
		b = append(b, byte(n))
		i += 2
	}
	return string(b), true
}

// DigestRecord is a stored subscription with its next run time (zero when it
// has none).
type DigestRecord struct {
	Key     DigestKey
	Data    []byte
	NextRun time.Time
}

// DigestDue is a subscription whose run was due at Due.
type DigestDue struct {
	Key DigestKey
	Due time.Time
}

// PutDigest stores a subscription and schedules its next run at next.
// Errors wrap ErrUnavailable.
func (s *Store) PutDigest(ctx context.Context, k DigestKey, data []byte, next time.Time) error {
	ctx, cancel := s.opContext(ctx)
	defer cancel()
	_, err := s.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, s.key(k.sub()), data, 0)
		p.SAdd(ctx, s.key(k.index()), k.ID)
		p.ZAdd(ctx, s.key(digestDueKey), redis.Z{Score: float64(next.UnixMilli()), Member: k.member()})
		return nil
	})
	if err != nil {
		return unavailable("put digest", k.sub(), err)
	}
	return nil
}

// GetDigest returns a stored subscription with its next run; the error
// wraps ErrNotFound when there is none.
func (s *Store) GetDigest(ctx context.Context, k DigestKey) (DigestRecord, error) {
	ctx, cancel := s.opContext(ctx)
	defer cancel()
	var (
		get   *redis.StringCmd
		score *redis.FloatCmd
	)
	_, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		get = p.Get(ctx, s.key(k.sub()))
		score = p.ZScore(ctx, s.key(digestDueKey), k.member())
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return DigestRecord{}, unavailable("get digest", k.sub(), err)
	}
	data, err := get.Bytes()
	if errors.Is(err, redis.Nil) {
		return DigestRecord{}, fmt.Errorf("approvals: get digest %q: %w", k.sub(), ErrNotFound)
	}
	if err != nil {
		return DigestRecord{}, unavailable("get digest", k.sub(), err)
	}
	rec := DigestRecord{Key: k, Data: data}
	if v, err := score.Result(); err == nil {
		rec.NextRun = time.UnixMilli(int64(v))
	}
	return rec, nil
}

// ListDigests returns the workspace's subscriptions (in no particular
// order) with their next runs. Errors wrap ErrUnavailable.
func (s *Store) ListDigests(ctx context.Context, teamID, enterpriseID string) ([]DigestRecord, error) {
	ctx, cancel := s.opContext(ctx)
	defer cancel()
	idx := WorkspaceKey(teamID, enterpriseID, "digests")
	ids, err := s.client.SMembers(ctx, s.key(idx)).Result()
	if err != nil {
		return nil, unavailable("list digests", idx, err)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	keys := make([]DigestKey, len(ids))
	gets := make([]*redis.StringCmd, len(ids))
	scores := make([]*redis.FloatCmd, len(ids))
	_, err = s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			keys[i] = DigestKey{TeamID: teamID, EnterpriseID: enterpriseID, ID: id}
			gets[i] = p.Get(ctx, s.key(keys[i].sub()))
			scores[i] = p.ZScore(ctx, s.key(digestDueKey), keys[i].member())
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, unavailable("list digests", idx, err)
	}
	out := make([]DigestRecord, 0, len(ids))
	for i := range ids {
		data, err := gets[i].Bytes()
		if err != nil {
			continue // deleted between SMEMBERS and GET
		}
		rec := DigestRecord{Key: keys[i], Data: data}
		if v, err := scores[i].Result(); err == nil {
			rec.NextRun = time.UnixMilli(int64(v))
		}
		out = append(out, rec)
	}
	return out, nil
}

// DeleteDigest removes a subscription, its cursor, lease and schedule.
// deleted is false when there was no such subscription.
func (s *Store) DeleteDigest(ctx context.Context, k DigestKey) (deleted bool, err error) {
	ctx, cancel := s.opContext(ctx)
	defer cancel()
	var del *redis.IntCmd
	_, err = s.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		del = p.Del(ctx, s.key(k.sub()))
		p.Del(ctx, s.key(k.part("cursor")), s.key(k.part("lock")))
		p.SRem(ctx, s.key(k.index()), k.ID)
		p.ZRem(ctx, s.key(digestDueKey), k.member())
		return nil
	})
	if err != nil {
		return false, unavailable("delete digest", k.sub(), err)
	}
	return del.Val() > 0, nil
}

// DueDigests returns at most limit subscriptions whose next run is at or
// before now, earliest first, across all workspaces.
func (s *Store) DueDigests(ctx context.Context, now time.Time, limit int) ([]DigestDue, error) {
	ctx, cancel := s.opContext(ctx)
	defer cancel()
	zs, err := s.client.ZRangeArgsWithScores(ctx, redis.ZRangeArgs{
		Key: s.key(digestDueKey), Start: "-inf", Stop: strconv.FormatInt(now.UnixMilli(), 10),
		ByScore: true, Count: int64(limit),
	}).Result()
	if err != nil {
		return nil, unavailable("due digests", digestDueKey, err)
	}
	out := make([]DigestDue, 0, len(zs))
	for _, z := range zs {
		m, _ := z.Member.(string)
		k, ok := parseDigestMember(m)
		if !ok {
			s.log.WarnContext(ctx, "ignoring malformed digest schedule entry", "member", m)
			continue
		}
		out = append(out, DigestDue{Key: k, Due: time.UnixMilli(int64(z.Score))})
	}
	return out, nil
}

// claimScript takes the subscription's lease unless the scheduled run is
// already done. KEYS: done, lock. ARGV: owner, lease ms, check done (1/0).
var claimScript = redis.NewScript(`
if ARGV[3] == "1" and redis.call("EXISTS", KEYS[1]) == 1 then return 0 end
if redis.call("SET", KEYS[2], ARGV[1], "NX", "PX", ARGV[2]) then return 1 end
return 0
`)

// ClaimDigestRun takes a lease of length lease on the subscription for
// owner. For a scheduled run (due not zero) it refuses when the run due at
// that time was already completed by anyone; for an unscheduled run (due
// zero, `/flag digest now`) it only takes the lease. claimed is false when
// another owner holds the lease or the run is done.
func (s *Store) ClaimDigestRun(ctx context.Context, k DigestKey, due time.Time, owner string, lease time.Duration) (claimed bool, err error) {
	ctx, cancel := s.opContext(ctx)
	defer cancel()
	check := "0"
	if !due.IsZero() {
		check = "1"
	}
	n, err := claimScript.Run(ctx, s.client,
		[]string{s.key(k.part("run", strconv.FormatInt(due.UnixMilli(), 10))), s.key(k.part("lock"))},
		owner, lease.Milliseconds(), check).Int()
	if err != nil {
		return false, unavailable("claim digest run", k.sub(), err)
	}
	return n == 1, nil
}

// releaseScript deletes the lease if owner holds it. KEYS: lock. ARGV: owner.
var releaseScript = redis.NewScript(`
if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end
return 0
`)

// ReleaseDigestRun gives up owner's lease without completing the run, so
// the next tick (of any replica) retries it.
func (s *Store) ReleaseDigestRun(ctx context.Context, k DigestKey, owner string) error {
	ctx, cancel := s.opContext(ctx)
	defer cancel()
	if err := releaseScript.Run(ctx, s.client, []string{s.key(k.part("lock"))}, owner).Err(); err != nil {
		return unavailable("release digest run", k.sub(), err)
	}
	return nil
}

// completeScript records a finished run. KEYS: lock, cursor, done, due set,
// subscription. ARGV: owner, cursor, done ttl ms, member, next ms or "",
// mark done (1/0).
var completeScript = redis.NewScript(`
if redis.call("GET", KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] ~= "" then redis.call("SET", KEYS[2], ARGV[2]) end
if ARGV[6] == "1" then redis.call("SET", KEYS[3], "1", "PX", ARGV[3]) end
if ARGV[5] ~= "" and redis.call("EXISTS", KEYS[5]) == 1 then redis.call("ZADD", KEYS[4], ARGV[5], ARGV[4]) end
redis.call("DEL", KEYS[1])
return 1
`)

// CompleteDigestRun finishes owner's run in one atomic step: it stores
// cursor (unless empty), marks the scheduled run due at due as done (unless
// due is zero), schedules the next run at next (unless next is zero or the
// subscription was deleted meanwhile) and releases the lease. It returns
// ErrLeaseLost, writing nothing, when owner no longer holds the lease.
func (s *Store) CompleteDigestRun(ctx context.Context, k DigestKey, due time.Time, owner string, cursor []byte, next time.Time) error {
	ctx, cancel := s.opContext(ctx)
	defer cancel()
	mark, nextArg := "0", ""
	if !due.IsZero() {
		mark = "1"
	}
	if !next.IsZero() {
		nextArg = strconv.FormatInt(next.UnixMilli(), 10)
	}
	n, err := completeScript.Run(ctx, s.client,
		[]string{
			s.key(k.part("lock")), s.key(k.part("cursor")),
			s.key(k.part("run", strconv.FormatInt(due.UnixMilli(), 10))),
			s.key(digestDueKey), s.key(k.sub()),
		},
		owner, string(cursor), digestDoneTTL.Milliseconds(), k.member(), nextArg, mark).Int()
	if err != nil {
		return unavailable("complete digest run", k.sub(), err)
	}
	if n != 1 {
		return fmt.Errorf("approvals: complete digest run %q: %w", k.sub(), ErrLeaseLost)
	}
	return nil
}

// DigestCursor returns the subscription's stored cursor; the error wraps
// ErrNotFound before its first completed run.
func (s *Store) DigestCursor(ctx context.Context, k DigestKey) ([]byte, error) {
	return s.Get(ctx, k.part("cursor"))
}
