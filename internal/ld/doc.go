// Package ld is Flagbot's hand-written client for the parts of LaunchDarkly's
// REST API v2 it uses: the caller identity and token checks behind
// /flag connect, projects, environments, flags, segments, contexts and the
// audit log.
//
// It follows google/go-github's shape: one Client holds the transport state
// (HTTP client, base URL, user agent, token); every method takes a ctx, builds
// a relative path, calls newRequest and do. do is the single place that sets
// LaunchDarkly's headers (the raw token in Authorization, LD-API-Version
// 20240415), waits and retries after 429 answers, retries reads after 5xx and
// network failures, and turns error answers into *APIError or
// *RateLimitError, which callers classify with errors.Is against the
// sentinels in errors.go. List methods follow host-relative _links.next hrefs,
// resolved against the configured base URL only, with a page cap.
//
// The access token is a secret.Secret: it is revealed only into the
// Authorization header and never appears in an error string or a log line.
// Environment SDK keys, mobile keys and client-side IDs are not decoded.
//
// The Client speaks LaunchDarkly's wire types. Service wraps it for the core:
// it implements commands.LaunchDarkly, mapping wire types onto the core's
// domain types (commands.Flag, commands.Patch, …) and failures onto
// *commands.RemoteError, so the core never sees this package.
//
// Package ld imports the standard library, internal/secret and, for the
// domain types it maps onto, internal/commands (which must never import
// it). Its fake, for tests of this and other packages, is internal/ld/ldtest.
package ld
