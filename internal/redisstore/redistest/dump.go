package redistest

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flagbot/flagbot/internal/redisstore"
)

// Dump returns every key under s's prefix (which s must come from this
// package), one line each in key order: the key without the prefix, its
// type, "(ttl)" when it expires, and its value (hash fields and set members
// sorted, sorted sets by score). Occurrences of the prefix inside values
// read "<prefix>". Tests compare it with a golden file, so that data
// written by Flagbot stays byte for byte what deployed Redis servers hold.
func Dump(t testing.TB, s *redisstore.Store) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), doTimeout)
	defer cancel()
	nodes, err := masters(ctx, URL(t, s))
	if err != nil {
		t.Fatalf("redistest: dump: %v", err)
	}
	prefix := s.Key("")
	var lines []string
	for _, node := range nodes {
		keys, err := scanNode(ctx, node, prefix+"*")
		if err != nil {
			t.Fatalf("redistest: dump: %v", err)
		}
		lines = append(lines, dumpKeys(t, ctx, node, prefix, keys)...)
	}
	slices.Sort(lines)
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(l)
	}
	return strings.ReplaceAll(b.String(), prefix, "<prefix>")
}

// dumpKeys returns Dump's line of each of keys, which live on the server
// at nodeURL.
func dumpKeys(t testing.TB, ctx context.Context, nodeURL, prefix string, keys []string) []string {
	t.Helper()
	c, err := dial(ctx, nodeURL)
	if err != nil {
		t.Fatalf("redistest: dump: %v", err)
	}
	defer c.close()
	do := func(args ...any) any {
		t.Helper()
		v, err := c.do(args...)
		if err != nil {
			t.Fatalf("redistest: dump: %s: %v", args[0], err)
		}
		return v
	}
	var out []string
	for _, k := range keys {
		typ, _ := do("TYPE", k).(string)
		ttl := ""
		if n, _ := do("PTTL", k).(int64); n > 0 {
			ttl = " (ttl)"
		}
		var val string
		switch typ {
		case "string":
			val = strconv.Quote(fmt.Sprint(do("GET", k)))
		case "hash":
			kv := strs(do("HGETALL", k))
			var fs []string
			for i := 0; i+1 < len(kv); i += 2 {
				fs = append(fs, kv[i]+"="+strconv.Quote(kv[i+1]))
			}
			slices.Sort(fs)
			val = strings.Join(fs, " ")
		case "set":
			m := strs(do("SMEMBERS", k))
			slices.Sort(m)
			val = fmt.Sprintf("%q", m)
		case "zset":
			kv := strs(do("ZRANGE", k, 0, -1, "WITHSCORES"))
			var fs []string
			for i := 0; i+1 < len(kv); i += 2 {
				score, err := strconv.ParseFloat(kv[i+1], 64)
				if err != nil {
					t.Fatalf("redistest: dump: score %q of %s", kv[i+1], k)
				}
				fs = append(fs, fmt.Sprintf("%q=%v", kv[i], score))
			}
			val = strings.Join(fs, " ")
		case "list":
			val = fmt.Sprintf("%q", strs(do("LRANGE", k, 0, -1)))
		default:
			val = "?"
		}
		out = append(out, fmt.Sprintf("%s %s%s: %s\n", strings.TrimPrefix(k, prefix), typ, ttl, val))
	}
	return out
}

// strs returns the strings of an array reply.
func strs(v any) []string {
	a, _ := v.([]any)
	out := make([]string, 0, len(a))
	for _, e := range a {
		s, _ := e.(string)
		out = append(out, s)
	}
	return out
}

// loadTTL is the expiry Load gives a key its dump marks "(ttl)".
const loadTTL = time.Hour

// Load writes the keys of a dump (Dump's format, as in a golden file)
// under s's prefix, "<prefix>" in values read as that prefix, and a key
// marked "(ttl)" expiring in an hour: the data a deployed Redis holds,
// for migration tests. It fails the test on a line it cannot read.
func Load(t testing.TB, s *redisstore.Store, dump string) {
	t.Helper()
	prefix := s.Key("")
	for line := range strings.Lines(strings.ReplaceAll(dump, "<prefix>", prefix)) {
		line = strings.TrimSuffix(line, "\n")
		if line == "" {
			continue
		}
		head, val, ok := strings.Cut(line, ": ")
		f := strings.Fields(head)
		if !ok || len(f) < 2 {
			t.Fatalf("redistest: load: bad line %q", line)
		}
		key, typ, ttl := prefix+f[0], f[1], len(f) == 3 && f[2] == "(ttl)"
		var args []any
		switch typ {
		case "string":
			v, err := strconv.Unquote(val)
			if err != nil {
				t.Fatalf("redistest: load %s: %v", f[0], err)
			}
			args = []any{"SET", key, v}
		case "hash":
			args = []any{"HSET", key}
			for rest := val; rest != ""; {
				field, quoted, ok := strings.Cut(rest, "=")
				q, err := strconv.QuotedPrefix(quoted)
				if !ok || err != nil {
					t.Fatalf("redistest: load %s: bad hash at %q", f[0], rest)
				}
				v, _ := strconv.Unquote(q)
				args = append(args, field, v)
				rest = strings.TrimPrefix(quoted[len(q):], " ")
			}
		case "set", "list":
			cmd := "SADD"
			if typ == "list" {
				cmd = "RPUSH"
			}
			args = []any{cmd, key}
			for rest := strings.TrimSuffix(strings.TrimPrefix(val, "["), "]"); rest != ""; {
				q, err := strconv.QuotedPrefix(rest)
				if err != nil {
					t.Fatalf("redistest: load %s: bad element at %q", f[0], rest)
				}
				v, _ := strconv.Unquote(q)
				args = append(args, v)
				rest = strings.TrimPrefix(rest[len(q):], " ")
			}
		case "zset":
			args = []any{"ZADD", key}
			for rest := val; rest != ""; {
				q, err := strconv.QuotedPrefix(rest)
				if err != nil || !strings.HasPrefix(rest[len(q):], "=") {
					t.Fatalf("redistest: load %s: bad member at %q", f[0], rest)
				}
				m, _ := strconv.Unquote(q)
				score, after, _ := strings.Cut(rest[len(q)+1:], " ")
				args = append(args, score, m)
				rest = after
			}
		default:
			t.Fatalf("redistest: load %s: type %q", f[0], typ)
		}
		Do(t, s, args...)
		if ttl {
			Do(t, s, "PEXPIRE", key, loadTTL.Milliseconds())
		}
	}
}
