package metrics

import (
	"bytes"
	"errors"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// userHZ is the kernel's clock tick for /proc times (USER_HZ, 100 on every
// Linux architecture Go supports; procfs assumes the same).
const userHZ = 100

// newProcReader returns a function that reads procStats from /proc at each
// scrape: /proc/self/stat for CPU time, memory and start time, the size or
// listing of /proc/self/fd, and the RLIMIT_NOFILE soft limit (the "Max open
// files" of /proc/self/limits). The boot time in /proc/stat is read once.
func newProcReader() func() procStats {
	bootTime := sync.OnceValues(readBootTime)
	pageSize := float64(os.Getpagesize())
	return func() procStats {
		var p procStats
		if f, err := readSelfStat(); err == nil {
			p.cpu = some(float64(f.utime+f.stime) / userHZ)
			p.vsize = some(float64(f.vsize))
			p.rss = some(float64(f.rss) * pageSize)
			if bt, err := bootTime(); err == nil {
				p.start = some(bt + float64(f.starttime)/userHZ)
			}
		}
		if n, err := countOpenFDs(); err == nil {
			p.openFDs = some(float64(n))
		}
		var rl syscall.Rlimit
		if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err == nil {
			p.maxFDs = some(float64(rl.Cur))
		}
		return p
	}
}

// selfStat holds the fields of /proc/self/stat that are used.
type selfStat struct {
	utime, stime, starttime, vsize uint64
	rss                            int64
}

func readSelfStat() (selfStat, error) {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return selfStat{}, err
	}
	return parseSelfStat(b)
}

// parseSelfStat parses the contents of /proc/self/stat.
func parseSelfStat(b []byte) (selfStat, error) {
	// The command name (field 2) is in parentheses and may hold spaces
	// and parentheses itself; the fields after the last ')' start at
	// field 3, the state.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return selfStat{}, errors.New("metrics: /proc/self/stat: no ')'")
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 22 {
		return selfStat{}, errors.New("metrics: /proc/self/stat: too few fields")
	}
	var errs []error
	field := func(n int) uint64 { // n counts from 1, as proc(5) does
		v, err := strconv.ParseUint(f[n-3], 10, 64)
		errs = append(errs, err)
		return v
	}
	s := selfStat{utime: field(14), stime: field(15), starttime: field(22), vsize: field(23)}
	rss, err := strconv.ParseInt(f[24-3], 10, 64)
	s.rss = rss
	if err := errors.Join(append(errs, err)...); err != nil {
		return selfStat{}, err
	}
	return s, nil
}

// readBootTime returns the btime line of /proc/stat: when the system
// booted, in seconds since the Unix epoch.
func readBootTime() (float64, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "btime "); ok {
			return strconv.ParseFloat(strings.TrimSpace(v), 64)
		}
	}
	return 0, errors.New("metrics: /proc/stat: no btime")
}

// countOpenFDs counts /proc/self/fd: its size on Linux 6.2 and later, else
// its entries (which include the one open while listing, as with procfs).
func countOpenFDs() (int, error) {
	if fi, err := os.Stat("/proc/self/fd"); err == nil && fi.Size() > 0 {
		return int(fi.Size()), nil
	}
	d, err := os.Open("/proc/self/fd")
	if err != nil {
		return 0, err
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	return len(names), err
}
