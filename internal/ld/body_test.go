package ld

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
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
		{"shorter than announced", `{"key"`, 11, ``, io.ErrUnexpectedEOF},
		{"too long, known length: one byte over is read", big, int64(len(big)), big, nil},
		{"too long, unknown length: one byte over is read", big + "yyy", -1, big, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := &http.Response{Body: io.NopCloser(strings.NewReader(tt.body)), ContentLength: tt.contentLength}
			got, err := readBody(resp)
			if !errors.Is(err, tt.wantErr) || !bytes.Equal(got, []byte(tt.want)) {
				t.Errorf("readBody = %d bytes, %v; want %d bytes, %v", len(got), err, len(tt.want), tt.wantErr)
			}
		})
	}
}

// BenchmarkReadBody reads a flag-sized body of known length.
func BenchmarkReadBody(b *testing.B) {
	body := strings.Repeat("x", 1469)
	b.ReportAllocs()
	for b.Loop() {
		resp := &http.Response{Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body))}
		if _, err := readBody(resp); err != nil {
			b.Fatal(err)
		}
	}
}
