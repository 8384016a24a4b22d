// Package secret holds the one type Flagbot uses for every credential: Slack
// tokens, LaunchDarkly access tokens, the Redis password and the encryption
// key. A Secret prints as [REDACTED] through fmt, %#v and log/slog, so a
// secret that slips into a log line, an error or a Slack message is masked by
// default. Only code that sets a header or encrypts calls Reveal.
//
// One gap fmt leaves open: it cannot call methods through an unexported
// struct field, so %v of a struct holding a Secret in an unexported field
// prints the raw value. Such a struct must describe itself (String,
// GoString, LogValue), as ld.Client does.
//
// It imports only the standard library so that every package may use it.
package secret

import "log/slog"

// Secret is a credential that redacts itself when printed or logged.
type Secret string

const redacted = "[REDACTED]"

// String implements fmt.Stringer and never reveals the value.
func (Secret) String() string { return redacted }

// GoString implements fmt.GoStringer and never reveals the value.
func (Secret) GoString() string { return redacted }

// LogValue implements slog.LogValuer and never reveals the value.
func (Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalText keeps the value out of JSON and text encodings.
func (Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// Reveal returns the raw value. Call it only where the credential is used:
// an Authorization header, a cipher, a dial.
func (s Secret) Reveal() string { return string(s) }

// Empty reports whether no value is set.
func (s Secret) Empty() bool { return s == "" }

// Last4 returns the last four characters, the most of a token Flagbot ever
// shows a person. Shorter values return "****".
func (s Secret) Last4() string {
	if len(s) < 8 {
		return "****"
	}
	return string(s[len(s)-4:])
}
