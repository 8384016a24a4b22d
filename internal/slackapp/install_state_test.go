package slackapp

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestVerifyState(t *testing.T) {
	t.Parallel()
	key, other := []byte("0123456789abcdef0123456789abcdef"), []byte("another key, another deployment")
	now := time.Unix(1_800_000_000, 0)
	nonce, err := newNonce()
	if err != nil {
		t.Fatal(err)
	}
	good := signState(key, nonce, now.Add(stateTTL))
	parts := strings.Split(good, ".")
	tests := []struct {
		name  string
		state string
		at    time.Time
		key   []byte
		want  error
	}{
		{"valid", good, now, key, nil},
		{"a second before expiry", good, now.Add(stateTTL - time.Second), key, nil},
		{"at expiry", good, now.Add(stateTTL), key, errStateExpired},
		{"another key", good, now, other, errStateSignature},
		{"another nonce, same mac", strings.Join([]string{parts[0], "AAAAAAAAAAAAAAAAAAAAAA", parts[2], parts[3]}, "."), now, key, errStateSignature},
		{"later expiry, same mac", strings.Join([]string{parts[0], parts[1], strconv.FormatInt(now.Add(time.Hour).Unix(), 10), parts[3]}, "."), now, key, errStateSignature},
		{"another version", "v2" + good[2:], now, key, errStateMalformed},
		{"extra part", good + ".x", now, key, errStateMalformed},
		{"short nonce", strings.Join([]string{"v1", "AAAA", parts[2], parts[3]}, "."), now, key, errStateMalformed},
		{"expiry with a plus", strings.Join([]string{"v1", parts[1], "+" + parts[2], parts[3]}, "."), now, key, errStateMalformed},
		{"expiry with a leading zero", strings.Join([]string{"v1", parts[1], "0" + parts[2], parts[3]}, "."), now, key, errStateMalformed},
		{"mac not base64", strings.Join([]string{"v1", parts[1], parts[2], "!!"}, "."), now, key, errStateMalformed},
		{"empty", "", now, key, errStateMalformed},
		{"too long", good + strings.Repeat("A", maxStateLen), now, key, errStateMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := verifyState(tt.key, tt.state, tt.at)
			if !errors.Is(err, tt.want) || (err == nil && got != nonce) {
				t.Errorf("verifyState(%q) = %q, %v; want %v", tt.state, got, err, tt.want)
			}
		})
	}
}

// FuzzVerifyState: the verifier never panics, and whatever it accepts is
// exactly a state signState made with the same key.
func FuzzVerifyState(f *testing.F) {
	key := []byte("0123456789abcdef0123456789abcdef")
	now := time.Unix(1_800_000_000, 0)
	f.Add(signState(key, "AAAAAAAAAAAAAAAAAAAAAA", now.Add(stateTTL)))
	f.Add("v1.AAAAAAAAAAAAAAAAAAAAAA.1800000600.x")
	f.Add("v1...")
	f.Add("")
	f.Fuzz(func(t *testing.T, state string) {
		nonce, err := verifyState(key, state, now)
		if err != nil {
			return
		}
		exp, perr := strconv.ParseInt(strings.Split(state, ".")[2], 10, 64)
		if perr != nil || signState(key, nonce, time.Unix(exp, 0)) != state {
			t.Fatalf("verifyState accepted %q, which signState did not make", state)
		}
	})
}
