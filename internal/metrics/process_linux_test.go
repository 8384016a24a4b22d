package metrics

import "testing"

// TestParseSelfStat: the fields after the command name, which may hold
// spaces and parentheses.
func TestParseSelfStat(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, in string
		want     selfStat
		wantErr  bool
	}{
		{name: "plain",
			in:   "4242 (bot) S 1 4242 4242 0 -1 4194560 1000 0 0 0 150 25 0 0 20 0 8 0 123456 1600528384 2320 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n",
			want: selfStat{utime: 150, stime: 25, starttime: 123456, vsize: 1600528384, rss: 2320}},
		{name: "odd command",
			in:   "7 (a) b (c) S 1 7 7 0 -1 0 0 0 0 0 1 2 0 0 20 0 1 0 9 4096 3 0\n",
			want: selfStat{utime: 1, stime: 2, starttime: 9, vsize: 4096, rss: 3}},
		{name: "short", in: "7 (a) S 1 7", wantErr: true},
		{name: "no command", in: "7 a S", wantErr: true},
		{name: "not a number", in: "7 (a) S 1 7 7 0 -1 0 0 0 0 0 x 2 0 0 20 0 1 0 9 4096 3 0\n", wantErr: true},
	} {
		got, err := parseSelfStat([]byte(tt.in))
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("%s: parseSelfStat = %+v, %v; want %+v (error %v)", tt.name, got, err, tt.want, tt.wantErr)
		}
	}
}
