package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHealthcheck(t *testing.T) {
	b := startBot(t, newSlack(t), newLD(t))
	addr := strings.TrimPrefix(b.ops, "http://")
	_, port, _ := net.SplitHostPort(addr)

	var out bytes.Buffer
	// ":port" is how deployments write FLAGBOT_HTTP_ADDR; the check dials
	// loopback.
	getenv := func(string) string { return ":" + port }
	if err := run(context.Background(), []string{"flagbot", "healthcheck"}, getenv, &out, &out); err != nil {
		t.Fatalf("healthcheck of a ready bot: %v", err)
	}

	notReady := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "slack: not connected", http.StatusServiceUnavailable)
	}))
	t.Cleanup(notReady.Close)
	getenv = func(string) string { return strings.TrimPrefix(notReady.URL, "http://") }
	err := run(context.Background(), []string{"flagbot", "healthcheck"}, getenv, &out, &out)
	if err == nil || !strings.Contains(err.Error(), "503") || !strings.Contains(err.Error(), "slack: not connected") {
		t.Errorf("healthcheck of an unready bot = %v, want the 503 and its reason", err)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	getenv = func(string) string { return closed }
	if err := run(context.Background(), []string{"flagbot", "healthcheck"}, getenv, &out, &out); err == nil {
		t.Error("healthcheck with nothing listening succeeded")
	}
}
