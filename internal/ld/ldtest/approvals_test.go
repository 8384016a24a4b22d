package ldtest_test

import (
	"errors"
	"reflect"
	"testing"

	"github.com/flagbot/flagbot/internal/ld"
	"github.com/flagbot/flagbot/internal/ld/ldtest"
)

func TestApprovalRequestAfter405(t *testing.T) {
	t.Parallel()
	s := ldtest.NewServer(t)
	s.AddToken(writer, ldtest.TokenInfo{ID: "tok-w", Name: "bot-writer", Role: "writer", MemberID: "m-bot"})
	s.AddToken(token, ldtest.TokenInfo{ID: "tok-r", Name: "bot-reader", Role: "reader"})
	s.AddProject(ld.Project{Key: "web"}, ldtest.EnvSpec{Key: "production", RequireApproval: true}, ldtest.EnvSpec{Key: "staging"})
	s.AddFlag("web", ld.Flag{Key: "new-checkout"})
	c := s.Client(writer)
	ctx := t.Context()
	instrs := []ld.Instruction{{Kind: ld.KindTurnFlagOn}}

	_, err := c.PatchFlag(ctx, "web", "new-checkout", ld.SemanticPatch{EnvironmentKey: "production", Instructions: instrs})
	if !errors.Is(err, ld.ErrMethodNotAllowed) {
		t.Fatalf("PatchFlag in an approval-gated environment: err = %v, want ErrMethodNotAllowed", err)
	}
	in := ld.ApprovalRequestInput{Description: "Flagbot: on new-checkout in production", Instructions: instrs, Comment: "Requested by ana (U1), approved by bo (U2) via Flagbot"}
	ar, err := c.CreateApprovalRequest(ctx, "web", "new-checkout", "production", in)
	if err != nil {
		t.Fatalf("CreateApprovalRequest: %v", err)
	}
	if ar.ID == "" || ar.Status != "pending" || ar.ReviewStatus != "pending" || ar.RequestorID != "m-bot" || !reflect.DeepEqual(ar.Instructions, instrs) {
		t.Errorf("approval request = %+v", ar)
	}
	got := s.ApprovalRequests()
	if len(got) != 1 || got[0].Project != "web" || got[0].Flag != "new-checkout" || got[0].Env != "production" || got[0].Comment != in.Comment || got[0].Description != in.Description {
		t.Errorf("stored approval requests = %+v", got)
	}
	if f, _ := s.Flag("web", "new-checkout"); f.Environments["production"].On {
		t.Error("creating an approval request turned the flag on")
	}

	tests := []struct {
		name    string
		client  *ld.Client
		project string
		flag    string
		env     string
		in      ld.ApprovalRequestInput
		want    error
	}{
		{"reader", s.Client(token), "web", "new-checkout", "production", in, ld.ErrForbidden},
		{"unknown flag", c, "web", "nope", "production", in, ld.ErrNotFound},
		{"unknown env", c, "web", "new-checkout", "nope", in, ld.ErrNotFound},
		{"unknown project", c, "nope", "new-checkout", "production", in, ld.ErrNotFound},
		{"no description", c, "web", "new-checkout", "production", ld.ApprovalRequestInput{Instructions: instrs}, ld.ErrBadRequest},
		{"no instructions", c, "web", "new-checkout", "production", ld.ApprovalRequestInput{Description: "x"}, ld.ErrBadRequest},
		{"bad instruction", c, "web", "new-checkout", "production", ld.ApprovalRequestInput{Description: "x", Instructions: []ld.Instruction{{Kind: ld.KindUpdateOffVariation, VariationID: "nope"}}}, ld.ErrBadRequest},
	}
	for _, tt := range tests {
		if _, err := tt.client.CreateApprovalRequest(ctx, tt.project, tt.flag, tt.env, tt.in); !errors.Is(err, tt.want) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.want)
		}
	}
	if n := len(s.ApprovalRequests()); n != 1 {
		t.Errorf("%d approval requests stored after refusals, want 1", n)
	}
}
