package tokenstore

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/flagbot/flagbot/internal/secret"
)

func fixedKey(fill byte) secret.Secret {
	return secret.Secret(strings.Repeat(string([]byte{fill}), KeySize))
}

func TestParseKey(t *testing.T) {
	t.Parallel()
	raw := []byte("0123456789abcdef0123456789abcd\xfb\xff") // 32 bytes; base64 has + and / (or - and _)
	if len(raw) != KeySize {
		t.Fatalf("fixture is %d bytes", len(raw))
	}
	tests := []struct {
		name    string
		in      string
		wantErr bool
	}{
		{name: "std", in: base64.StdEncoding.EncodeToString(raw)},
		{name: "raw std", in: base64.RawStdEncoding.EncodeToString(raw)},
		{name: "url", in: base64.URLEncoding.EncodeToString(raw)},
		{name: "raw url", in: base64.RawURLEncoding.EncodeToString(raw)},
		{name: "surrounding space", in: " \t" + base64.StdEncoding.EncodeToString(raw) + "\n"},
		{name: "empty", in: "", wantErr: true},
		{name: "too short", in: base64.StdEncoding.EncodeToString(raw[:31]), wantErr: true},
		{name: "too long", in: base64.StdEncoding.EncodeToString(append(raw, 'x')), wantErr: true},
		{name: "not base64", in: "this-is-not-base64!!this-is-not-base64!!abcd", wantErr: true},
		{name: "raw bytes", in: string(raw), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseKey(tt.in)
			if tt.wantErr {
				if !errors.Is(err, ErrInvalidKey) {
					t.Fatalf("ParseKey error = %v, want ErrInvalidKey", err)
				}
				if tt.in != "" && strings.Contains(err.Error(), strings.TrimSpace(tt.in)) {
					t.Errorf("error %q contains the input", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseKey: %v", err)
			}
			if got.Reveal() != string(raw) {
				t.Errorf("ParseKey decoded the wrong bytes")
			}
		})
	}
}

func TestGenerateKeyAndKeyID(t *testing.T) {
	t.Parallel()
	a, err := GenerateKey()
	if err != nil {
		t.Fatalf("GenerateKey: %v", err)
	}
	b, err := GenerateKey()
	if err != nil {
		t.Fatalf("GenerateKey: %v", err)
	}
	if len(a.Reveal()) != KeySize || a == b {
		t.Fatalf("GenerateKey gave %d bytes, distinct=%v; want %d distinct bytes", len(a.Reveal()), a != b, KeySize)
	}
	if same := secret.Secret(strings.Clone(a.Reveal())); KeyID(a) != KeyID(same) || KeyID(a) == KeyID(b) {
		t.Errorf("KeyID not stable or not distinct: %s %s", KeyID(a), KeyID(b))
	}
	if id := KeyID(a); len(id) != 8 || strings.Trim(id, "0123456789abcdef") != "" {
		t.Errorf("KeyID = %q, want 8 lower-case hex digits", id)
	}
	// A known value pins the derivation so ids stay valid across releases
	// (python3: sha256(b"flagbot-key-id" + bytes(32)).hexdigest()[:8]).
	if got, want := KeyID(fixedKey(0)), "4d16e4d2"; got != want {
		t.Errorf("KeyID(zero key) = %q, want %q", got, want)
	}
	// Round trip through the text form an operator would configure.
	parsed, err := ParseKey(base64.StdEncoding.EncodeToString([]byte(a.Reveal())))
	if err != nil || parsed != a {
		t.Errorf("ParseKey(encode(GenerateKey())) = equal %v, %v", parsed == a, err)
	}
}

func TestNewKeyring(t *testing.T) {
	t.Parallel()
	good := fixedKey(1)
	tests := []struct {
		name    string
		current string
		keys    map[string]secret.Secret
		ok      bool
		wantErr error // checked with errors.Is when set
	}{
		{name: "one key", current: "a", keys: map[string]secret.Secret{"a": good}, ok: true},
		{name: "two keys", current: "b", keys: map[string]secret.Secret{"a": good, "b": fixedKey(2)}, ok: true},
		{name: "current missing", current: "c", keys: map[string]secret.Secret{"a": good}},
		{name: "no keys", current: "a", keys: nil},
		{name: "short key", current: "a", keys: map[string]secret.Secret{"a": "0123456789abcdef"}, wantErr: ErrInvalidKey},
		{name: "base64 not decoded", current: "a", keys: map[string]secret.Secret{"a": secret.Secret(base64.StdEncoding.EncodeToString([]byte(good)))}, wantErr: ErrInvalidKey},
		{name: "old key bad", current: "a", keys: map[string]secret.Secret{"a": good, "b": "x"}, wantErr: ErrInvalidKey},
		{name: "empty id", current: "a", keys: map[string]secret.Secret{"a": good, "": fixedKey(3)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, err := NewKeyring(tt.current, tt.keys)
			if tt.ok {
				if err != nil {
					t.Fatalf("NewKeyring: %v", err)
				}
				if r.CurrentID() != tt.current {
					t.Errorf("CurrentID = %q, want %q", r.CurrentID(), tt.current)
				}
				return
			}
			if err == nil {
				t.Fatal("NewKeyring succeeded, want an error")
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("NewKeyring error = %v, want %v", err, tt.wantErr)
			}
			for _, k := range tt.keys {
				if len(k) >= 4 && strings.Contains(err.Error(), k.Reveal()) {
					t.Errorf("error %q contains key material", err)
				}
			}
		})
	}
}
