// Package tokenstore keeps each Slack workspace's LaunchDarkly connection
// (its access token and a little metadata) encrypted at rest. It implements
// commands.Workspaces.
//
// It is a package of its own because it is the one place in Flagbot that
// handles plaintext LaunchDarkly tokens together with the encryption key:
// nothing else decrypts a stored connection, and nothing else sees the key.
//
// Each connection is stored under ws:{enterprise or _}:{team}:connection
// (redisstore.WorkspaceKey(team, enterprise, "connection")) as a JSON
// envelope
//
//	{"v":1,"kid":"<key id>","nonce":"<base64>","ct":"<base64>"}
//
// where ct is the AES-256-GCM sealing of the connection's JSON, with the key
// string as additional data so that a ciphertext copied under another
// workspace's key does not decrypt. kid names the key (see KeyID), so a
// Keyring holding the current key and older ones can read connections
// written before a key rotation.
//
// tokenstore talks to storage through the small KV interface, which
// *redisstore.Store satisfies; from internal/redisstore it uses only the key
// scheme, so its keys are those of every other package. It must not import
// slack-go, go-redis, miniredis or internal/approvals.
package tokenstore
