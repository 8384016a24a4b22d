package metrics

import (
	"runtime"
	rtmetrics "runtime/metrics"
)

// runtime/metrics names read at each scrape.
const (
	rmHeapObjects = "/memory/classes/heap/objects:bytes"
	rmTotal       = "/memory/classes/total:bytes"
)

// runtimeStats is what one scrape read from the Go runtime.
type runtimeStats struct {
	heapAlloc, sys opt
}

// opt is a value that may not have been read.
type opt struct {
	v  float64
	ok bool
}

func some(v float64) opt { return opt{v: v, ok: true} }

func (o opt) get() (float64, bool) { return o.v, o.ok }

// readRuntime reads the memory figures through runtime/metrics, which does
// not stop the world as runtime.ReadMemStats does.
func readRuntime() runtimeStats {
	samples := []rtmetrics.Sample{{Name: rmHeapObjects}, {Name: rmTotal}}
	rtmetrics.Read(samples)
	read := func(s rtmetrics.Sample) opt {
		if s.Value.Kind() != rtmetrics.KindUint64 {
			return opt{} // not known to this Go version
		}
		return some(float64(s.Value.Uint64()))
	}
	return runtimeStats{heapAlloc: read(samples[0]), sys: read(samples[1])}
}

// runtimeFamilies are the go_* and process_* families: a reduced set of
// client_golang's Go and process collectors, with the same names, help
// texts and meanings. The memory and process figures come from the
// writer's runtimeStats and procStats, read once per scrape.
func runtimeFamilies() []*family {
	version := renderLabels([]string{"version"}, []string{runtime.Version()})
	return []*family{
		scalar("go_goroutines", "Number of goroutines that currently exist.", typeGauge,
			func(*writer) (float64, bool) { return float64(runtime.NumGoroutine()), true }),
		scalar("go_threads", "Number of OS threads created.", typeGauge,
			func(*writer) (float64, bool) {
				n, _ := runtime.ThreadCreateProfile(nil) // counts, copies nothing
				return float64(n), true
			}),
		{name: "go_info", help: "Information about the Go environment.", typ: typeGauge,
			collect: func(w *writer) { w.sample("", version, "", 1) }},
		scalar("go_memstats_heap_alloc_bytes",
			"Number of heap bytes allocated and currently in use. Equals to /memory/classes/heap/objects:bytes.", typeGauge,
			func(w *writer) (float64, bool) { return w.rt.heapAlloc.get() }),
		scalar("go_memstats_sys_bytes",
			"Number of bytes obtained from system. Equals to /memory/classes/total:bytes.", typeGauge,
			func(w *writer) (float64, bool) { return w.rt.sys.get() }),

		scalar("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", typeCounter,
			func(w *writer) (float64, bool) { return w.proc.cpu.get() }),
		scalar("process_resident_memory_bytes", "Resident memory size in bytes.", typeGauge,
			func(w *writer) (float64, bool) { return w.proc.rss.get() }),
		scalar("process_virtual_memory_bytes", "Virtual memory size in bytes.", typeGauge,
			func(w *writer) (float64, bool) { return w.proc.vsize.get() }),
		scalar("process_start_time_seconds", "Start time of the process since unix epoch in seconds.", typeGauge,
			func(w *writer) (float64, bool) { return w.proc.start.get() }),
		scalar("process_open_fds", "Number of open file descriptors.", typeGauge,
			func(w *writer) (float64, bool) { return w.proc.openFDs.get() }),
		scalar("process_max_fds", "Maximum number of open file descriptors.", typeGauge,
			func(w *writer) (float64, bool) { return w.proc.maxFDs.get() }),
	}
}

// procStats is what one scrape read about the process; a value that could
// not be read is not ok.
type procStats struct {
	cpu, rss, vsize, start, openFDs, maxFDs opt
}
