// Package ldtest is the test harness around ldfake, the fake LaunchDarkly
// REST API: NewServer serves a fresh ldfake.Server on an httptest server
// closed through t.Cleanup, the seeding methods fail the test instead of
// returning errors, and Client returns an ld.Client for it that never
// really sleeps between retries. What the fake serves and how it behaves is
// described in ldfake's package documentation.
//
// Package ldtest is for tests only: it imports testing and must never be
// imported by production code (the playground uses ldfake directly).
package ldtest
