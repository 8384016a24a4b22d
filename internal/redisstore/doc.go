// Package redisstore is Flagbot's connection to Redis, and the one place
// that knows how Flagbot talks to it.
//
// A Store wraps a go-redis client for one server, a Sentinel-managed
// primary or a Redis Cluster (Open, with a URL of the forms in url.go;
// CheckURL checks one without connecting) or an embedded, in-memory
// miniredis (OpenEmbedded, for
// trying Flagbot out; its clock runs, so TTLs expire as on a real Redis).
// Every key is prefixed (Options.Prefix, "flagbot" by default), every
// operation is bounded by Options.OpTimeout, every Redis failure surfaces as
// an error wrapping ErrUnavailable (ErrReply too when Redis answered with an
// error), no error ever contains the URL's password, and a Store reconnects
// by itself once Redis is back.
//
// On top of that it offers:
//
//   - a small key/value API (Get, Set, Del, CompareAndSwap), which
//     internal/tokenstore uses;
//   - Lua scripts (NewScript, Store.Run: EVALSHA with an EVAL fallback,
//     replies as plain Go values), on which internal/approvals builds the
//     two-person rule and internal/digest its exactly-once runs;
//   - the few other commands those packages need (HGetAll, SMembers,
//     ZRangeUpTo, a lock: TryLock, Unlock, the server's clock: Time, and
//     single-use values: SetIfAbsent, Take, which the OAuth install flow's
//     states use);
//   - the key scheme of workspace data (WorkspaceKey, ParseWorkspaceKey,
//     and EnterpriseKey for an Enterprise Grid org's own data), which every
//     package uses and none copies, so that a change of the scheme is a
//     change of keys.go alone; EnterpriseTeams walks it (SCAN) to find an
//     org's workspaces when an org-wide installation is removed;
//   - what Redis Cluster needs (cluster.go): every key of one workspace
//     carries the team ID as its hash tag, so a script over one
//     workspace's keys touches one slot; ScanKeys walks the key space of
//     every master; ZRangeUpToEach and ZCountEach read the indexes of many
//     workspaces (many slots) in one pipeline, one round trip per node;
//     SAdd, SRem and ZAdd keep the sets of workspaces the sweeps visit;
//   - the one-time migration from the layout before hash tags
//     (UpgradeLayout, UpgradeKey; migrate.go), which packages approvals
//     and digest complete for their indexes.
//
// Scripts must declare every key they touch in KEYS, all in one slot
// (keys of one workspace): a script never builds a key or reads a key it
// finds in a value. On one server that is a rule of the house; on a
// cluster Redis enforces it (CROSSSLOT).
//
// This package owns Flagbot's only imports of github.com/redis/go-redis and
// github.com/alicebob/miniredis: no other package may import them. It must
// not import any other Flagbot package, nor slack-go. Its test helpers live
// in redisstore/redistest, so that the testing package never links into
// the bot.
package redisstore
