package ldfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/flagbot/flagbot/internal/ld"
)

// LaunchDarkly approval requests: POST
// /api/v2/projects/{p}/flags/{key}/environments/{env}/approval-requests
// records a pending request (reviewStatus pending) and changes no flag.
// Reader tokens get 403; an unknown project, flag or environment 404;
// a body without description or instructions, or with instructions the
// flag would refuse, 400.

// ApprovalRequest is one approval request the server received, with where
// it was made and its comment.
type ApprovalRequest struct {
	ld.ApprovalRequest
	Project string
	Flag    string
	Env     string
	Comment string
}

// ApprovalRequests returns the approval requests created so far, oldest
// first.
func (s *Server) ApprovalRequests() []ApprovalRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.approvals)
}

func (s *Server) createApprovalRequest(w http.ResponseWriter, r *http.Request) {
	if !s.canWrite(w, r) {
		return
	}
	var body ld.ApprovalRequestInput
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		s.badRequest(w, "Invalid request body")
		return
	}
	if body.Description == "" || len(body.Instructions) == 0 {
		s.badRequest(w, "description and instructions are required")
		return
	}
	projKey, key, envKey := r.PathValue("proj"), r.PathValue("key"), r.PathValue("env")
	ar, status, msg := s.addApprovalRequest(r, projKey, key, envKey, body)
	switch status {
	case http.StatusCreated:
		s.writeJSON(w, status, ar.ApprovalRequest)
	case http.StatusNotFound:
		s.notFound(w)
	default:
		s.badRequest(w, msg)
	}
}

// addApprovalRequest validates and stores an approval request; it takes
// s.mu itself (the error writers take it too).
func (s *Server) addApprovalRequest(r *http.Request, projKey, key, envKey string, body ld.ApprovalRequestInput) (ApprovalRequest, int, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.findProject(projKey)
	if p == nil || p.findEnv(envKey) == nil {
		return ApprovalRequest{}, http.StatusNotFound, ""
	}
	i := s.flagIndex(p, key)
	if i < 0 {
		return ApprovalRequest{}, http.StatusNotFound, ""
	}
	if _, err := applyInstructions(cloneFlag(p.flags[i]), envKey, body.Instructions); err != nil {
		return ApprovalRequest{}, http.StatusBadRequest, err.Error()
	}
	id := s.newID()
	ar := ApprovalRequest{
		ApprovalRequest: ld.ApprovalRequest{
			ID:           id,
			Description:  body.Description,
			Status:       "pending",
			ReviewStatus: "pending",
			RequestorID:  tokenInfo(r).MemberID,
			CreationDate: time.Now().UnixMilli(),
			Instructions: slices.Clone(body.Instructions),
			Links:        map[string]ld.Link{"self": {Href: fmt.Sprintf("/api/v2/approval-requests/%s", id), Type: "application/json"}},
		},
		Project: projKey, Flag: key, Env: envKey, Comment: body.Comment,
	}
	s.approvals = append(s.approvals, ar)
	return ar, http.StatusCreated, ""
}
