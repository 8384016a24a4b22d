package main

import "sync"

// waiters routes values that arrive on the fakes' goroutines (acks,
// response_url posts, Web API calls) to the unit waiting for them, by key.
type waiters[T any] struct {
	mu sync.Mutex
	m  map[string]chan T
}

func newWaiters[T any]() *waiters[T] { return &waiters[T]{m: map[string]chan T{}} }

// add registers key and returns the channel its values arrive on.
func (w *waiters[T]) add(key string) chan T {
	ch := make(chan T, 4)
	w.mu.Lock()
	w.m[key] = ch
	w.mu.Unlock()
	return ch
}

// addSent calls send, which returns the key to wait on, and registers it
// before a value for it can be delivered (deliver waits for the lock).
func (w *waiters[T]) addSent(send func() (string, error)) (string, chan T, error) {
	ch := make(chan T, 4)
	w.mu.Lock()
	defer w.mu.Unlock()
	key, err := send()
	if err != nil {
		return "", nil, err
	}
	w.m[key] = ch
	return key, ch, nil
}

// remove forgets key.
func (w *waiters[T]) remove(key string) {
	w.mu.Lock()
	delete(w.m, key)
	w.mu.Unlock()
}

// deliver passes v to key's waiter, if any, without blocking: a waiter
// that let four values pile up misses the next.
func (w *waiters[T]) deliver(key string, v T) {
	w.mu.Lock()
	ch := w.m[key]
	w.mu.Unlock()
	if ch == nil {
		return
	}
	select {
	case ch <- v:
	default:
	}
}
