// Package tokenstore keeps each Slack workspace's LaunchDarkly connection
// (its access token and a little metadata) encrypted at rest, and, when
// Flagbot is installed through OAuth, each installation's Slack bot token
// (installations.go). It implements commands.Workspaces.
//
// It is a package of its own because it is the one place in Flagbot that
// handles plaintext tokens together with the encryption key: nothing else
// decrypts a stored connection or installation, and nothing else sees the
// key. Installations are a second record kind here rather than a package of
// their own for that reason: they share the envelope, the Keyring and its
// rotation (an old key's installation is sealed again on read, like a
// connection), so one key rotation covers every token Flagbot stores.
//
// Forget removes what a workspace stored here when its installation is
// removed (see package uninstall).
//
// Each connection is stored under ws:<enterprise or _>:{<team>}:connection
// (redisstore.WorkspaceKey(team, enterprise, "connection")) as a JSON
// envelope
//
//	{"v":1,"kid":"<key id>","nonce":"<base64>","ct":"<base64>"}
//
// where ct is the AES-256-GCM sealing of the connection's JSON, with the key
// string as additional data so that a ciphertext copied under another
// workspace's key does not decrypt. The key string is taken without its
// hash tag's braces (ws:_:T1:connection for ws:_:{T1}:connection): the
// name the key had before Redis Cluster hash tags, so connections and
// installations sealed then still open once the migration at start gave
// their keys today's names.
//
// # Key rotation
//
// kid names the key that sealed the envelope (see KeyID), and a Keyring
// holds the current key and older ones. Get opens a connection with
// whichever key its kid names and, when that is an older key, seals it
// again with the current one (a compare-and-swap: a concurrent reconnect
// wins). A connection that no key of the Keyring opens is reported with an
// error matching commands.ErrUnreadable; Put and Delete never need to read
// it, so an admin can always reconnect or disconnect.
//
// # Enterprise Grid
//
// A Slack team ID names one workspace, in or out of an Enterprise Grid org,
// but Slack sends an enterprise ID only once the workspace is in an org. A
// workspace connected before it joined one has its connection under
// ws:_:{<team>}:connection. The first Get or Update with the enterprise moves
// it, in one atomic script, to ws:<enterprise>:{<team>}:connection (sealed
// anew for that key) and records the org in ws:_:{<team>}:enterprise. From
// then on, a lookup without the enterprise (a change or a digest recorded
// before the move names the workspace that way) follows that record. Put
// and Delete with the enterprise also remove the old key, so a disconnected
// workspace cannot get its old connection back.
//
// tokenstore talks to storage through the small KV interface, which
// *redisstore.Store satisfies; from internal/redisstore it uses the key
// scheme and Lua scripts, so its keys are those of every other package. It
// must not import slack-go, go-redis, miniredis or internal/approvals.
package tokenstore
