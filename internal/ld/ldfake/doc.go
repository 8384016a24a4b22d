// Package ldfake is a fake LaunchDarkly REST API: an http.Handler over an
// in-memory store, shaped after LaunchDarkly's OpenAPI description
// (LD-API-Version 20240415). It is a product package: the playground serves
// it as its demo LaunchDarkly, and ldtest wraps it for tests (httptest,
// t.Fatalf on bad seed data). Callers seed the store (AddToken, AddProject,
// AddFlag, ...), serve Handler on a loopback listener, inject failures
// (FailNext, RateLimitNext), inspect what was sent (Requests) and what is
// stored (Flag, Projects, Flags, AuditLog), and wait for changes (Changed).
//
// What the fake serves:
//
//   - GET  /api/v2/caller-identity and /api/v2/tokens/{id}
//   - GET  /api/v2/projects, /api/v2/projects/{p}, .../environments and .../environments/{e}
//   - GET  /api/v2/flags/{p} (env=, filter=query:/tags:/state:, summary=0, limit, offset)
//     and /api/v2/flags/{p}/{key} (env= repeatable)
//   - GET  /api/v2/segments/{p}/{e} and /api/v2/segments/{p}/{e}/{key}
//   - POST /api/v2/projects/{p}/environments/{e}/contexts/search and
//     GET .../contexts/{kind}/{key}
//   - GET  /api/v2/auditlog (after, before, limit, spec, q)
//   - POST /api/v2/flags/{p} (201, 409 on a duplicate key),
//     DELETE /api/v2/flags/{p}/{key} (204, 409 while a prerequisite) and
//     PATCH /api/v2/flags/{p}/{key} with a semantic patch only (see writes.go
//     for the instruction kinds; dryRun=true previews without saving)
//
// Writes follow LaunchDarkly's rules as far as Flagbot relies on them: the
// reader role gets 403; a PATCH without the semantic-patch Content-Type gets
// 400; instructions are validated all together before anything changes
// (unknown kind or variationId, missing environmentKey, a key targeted by two
// variations, rollout weights not summing to 100000: 400, nothing changed);
// no-ops answer 200 without bumping versions; flag-wide changes bump
// _version, environment changes that environment's version and
// lastModified; an environment with EnvSpec.RequireApproval answers 405
// method_not_allowed; every change appends an audit-log entry naming the
// token, the comment and the resources.
//
// Simplifications, so tests do not rely on them: context search understands
// only clauses joined by "," with field q (case-insensitive substring of the
// key or any string attribute), key or kind and operator equals, anyOf,
// startsWith or contains, returns one page and ignores continuationToken;
// audit-log spec globs ignore ";tags" and q matches names and resources;
// env= keys the project lacks are ignored; the audit log pages by offset.
//
// Like LaunchDarkly it answers a missing or unknown Authorization header
// (including one with a "Bearer " prefix) with 401, unknown resources with
// 404 not_found, and errors as {"code","message","id"}. Environments carry
// realistic apiKey, mobileKey and _id values so tests can assert that those
// secrets never reach a user. Every request is recorded, including those
// that fail.
//
// Package ldtest is for tests only: it imports testing and must never be
// imported by production code.
package ldfake
