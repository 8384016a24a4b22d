package slackapp

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"
)

// The OAuth state: what Flagbot sends Slack in the authorize URL and gets
// back on the redirect, so that a redirect is known to finish an install
// this deployment started, in this browser, recently, once.
//
//	v1.<nonce>.<expiry>.<mac>
//
// nonce is 16 random bytes (base64url, no padding), expiry Unix seconds,
// and mac the HMAC-SHA256 of "v1.<nonce>.<expiry>" under a key derived from
// the client secret (HKDF), base64url. The signature and expiry are checked
// first, without I/O; then the browser's cookie must hold the same state;
// then the nonce is spent in Redis (stored with SET NX when the install
// started, taken with DEL: one redirect wins).

const (
	stateVersion = "v1"
	// stateTTL is how long an install started on the install page may take
	// to come back: the state's expiry, its Redis key's TTL and the
	// cookie's Max-Age.
	stateTTL   = 10 * time.Minute
	nonceBytes = 16
	// maxStateLen bounds what is parsed at all.
	maxStateLen = 200
)

// The ways a state can be refused by verifyState.
var (
	errStateMalformed = errors.New("slackapp: oauth state is malformed")
	errStateSignature = errors.New("slackapp: oauth state signature does not match")
	errStateExpired   = errors.New("slackapp: oauth state has expired")
)

// newNonce returns a fresh random nonce, base64url.
func newNonce() (string, error) {
	b := make([]byte, nonceBytes)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// signState returns the state for nonce, valid until exp.
func signState(key []byte, nonce string, exp time.Time) string {
	body := stateVersion + "." + nonce + "." + strconv.FormatInt(exp.Unix(), 10)
	return body + "." + base64.RawURLEncoding.EncodeToString(stateMAC(key, body))
}

func stateMAC(key []byte, body string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(body))
	return m.Sum(nil)
}

// verifyState checks a state's form, signature and expiry at now and
// returns its nonce. It does no I/O, and its errors say nothing about the
// key.
func verifyState(key []byte, state string, now time.Time) (string, error) {
	if len(state) > maxStateLen {
		return "", errStateMalformed
	}
	parts := strings.Split(state, ".")
	if len(parts) != 4 || parts[0] != stateVersion {
		return "", errStateMalformed
	}
	nonce, expRaw, macRaw := parts[1], parts[2], parts[3]
	if n, err := base64.RawURLEncoding.DecodeString(nonce); err != nil || len(n) != nonceBytes {
		return "", errStateMalformed
	}
	exp, err := strconv.ParseInt(expRaw, 10, 64)
	if err != nil || exp <= 0 || strconv.FormatInt(exp, 10) != expRaw {
		return "", errStateMalformed
	}
	mac, err := base64.RawURLEncoding.DecodeString(macRaw)
	if err != nil {
		return "", errStateMalformed
	}
	if !hmac.Equal(mac, stateMAC(key, parts[0]+"."+nonce+"."+expRaw)) {
		return "", errStateSignature
	}
	if !now.Before(time.Unix(exp, 0)) {
		return "", errStateExpired
	}
	return nonce, nil
}

// stateKey is the Redis key (without the store's prefix) of a started
// install's nonce.
func stateKey(nonce string) string { return "oauth:state:" + nonce }
