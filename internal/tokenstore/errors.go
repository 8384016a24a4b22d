package tokenstore

import "errors"

// ErrInvalidKey is returned by ParseKey and NewKeyring for a key that is not
// 32 bytes (base64-encoded, for ParseKey). Its message never contains the key.
var ErrInvalidKey = errors.New("invalid encryption key: want 32 bytes")

// ErrUnknownKey is returned by Get and Update (with commands.ErrUnreadable)
// when a connection was encrypted with a key the Keyring does not hold (for
// example, an old key was dropped too soon).
var ErrUnknownKey = errors.New("connection encrypted with an unknown key")

// ErrCorrupt is returned by Get and Update (with commands.ErrUnreadable)
// when a stored connection cannot be read: the envelope is malformed, the
// ciphertext was altered or moved to another workspace's key, or it does
// not decrypt with the key its kid names. Its message never contains
// plaintext or key material.
var ErrCorrupt = errors.New("stored connection cannot be decrypted")

// ErrInvalidWorkspace is returned when a workspace has no team ID.
var ErrInvalidWorkspace = errors.New("workspace has no team id")

// ErrContended is returned by Update (and by Get, while moving a connection
// into an Enterprise Grid org) when the connection kept changing under it,
// so it gave up rather than overwrite another writer's change.
var ErrContended = errors.New("connection kept changing during update")
