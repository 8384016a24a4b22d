package redisstore

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

func TestMemPipeCarriesBothWays(t *testing.T) {
	t.Parallel()
	a, b := memPipe()
	t.Cleanup(func() { a.Close(); b.Close() })
	for _, dir := range []struct {
		name     string
		from, to net.Conn
	}{{"client to server", a, b}, {"server to client", b, a}} {
		msg := []byte("*1\r\n$4\r\nPING\r\n")
		if n, err := dir.from.Write(msg); n != len(msg) || err != nil {
			t.Fatalf("%s: Write = %d, %v", dir.name, n, err)
		}
		got := make([]byte, len(msg))
		if _, err := io.ReadFull(dir.to, got); err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("%s: read %q, %v; want %q", dir.name, got, err, msg)
		}
	}
}

// TestMemPipeWriteNeverWaits: a writer is never held up by a reader that
// is busy, which is what lets a pipelined batch larger than miniredis's
// read buffer through (net.Pipe deadlocks there).
func TestMemPipeWriteNeverWaits(t *testing.T) {
	t.Parallel()
	a, b := memPipe()
	t.Cleanup(func() { a.Close(); b.Close() })
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	done := make(chan error, 1)
	go func() {
		_, err := a.Write(big)
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Write = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a 1 MiB write waited for the reader")
	}
	got, err := io.ReadAll(io.LimitReader(b, int64(len(big))))
	if err != nil || !bytes.Equal(got, big) {
		t.Fatalf("read back %d bytes, %v; want the %d written", len(got), err, len(big))
	}
}

func TestMemPipeClose(t *testing.T) {
	t.Parallel()
	a, b := memPipe()
	if _, err := a.Write([]byte("last words")); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatalf("Close = %v", err)
	}
	if err := a.Close(); err != nil {
		t.Fatalf("second Close = %v", err)
	}
	// The other end reads what was sent, then EOF, and can't write.
	got, err := io.ReadAll(b)
	if err != nil || string(got) != "last words" {
		t.Fatalf("peer read %q, %v; want the last words, then EOF", got, err)
	}
	if _, err := b.Write([]byte("x")); !errors.Is(err, io.ErrClosedPipe) {
		t.Errorf("peer Write after Close = %v, want io.ErrClosedPipe", err)
	}
	// The closed end refuses both.
	if _, err := a.Read(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Read on the closed end = %v, want net.ErrClosed", err)
	}
	if _, err := a.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Write on the closed end = %v, want net.ErrClosed", err)
	}
	b.Close()
}

// TestMemPipeCloseWakesReader: a read waiting for data returns when its
// own end or the other end closes.
func TestMemPipeCloseWakesReader(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name    string
		closeIt func(reader, writer net.Conn)
		want    error
	}{
		{"other end", func(_, w net.Conn) { w.Close() }, io.EOF},
		{"own end", func(r, _ net.Conn) { r.Close() }, net.ErrClosed},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, w := memPipe()
			t.Cleanup(func() { r.Close(); w.Close() })
			errc := make(chan error, 1)
			go func() {
				_, err := r.Read(make([]byte, 8))
				errc <- err
			}()
			time.Sleep(10 * time.Millisecond) // let it block
			tt.closeIt(r, w)
			select {
			case err := <-errc:
				if !errors.Is(err, tt.want) {
					t.Errorf("Read = %v, want %v", err, tt.want)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("the read did not return after Close")
			}
		})
	}
}

func TestMemPipeDeadlines(t *testing.T) {
	t.Parallel()
	a, b := memPipe()
	t.Cleanup(func() { a.Close(); b.Close() })
	isTimeout := func(err error) bool {
		var ne net.Error
		return errors.As(err, &ne) && ne.Timeout() && errors.Is(err, os.ErrDeadlineExceeded)
	}

	// A read deadline ends a read that waits.
	start := time.Now()
	if err := a.SetReadDeadline(start.Add(30 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Read(make([]byte, 1)); !isTimeout(err) {
		t.Fatalf("Read past its deadline = %v, want a timeout", err)
	}
	if waited := time.Since(start); waited < 25*time.Millisecond {
		t.Errorf("the read gave up after %v, before its deadline", waited)
	}

	// Moving the deadline wakes a read that waits for the old one.
	if err := a.SetReadDeadline(time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		_, err := a.Read(make([]byte, 1))
		errc <- err
	}()
	time.Sleep(10 * time.Millisecond)
	if err := a.SetDeadline(time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errc:
		if !isTimeout(err) {
			t.Errorf("Read after its deadline moved into the past = %v, want a timeout", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("moving the deadline did not wake the read")
	}

	// A write past its deadline fails; clearing the deadlines works again.
	if _, err := a.Write([]byte("x")); !isTimeout(err) {
		t.Errorf("Write past its deadline = %v, want a timeout", err)
	}
	if err := a.SetDeadline(time.Time{}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Write([]byte("y")); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 1)
	if _, err := a.Read(got); err != nil || got[0] != 'y' {
		t.Errorf("Read with no deadline = %q, %v", got, err)
	}
	if _, err := a.Write([]byte("x")); err != nil {
		t.Errorf("Write with no deadline = %v", err)
	}
}

// TestEmbeddedPipelineBeyondReadBuffer sends a pipeline of commands far
// larger than miniredis's 4 KiB read buffer through the embedded server's
// in-memory connection, and a reply of a megabyte back.
func TestEmbeddedPipelineBeyondReadBuffer(t *testing.T) {
	t.Parallel()
	s, err := OpenEmbedded(t.Context(), nil, Options{Prefix: "pipe"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ctx := t.Context()
	keys := make([]string, 500)
	for i := range keys {
		keys[i] = fmt.Sprintf("zset-with-a-long-name-to-fill-the-pipeline-%03d", i)
		if err := s.ZAdd(ctx, keys[i], float64(i), "m"); err != nil {
			t.Fatal(err)
		}
	}
	counts, err := s.ZCountEach(ctx, keys, 0, 1e9)
	if err != nil || len(counts) != len(keys) {
		t.Fatalf("ZCountEach over %d keys = %d counts, %v", len(keys), len(counts), err)
	}
	big := bytes.Repeat([]byte("x"), 1<<20)
	if err := s.Set(ctx, "big", big, 0); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Get(ctx, "big"); err != nil || !bytes.Equal(got, big) {
		t.Fatalf("Get(big) = %d bytes, %v; want %d", len(got), err, len(big))
	}
}
