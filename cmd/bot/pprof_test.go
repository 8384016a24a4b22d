package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
)

func TestProfilingHandlers(t *testing.T) {
	mux := http.NewServeMux()
	profilingHandlers(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	gzipMagic := []byte{0x1f, 0x8b}
	tests := []struct {
		path       string
		wantStatus int
		check      func(body []byte) bool
		what       string
	}{
		{"/debug/pprof/", 200, func(b []byte) bool { return bytes.Contains(b, []byte("\nheap\t")) }, "an index naming heap"},
		{"/debug/pprof/heap", 200, func(b []byte) bool { return bytes.HasPrefix(b, gzipMagic) }, "a gzipped profile"},
		{"/debug/pprof/heap?gc=1", 200, func(b []byte) bool { return bytes.HasPrefix(b, gzipMagic) }, "a gzipped profile"},
		{"/debug/pprof/allocs", 200, func(b []byte) bool { return bytes.HasPrefix(b, gzipMagic) }, "a gzipped profile"},
		{"/debug/pprof/goroutine?debug=1", 200, func(b []byte) bool { return bytes.HasPrefix(b, []byte("goroutine profile: total ")) }, "a text profile"},
		{"/debug/pprof/profile?seconds=1", 200, func(b []byte) bool { return bytes.HasPrefix(b, gzipMagic) }, "a gzipped CPU profile"},
		{"/debug/pprof/trace?seconds=1", 200, func(b []byte) bool { return bytes.HasPrefix(b, []byte("go 1.")) }, "an execution trace"},
		{"/debug/pprof/profile?seconds=0", 400, func(b []byte) bool {
			return string(b) == "seconds must be a whole number from 1 to 300\n"
		}, "the range"},
		{"/debug/pprof/profile?seconds=ten", 400, func(b []byte) bool {
			return string(b) == "seconds must be a whole number from 1 to 300\n"
		}, "the range"},
		{"/debug/pprof/nope", 404, func(b []byte) bool {
			return string(b) == "no such profile; GET /debug/pprof/ lists them\n"
		}, "where to look"},
	}
	for _, tt := range tests {
		t.Run(strings.TrimPrefix(tt.path, "/debug/pprof/"), func(t *testing.T) {
			resp, err := srv.Client().Get(srv.URL + tt.path)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body bytes.Buffer
			if _, err := body.ReadFrom(resp.Body); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.wantStatus || !tt.check(body.Bytes()) {
				t.Errorf("GET %s = %d %.80q, want %d and %s", tt.path, resp.StatusCode, body.String(), tt.wantStatus, tt.what)
			}
		})
	}
}

func TestMemProfileRate(t *testing.T) {
	if defaultMemProfileRate != runtime.MemProfileRate && runtime.MemProfileRate != 0 {
		t.Errorf("defaultMemProfileRate = %d, Go's default is %d", defaultMemProfileRate, runtime.MemProfileRate)
	}
	tests := []struct {
		pprof string
		want  int
	}{
		{"", 0},
		{"false", 0},
		{"0", 0},
		{"yes please", 0}, // loadConfig refuses it; nothing is sampled meanwhile
		{"true", defaultMemProfileRate},
		{"1", defaultMemProfileRate},
		{" TRUE ", defaultMemProfileRate},
	}
	for _, tt := range tests {
		if got := memProfileRate(env(map[string]string{"FLAGBOT_PPROF": tt.pprof})); got != tt.want {
			t.Errorf("memProfileRate with FLAGBOT_PPROF=%q = %d, want %d", tt.pprof, got, tt.want)
		}
	}
}
