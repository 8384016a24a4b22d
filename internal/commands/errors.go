package commands

import (
	"errors"
	"fmt"
)

// Kind classifies an error so the transport can choose what to tell the user.
type Kind int

// The kinds of error Execute returns. KindInternal is the zero value: anything
// unclassified is a bug or an unexpected failure, shown with a reference id.
const (
	KindInternal         Kind = iota
	KindUsage                 // the text did not parse; a *UsageError carries help
	KindInvalid               // well-formed but not acceptable (bad setting value, ...)
	KindNotConnected          // the workspace has no LaunchDarkly token
	KindNotAdmin              // the caller may not run an admin command
	KindNotFound              // project, environment, flag, segment or context unknown
	KindUnauthorized          // LaunchDarkly rejected the stored token (401)
	KindForbidden             // the token's role may not do this (403)
	KindConflict              // LaunchDarkly reported a conflict (409)
	KindRateLimited           // LaunchDarkly kept answering 429
	KindUnavailable           // LaunchDarkly unreachable or failing (5xx, network)
	KindStoreUnavailable      // the state store (Redis) is unreachable
	KindTimeout               // the command ran out of time
)

var kindNames = [...]string{
	KindInternal:         "internal",
	KindUsage:            "usage",
	KindInvalid:          "invalid",
	KindNotConnected:     "not_connected",
	KindNotAdmin:         "not_admin",
	KindNotFound:         "not_found",
	KindUnauthorized:     "unauthorized",
	KindForbidden:        "forbidden",
	KindConflict:         "conflict",
	KindRateLimited:      "rate_limited",
	KindUnavailable:      "unavailable",
	KindStoreUnavailable: "store_unavailable",
	KindTimeout:          "timeout",
}

// String returns a short stable name, used in logs and metrics.
func (k Kind) String() string {
	if k < 0 || int(k) >= len(kindNames) {
		return fmt.Sprintf("kind(%d)", int(k))
	}
	return kindNames[k]
}

// Error is the one error type Execute returns for expected failures. Msg is
// safe to show a user; Err holds the detail for the log.
type Error struct {
	Kind        Kind
	Msg         string   // user-facing, may be empty (the transport picks a default)
	Suggestions []string // e.g. close flag keys for KindNotFound
	Err         error
}

func (e *Error) Error() string {
	switch {
	case e.Msg != "" && e.Err != nil:
		return e.Kind.String() + ": " + e.Msg + ": " + e.Err.Error()
	case e.Msg != "":
		return e.Kind.String() + ": " + e.Msg
	case e.Err != nil:
		return e.Kind.String() + ": " + e.Err.Error()
	}
	return e.Kind.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error of kind k with a user-facing message.
func Errorf(k Kind, format string, args ...any) *Error {
	return &Error{Kind: k, Msg: fmt.Sprintf(format, args...)}
}

// KindOf returns the kind of the first *Error in err's chain, or
// KindInternal.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	var u *UsageError
	if errors.As(err, &u) {
		return KindUsage
	}
	return KindInternal
}

// UsageError says the text could not be parsed. Help is the entry of the
// subcommand concerned (zero when the subcommand itself is unknown).
type UsageError struct {
	Msg  string
	Help HelpEntry
}

func (e *UsageError) Error() string { return "usage: " + e.Msg }

// ErrNotConnected is returned by Workspaces.Get when a workspace has no
// stored connection.
var ErrNotConnected = errors.New("workspace not connected")

// FieldError reports a problem with one field of the connect modal, so the
// transport can show it inline next to that field.
type FieldError struct {
	Field string // one of the Field* constants
	Msg   string
	Err   error
}

// The connect modal's fields.
const (
	FieldToken   = "token"
	FieldProject = "project"
	FieldEnv     = "env"
)

func (e *FieldError) Error() string {
	if e.Err != nil {
		return "field " + e.Field + ": " + e.Msg + ": " + e.Err.Error()
	}
	return "field " + e.Field + ": " + e.Msg
}

func (e *FieldError) Unwrap() error { return e.Err }
