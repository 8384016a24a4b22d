package commands

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/flagbot/flagbot/internal/secret"
)

// fakeLD is a function-field fake of LaunchDarkly; a nil field fails loudly
// through errUnexpected so a test notices calls it did not plan for.
type fakeLD struct {
	CallerIdentityFn   func(ctx context.Context) (CallerIdentity, error)
	GetTokenFn         func(ctx context.Context, id string) (Token, error)
	ListProjectsFn     func(ctx context.Context) ([]Project, error)
	ListEnvironmentsFn func(ctx context.Context, project string) ([]Environment, error)
	ListFlagsFn        func(ctx context.Context, project string, opts FlagQuery) (FlagPage, error)
	GetFlagFn          func(ctx context.Context, project, key string, envs ...string) (Flag, error)
	ListSegmentsFn     func(ctx context.Context, project, env string) ([]SegmentRecord, error)
	GetSegmentFn       func(ctx context.Context, project, env, key string) (SegmentRecord, error)
	SearchContextsFn   func(ctx context.Context, project, env string, opts ContextQuery) ([]ContextRecord, error)
	GetContextsFn      func(ctx context.Context, project, env, kind, key string) ([]ContextRecord, error)
	ListAuditLogFn     func(ctx context.Context, opts AuditQuery) ([]AuditEntry, error)
	PatchFlagFn        func(ctx context.Context, project, key string, p Patch) (Flag, error)
	CreateFlagFn       func(ctx context.Context, project string, f NewFlag) (Flag, error)
	DeleteFlagFn       func(ctx context.Context, project, key string) error
	CreateApprovalFn   func(ctx context.Context, project, key, env string, in ApprovalRequestInput) (ApprovalRequest, error)
}

type unexpectedCall string

func (u unexpectedCall) Error() string { return "unexpected call to " + string(u) }

func (f *fakeLD) CallerIdentity(ctx context.Context) (CallerIdentity, error) {
	if f.CallerIdentityFn == nil {
		return CallerIdentity{}, unexpectedCall("CallerIdentity")
	}
	return f.CallerIdentityFn(ctx)
}
func (f *fakeLD) GetToken(ctx context.Context, id string) (Token, error) {
	if f.GetTokenFn == nil {
		return Token{}, unexpectedCall("GetToken")
	}
	return f.GetTokenFn(ctx, id)
}
func (f *fakeLD) ListProjects(ctx context.Context) ([]Project, error) {
	if f.ListProjectsFn == nil {
		return nil, unexpectedCall("ListProjects")
	}
	return f.ListProjectsFn(ctx)
}
func (f *fakeLD) ListEnvironments(ctx context.Context, project string) ([]Environment, error) {
	if f.ListEnvironmentsFn == nil {
		return nil, unexpectedCall("ListEnvironments")
	}
	return f.ListEnvironmentsFn(ctx, project)
}
func (f *fakeLD) ListFlags(ctx context.Context, project string, opts FlagQuery) (FlagPage, error) {
	if f.ListFlagsFn == nil {
		return FlagPage{}, unexpectedCall("ListFlags")
	}
	return f.ListFlagsFn(ctx, project, opts)
}
func (f *fakeLD) GetFlag(ctx context.Context, project, key string, envs ...string) (Flag, error) {
	if f.GetFlagFn == nil {
		return Flag{}, unexpectedCall("GetFlag")
	}
	return f.GetFlagFn(ctx, project, key, envs...)
}
func (f *fakeLD) ListSegments(ctx context.Context, project, env string) ([]SegmentRecord, error) {
	if f.ListSegmentsFn == nil {
		return nil, unexpectedCall("ListSegments")
	}
	return f.ListSegmentsFn(ctx, project, env)
}
func (f *fakeLD) GetSegment(ctx context.Context, project, env, key string) (SegmentRecord, error) {
	if f.GetSegmentFn == nil {
		return SegmentRecord{}, unexpectedCall("GetSegment")
	}
	return f.GetSegmentFn(ctx, project, env, key)
}
func (f *fakeLD) SearchContexts(ctx context.Context, project, env string, opts ContextQuery) ([]ContextRecord, error) {
	if f.SearchContextsFn == nil {
		return nil, unexpectedCall("SearchContexts")
	}
	return f.SearchContextsFn(ctx, project, env, opts)
}
func (f *fakeLD) GetContexts(ctx context.Context, project, env, kind, key string) ([]ContextRecord, error) {
	if f.GetContextsFn == nil {
		return nil, unexpectedCall("GetContexts")
	}
	return f.GetContextsFn(ctx, project, env, kind, key)
}
func (f *fakeLD) ListAuditLog(ctx context.Context, opts AuditQuery) ([]AuditEntry, error) {
	if f.ListAuditLogFn == nil {
		return nil, unexpectedCall("ListAuditLog")
	}
	return f.ListAuditLogFn(ctx, opts)
}

func (f *fakeLD) PatchFlag(ctx context.Context, project, key string, p Patch) (Flag, error) {
	if f.PatchFlagFn == nil {
		return Flag{}, unexpectedCall("PatchFlag")
	}
	return f.PatchFlagFn(ctx, project, key, p)
}
func (f *fakeLD) CreateFlag(ctx context.Context, project string, nf NewFlag) (Flag, error) {
	if f.CreateFlagFn == nil {
		return Flag{}, unexpectedCall("CreateFlag")
	}
	return f.CreateFlagFn(ctx, project, nf)
}
func (f *fakeLD) DeleteFlag(ctx context.Context, project, key string) error {
	if f.DeleteFlagFn == nil {
		return unexpectedCall("DeleteFlag")
	}
	return f.DeleteFlagFn(ctx, project, key)
}

// memWorkspaces is an in-memory Workspaces; Err, when set, fails every call.
// A workspace marked unreadable (see markUnreadable) has a connection that
// Get and Update cannot read, until Put or Delete replaces it.
type memWorkspaces struct {
	mu         sync.Mutex
	conns      map[Workspace]Connection
	unreadable map[Workspace]bool
	Err        error
	// BeforeUpdate, when set, runs at the start of Update, outside the lock.
	BeforeUpdate func(ctx context.Context, ws Workspace)
}

func newMemWorkspaces() *memWorkspaces {
	return &memWorkspaces{conns: map[Workspace]Connection{}, unreadable: map[Workspace]bool{}}
}

// markUnreadable stores a connection for ws that no key opens, as the
// token store does after the encryption key changed.
func (m *memWorkspaces) markUnreadable(ws Workspace) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.conns, ws)
	m.unreadable[ws] = true
}

func (m *memWorkspaces) unreadableErr(ws Workspace) error {
	return fmt.Errorf("memWorkspaces: team %s: key deadbeef: %w", ws.TeamID, ErrUnreadable)
}

func (m *memWorkspaces) Get(_ context.Context, ws Workspace) (Connection, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Err != nil {
		return Connection{}, m.Err
	}
	if m.unreadable[ws] {
		return Connection{}, m.unreadableErr(ws)
	}
	c, ok := m.conns[ws]
	if !ok {
		return Connection{}, ErrNotConnected
	}
	return c, nil
}

func (m *memWorkspaces) Put(_ context.Context, ws Workspace, c Connection) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Err != nil {
		return m.Err
	}
	m.conns[ws] = c
	delete(m.unreadable, ws)
	return nil
}

func (m *memWorkspaces) Delete(_ context.Context, ws Workspace) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Err != nil {
		return m.Err
	}
	delete(m.conns, ws)
	delete(m.unreadable, ws)
	return nil
}

// Update runs BeforeUpdate (when set, without the lock, to stand for a
// concurrent writer) and then fn on the stored connection under the lock.
func (m *memWorkspaces) Update(ctx context.Context, ws Workspace, fn func(c *Connection) error) error {
	if m.BeforeUpdate != nil {
		m.BeforeUpdate(ctx, ws)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Err != nil {
		return m.Err
	}
	if m.unreadable[ws] {
		return m.unreadableErr(ws)
	}
	c, ok := m.conns[ws]
	if !ok {
		return ErrNotConnected
	}
	if err := fn(&c); err != nil {
		return err
	}
	m.conns[ws] = c
	return nil
}

// adminSet is a Directory in which the users in the set are admins, every
// user's display name is their ID in lower case, and groups come from Groups.
type adminSet map[string]bool

func (a adminSet) IsAdmin(_ context.Context, actor Actor) (bool, error) { return a[actor.UserID], nil }

func (a adminSet) DisplayName(_ context.Context, userID string) (string, error) {
	return strings.ToLower(userID), nil
}

func (a adminSet) GroupMembers(_ context.Context, groupID string) ([]string, error) {
	var ids []string
	for id := range a {
		if strings.HasPrefix(id, groupID+"/") {
			ids = append(ids, strings.TrimPrefix(id, groupID+"/"))
		}
	}
	return ids, nil
}

// clientsFor returns a ClientFunc that hands out f for token want and
// records every token it was asked for.
func clientsFor(f *fakeLD, used *[]string) ClientFunc {
	return func(token secret.Secret) LaunchDarkly {
		*used = append(*used, token.Reveal())
		return f
	}
}

func (f *fakeLD) CreateApprovalRequest(ctx context.Context, project, key, env string, in ApprovalRequestInput) (ApprovalRequest, error) {
	if f.CreateApprovalFn == nil {
		return ApprovalRequest{}, unexpectedCall("CreateApprovalRequest")
	}
	return f.CreateApprovalFn(ctx, project, key, env, in)
}

// remoteErr is what a LaunchDarkly client returns for an error answer of
// status, with LaunchDarkly's message msg.
func remoteErr(status int, msg string) error {
	kind := KindInternal
	switch {
	case status == 400, status == 422:
		kind = KindInvalid
	case status == 401:
		kind = KindUnauthorized
	case status == 403, status == 405:
		kind = KindForbidden
	case status == 404:
		kind = KindNotFound
	case status == 409:
		kind = KindConflict
	case status == 429:
		kind = KindRateLimited
	case status >= 500:
		kind = KindUnavailable
	}
	return &RemoteError{Kind: kind, Status: status, Message: msg}
}
