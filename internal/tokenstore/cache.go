package tokenstore

import (
	"context"
	"crypto/rand"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/flagbot/flagbot/internal/commands"
)

// invalidationChannel is the Redis channel on which every replica announces
// a workspace whose connection, or an installation whose bot token, it
// changed. A message is the announcing Cache's id and then, each after a
// space, the team IDs and Enterprise Grid org IDs concerned: a Cache has
// already dropped what it changed itself, so it skips its own messages.
// Team IDs (T…) and org IDs (E…) never collide, so one list carries both.
const invalidationChannel = "connections:changed"

// maxCached bounds the entries of each kind a Cache holds; when full it
// starts over.
const maxCached = 10000

// Bus carries invalidations between replicas; *redisstore.Store
// implements it with Redis pub/sub.
type Bus interface {
	Publish(ctx context.Context, channel, msg string) error
	// Subscribe calls onMessage for each message, and onState(true)
	// whenever the subscription is (re)established and onState(false)
	// whenever it is lost, until ctx ends.
	Subscribe(ctx context.Context, channel string, onState func(up bool), onMessage func(string)) error
}

// CacheOptions tune a Cache.
type CacheOptions struct {
	// MaxAge is how long a decrypted connection may be served from memory;
	// zero turns the cache off (every Get reads Redis). It bounds how stale
	// an answer can be if an invalidation is lost.
	MaxAge time.Duration
	// Logger receives a line when an invalidation could not be sent.
	Logger *slog.Logger
	// Now returns the current time (default time.Now).
	Now func() time.Time
}

// Cache keeps decrypted connections and installations in memory, so that a
// command does not read and decrypt the workspace's LaunchDarkly connection
// or its Slack installation from Redis each time. It implements
// commands.Workspaces, and the installation lookups of slackapp and
// uninstall, in front of a Store.
//
// It is never wrong for longer than MaxAge, and in practice for a few
// milliseconds: Put, Delete, Update and Forget on any replica announce the
// team, and PutInstallation and DeleteInstallation the installation's team
// and org, on a Redis channel; every replica's Cache drops what concerns
// them when the message arrives. Until its subscription is confirmed, and
// again from the moment it is lost until it is back (when everything is
// dropped, since messages were missed), a Cache serves nothing from memory.
// A read that raced an invalidation does not keep what it read.
type Cache struct {
	store  *Store
	bus    Bus
	id     string // this Cache, in its announcements
	maxAge time.Duration
	now    func() time.Time
	log    *slog.Logger

	mu      sync.Mutex
	entries map[commands.Workspace]cached[commands.Connection]
	insts   map[commands.Workspace]cached[commands.Installation]
	gen     uint64 // bumped by every invalidation and reset
	live    bool   // the subscription is up
}

// cached is a decrypted connection or installation and when it was read.
type cached[V any] struct {
	val V
	at  time.Time
}

// NewCache returns a Cache in front of store that hears invalidations on
// bus once Run is running.
func NewCache(store *Store, bus Bus, opts CacheOptions) *Cache {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Cache{
		store: store, bus: bus, maxAge: opts.MaxAge, now: opts.Now, id: rand.Text(),
		log:     opts.Logger.With("component", "tokenstore.cache"),
		entries: map[commands.Workspace]cached[commands.Connection]{},
		insts:   map[commands.Workspace]cached[commands.Installation]{},
	}
}

// Run listens for invalidations until ctx ends. Without it the Cache
// serves nothing from memory.
func (c *Cache) Run(ctx context.Context) error {
	if c.maxAge <= 0 {
		return nil
	}
	err := c.bus.Subscribe(ctx, invalidationChannel, c.state, c.heard)
	c.mu.Lock()
	c.live = false
	c.mu.Unlock()
	return err
}

// Live reports whether the Cache serves from memory: its subscription to
// invalidations is up and MaxAge is positive.
func (c *Cache) Live() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.live && c.maxAge > 0
}

// state drops everything when the subscription comes up or goes down
// (invalidations may have been missed) and serves from memory only while
// it is up.
func (c *Cache) state(up bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.entries)
	clear(c.insts)
	c.gen++
	c.live = up
}

// heard handles an announcement: another Cache changed a team's
// connection, or an installation of teams or orgs.
func (c *Cache) heard(msg string) {
	ids := strings.Fields(msg)
	switch {
	case len(ids) == 0:
		return
	case len(ids) == 1:
		// No sender: drop it anyway.
	case ids[0] == c.id:
		return
	default:
		ids = ids[1:]
	}
	c.drop(ids...)
}

// drop forgets every cached connection and installation that concerns one
// of ids (team or org IDs): of a workspace of that team or org, or an
// installation of it (an org-wide installation serves workspaces whose
// org the lookup did not name).
func (c *Cache) drop(ids ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	named := func(ws commands.Workspace) bool {
		return slices.Contains(ids, ws.TeamID) || (ws.EnterpriseID != "" && slices.Contains(ids, ws.EnterpriseID))
	}
	for ws := range c.entries {
		if named(ws) {
			delete(c.entries, ws)
		}
	}
	for ws, e := range c.insts {
		if named(ws) || named(commands.Workspace{TeamID: e.val.TeamID, EnterpriseID: e.val.EnterpriseID}) {
			delete(c.insts, ws)
		}
	}
}

// Get returns ws's connection, from memory when a fresh copy is there.
func (c *Cache) Get(ctx context.Context, ws commands.Workspace) (commands.Connection, error) {
	return cachedRead(ctx, c, c.entries, ws, c.store.Get)
}

// Installation returns the installation that serves ws (see
// Store.Installation), from memory when a fresh copy is there.
func (c *Cache) Installation(ctx context.Context, ws commands.Workspace) (commands.Installation, error) {
	return cachedRead(ctx, c, c.insts, ws, c.store.Installation)
}

// cachedRead returns ws's entry of m when it is fresh and the Cache is
// live, else what read answers, which it keeps in m unless an invalidation
// or a reset came meanwhile (the answer may predate it).
func cachedRead[V any](ctx context.Context, c *Cache, m map[commands.Workspace]cached[V], ws commands.Workspace,
	read func(context.Context, commands.Workspace) (V, error)) (V, error) {
	now := c.now()
	c.mu.Lock()
	e, ok := m[ws]
	gen, live := c.gen, c.live
	c.mu.Unlock()
	if ok && live && now.Sub(e.at) < c.maxAge {
		return e.val, nil
	}
	v, err := read(ctx, ws)
	if err != nil || !live || c.maxAge <= 0 {
		return v, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen == gen && c.live {
		if len(m) >= maxCached {
			clear(m)
		}
		m[ws] = cached[V]{val: v, at: now}
	}
	return v, nil
}

// PutInstallation stores inst (an install or reinstall) and tells every
// replica.
func (c *Cache) PutInstallation(ctx context.Context, inst commands.Installation) error {
	defer c.changed(ctx, inst.TeamID, inst.EnterpriseID)
	return c.store.PutInstallation(ctx, inst)
}

// DeleteInstallation removes inst (an uninstall) and tells every replica.
func (c *Cache) DeleteInstallation(ctx context.Context, inst commands.Installation) error {
	defer c.changed(ctx, inst.TeamID, inst.EnterpriseID)
	return c.store.DeleteInstallation(ctx, inst)
}

// Put stores ws's connection and tells every replica.
func (c *Cache) Put(ctx context.Context, ws commands.Workspace, conn commands.Connection) error {
	defer c.changed(ctx, ws.TeamID)
	return c.store.Put(ctx, ws, conn)
}

// Delete removes ws's connection and tells every replica.
func (c *Cache) Delete(ctx context.Context, ws commands.Workspace) error {
	defer c.changed(ctx, ws.TeamID)
	return c.store.Delete(ctx, ws)
}

// Update changes ws's connection and tells every replica.
func (c *Cache) Update(ctx context.Context, ws commands.Workspace, fn func(*commands.Connection) error) error {
	defer c.changed(ctx, ws.TeamID)
	return c.store.Update(ctx, ws, fn)
}

// Forget removes ws's connection (an uninstall) and tells every replica.
func (c *Cache) Forget(ctx context.Context, ws commands.Workspace) error {
	defer c.changed(ctx, ws.TeamID)
	return c.store.Forget(ctx, ws)
}

// changed drops what concerns ids (team and org IDs; empty ones are
// skipped) here and announces them to the other replicas. It runs after a
// write whatever its outcome (a failed write may have landed). A lost
// announcement leaves the others stale for at most MaxAge.
func (c *Cache) changed(ctx context.Context, ids ...string) {
	ids = slices.DeleteFunc(ids, func(id string) bool { return id == "" })
	if len(ids) == 0 {
		return
	}
	c.drop(ids...)
	if c.maxAge <= 0 {
		return
	}
	if err := c.bus.Publish(context.WithoutCancel(ctx), invalidationChannel, c.id+" "+strings.Join(ids, " ")); err != nil {
		c.log.WarnContext(ctx, "could not tell the other replicas about a changed connection or installation; they may use the old one for up to the cache's age",
			"ids", ids, "max_age", c.maxAge, "err", err)
	}
}
