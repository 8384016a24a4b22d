package approvals

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/flagbot/flagbot/internal/commands"
)

// Defaults for SweeperOptions.
const (
	// DefaultSweepInterval is how often the sweeper looks for expired
	// changes: an expired request's message says so within 30 seconds.
	DefaultSweepInterval = 30 * time.Second
	// DefaultSweepBatch is how many changes one ExpireDue call marks.
	DefaultSweepBatch = 100
)

// SweeperOptions tunes a Sweeper. The zero value means the defaults.
type SweeperOptions struct {
	// Interval between sweeps. Zero means DefaultSweepInterval.
	Interval time.Duration
	// LockTTL bounds how long one replica holds the sweep lock should it
	// die mid-sweep. Zero means Interval.
	LockTTL time.Duration
	// Batch is how many changes are marked per ExpireDue call; a sweep
	// repeats the call until a batch comes back short. Zero means
	// DefaultSweepBatch.
	Batch int
	// Now is the clock. Nil means time.Now.
	Now func() time.Time
	// OnExpired receives each batch of changes the sweep marked expired,
	// every change exactly once across all replicas, so the caller can
	// update their Slack messages. Nil means they are only logged.
	OnExpired func(ctx context.Context, expired []commands.Change)
}

func (o SweeperOptions) withDefaults() SweeperOptions {
	if o.Interval <= 0 {
		o.Interval = DefaultSweepInterval
	}
	if o.LockTTL <= 0 {
		o.LockTTL = o.Interval
	}
	if o.Batch <= 0 {
		o.Batch = DefaultSweepBatch
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Sweeper marks expired pending changes, on one replica at a time: each
// sweep first takes a Redis lock (SET NX PX with a random token) and skips
// the sweep when another replica holds it. Correctness does not rest on the
// lock (ExpireDue hands each change to exactly one caller); the lock saves
// the other replicas the work.
type Sweeper struct {
	store   *Store
	changes *Changes
	log     *slog.Logger
	opts    SweeperOptions
	lockKey string
	unlock  *redis.Script
}

// NewSweeper returns a sweeper of changes, which must live on s. A nil log
// discards log output.
func NewSweeper(s *Store, changes *Changes, log *slog.Logger, opts SweeperOptions) *Sweeper {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Sweeper{
		store:   s,
		changes: changes,
		log:     log.With("component", "sweeper"),
		opts:    opts.withDefaults(),
		lockKey: s.key("changes:sweeper-lock"),
		unlock:  redis.NewScript(luaUnlock),
	}
}

// Run sweeps at once and then every Interval until ctx ends, when it
// returns nil. A failed sweep (Redis down) is logged and retried at the
// next tick.
func (sw *Sweeper) Run(ctx context.Context) error {
	t := time.NewTicker(sw.opts.Interval)
	defer t.Stop()
	for {
		if n, err := sw.Sweep(ctx); err != nil && ctx.Err() == nil {
			sw.log.WarnContext(ctx, "sweep failed", "err", err)
		} else if n > 0 {
			sw.log.InfoContext(ctx, "swept expired changes", "count", n)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Sweep runs one sweep if this replica gets the lock: it marks every
// change due at Now expired, hands each batch to OnExpired, and releases
// the lock. It returns how many changes it marked (0 when another replica
// holds the lock).
func (sw *Sweeper) Sweep(ctx context.Context) (int, error) {
	token, err := newLockToken()
	if err != nil {
		return 0, err
	}
	got, err := sw.lock(ctx, token)
	if err != nil || !got {
		return 0, err
	}
	defer sw.release(ctx, token)

	total := 0
	for {
		expired, err := sw.changes.ExpireDue(ctx, sw.opts.Now(), sw.opts.Batch)
		if err != nil {
			return total, fmt.Errorf("approvals: sweep: %w", err)
		}
		total += len(expired)
		for _, ch := range expired {
			sw.log.InfoContext(ctx, "change expired",
				"approval_id", ch.ID, "team_id", ch.Workspace.TeamID, "flag_key", ch.Flag, "env_key", ch.Env)
		}
		if len(expired) > 0 && sw.opts.OnExpired != nil {
			sw.opts.OnExpired(ctx, expired)
		}
		if len(expired) < sw.opts.Batch {
			return total, nil
		}
	}
}

func (sw *Sweeper) lock(ctx context.Context, token string) (bool, error) {
	ctx, cancel := sw.store.opContext(ctx)
	defer cancel()
	ok, err := sw.store.client.SetNX(ctx, sw.lockKey, token, sw.opts.LockTTL).Result()
	if err != nil {
		return false, unavailable("take sweep lock", "", err)
	}
	return ok, nil
}

// release deletes the lock if it is still ours; should it fail, the lock
// expires after LockTTL.
func (sw *Sweeper) release(ctx context.Context, token string) {
	ctx, cancel := sw.store.opContext(context.WithoutCancel(ctx))
	defer cancel()
	if err := sw.unlock.Run(ctx, sw.store.client, []string{sw.lockKey}, token).Err(); err != nil {
		sw.log.WarnContext(ctx, "release sweep lock", "err", unavailable("release sweep lock", "", err))
	}
}

func newLockToken() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("approvals: sweep lock token: %w", err)
	}
	return hex.EncodeToString(b), nil
}
