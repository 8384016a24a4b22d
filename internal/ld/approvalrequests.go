package ld

import (
	"context"
	"fmt"
	"net/http"
)

// ApprovalRequestInput is the body of a LaunchDarkly approval request for a
// flag change in one environment: the same instructions a semantic patch
// would carry, for LaunchDarkly's own reviewers to approve and apply.
type ApprovalRequestInput struct {
	Description  string        `json:"description"`
	Instructions []Instruction `json:"instructions"`
	Comment      string        `json:"comment,omitempty"`
}

// ApprovalRequest is LaunchDarkly's answer to an approval request. Status is
// pending, scheduled, completed or failed; ReviewStatus pending, approved or
// declined.
type ApprovalRequest struct {
	ID           string          `json:"_id"`
	Description  string          `json:"description,omitempty"`
	Status       string          `json:"status,omitempty"`
	ReviewStatus string          `json:"reviewStatus,omitempty"`
	RequestorID  string          `json:"requestorId,omitempty"`
	CreationDate int64           `json:"creationDate,omitempty"`
	Instructions []Instruction   `json:"instructions,omitempty"`
	Links        map[string]Link `json:"_links,omitempty"`
}

// CreateApprovalRequest asks LaunchDarkly's own approval flow to review a
// change to flag key in env of project; use it after PatchFlag failed with
// ErrMethodNotAllowed. Creating a request changes no flag. LaunchDarkly
// offers approvals on some plans only; elsewhere it answers 403 or 404.
//
// LaunchDarkly API docs: https://launchdarkly.com/docs/api/approvals/post-approval-request-for-flag
func (c *Client) CreateApprovalRequest(ctx context.Context, project, key, env string, in ApprovalRequestInput) (ApprovalRequest, error) {
	if in.Instructions == nil {
		in.Instructions = []Instruction{}
	}
	ref := pathf("api/v2/projects", project, "flags", key, "environments", env, "approval-requests")
	req, err := c.newRequest(ctx, http.MethodPost, ref, in, "")
	if err != nil {
		return ApprovalRequest{}, fmt.Errorf("ld: create approval request for flag %q: %w", key, err)
	}
	var out ApprovalRequest
	if err := c.do(req, &out); err != nil {
		return ApprovalRequest{}, fmt.Errorf("ld: create approval request for flag %q: %w", key, err)
	}
	return out, nil
}
