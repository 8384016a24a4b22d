package metrics

import (
	"cmp"
	"context"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// Metric types, as # TYPE lines name them.
const (
	typeCounter   = "counter"
	typeGauge     = "gauge"
	typeHistogram = "histogram"
)

// family is one metric family: its # HELP and # TYPE lines and a collect
// function that writes its samples, read at each scrape.
type family struct {
	name, help, typ string
	collect         func(w *writer)
}

// writer builds one exposition. Families write their own samples; the
// # HELP and # TYPE lines go out before a family's first sample, so a
// family with no series leaves no trace, as with client_golang.
type writer struct {
	ctx    context.Context // the scrape's, for callbacks that do I/O
	buf    []byte
	fam    *family
	headed bool
	rt     runtimeStats
	proc   procStats
}

func (w *writer) begin(f *family) { w.fam, w.headed = f, false }

// sample writes one line: the family name with suffix, the rendered label
// pairs, an le label when le is not empty, and v.
func (w *writer) sample(suffix, labels, le string, v float64) {
	if !w.headed {
		w.headed = true
		w.buf = append(w.buf, "# HELP "...)
		w.buf = append(w.buf, w.fam.name...)
		w.buf = append(w.buf, ' ')
		w.buf = appendHelp(w.buf, w.fam.help)
		w.buf = append(w.buf, "\n# TYPE "...)
		w.buf = append(w.buf, w.fam.name...)
		w.buf = append(w.buf, ' ')
		w.buf = append(w.buf, w.fam.typ...)
		w.buf = append(w.buf, '\n')
	}
	w.buf = append(w.buf, w.fam.name...)
	w.buf = append(w.buf, suffix...)
	if labels != "" || le != "" {
		w.buf = append(w.buf, '{')
		w.buf = append(w.buf, labels...)
		if le != "" {
			if labels != "" {
				w.buf = append(w.buf, ',')
			}
			w.buf = append(w.buf, `le="`...)
			w.buf = append(w.buf, le...)
			w.buf = append(w.buf, '"')
		}
		w.buf = append(w.buf, '}')
	}
	w.buf = append(w.buf, ' ')
	w.buf = appendFloat(w.buf, v)
	w.buf = append(w.buf, '\n')
}

// appendFloat formats v as the text format wants it, as client_golang did.
func appendFloat(b []byte, v float64) []byte {
	switch {
	case v == 0: // also -0
		return append(b, '0')
	case math.IsNaN(v):
		return append(b, "NaN"...)
	case math.IsInf(v, 1):
		return append(b, "+Inf"...)
	case math.IsInf(v, -1):
		return append(b, "-Inf"...)
	}
	return strconv.AppendFloat(b, v, 'g', -1, 64)
}

// appendHelp escapes a # HELP text: backslash and newline.
func appendHelp(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			b = append(b, `\\`...)
		case '\n':
			b = append(b, `\n`...)
		default:
			b = append(b, c)
		}
	}
	return b
}

// appendLabelValue escapes a label value: backslash, double quote and
// newline.
func appendLabelValue(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			b = append(b, `\\`...)
		case '"':
			b = append(b, `\"`...)
		case '\n':
			b = append(b, `\n`...)
		default:
			b = append(b, c)
		}
	}
	return b
}

// renderLabels renders label pairs as they go between braces, e.g.
// command="show",outcome="ok".
func renderLabels(names, values []string) string {
	var b []byte
	for i, n := range names {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, n...)
		b = append(b, `="`...)
		b = appendLabelValue(b, values[i])
		b = append(b, '"')
	}
	return string(b)
}

// maxLabels is the most label names a vec has.
const maxLabels = 2

// key holds a series' label values in the order the vec was declared with;
// unused slots are empty. As a map key it is looked up without allocating.
type key [maxLabels]string

// series is one labelled series of a vec.
type series[S any] struct {
	values []string // label values, in the vec's (sorted) name order
	labels string   // rendered label pairs
	val    S
}

// vec is a set of series with fixed label names, each made on first use.
type vec[S any] struct {
	names []string // label names, sorted: the order they are written in
	perm  []int    // perm[i] is where names[i] is in the declared order
	init  func(*S) // readies a new series' value; may be nil

	mu     sync.RWMutex
	series map[key]*series[S]
}

// newVec returns a vec with the label names declared in that order, which
// is the order of values in the keys passed to with.
func newVec[S any](declared []string, init func(*S)) *vec[S] {
	if len(declared) > maxLabels {
		panic("metrics: too many label names")
	}
	v := &vec[S]{init: init, series: map[key]*series[S]{}}
	v.perm = make([]int, len(declared))
	for i := range v.perm {
		v.perm[i] = i
	}
	slices.SortFunc(v.perm, func(a, b int) int { return strings.Compare(declared[a], declared[b]) })
	for _, i := range v.perm {
		v.names = append(v.names, declared[i])
	}
	return v
}

// with returns the series for the label values k, making it if need be.
func (v *vec[S]) with(k key) *S {
	v.mu.RLock()
	s := v.series[k]
	v.mu.RUnlock()
	if s != nil {
		return &s.val
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if s = v.series[k]; s == nil {
		s = &series[S]{values: make([]string, len(v.names))}
		for i, j := range v.perm {
			s.values[i] = k[j]
		}
		s.labels = renderLabels(v.names, s.values)
		if v.init != nil {
			v.init(&s.val)
		}
		v.series[k] = s
	}
	return &s.val
}

// sorted returns the series ordered by their label values.
func (v *vec[S]) sorted() []*series[S] {
	v.mu.RLock()
	all := make([]*series[S], 0, len(v.series))
	for _, s := range v.series {
		all = append(all, s)
	}
	v.mu.RUnlock()
	slices.SortFunc(all, func(a, b *series[S]) int { return slices.Compare(a.values, b.values) })
	return all
}

// counterVec is a counter with labels.
type counterVec struct{ *vec[atomic.Uint64] }

func newCounterVec(labels ...string) counterVec {
	return counterVec{newVec[atomic.Uint64](labels, nil)}
}

func (c counterVec) inc(k key) { c.with(k).Add(1) }

func (c counterVec) family(name, help string) *family {
	return &family{name: name, help: help, typ: typeCounter, collect: func(w *writer) {
		for _, s := range c.sorted() {
			w.sample("", s.labels, "", float64(s.val.Load()))
		}
	}}
}

// counter is a counter without labels; it is always written, from zero.
type counter struct{ n atomic.Uint64 }

func (c *counter) inc() { c.n.Add(1) }

func (c *counter) family(name, help string) *family {
	return &family{name: name, help: help, typ: typeCounter, collect: func(w *writer) {
		w.sample("", "", "", float64(c.n.Load()))
	}}
}

// gauge is a gauge without labels; it is always written, from zero.
type gauge struct{ bits atomic.Uint64 }

func (g *gauge) set(v float64) { g.bits.Store(math.Float64bits(v)) }

func (g *gauge) family(name, help string) *family {
	return &family{name: name, help: help, typ: typeGauge, collect: func(w *writer) {
		w.sample("", "", "", math.Float64frombits(g.bits.Load()))
	}}
}

// histogram is one series of a histogramVec. A short lock keeps its
// buckets, sum and count consistent with each other in every scrape.
type histogram struct {
	upper []float64 // bucket upper bounds, shared by the vec's series

	mu     sync.Mutex
	counts []uint64 // observations per bucket (not cumulative)
	count  uint64
	sum    float64
}

func (h *histogram) observe(v float64) {
	i := sort.SearchFloat64s(h.upper, v) // the first bucket with v <= upper
	h.mu.Lock()
	if i < len(h.counts) {
		h.counts[i]++
	}
	h.count++
	h.sum += v
	h.mu.Unlock()
}

// histogramVec is a histogram with labels.
type histogramVec struct {
	*vec[histogram]
	les []string // upper bounds as le label values, then "+Inf"
}

func newHistogramVec(buckets []float64, labels ...string) histogramVec {
	upper := slices.Clone(buckets)
	if !slices.IsSorted(upper) {
		panic("metrics: histogram buckets out of order")
	}
	les := make([]string, 0, len(upper)+1)
	for _, u := range upper {
		les = append(les, string(appendFloat(nil, u)))
	}
	les = append(les, "+Inf")
	return histogramVec{les: les, vec: newVec(labels, func(h *histogram) {
		h.upper, h.counts = upper, make([]uint64, len(upper))
	})}
}

func (h histogramVec) observe(k key, v float64) { h.with(k).observe(v) }

func (h histogramVec) family(name, help string) *family {
	return &family{name: name, help: help, typ: typeHistogram, collect: func(w *writer) {
		for _, s := range h.sorted() {
			hist := &s.val
			hist.mu.Lock()
			counts, count, sum := slices.Clone(hist.counts), hist.count, hist.sum
			hist.mu.Unlock()
			var cum uint64
			for i, n := range counts {
				cum += n
				w.sample("_bucket", s.labels, h.les[i], float64(cum))
			}
			w.sample("_bucket", s.labels, h.les[len(counts)], float64(count))
			w.sample("_sum", s.labels, "", sum)
			w.sample("_count", s.labels, "", float64(count))
		}
	}}
}

// scalar is a family of one series without labels, read at each scrape;
// read returns false to leave it out.
func scalar(name, help, typ string, read func(w *writer) (float64, bool)) *family {
	return &family{name: name, help: help, typ: typ, collect: func(w *writer) {
		if v, ok := read(w); ok {
			w.sample("", "", "", v)
		}
	}}
}

// sortFamilies orders families by name, as the exposition lists them.
func sortFamilies(fams []*family) {
	slices.SortFunc(fams, func(a, b *family) int { return cmp.Compare(a.name, b.name) })
}
