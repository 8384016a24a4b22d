package ld

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Sentinels that *APIError matches through errors.Is, so callers classify
// failures by kind and never by message text.
var (
	ErrBadRequest       = errors.New("ld: bad request")         // 400, 422
	ErrUnauthorized     = errors.New("ld: unauthorized")        // 401
	ErrForbidden        = errors.New("ld: forbidden")           // 403
	ErrNotFound         = errors.New("ld: not found")           // 404
	ErrMethodNotAllowed = errors.New("ld: method not allowed")  // 405 (approval required)
	ErrConflict         = errors.New("ld: conflict")            // 409
	ErrRateLimited      = errors.New("ld: rate limited")        // 429 after retries
	ErrUnavailable      = errors.New("ld: service unavailable") // 5xx and network failures
)

// APIError is an error answer from LaunchDarkly: {"code","message","id"}.
type APIError struct {
	Status  int    // HTTP status
	Code    string // e.g. not_found
	Message string
	ID      string // LaunchDarkly's request id, for their support
	Method  string
	Path    string // request path, never with a query that could hold secrets
}

func (e *APIError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	s := fmt.Sprintf("ld: %s %s: %d %s", e.Method, e.Path, e.Status, msg)
	if e.Code != "" {
		s += " (" + e.Code + ")"
	}
	if e.ID != "" {
		s += " [id " + e.ID + "]"
	}
	return s
}

// Is matches the sentinel for the error's status.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrBadRequest:
		return e.Status == http.StatusBadRequest || e.Status == http.StatusUnprocessableEntity
	case ErrUnauthorized:
		return e.Status == http.StatusUnauthorized
	case ErrForbidden:
		return e.Status == http.StatusForbidden
	case ErrNotFound:
		return e.Status == http.StatusNotFound
	case ErrMethodNotAllowed:
		return e.Status == http.StatusMethodNotAllowed
	case ErrConflict:
		return e.Status == http.StatusConflict
	case ErrRateLimited:
		return e.Status == http.StatusTooManyRequests
	case ErrUnavailable:
		return e.Status >= 500
	}
	return false
}

// RateLimitError is returned when LaunchDarkly still answered 429 after the
// client's bounded retries. RetryAfter says when to try again.
type RateLimitError struct {
	APIError
	RetryAfter time.Duration
}

func (e *RateLimitError) Error() string {
	return fmt.Sprintf("%s; retry after %s", e.APIError.Error(), e.RetryAfter)
}

// Unwrap exposes the embedded *APIError, so errors.Is(err, ErrRateLimited) holds.
func (e *RateLimitError) Unwrap() error { return &e.APIError }
