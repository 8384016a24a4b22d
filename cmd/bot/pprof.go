package main

import (
	"fmt"
	"io"
	"net/http"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"strconv"
	"strings"
	"time"
)

// maxProfileSeconds bounds a CPU profile or trace asked of the ops
// listener.
const maxProfileSeconds = 300

// profilingHandlers serves the profiles `go tool pprof` reads, under
// /debug/pprof/: profile (CPU, ?seconds=30), trace, and every named
// runtime/pprof profile (heap, allocs, goroutine, block, mutex,
// threadcreate; ?debug=1 for text, ?gc=1 on heap to collect first).
//
// They are written here rather than imported from net/http/pprof: that
// package's index page needs html/template, whose text/template makes the
// linker keep every exported method of every type in the binary.
func profilingHandlers(mux *http.ServeMux) {
	mux.HandleFunc("GET /debug/pprof/{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "Profiles (go tool pprof http://<this address>/debug/pprof/<name>):")
		fmt.Fprintln(w, "profile\tCPU profile, ?seconds=30")
		fmt.Fprintln(w, "trace\texecution trace, ?seconds=1")
		for _, p := range pprof.Profiles() {
			fmt.Fprintf(w, "%s\t%d\n", p.Name(), p.Count())
		}
	})
	mux.HandleFunc("GET /debug/pprof/profile", timedProfile("profile", 30, pprof.StartCPUProfile, pprof.StopCPUProfile))
	mux.HandleFunc("GET /debug/pprof/trace", timedProfile("trace", 1, trace.Start, trace.Stop))
	mux.HandleFunc("GET /debug/pprof/{name}", func(w http.ResponseWriter, r *http.Request) {
		p := pprof.Lookup(r.PathValue("name"))
		if p == nil {
			http.Error(w, "no such profile; GET /debug/pprof/ lists them", http.StatusNotFound)
			return
		}
		debug, _ := strconv.Atoi(r.FormValue("debug"))
		if p.Name() == "heap" && r.FormValue("gc") != "" {
			runtime.GC()
		}
		if debug > 0 {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		} else {
			w.Header().Set("Content-Type", "application/octet-stream")
		}
		_ = p.WriteTo(w, debug)
	})
}

// memProfileRate is the heap profile's sampling rate for the process:
// Go's default when FLAGBOT_PPROF is on, else 0. Go samples allocations
// whether or not anyone ever asks for a profile, and its table of sampled
// stacks, once touched, costs the bot about 1 MB of resident memory
// (issue 12). main sets it before anything allocates much, as
// runtime.MemProfileRate asks.
func memProfileRate(getenv func(string) string) int {
	if on, err := strconv.ParseBool(strings.TrimSpace(getenv("FLAGBOT_PPROF"))); err == nil && on {
		return defaultMemProfileRate
	}
	return 0
}

// defaultMemProfileRate is runtime.MemProfileRate's default.
const defaultMemProfileRate = 512 * 1024

// timedProfile serves a profile that runs for ?seconds= (default def):
// start writes it to the response until stop.
func timedProfile(name string, def int, start func(io.Writer) error, stop func()) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		d, ok := profileDuration(w, r, def)
		if !ok {
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
		if err := start(w); err != nil {
			http.Error(w, "one is already running: "+err.Error(), http.StatusConflict)
			return
		}
		sleep(r, d)
		stop()
	}
}

// profileDuration reads ?seconds= (default def), answering 400 itself
// when it is not a whole number from 1 to maxProfileSeconds, and lifts the
// write deadline to cover it.
func profileDuration(w http.ResponseWriter, r *http.Request, def int) (time.Duration, bool) {
	secs := def
	if s := r.FormValue("seconds"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxProfileSeconds {
			http.Error(w, fmt.Sprintf("seconds must be a whole number from 1 to %d", maxProfileSeconds), http.StatusBadRequest)
			return 0, false
		}
		secs = n
	}
	d := time.Duration(secs) * time.Second
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(d + 10*time.Second))
	return d, true
}

// sleep waits d or until the client goes away.
func sleep(r *http.Request, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.Context().Done():
	}
}
