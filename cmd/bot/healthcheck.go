package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// healthcheckTimeout bounds `flagbot healthcheck`.
const healthcheckTimeout = 3 * time.Second

// runHealthcheck is `flagbot healthcheck`: it asks the running bot's
// /readyz on FLAGBOT_HTTP_ADDR (on this host) and fails unless it answers
// 200. Container images without a shell or curl (distroless) use it as
// their health check.
func runHealthcheck(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	addr := getenv("FLAGBOT_HTTP_ADDR")
	if addr == "" {
		addr = defaultHTTPAddr
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("healthcheck: FLAGBOT_HTTP_ADDR %q: %w", addr, err)
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	ctx, cancel := context.WithTimeout(ctx, healthcheckTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+net.JoinHostPort(host, port)+"/readyz", nil)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: not ready (%s): %s", resp.Status, body)
	}
	fmt.Fprintf(stdout, "%s", body)
	return nil
}
