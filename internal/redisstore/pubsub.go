package redisstore

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/redis/go-redis/v9"
)

// subscribeHealth is how long Subscribe waits for a message before it
// pings the server, and how long it waits for the answer before it takes
// the subscription for dead and starts a new one.
const subscribeHealth = time.Second

// Publish sends msg to every subscriber of channel (given without the
// prefix). It returns an error wrapping ErrUnavailable when Redis fails.
func (s *Store) Publish(ctx context.Context, channel, msg string) error {
	ctx, cancel := s.opContext(ctx)
	defer cancel()
	if err := s.client.Publish(ctx, s.key(channel), msg).Err(); err != nil {
		return unavailable("publish", channel, err)
	}
	return nil
}

// Subscribe listens on channel (given without the prefix) until ctx ends,
// then returns nil. It calls onMessage for each message, and onState(true)
// each time the subscription is established (the first time and after
// every reconnect) and onState(false) each time it is lost: messages
// published while it was down are lost, so a subscriber must assume that
// anything may have changed. Both are called from one goroutine, never at
// once.
//
// A connection that dies without a word is found by a ping when nothing has
// arrived for a second; one unanswered for another second is dropped and
// the subscription made again.
func (s *Store) Subscribe(ctx context.Context, channel string, onState func(up bool), onMessage func(string)) error {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := s.subscribeOnce(ctx, channel, onState, onMessage)
		onState(false)
		if ctx.Err() != nil {
			return nil
		}
		s.log.WarnContext(ctx, "redis subscription lost; subscribing again", "channel", channel, "err", err)
		if sleepCtx(ctx, backoff) != nil {
			return nil
		}
		backoff = min(2*backoff, 5*time.Second)
	}
	return nil
}

// subscribeOnce runs one subscription until it fails or ctx ends.
func (s *Store) subscribeOnce(ctx context.Context, channel string, onState func(bool), onMessage func(string)) error {
	ps := s.client.Subscribe(ctx, s.key(channel))
	defer ps.Close()
	// A read blocks until its timeout whatever ctx says: closing the
	// subscription ends it at once.
	stop := context.AfterFunc(ctx, func() { _ = ps.Close() })
	defer stop()
	pinged := false
	for {
		msg, err := ps.ReceiveTimeout(ctx, subscribeHealth)
		if ctx.Err() != nil {
			return nil
		}
		var ne net.Error
		switch {
		case err != nil && errors.As(err, &ne) && ne.Timeout():
			if pinged {
				return fmt.Errorf("redisstore: subscription to %q: no answer to a ping within %v", channel, subscribeHealth)
			}
			pctx, cancel := s.opContext(ctx)
			err = ps.Ping(pctx)
			cancel()
			if err != nil {
				return unavailable("subscribe ping", channel, err)
			}
			pinged = true
			continue
		case err != nil:
			return unavailable("subscribe", channel, err)
		}
		pinged = false
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" {
				onState(true)
			}
		case *redis.Message:
			onMessage(m.Payload)
		}
	}
}

// sleepCtx waits d or until ctx ends, and says which.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
