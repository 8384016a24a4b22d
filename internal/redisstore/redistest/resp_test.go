package redistest

import (
	"bufio"
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/flagbot/flagbot/internal/redisstore"
)

func TestReadReply(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		want    any
		wantErr error
	}{
		{name: "simple string", in: "+OK\r\n", want: "OK"},
		{name: "error", in: "-WRONGTYPE no\r\n", wantErr: ReplyError("WRONGTYPE no")},
		{name: "integer", in: ":-42\r\n", want: int64(-42)},
		{name: "bulk", in: "$5\r\na\r\nb!\r\n", want: "a\r\nb!"},
		{name: "empty bulk", in: "$0\r\n\r\n", want: ""},
		{name: "nil bulk", in: "$-1\r\n", want: nil},
		{name: "nil array", in: "*-1\r\n", want: nil},
		{name: "nested array", in: "*3\r\n:1\r\n*1\r\n$1\r\nx\r\n$-1\r\n", want: []any{int64(1), []any{"x"}, nil}},
		{name: "error in array", in: "*1\r\n-ERR x\r\n", want: []any{ReplyError("ERR x")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := readReply(bufio.NewReader(strings.NewReader(tt.in)))
			if !errors.Is(err, tt.wantErr) || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("readReply(%q) = %#v, %v; want %#v, %v", tt.in, got, err, tt.want, tt.wantErr)
			}
		})
	}
	for _, bad := range []string{"", "+OK", "?x\r\n", "$x\r\n", "$5\r\nab\r\n", "*2\r\n:1\r\n", ":1x\r\n"} {
		if _, err := readReply(bufio.NewReader(strings.NewReader(bad))); err == nil {
			t.Errorf("readReply(%q) succeeded", bad)
		}
	}
}

// TestWriteCommandRoundTrip: what writeCommand writes, readReply reads
// back, as a Counter does with what clients send.
func TestWriteCommandRoundTrip(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	if err := writeCommand(&b, "SET", []byte("k\r\n"), 7, 1.5, ""); err != nil {
		t.Fatal(err)
	}
	got, err := readReply(bufio.NewReader(&b))
	if want := []any{"SET", "k\r\n", "7", "1.5", ""}; err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("round trip = %#v, %v; want %#v", got, err, want)
	}
}

func TestDoAndDump(t *testing.T) {
	t.Parallel()
	for name, open := range map[string]func(testing.TB) *redisstore.Store{"miniredis": NewTestStore, "redis": NewRealTestStore} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := open(t)
			if got := Do(t, s, "SET", s.Key("a"), "x\"y", "PX", 60000); got != "OK" {
				t.Fatalf("SET = %v", got)
			}
			Do(t, s, "HSET", s.Key("h"), "f2", "2", "f1", s.Key("a"))
			Do(t, s, "ZADD", s.Key("z"), 2, "b", 1, "a")
			Do(t, s, "RPUSH", s.Key("l"), "1", "2")
			Do(t, s, "SADD", s.Key("s"), "y", "x")
			want := `a string (ttl): "x\"y"
h hash: f1="<prefix>a" f2="2"
l list: ["1" "2"]
s set: ["x" "y"]
z zset: "a"=1 "b"=2
`
			if got := Dump(t, s); got != want {
				t.Errorf("Dump =\n%s\nwant\n%s", got, want)
			}
		})
	}
}

// TestRealTestStoreCleansUp: the keys of a real test store are deleted when
// its test ends.
func TestRealTestStoreCleansUp(t *testing.T) {
	t.Parallel()
	var key string
	t.Run("writer", func(t *testing.T) {
		s := NewRealTestStore(t)
		key = s.Key("k")
		Do(t, s, "SET", key, "v")
	})
	if t.Skipped() || key == "" {
		return
	}
	other := NewRealTestStore(t)
	if n := Do(t, other, "EXISTS", key); n != int64(0) {
		t.Errorf("%s still exists after its test ended", key)
	}
}
