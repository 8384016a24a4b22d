package approvals

import (
	"bytes"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flagbot/flagbot/internal/commands"
	"github.com/flagbot/flagbot/internal/redisstore"
	"github.com/flagbot/flagbot/internal/redisstore/redistest"
)

// lossyProxy forwards Redis connections to a server and, once armed, loses
// the reply to the next script call after the server ran it: it cuts the
// connection (go-redis, MaxRetries 1, then sends the same command again on
// a new connection) or, with stall set, holds the reply back until the
// client gives up on it (a timeout, which go-redis does not retry once the
// operation's deadline passed).
type lossyProxy struct {
	ln     net.Listener
	target string
	armed  atomic.Bool
	stall  atomic.Bool
	cut    atomic.Int32
	wg     sync.WaitGroup
}

func newLossyProxy(t *testing.T, target string) *lossyProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &lossyProxy{ln: ln, target: target}
	p.wg.Go(p.accept)
	t.Cleanup(func() {
		_ = ln.Close()
		p.wg.Wait()
	})
	return p
}

// dropNextReply arms the proxy for the next script call.
func (p *lossyProxy) dropNextReply() { p.armed.Store(true) }

func (p *lossyProxy) accept() {
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		server, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = client.Close()
			continue
		}
		var target atomic.Bool  // this connection carries the armed call
		var swallow atomic.Bool // drop everything the server sends from now on
		closeBoth := func() { _ = client.Close(); _ = server.Close() }
		p.wg.Go(func() {
			defer closeBoth()
			buf := make([]byte, 64<<10)
			for {
				n, err := client.Read(buf)
				if n > 0 {
					if p.armed.Load() && bytes.Contains(bytes.ToLower(buf[:n]), []byte("eval")) {
						target.Store(true)
					}
					if _, werr := server.Write(buf[:n]); werr != nil {
						return
					}
				}
				if err != nil {
					return
				}
			}
		})
		p.wg.Go(func() {
			defer closeBoth()
			buf := make([]byte, 64<<10)
			for {
				n, err := server.Read(buf)
				if n > 0 && target.Load() {
					target.Store(false)
					// A script not cached yet answers NOSCRIPT and go-redis
					// sends EVAL next: let that through and lose the next.
					if !bytes.HasPrefix(buf[:n], []byte("-NOSCRIPT")) && p.armed.CompareAndSwap(true, false) {
						p.cut.Add(1)
						if !p.stall.Load() {
							return
						}
						swallow.Store(true)
					}
				}
				if n > 0 && !swallow.Load() {
					if _, werr := client.Write(buf[:n]); werr != nil {
						return
					}
				}
				if err != nil {
					return
				}
			}
		})
	}
}

// lossyChanges returns Changes on a second Store that reaches s's server
// through a lossyProxy, under s's prefix.
func lossyChanges(t *testing.T, s *redisstore.Store) (*Changes, *lossyProxy) {
	t.Helper()
	return lossyChangesOpts(t, s, redisstore.Options{})
}

func lossyChangesOpts(t *testing.T, s *redisstore.Store, opts redisstore.Options) (*Changes, *lossyProxy) {
	t.Helper()
	if s.Cluster() {
		t.Skip("a proxy in front of one node sees only part of a cluster client's commands")
	}
	target := s.Addr()
	p := newLossyProxy(t, target)
	ps := redistest.ReplicaVia(t, s, p.ln.Addr().String(), opts)
	return NewChanges(ps, ChangesOptions{}), p
}

// TestChangeOpsSurviveALostReply: when Redis ran a state script but its
// reply was lost and go-redis sent the same call again, the retry must get
// the answer the first run earned. Otherwise an approval that completed the
// count comes back as "already decided" and nobody applies the change (it
// stays approved for good), a finished change looks unfinished, and a new
// change looks like a duplicate that was never posted.
func TestChangeOpsSurviveALostReply(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *redisstore.Store) {
		c, p := lossyChanges(t, s)
		ctx := t.Context()
		cut := func(desc string) {
			t.Helper()
			if n := p.cut.Swap(0); n != 1 {
				t.Fatalf("%s: the proxy cut %d replies, want 1", desc, n)
			}
		}

		p.dropNextReply()
		got, created, err := c.Create(ctx, newChange(wsA(), "lost1", 1), "envelope-lost1")
		cut("create")
		if err != nil || !created || got.ID != "lost1" {
			t.Errorf("Create after a lost reply = %q created %v, %v; want lost1 created", got.ID, created, err)
		}

		p.dropNextReply()
		got, now, err := c.Approve(ctx, wsA(), "lost1", "bob", at(time.Minute), commands.Claim{}, false)
		cut("approve")
		if err != nil || !now || got.Status != commands.StatusApproved || len(got.Approvals) != 1 {
			t.Fatalf("completing Approve after a lost reply = %q now %v, %d approvals, %v; want approved now by bob",
				got.Status, now, len(got.Approvals), err)
		}
		// Another click is still told it was decided.
		if _, now, err := c.Approve(ctx, wsA(), "lost1", "carol", at(time.Minute), commands.Claim{}, false); now || !errors.Is(err, commands.ErrDecided) {
			t.Errorf("a later Approve = now %v, %v; want ErrDecided", now, err)
		}

		p.dropNextReply()
		got, err = c.Finish(ctx, wsA(), "lost1", 0, commands.StatusApplied, commands.Notation("applied"), nil, at(2*time.Minute))
		cut("finish")
		if err != nil || got.Status != commands.StatusApplied {
			t.Errorf("Finish after a lost reply = %q, %v; want applied", got.Status, err)
		}
		if _, err := c.Finish(ctx, wsA(), "lost1", 0, commands.StatusFailed, commands.Notation("again"), nil, at(3*time.Minute)); !errors.Is(err, commands.ErrDecided) {
			t.Errorf("a second Finish = %v; want ErrDecided", err)
		}

		mustCreate(t, c, newChange(wsA(), "lost2", 2))
		p.dropNextReply()
		got, now, err = c.Approve(ctx, wsA(), "lost2", "bob", at(time.Minute), commands.Claim{}, false)
		cut("partial approve")
		if err != nil || now || got.Status != commands.StatusPending || len(got.Approvals) != 1 {
			t.Errorf("partial Approve after a lost reply = %q now %v, %d approvals, %v; want one approval, pending",
				got.Status, now, len(got.Approvals), err)
		}
		if _, _, err := c.Approve(ctx, wsA(), "lost2", "bob", at(2*time.Minute), commands.Claim{}, false); !errors.Is(err, commands.ErrAlreadyApproved) {
			t.Errorf("bob approving again = %v; want ErrAlreadyApproved", err)
		}

		mustCreate(t, c, newChange(wsA(), "lost3", 1))
		p.dropNextReply()
		got, err = c.Reject(ctx, wsA(), "lost3", "bob", at(time.Minute))
		cut("reject")
		if err != nil || got.Status != commands.StatusRejected {
			t.Errorf("Reject after a lost reply = %q, %v; want rejected", got.Status, err)
		}

		mustCreate(t, c, newChange(wsA(), "lost4", 1))
		p.dropNextReply()
		got, err = c.Cancel(ctx, wsA(), "lost4", "alice", at(time.Minute))
		cut("cancel")
		if err != nil || got.Status != commands.StatusCancelled {
			t.Errorf("Cancel after a lost reply = %q, %v; want cancelled", got.Status, err)
		}
	})
}

// TestApproveSurvivesATimedOutReply: Redis ran the approval that completed
// the count but its reply came too late; the caller must still learn that
// its approval completed the count (and so apply the change), or nobody
// ever applies it. Create likewise must not leave a stored change that
// nobody posts.
func TestApproveSurvivesATimedOutReply(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *redisstore.Store) {
		c, p := lossyChangesOpts(t, s, redisstore.Options{OpTimeout: 300 * time.Millisecond})
		p.stall.Store(true)
		ctx := t.Context()

		p.dropNextReply()
		got, created, err := c.Create(ctx, newChange(wsA(), "slow1", 1), "envelope-slow1")
		if n := p.cut.Swap(0); n != 1 {
			t.Fatalf("create: the proxy held back %d replies, want 1", n)
		}
		if err != nil || !created || got.ID != "slow1" {
			t.Errorf("Create after a timed-out reply = %q created %v, %v; want slow1 created", got.ID, created, err)
		}

		p.dropNextReply()
		got, now, err := c.Approve(ctx, wsA(), "slow1", "bob", at(time.Minute), commands.Claim{}, false)
		if n := p.cut.Swap(0); n != 1 {
			t.Fatalf("approve: the proxy held back %d replies, want 1", n)
		}
		if err != nil || !now || got.Status != commands.StatusApproved {
			t.Errorf("completing Approve after a timed-out reply = %q now %v, %v; want approved now", got.Status, now, err)
		}
	})
}
