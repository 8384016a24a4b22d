package approvals

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"time"

	"github.com/flagbot/flagbot/internal/commands"
	"github.com/flagbot/flagbot/internal/redisstore"
)

// Defaults for SweeperOptions.
const (
	// DefaultSweepInterval is how often the sweeper looks for expired
	// changes: an expired request's message says so within 30 seconds.
	DefaultSweepInterval = 30 * time.Second
	// DefaultSweepBatch is how many changes one ExpireDue call marks.
	DefaultSweepBatch = 100
	// DefaultStuckAfter is how long after its approval a change approved
	// without a lease (by a replica of a version before leases) still not
	// finished counts as stuck: longer than the longest command timeout (5
	// minutes) plus the time allowed to record an outcome (5 seconds), so
	// the attempt that approved it has certainly ended. Changes approved
	// with a lease are resumed as soon as their lease runs out.
	DefaultStuckAfter = 10 * time.Minute
)

// SweeperOptions tunes a Sweeper. The zero value means the defaults.
type SweeperOptions struct {
	// Interval between sweeps. Zero means DefaultSweepInterval.
	Interval time.Duration
	// LockTTL bounds how long one replica holds the sweep lock should it
	// die mid-sweep, and how long one sweep may work: a sweep stops when
	// its lock would lapse. Zero means Interval.
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
	// StuckAfter is how long after the approval that completed its count
	// a change approved without a lease and still not finished is handed
	// to OnStuck. Zero means DefaultStuckAfter. Changes approved with a
	// lease are handed over once the lease ran out.
	StuckAfter time.Duration
	// OnStuck receives, once per sweep, up to Batch approved changes that
	// nobody is applying any more (Changes.Reclaimable), oldest first, so
	// the caller can claim and finish them
	// (commands.Executor.ResumeApproved) and update their Slack messages.
	// A change is handed again by every sweep until it is claimed or
	// finished; the claim, not the sweep lock, makes sure one attempt at a
	// time works on it. Its ctx ends when the sweep's time is up; nil
	// means stuck changes are only logged.
	OnStuck func(ctx context.Context, stuck []commands.Change)
	// OnScheduled receives, once per sweep, up to Batch scheduled changes
	// whose time has come (Changes.DueScheduled), soonest first, so the
	// caller can claim and apply them (commands.Executor.ApplyScheduled).
	// As with OnStuck, the claim makes one attempt win. Nil: only logged.
	OnScheduled func(ctx context.Context, due []commands.Change)
	// OnRemind receives each batch of pending changes halfway to their
	// expiry (Changes.RemindDue), every change exactly once across all
	// replicas. Nil: only logged.
	OnRemind func(ctx context.Context, pending []commands.Change)
	// OnSignoff receives each batch of applied emergency changes nobody
	// signed off whose reminder or deadline came (Changes.SignoffDue;
	// Change.Signoff says which), every stage of every change exactly once
	// across all replicas. Nil: only logged.
	OnSignoff func(ctx context.Context, unsigned []commands.Change)
	// OnSweep, if set, is told how each of Run's sweeps went, for metrics.
	OnSweep func(SweepReport)
}

// SweepReport says how one sweep went.
type SweepReport struct {
	// Swept is false when another replica held the sweep lock (or the
	// lock could not be taken: then Err says why).
	Swept bool
	// At is when the sweep started and Took how long it ran.
	At   time.Time
	Took time.Duration
	// Expired counts the changes marked expired, Stuck those handed to
	// OnStuck.
	Expired, Stuck int
	Err            error
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
	if o.StuckAfter <= 0 {
		o.StuckAfter = DefaultStuckAfter
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Sweeper marks expired pending changes and finds approved changes whose
// apply never finished, on one replica at a time: each
// sweep first takes a Redis lock (SET NX PX with a random token) and skips
// the sweep when another replica holds it. Correctness does not rest on the
// lock (ExpireDue hands each change to exactly one caller); the lock saves
// the other replicas the work.
type Sweeper struct {
	store   *redisstore.Store
	changes *Changes
	log     *slog.Logger
	opts    SweeperOptions
	lockKey string // without the prefix
}

// NewSweeper returns a sweeper of changes, which must live on s. A nil log
// discards log output.
func NewSweeper(s *redisstore.Store, changes *Changes, log *slog.Logger, opts SweeperOptions) *Sweeper {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Sweeper{
		store:   s,
		changes: changes,
		log:     log.With("component", "sweeper"),
		opts:    opts.withDefaults(),
		lockKey: "changes:sweeper-lock",
	}
}

// Run sweeps at once and then every Interval until ctx ends, when it
// returns nil. A failed sweep (Redis down) is logged and retried at the
// next tick.
func (sw *Sweeper) Run(ctx context.Context) error {
	t := time.NewTicker(sw.opts.Interval)
	defer t.Stop()
	for {
		r := sw.sweep(ctx)
		if r.Err != nil && ctx.Err() == nil {
			sw.log.WarnContext(ctx, "sweep failed", "err", r.Err)
		} else if r.Expired > 0 {
			sw.log.InfoContext(ctx, "swept expired changes", "count", r.Expired)
		}
		if sw.opts.OnSweep != nil && ctx.Err() == nil {
			sw.opts.OnSweep(r)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Sweep runs one sweep if this replica gets the lock: it marks every
// change due at Now expired and hands each batch to OnExpired, then lists
// up to Batch changes approved before Now - StuckAfter and still not
// finished and hands them to OnStuck, then the scheduled changes whose time
// came to OnScheduled, the pending changes halfway to their expiry to
// OnRemind and the unsigned emergency changes due a reminder or overdue to
// OnSignoff, and releases the lock. It returns how many changes it marked
// expired (0 when another replica holds the lock).
func (sw *Sweeper) Sweep(ctx context.Context) (int, error) {
	r := sw.sweep(ctx)
	return r.Expired, r.Err
}

// sweep is Sweep, reported.
func (sw *Sweeper) sweep(ctx context.Context) SweepReport {
	r := SweepReport{At: time.Now()}
	r.Expired, r.Stuck, r.Swept, r.Err = sw.locked(ctx)
	r.Took = time.Since(r.At)
	return r
}

// locked runs one sweep under the lock, if this replica gets it.
func (sw *Sweeper) locked(ctx context.Context) (expiredCount, stuckCount int, swept bool, err error) {
	token, err := newLockToken()
	if err != nil {
		return 0, 0, false, err
	}
	got, err := sw.lock(ctx, token)
	if err != nil || !got {
		return 0, 0, false, err
	}
	defer sw.release(ctx, token)
	// A sweep ends when its lock would lapse: another replica may then
	// sweep, and the per-change claims keep the two from applying twice.
	ctx, cancel := context.WithTimeout(ctx, sw.opts.LockTTL)
	defer cancel()

	total := 0
	for {
		expired, err := sw.changes.ExpireDue(ctx, sw.opts.Now(), sw.opts.Batch)
		if err != nil {
			return total, 0, true, fmt.Errorf("approvals: sweep: %w", err)
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
			break
		}
	}
	n, err := sw.stuck(ctx)
	if err != nil {
		return total, n, true, err
	}
	if err := sw.scheduled(ctx); err != nil {
		return total, n, true, err
	}
	if err := sw.handOut(ctx, "remind", sw.changes.RemindDue, sw.opts.OnRemind); err != nil {
		return total, n, true, err
	}
	return total, n, true, sw.handOut(ctx, "sign-off", sw.changes.SignoffDue, sw.opts.OnSignoff)
}

// scheduled hands the scheduled changes whose time came to OnScheduled.
// DueScheduled does not change them, so it is called once per sweep.
func (sw *Sweeper) scheduled(ctx context.Context) error {
	due, err := sw.changes.DueScheduled(ctx, sw.opts.Now(), sw.opts.Batch)
	if err != nil {
		return fmt.Errorf("approvals: sweep: %w", err)
	}
	for _, ch := range due {
		sw.log.InfoContext(ctx, "scheduled change due",
			"approval_id", ch.ID, "team_id", ch.Workspace.TeamID, "flag_key", ch.Flag, "env_key", ch.Env)
	}
	if len(due) > 0 && sw.opts.OnScheduled != nil {
		sw.opts.OnScheduled(ctx, due)
	}
	return nil
}

// handOut hands what next returns (each change once, across replicas) to
// to in batches until a batch comes back short.
func (sw *Sweeper) handOut(ctx context.Context, what string, next func(context.Context, time.Time, int) ([]commands.Change, error), to func(context.Context, []commands.Change)) error {
	for {
		batch, err := next(ctx, sw.opts.Now(), sw.opts.Batch)
		if err != nil {
			return fmt.Errorf("approvals: sweep: %s: %w", what, err)
		}
		for _, ch := range batch {
			sw.log.InfoContext(ctx, "change due: "+what,
				"approval_id", ch.ID, "team_id", ch.Workspace.TeamID, "flag_key", ch.Flag, "env_key", ch.Env)
		}
		if len(batch) > 0 && to != nil {
			to(ctx, batch)
		}
		if len(batch) < sw.opts.Batch {
			return nil
		}
	}
}

// stuck hands the approved changes nobody is applying to OnStuck and
// returns how many. Reclaimable does not change them, so it is called once
// per sweep, not until a batch comes back short.
func (sw *Sweeper) stuck(ctx context.Context) (int, error) {
	stuck, err := sw.changes.Reclaimable(ctx, sw.opts.Now(), sw.opts.StuckAfter, sw.opts.Batch)
	if err != nil {
		return 0, fmt.Errorf("approvals: sweep: %w", err)
	}
	for _, ch := range stuck {
		sw.log.WarnContext(ctx, "approved change never finished",
			"approval_id", ch.ID, "team_id", ch.Workspace.TeamID, "flag_key", ch.Flag, "env_key", ch.Env)
	}
	if len(stuck) > 0 && sw.opts.OnStuck != nil {
		sw.opts.OnStuck(ctx, stuck)
	}
	return len(stuck), nil
}

func (sw *Sweeper) lock(ctx context.Context, token string) (bool, error) {
	ok, err := sw.store.TryLock(ctx, sw.lockKey, token, sw.opts.LockTTL)
	if err != nil {
		return false, storeError("take sweep lock", "", err)
	}
	return ok, nil
}

// release deletes the lock if it is still ours; should it fail, the lock
// expires after LockTTL.
func (sw *Sweeper) release(ctx context.Context, token string) {
	ctx = context.WithoutCancel(ctx)
	if _, err := sw.store.Unlock(ctx, sw.lockKey, token); err != nil {
		sw.log.WarnContext(ctx, "release sweep lock", "err", storeError("release sweep lock", "", err))
	}
}

func newLockToken() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("approvals: sweep lock token: %w", err)
	}
	return hex.EncodeToString(b), nil
}
