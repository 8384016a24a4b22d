package commands

import "errors"

// Test helpers of this package, for the external tests in package
// commands_test (which may import internal/ld: ld imports commands).
var (
	NewMemWorkspaces = newMemWorkspaces
	NewMemChanges    = newMemChanges
	NewMemPolicies   = newMemPolicies
	TestWorkspaceA   = wsA
	TestAlice        = alice
	TestBob          = bob
	TestTime         = t0
)

// AdminSet is the test Directory that treats the users in it as admins.
type AdminSet = adminSet

// ChangeError is changeError, for the message goldens.
var ChangeError = changeError

// Message is the user-facing text of err's *Error or *UsageError ("" for
// none), for exact comparisons.
func Message(err error) string {
	var e *Error
	var u *UsageError
	switch {
	case errors.As(err, &e):
		return e.Msg.String()
	case errors.As(err, &u):
		return u.Msg.String()
	}
	return ""
}
