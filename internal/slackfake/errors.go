package slackfake

import "errors"

var (
	// ErrClosed is returned by the Wait methods and the envelope senders
	// once the server has been closed.
	ErrClosed = errors.New("slackfake: server closed")
	// ErrNoConnection is returned by the envelope senders when no live
	// Socket Mode connection appeared within Options.SendTimeout.
	ErrNoConnection = errors.New("slackfake: no live socket mode connection")
	// ErrNotFound is returned (wrapped) when a message, view, element or
	// user named by a person's action does not exist (any more).
	ErrNotFound = errors.New("slackfake: not found")
)
