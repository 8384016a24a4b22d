// Package metrics holds Flagbot's Prometheus metrics and serves them in the
// Prometheus text exposition format, version 0.0.4. Other packages report
// through small interfaces (slackapp.Metrics) and never see how.
//
// It is hand-written, on the standard library only, instead of using
// github.com/prometheus/client_golang: that library and what it pulls in
// (client_model, common, procfs, protobuf, xxhash, …) added about 2.3 MB to
// the stripped binary, and most of the bot's resident memory is pages of the
// executable (issue 12 asks for a peak RSS of 25 MB at most). Flagbot needs
// only counters, gauges and histograms with fixed label names, so this is a
// few small types and a text writer.
//
// The exposition matches what client_golang wrote: metric families sorted by
// name, each with # HELP and # TYPE lines and left out while it has no series;
// labels sorted by name; series sorted by label values; label values escaped
// (backslash, double quote, newline); histograms as cumulative _bucket
// series with an le label up to "+Inf", then _sum and _count; numbers
// formatted as strconv.FormatFloat(v, 'g', -1, 64), "+Inf", "-Inf" or "NaN".
//
// Go runtime and process metrics are a reduced set of client_golang's, with
// the same names and meanings, computed at each scrape:
//
//   - go_goroutines, go_threads, go_info{version}, and
//     go_memstats_heap_alloc_bytes and go_memstats_sys_bytes, read through
//     runtime/metrics (which, unlike runtime.ReadMemStats, does not stop the
//     world);
//   - on Linux, process_cpu_seconds_total, process_resident_memory_bytes,
//     process_virtual_memory_bytes, process_start_time_seconds (from
//     /proc/self/stat and /proc/stat), process_open_fds (/proc/self/fd) and
//     process_max_fds (the RLIMIT_NOFILE soft limit). A value that cannot be
//     read is left out of that scrape; on other systems they all are.
//
// Left out on purpose: go_gc_duration_seconds, the other go_memstats_*
// series, go_gc_gogc_percent, go_gc_gomemlimit_bytes,
// go_sched_gomaxprocs_threads, process_virtual_memory_max_bytes,
// process_network_*_bytes_total and promhttp_metric_handler_errors_total.
//
// The paths called on every command (Ack, Command, LaunchDarkly) allocate
// nothing once their series exist: a series is found by its label values in
// a map under a read lock and updated with atomics or a short lock.
//
// This package imports only the standard library.
package metrics
