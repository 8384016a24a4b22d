package ldfake

import (
	"cmp"
	"slices"

	"github.com/flagbot/flagbot/internal/ld"
)

// Read-only views of the store, for a page that shows what LaunchDarkly
// holds. Each returns copies that share nothing with the store.

// ProjectInfo is a project with its environments, in order.
type ProjectInfo struct {
	ld.Project
	Environments []EnvSpec
}

// Projects returns every project with its environments, in the order they
// were added. Environment secrets are included: callers must not show them.
func (s *Server) Projects() []ProjectInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]ProjectInfo, 0, len(s.projects))
	for _, p := range s.projects {
		pi := ProjectInfo{Project: p.p}
		pi.Tags = slices.Clone(p.p.Tags)
		for _, e := range p.envs {
			pi.Environments = append(pi.Environments, e.spec)
		}
		out = append(out, pi)
	}
	return out
}

// Flags returns copies of project's flags in the order they were added,
// archived ones included, with every environment's configuration; nil for
// an unknown project.
func (s *Server) Flags(project string) []ld.Flag {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.findProject(project)
	if p == nil {
		return nil
	}
	out := make([]ld.Flag, 0, len(p.flags))
	for _, f := range p.flags {
		out = append(out, cloneFlag(f))
	}
	return out
}

// AuditLog returns up to limit audit-log entries, newest first (all of them
// when limit <= 0).
func (s *Server) AuditLog(limit int) []ld.AuditEntry {
	s.mu.Lock()
	entries := slices.Clone(s.audit)
	s.mu.Unlock()
	slices.Reverse(entries)
	slices.SortStableFunc(entries, func(a, b ld.AuditEntry) int { return cmp.Compare(b.Date, a.Date) })
	if limit > 0 && len(entries) > limit {
		entries = entries[:limit]
	}
	return entries
}

// LimitRequests keeps only the newest n requests for Requests (n <= 0 keeps
// them all, the default). A long-running demo sets it so memory stays flat.
func (s *Server) LimitRequests(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.maxRequests = n
	s.trimRequestsLocked()
}

func (s *Server) trimRequestsLocked() {
	if s.maxRequests > 0 && len(s.requests) > s.maxRequests {
		s.requests = slices.Delete(s.requests, 0, len(s.requests)-s.maxRequests)
	}
}
