package tokenstore

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/flagbot/flagbot/internal/secret"
)

// KeySize is the size of an encryption key in bytes (AES-256).
const KeySize = 32

// keyIDLabel separates key ids from any other hash of the key.
const keyIDLabel = "flagbot-key-id"

// Keyring holds the key new connections are encrypted with and older keys
// that stored connections may still use. It is immutable and safe for
// concurrent use.
type Keyring struct {
	current string
	aeads   map[string]cipher.AEAD
}

// NewKeyring returns a Keyring that encrypts with keys[currentID] and
// decrypts with any key in keys. Every key must be exactly KeySize bytes
// (raw, not base64: see ParseKey) and every id non-empty. Ids are normally
// KeyID(key), so that the kid stored with a connection survives a change of
// configuration:
//
//	cur, old := ... // from ParseKey
//	ring, err := NewKeyring(KeyID(cur), map[string]secret.Secret{KeyID(cur): cur, KeyID(old): old})
//
// Errors never contain key material.
func NewKeyring(currentID string, keys map[string]secret.Secret) (*Keyring, error) {
	if _, ok := keys[currentID]; !ok {
		return nil, fmt.Errorf("tokenstore: current key %q is not in the keyring", currentID)
	}
	r := &Keyring{current: currentID, aeads: make(map[string]cipher.AEAD, len(keys))}
	for id, key := range keys {
		if id == "" {
			return nil, fmt.Errorf("tokenstore: keyring has a key with an empty id")
		}
		if len(key.Reveal()) != KeySize {
			return nil, fmt.Errorf("tokenstore: key %q: %w (got %d bytes)", id, ErrInvalidKey, len(key.Reveal()))
		}
		aead, err := newAEAD(key)
		if err != nil {
			return nil, fmt.Errorf("tokenstore: key %q: %w", id, err)
		}
		r.aeads[id] = aead
	}
	return r, nil
}

// CurrentID returns the id of the key new connections are encrypted with.
func (r *Keyring) CurrentID() string { return r.current }

func newAEAD(key secret.Secret) (cipher.AEAD, error) {
	block, err := aes.NewCipher([]byte(key.Reveal()))
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// ParseKey decodes a KeySize-byte key from base64 (standard or URL alphabet,
// padded or not; surrounding spaces are ignored). The error wraps
// ErrInvalidKey and never contains the input.
func ParseKey(b64 string) (secret.Secret, error) {
	s := strings.TrimSpace(b64)
	decodedLen := -1
	for _, enc := range []*base64.Encoding{
		base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding,
	} {
		b, err := enc.DecodeString(s)
		if err != nil {
			continue
		}
		if len(b) == KeySize {
			return secret.Secret(b), nil
		}
		decodedLen = len(b)
	}
	if decodedLen >= 0 {
		return "", fmt.Errorf("tokenstore: %w (decodes to %d bytes)", ErrInvalidKey, decodedLen)
	}
	return "", fmt.Errorf("tokenstore: %w (not valid base64)", ErrInvalidKey)
}

// GenerateKey returns a new random key from crypto/rand, for the embedded
// mode where nothing outlives the process.
func GenerateKey() (secret.Secret, error) {
	b := make([]byte, KeySize)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("tokenstore: generate key: %w", err)
	}
	return secret.Secret(b), nil
}

// KeyID returns a short stable id for key: the first 8 hex digits of
// SHA-256("flagbot-key-id" || key). It tags ciphertexts so that a Keyring
// can pick the right key after a rotation, and reveals nothing usable about
// the key.
func KeyID(key secret.Secret) string {
	h := sha256.New()
	h.Write([]byte(keyIDLabel))
	h.Write([]byte(key.Reveal()))
	return hex.EncodeToString(h.Sum(nil)[:4])
}
