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
	KindOutsider              // a user of another Slack organisation (Slack Connect)
	KindConfirm               // the action needs a confirmation first (type the flag key)
	KindUnreadable            // the stored token can't be decrypted with the configured keys
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
	KindOutsider:         "outsider",
	KindConfirm:          "confirm",
	KindUnreadable:       "connection_unreadable",
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
	Msg         Text     // user-facing, may be empty (the transport picks a default)
	Suggestions []string // e.g. close flag keys for KindNotFound
	Err         error
	// Field names the form field the problem is with, one of the Field*
	// constants, when it is about one; a form shows Msg next to it.
	Field string
	// Notice is said before Msg: what the command did on the way although
	// it failed (the workspace's defaults chosen on first use).
	Notice Text
}

func (e *Error) Error() string {
	msg := e.Msg.String()
	switch {
	case msg != "" && e.Err != nil:
		return e.Kind.String() + ": " + msg + ": " + e.Err.Error()
	case msg != "":
		return e.Kind.String() + ": " + msg
	case e.Err != nil:
		return e.Kind.String() + ": " + e.Err.Error()
	}
	return e.Kind.String()
}

func (e *Error) Unwrap() error { return e.Err }

// withNotice returns err carrying notice n: a copy of its *Error with
// Notice set, or a new *Error of err's kind around it.
func withNotice(err error, n Text) error {
	var e *Error
	if errors.As(err, &e) {
		c := *e
		c.Notice = n
		return &c
	}
	return &Error{Kind: KindOf(err), Err: err, Notice: n}
}

// inField returns err with its *Error's Field set to field, for a form to
// show it next to that field; other errors are returned as they are.
func inField(err error, field string) error {
	var e *Error
	if errors.As(err, &e) {
		c := *e
		c.Field = field
		return &c
	}
	return err
}

// Errorf returns an *Error of kind k with a user-facing message built by
// Textf: backticks in format mark code spans, arguments are data.
func Errorf(k Kind, format string, args ...any) *Error {
	return &Error{Kind: k, Msg: Textf(format, args...)}
}

// KindOf returns the kind of the first *Error, *UsageError or
// *RemoteError in err's chain, or KindInternal.
func KindOf(err error) Kind {
	for err != nil {
		switch e := err.(type) {
		case *Error:
			return e.Kind
		case *UsageError:
			return KindUsage
		case *RemoteError:
			return e.Kind
		}
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			err = u.Unwrap()
		case interface{ Unwrap() []error }:
			for _, x := range u.Unwrap() {
				if k := KindOf(x); k != KindInternal {
					return k
				}
			}
			return KindInternal
		default:
			return KindInternal
		}
	}
	return KindInternal
}

// UsageError says the text could not be parsed. Help is the entry of the
// subcommand concerned (zero when the subcommand itself is unknown).
type UsageError struct {
	Msg  Text
	Help HelpEntry
}

func (e *UsageError) Error() string { return "usage: " + e.Msg.String() }

// RemoteError is a failure LaunchDarkly reported, in the core's terms: the
// kind it maps to, the HTTP status (0 for a network failure) and
// LaunchDarkly's own message, which is safe to show. The LaunchDarkly
// interfaces in deps.go return errors whose chain holds one for every
// failure LaunchDarkly itself caused; a context's deadline or cancellation
// is returned as such.
type RemoteError struct {
	Kind    Kind
	Status  int
	Message string
	Err     error
}

func (e *RemoteError) Error() string {
	if e.Err != nil {
		return e.Err.Error()
	}
	return fmt.Sprintf("launchdarkly: %s (HTTP %d): %s", e.Kind, e.Status, e.Message)
}

func (e *RemoteError) Unwrap() error { return e.Err }

// Is matches ErrApprovalRequired for the answer LaunchDarkly gives a write
// to an environment that requires its own approvals (HTTP 405).
func (e *RemoteError) Is(target error) bool {
	return target == ErrApprovalRequired && e.Status == 405
}

// ErrApprovalRequired matches a LaunchDarkly write refused because the
// environment requires LaunchDarkly's own approval flow.
var ErrApprovalRequired = errors.New("launchdarkly requires its own approval")

// ErrNotConnected is returned by Workspaces.Get when a workspace has no
// stored connection.
var ErrNotConnected = errors.New("workspace not connected")

// ErrNotInstalled is matched by the error returned when Flagbot has no
// installation that serves a workspace: it was never installed there
// through OAuth, or it was uninstalled (or its bot token revoked) since.
var ErrNotInstalled = errors.New("flagbot is not installed in this workspace")

// ErrUnreadable is matched by the error Workspaces.Get and Update return
// when a workspace has a stored connection that no configured encryption
// key opens (the key was changed without keeping the old one, or the
// stored value is damaged). Only a new connection fixes it; Put and Delete
// work regardless.
var ErrUnreadable = errors.New("stored workspace connection cannot be read with the configured keys")

// FieldError reports a problem with one field of a form (the connect modal,
// the delete confirmation), so the transport can show it inline next to
// that field.
type FieldError struct {
	Field string // one of the Field* constants
	Msg   Text
	Err   error
}

// The fields of the forms: the connect modal (token, project, env), the
// delete confirmation and the request modal (project, env and the rest).
const (
	FieldToken   = "token"
	FieldProject = "project"
	FieldEnv     = "env"
	// FieldConfirmKey is the flag key an approver types to confirm a
	// deletion.
	FieldConfirmKey = "confirm_key"
	// The request modal's fields besides project and environment.
	FieldFlag       = "flag"
	FieldAction     = "action"
	FieldVariation  = "variation"
	FieldRollout    = "rollout"
	FieldContexts   = "contexts"
	FieldReason     = "reason"
	FieldNewKey     = "new_key"
	FieldNewName    = "new_name"
	FieldVariations = "variations"
	FieldTags       = "tags"
)

func (e *FieldError) Error() string {
	if e.Err != nil {
		return "field " + e.Field + ": " + e.Msg.String() + ": " + e.Err.Error()
	}
	return "field " + e.Field + ": " + e.Msg.String()
}

func (e *FieldError) Unwrap() error { return e.Err }
