package ld

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/iotest"
)

func TestReadBody(t *testing.T) {
	big := strings.Repeat("x", maxResponseBody+1)
	tests := []struct {
		name          string
		body          string
		contentLength int64
		want          string
		wantErr       error
	}{
		{"known length", `{"key":"a"}`, 11, `{"key":"a"}`, nil},
		{"unknown length", `{"key":"a"}`, -1, `{"key":"a"}`, nil},
		{"empty", ``, 0, ``, nil},
		{"cut short (net/http says so)", `{"key"`, 11, ``, io.ErrUnexpectedEOF},
		{"too long, known length: one byte over is read", big, int64(len(big)), big, nil},
		{"too long, unknown length: one byte over is read", big + "yyy", -1, big, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body io.Reader = strings.NewReader(tt.body)
			if tt.wantErr != nil {
				body = io.MultiReader(body, iotest.ErrReader(tt.wantErr))
			}
			resp := &http.Response{Body: io.NopCloser(body), ContentLength: tt.contentLength}
			var buf bytes.Buffer
			err := readBody(&buf, resp)
			got := buf.Bytes()
			if tt.wantErr != nil {
				got = nil
			}
			if !errors.Is(err, tt.wantErr) || !bytes.Equal(got, []byte(tt.want)) {
				t.Errorf("readBody = %d bytes, %v; want %d bytes, %v", len(got), err, len(tt.want), tt.wantErr)
			}
		})
	}
}

// BenchmarkReadBody reads a flag-sized body of unknown length into a
// recycled buffer.
func BenchmarkReadBody(b *testing.B) {
	body := strings.Repeat("x", 1469)
	var bufs bodyBuffers
	b.ReportAllocs()
	for b.Loop() {
		resp := &http.Response{Body: io.NopCloser(strings.NewReader(body)), ContentLength: -1}
		buf := bufs.get()
		if err := readBody(buf, resp); err != nil {
			b.Fatal(err)
		}
		bufs.put(buf)
	}
}
