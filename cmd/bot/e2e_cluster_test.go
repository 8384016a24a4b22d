package main

import (
	"testing"

	"github.com/flagbot/flagbot/internal/redisstore"
	"github.com/flagbot/flagbot/internal/redisstore/redistest"
)

// TestClusterEndToEnd runs the bot through run with REDIS_URL naming the
// three-master Redis Cluster of FLAGBOT_TEST_REDIS_CLUSTER_URL: a
// workspace connects, a change is requested and, after a restart, approved
// by someone else and applied once; the connection survives the restart
// too; a key of the layout before hash tags is moved at start. The bot writes under its default prefix ("flagbot"), which this
// test empties before and after; no other test uses it on the cluster.
func TestClusterEndToEnd(t *testing.T) {
	clusterURL := redistest.ClusterURL(t)
	redistest.DeleteAll(t, clusterURL, "flagbot")
	s, err := redisstore.Open(t.Context(), clusterURL, nil, redisstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// A policy stored before keys had hash tags: moved at start.
	policy := []byte(`{"approvals":{"production":2}}`)
	if err := s.Set(t.Context(), "ws:_:T0OLD:policy", policy, 0); err != nil {
		t.Fatal(err)
	}
	sl, lds := newApprovalSlack(t), newLD(t)
	env := []botOption{withEnv("REDIS_URL", clusterURL), withEnv("FLAGBOT_ENCRYPTION_KEY", testKeyB64)}
	first := connected(t, sl, lds, writerToken, env...)
	id, _ := first.request(t, userID, "on dark-mode production")
	first.stop(t)

	second := startBot(t, sl, lds, env...)
	wantContains(t, "status after restart", string(second.command(t, teamID, userID, "status").Body), "flagbot-writer")
	updated, refused := second.click(t, approverID, "change_approve", id)
	if updated == nil {
		t.Fatalf("approval on the cluster failed: %+v", refused)
	}
	if !flagOn(t, lds, "dark-mode", "production") {
		t.Fatal("not applied")
	}
	if _, again := second.click(t, approverID, "change_approve", id); again == nil {
		t.Error("a second approval was not refused")
	}
	second.assertNoSecrets(t)

	// The data is on the cluster, under the workspace's hash tag.
	if got, err := s.Get(t.Context(), redisstore.WorkspaceKey("T0OLD", "", "policy")); err != nil || string(got) != string(policy) {
		t.Errorf("the old policy was not moved at start: %q, %v", got, err)
	}
	if _, err := s.Get(t.Context(), redisstore.WorkspaceKey(teamID, "", "connection")); err != nil {
		t.Errorf("the connection is not on the cluster: %v", err)
	}
	if h, err := s.LRange(t.Context(), redisstore.WorkspaceKey(teamID, "", "history"), 0, -1); err != nil || len(h) != 1 {
		t.Errorf("the applied change is not in the cluster's history: %q, %v", h, err)
	}
}
