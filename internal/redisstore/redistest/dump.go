package redistest

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

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
	c, err := dial(ctx, URL(t, s))
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
	prefix := s.Key("")
	var keys []string
	for cursor := "0"; ; {
		page, _ := do("SCAN", cursor, "MATCH", prefix+"*", "COUNT", 100).([]any)
		if len(page) != 2 {
			t.Fatalf("redistest: dump: unexpected SCAN reply %v", page)
		}
		cursor, _ = page[0].(string)
		keys = append(keys, strs(page[1])...)
		if cursor == "0" {
			break
		}
	}
	slices.Sort(keys)
	keys = slices.Compact(keys) // SCAN may return a key twice
	var b strings.Builder
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
		fmt.Fprintf(&b, "%s %s%s: %s\n", strings.TrimPrefix(k, prefix), typ, ttl, val)
	}
	return strings.ReplaceAll(b.String(), prefix, "<prefix>")
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
