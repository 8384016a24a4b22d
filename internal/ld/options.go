package ld

import "time"

// FlagListOptions filter and page GET /api/v2/flags/{projectKey}.
type FlagListOptions struct {
	Env      string // include this environment's on/off and summary
	Query    string // filter=query:<text>, matched against key and name
	Tag      string // filter=tags:<tag>
	Archived bool   // list archived flags instead of live ones
	Limit    int    // page size; 0 means 20
	Offset   int
}

// ContextSearch is the body of a context search.
type ContextSearch struct {
	Filter string // e.g. `q equals "ana",kind anyOf ["user"]`
	Limit  int    // 0 means 20; LaunchDarkly allows at most 50
}

// AuditLogOptions filter GET /api/v2/auditlog. The client follows
// _links.next until Limit entries are read or the log ends.
type AuditLogOptions struct {
	Spec   string    // resource specifier, e.g. proj/web:env/production:flag/*
	Q      string    // full or partial resource name
	After  time.Time // zero means unbounded
	Before time.Time // zero means unbounded
	Limit  int       // total entries wanted; 0 means 20
}
