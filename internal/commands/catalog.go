package commands

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
	"sync"
	"time"
)

// The flag catalog is a per-workspace, per-project cache of flag keys,
// names, tags and on/off in the default environment, and of the project's
// environments. It answers the request modal's flag picker, whose
// block_suggestion Slack waits 3 s for: a slow LaunchDarkly answers with
// what the catalog has rather than nothing. It lives in the process (it is
// neither Redis nor shared between replicas) and is bounded:
//
//   - in age: an entry younger than FreshFor answers as it is; an older one
//     still answers but starts a background refresh; one older than MaxAge
//     is dropped;
//   - in size: at most MaxFlags flags per entry (the rest are found by
//     asking LaunchDarkly's search directly) and at most MaxEntries entries,
//     the least recently used dropped first.
//
// A refresh runs in the background (one per entry at a time) under its own
// timeout, so the request that started it never waits for it.

// Defaults for CatalogOptions' zero values.
const (
	defaultCatalogFreshFor   = time.Minute
	defaultCatalogMaxAge     = 15 * time.Minute
	defaultCatalogMaxFlags   = 2000
	defaultCatalogMaxEntries = 100
	defaultCatalogRefresh    = 30 * time.Second
	// catalogPage is how many flags one refresh request reads.
	catalogPage = 100
	// MaxFlagSuggestions is the most flags SuggestFlags returns: Slack shows
	// at most 100 options.
	MaxFlagSuggestions = 100
)

// CatalogOptions bound the flag catalog; the zero value is valid.
type CatalogOptions struct {
	// FreshFor is how long an entry answers without a refresh (default 1m).
	FreshFor time.Duration
	// MaxAge is how long an entry may answer at all (default 15m).
	MaxAge time.Duration
	// MaxFlags is the most flags kept per workspace and project (default
	// 2000, about 300 KB).
	MaxFlags int
	// MaxEntries is the most workspace-projects kept (default 100).
	MaxEntries int
	// RefreshTimeout bounds one background refresh (default 30s).
	RefreshTimeout time.Duration
}

// FlagChoice is one flag as a picker offers it: On is its state in Env of
// the FlagSuggestions it came in (meaningless when that Env is "").
type FlagChoice struct {
	Key  string
	Name string
	Tags []string
	On   bool
}

// FlagSuggestions answers a flag picker: at most MaxFlagSuggestions flags
// of Project matching the typed words, best first, with on/off in Env (the
// workspace's default environment, "" when it has none in Project).
type FlagSuggestions struct {
	Project string
	Env     string
	Flags   []FlagChoice
	// Stale is true when the answer came from a catalog entry older than
	// FreshFor (a refresh is under way).
	Stale bool
	// Partial is true when LaunchDarkly did not answer in time and the
	// catalog had nothing yet: Flags may miss some or all matches.
	Partial bool
}

type catalogKey struct {
	ws      Workspace
	project string
}

type catalogEntry struct {
	token      string // fingerprint of the token the entry was read with
	env        string
	flags      []FlagChoice
	complete   bool // every flag of the project is in flags
	at         time.Time
	refreshing bool
	used       time.Time
	envs       []Environment
	envsAt     time.Time
}

type flagCatalog struct {
	opts CatalogOptions
	mu   sync.Mutex
	m    map[catalogKey]*catalogEntry
}

func newFlagCatalog(o CatalogOptions) *flagCatalog {
	if o.FreshFor <= 0 {
		o.FreshFor = defaultCatalogFreshFor
	}
	if o.MaxAge <= 0 {
		o.MaxAge = defaultCatalogMaxAge
	}
	o.MaxAge = max(o.MaxAge, o.FreshFor)
	if o.MaxFlags <= 0 {
		o.MaxFlags = defaultCatalogMaxFlags
	}
	if o.MaxEntries <= 0 {
		o.MaxEntries = defaultCatalogMaxEntries
	}
	if o.RefreshTimeout <= 0 {
		o.RefreshTimeout = defaultCatalogRefresh
	}
	return &flagCatalog{opts: o, m: make(map[catalogKey]*catalogEntry)}
}

// tokenPrint identifies a token without keeping it: an entry read with
// another token (the workspace reconnected) is not used.
func tokenPrint(c Connection) string {
	sum := sha256.Sum256([]byte(c.Token.Reveal()))
	return hex.EncodeToString(sum[:8])
}

// entryLocked returns the usable entry for k, dropping one that is too old
// or was read with another token or for another environment. c.mu must be
// held.
func (c *flagCatalog) entryLocked(k catalogKey, token, env string, now time.Time) *catalogEntry {
	e := c.m[k]
	if e == nil {
		return nil
	}
	if e.token != token || e.env != env || (now.Sub(e.at) > c.opts.MaxAge && now.Sub(e.envsAt) > c.opts.MaxAge) {
		if !e.refreshing {
			delete(c.m, k)
		}
		return nil
	}
	e.used = now
	return e
}

// ensureLocked returns k's entry, creating it (and evicting the least
// recently used entries beyond MaxEntries). c.mu must be held.
func (c *flagCatalog) ensureLocked(k catalogKey, token, env string, now time.Time) *catalogEntry {
	if e := c.entryLocked(k, token, env, now); e != nil {
		return e
	}
	if e := c.m[k]; e != nil && e.refreshing {
		return e // a refresh for the old token or env finishes into it and is replaced next time
	}
	e := &catalogEntry{token: token, env: env, used: now}
	c.m[k] = e
	for len(c.m) > c.opts.MaxEntries {
		var oldest catalogKey
		var at time.Time
		first := true
		for key, x := range c.m {
			if key != k && (first || x.used.Before(at)) {
				oldest, at, first = key, x.used, false
			}
		}
		if first {
			break
		}
		delete(c.m, oldest)
	}
	return e
}

// refresh starts a background read of every flag of k (up to MaxFlags),
// unless one is under way.
func (c *flagCatalog) refresh(k catalogKey, token, env string, client FlagReader, now func() time.Time) {
	c.mu.Lock()
	e := c.ensureLocked(k, token, env, now())
	if e.refreshing {
		c.mu.Unlock()
		return
	}
	e.refreshing = true
	c.mu.Unlock()
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), c.opts.RefreshTimeout)
		defer cancel()
		flags, complete, err := readCatalog(ctx, client, k.project, env, c.opts.MaxFlags)
		c.mu.Lock()
		defer c.mu.Unlock()
		e.refreshing = false
		if err != nil || e.token != token || e.env != env {
			return
		}
		e.flags, e.complete, e.at = flags, complete, now()
	}()
}

// readCatalog reads up to limit flags of project, page by page.
func readCatalog(ctx context.Context, client FlagReader, project, env string, limit int) ([]FlagChoice, bool, error) {
	var out []FlagChoice
	for offset := 0; ; offset += catalogPage {
		p, err := client.ListFlags(ctx, project, FlagQuery{Env: env, Limit: catalogPage, Offset: offset})
		if err != nil {
			return nil, false, err
		}
		for _, f := range p.Items {
			if len(out) == limit {
				return out, false, nil
			}
			out = append(out, choiceOf(f, env))
		}
		if len(p.Items) < catalogPage || len(out) >= p.TotalCount {
			return out, true, nil
		}
	}
}

func choiceOf(f Flag, env string) FlagChoice {
	return FlagChoice{Key: f.Key, Name: f.Name, Tags: slices.Clone(f.Tags), On: f.Environments[env].On}
}

// SuggestFlags answers a flag picker for actor: the flags of project (the
// workspace's default when "") whose key, name or tags contain every word
// of query, from the flag catalog. A cold catalog asks LaunchDarkly's
// search within ctx (and fills the catalog in the background); when that
// does not answer in time the answer is Partial, not an error. Outsiders
// get a KindOutsider error; an unconnected workspace KindNotConnected.
func (e *Executor) SuggestFlags(ctx context.Context, actor Actor, projectKey, query string) (FlagSuggestions, error) {
	if actor.Outsider {
		return FlagSuggestions{}, outsiderError()
	}
	conn, client, err := e.connected(ctx, actor)
	if err != nil {
		return FlagSuggestions{}, err
	}
	p, err := project(projectKey, conn)
	if err != nil {
		return FlagSuggestions{}, err
	}
	env := ""
	if strings.EqualFold(p, conn.DefaultProject) {
		env = conn.DefaultEnv
	}
	out := FlagSuggestions{Project: p, Env: env}
	k, token := catalogKey{ws: actor.Workspace, project: p}, tokenPrint(conn)
	now := e.now()
	c := e.catalog
	c.mu.Lock()
	entry := c.entryLocked(k, token, env, now)
	var cached []FlagChoice
	loaded, complete := false, false
	if entry != nil && !entry.at.IsZero() && now.Sub(entry.at) <= c.opts.MaxAge {
		cached, loaded, complete = entry.flags, true, entry.complete
		out.Stale = now.Sub(entry.at) > c.opts.FreshFor
	}
	c.mu.Unlock()
	if !loaded || out.Stale {
		c.refresh(k, token, env, client, e.opts.Now)
	}
	if loaded {
		out.Flags = matchFlags(cached, query, MaxFlagSuggestions)
		if complete || strings.TrimSpace(query) == "" || len(out.Flags) == MaxFlagSuggestions {
			return out, nil
		}
	}
	// Not in the catalog (cold, or the project has more flags than it
	// keeps): LaunchDarkly's own search, within what is left of ctx.
	page, err := client.ListFlags(ctx, p, FlagQuery{Env: env, Query: strings.TrimSpace(query), Limit: MaxFlagSuggestions})
	if err != nil {
		if ctx.Err() != nil || KindOf(err) == KindUnavailable || KindOf(err) == KindRateLimited {
			out.Partial = !loaded
			return out, nil
		}
		return FlagSuggestions{}, serviceError(ctx, err)
	}
	found := make([]FlagChoice, 0, len(page.Items)+len(out.Flags))
	found = append(found, out.Flags...)
	for _, f := range page.Items {
		if !slices.ContainsFunc(found, func(x FlagChoice) bool { return x.Key == f.Key }) {
			found = append(found, choiceOf(f, env))
		}
	}
	out.Flags = matchFlags(found, query, MaxFlagSuggestions)
	return out, nil
}

// projectEnvironments returns the environments of project, from the
// catalog when it read them less than FreshFor ago (or, when LaunchDarkly
// fails, less than MaxAge ago).
func (e *Executor) projectEnvironments(ctx context.Context, ws Workspace, conn Connection, client ProjectReader, p string) ([]Environment, error) {
	c := e.catalog
	k, token := catalogKey{ws: ws, project: p}, tokenPrint(conn)
	env := ""
	if strings.EqualFold(p, conn.DefaultProject) {
		env = conn.DefaultEnv
	}
	now := e.now()
	c.mu.Lock()
	var cached []Environment
	var at time.Time
	if entry := c.entryLocked(k, token, env, now); entry != nil {
		cached, at = entry.envs, entry.envsAt
	}
	c.mu.Unlock()
	if cached != nil && now.Sub(at) <= c.opts.FreshFor {
		return cached, nil
	}
	envs, err := client.ListEnvironments(ctx, p)
	if err != nil {
		if cached != nil && now.Sub(at) <= c.opts.MaxAge && KindOf(err) != KindNotFound {
			return cached, nil
		}
		return nil, err
	}
	c.mu.Lock()
	entry := c.ensureLocked(k, token, env, now)
	entry.envs, entry.envsAt = envs, now
	c.mu.Unlock()
	return envs, nil
}

// matchFlags returns up to limit flags whose key, name or a tag contains
// every word of query (case-insensitively), best first: an exact key, then
// keys starting with the first word, keys containing the words, names, and
// tags; ties by key.
func matchFlags(flags []FlagChoice, query string, limit int) []FlagChoice {
	words := strings.Fields(strings.ToLower(query))
	type scored struct {
		f     FlagChoice
		score int
	}
	var hits []scored
	for _, f := range flags {
		key, name := strings.ToLower(f.Key), strings.ToLower(f.Name)
		score, ok := 0, true
		for _, w := range words {
			switch {
			case key == w:
				score -= 10
			case strings.HasPrefix(key, w):
			case strings.Contains(key, w):
				score++
			case strings.Contains(name, w):
				score += 2
			case slices.ContainsFunc(f.Tags, func(t string) bool { return strings.Contains(strings.ToLower(t), w) }):
				score += 3
			default:
				ok = false
			}
			if !ok {
				break
			}
		}
		if ok {
			hits = append(hits, scored{f, score})
		}
	}
	slices.SortStableFunc(hits, func(a, b scored) int {
		if c := cmp.Compare(a.score, b.score); c != 0 {
			return c
		}
		return strings.Compare(a.f.Key, b.f.Key)
	})
	out := make([]FlagChoice, 0, min(len(hits), limit))
	for _, h := range hits[:min(len(hits), limit)] {
		out = append(out, h.f)
	}
	return out
}
