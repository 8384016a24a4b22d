package tokenstore

import (
	"context"
	"crypto/rand"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/flagbot/flagbot/internal/commands"
)

// invalidationChannel is the Redis channel on which every replica announces
// a workspace whose connection it changed. A message is the announcing
// Cache's id, a space and the team ID: a Cache has already dropped what it
// changed itself, so it skips its own messages.
const invalidationChannel = "connections:changed"

// maxCached bounds the entries a Cache holds; when full it starts over.
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

// Cache keeps decrypted connections in memory, so that a command does not
// read and decrypt the workspace's connection from Redis each time. It
// implements commands.Workspaces in front of a Store.
//
// It is never wrong for longer than MaxAge, and in practice for a few
// milliseconds: Put, Delete and Update on any replica announce the team on
// a Redis channel, and every replica's Cache drops that team when the
// message arrives. Until its subscription is confirmed, and again from the
// moment it is lost until it is back (when everything is dropped, since
// messages were missed), a Cache serves nothing from memory. A Get that
// raced an invalidation does not keep what it read.
type Cache struct {
	store  *Store
	bus    Bus
	id     string // this Cache, in its announcements
	maxAge time.Duration
	now    func() time.Time
	log    *slog.Logger

	mu      sync.Mutex
	entries map[commands.Workspace]cached
	gen     uint64 // bumped by every invalidation and reset
	live    bool   // the subscription is up
}

type cached struct {
	conn commands.Connection
	at   time.Time
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
		entries: map[commands.Workspace]cached{},
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
	c.gen++
	c.live = up
}

// heard handles an announcement: another Cache changed a team's
// connection.
func (c *Cache) heard(msg string) {
	from, team, ok := strings.Cut(msg, " ")
	if !ok {
		team = msg // unknown sender: drop it anyway
	} else if from == c.id {
		return
	}
	c.drop(team)
}

// drop forgets every cached connection of team.
func (c *Cache) drop(team string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	for ws := range c.entries {
		if ws.TeamID == team {
			delete(c.entries, ws)
		}
	}
}

// Get returns ws's connection, from memory when a fresh copy is there.
func (c *Cache) Get(ctx context.Context, ws commands.Workspace) (commands.Connection, error) {
	now := c.now()
	c.mu.Lock()
	e, ok := c.entries[ws]
	gen, live := c.gen, c.live
	c.mu.Unlock()
	if ok && live && now.Sub(e.at) < c.maxAge {
		return e.conn, nil
	}
	conn, err := c.store.Get(ctx, ws)
	if err != nil || !live || c.maxAge <= 0 {
		return conn, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen == gen && c.live {
		if len(c.entries) >= maxCached {
			clear(c.entries)
		}
		c.entries[ws] = cached{conn: conn, at: now}
	}
	return conn, nil
}

// Put stores ws's connection and tells every replica.
func (c *Cache) Put(ctx context.Context, ws commands.Workspace, conn commands.Connection) error {
	defer c.changed(ctx, ws)
	return c.store.Put(ctx, ws, conn)
}

// Delete removes ws's connection and tells every replica.
func (c *Cache) Delete(ctx context.Context, ws commands.Workspace) error {
	defer c.changed(ctx, ws)
	return c.store.Delete(ctx, ws)
}

// Update changes ws's connection and tells every replica.
func (c *Cache) Update(ctx context.Context, ws commands.Workspace, fn func(*commands.Connection) error) error {
	defer c.changed(ctx, ws)
	return c.store.Update(ctx, ws, fn)
}

// Forget removes ws's connection (an uninstall) and tells every replica.
func (c *Cache) Forget(ctx context.Context, ws commands.Workspace) error {
	defer c.changed(ctx, ws)
	return c.store.Forget(ctx, ws)
}

// changed drops ws here and announces it to the other replicas. It runs
// after a write whatever its outcome (a failed write may have landed). A
// lost announcement leaves the others stale for at most MaxAge.
func (c *Cache) changed(ctx context.Context, ws commands.Workspace) {
	c.drop(ws.TeamID)
	if c.maxAge <= 0 {
		return
	}
	if err := c.bus.Publish(context.WithoutCancel(ctx), invalidationChannel, c.id+" "+ws.TeamID); err != nil {
		c.log.WarnContext(ctx, "could not tell the other replicas about a changed connection; they may use the old one for up to the cache's age",
			"team_id", ws.TeamID, "max_age", c.maxAge, "err", err)
	}
}
