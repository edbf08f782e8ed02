// Package batch groups concurrent writes into shared commits (group commit).
//
// Callers Add an item and block until the commit that holds it has returned;
// one goroutine commits whatever accumulated while the previous commit ran.
// Under load many items share one commit; when idle an item is committed
// alone at once, with no timer to wait for.
package batch

import (
	"context"
	"errors"
	"sync"
	"time"
)

// ErrClosed is returned by Add after Close.
var ErrClosed = errors.New("batch: closed")

// Committer commits items of type T in groups.
type Committer[T any] struct {
	commit   func(ctx context.Context, items []T) error
	max      int
	onCommit func(n int, d time.Duration, err error)

	mu      sync.Mutex
	cur     *group[T]   // filling
	full    []*group[T] // filled to max, waiting for the writer
	closed  bool
	wake    chan struct{}
	stopped chan struct{}
}

type group[T any] struct {
	items []T
	done  chan struct{}
	err   error
}

// New starts a committer. commit writes one group durably; max bounds the
// items in one group; onCommit (optional) observes each commit.
func New[T any](commit func(ctx context.Context, items []T) error, max int, onCommit func(n int, d time.Duration, err error)) *Committer[T] {
	if max < 1 {
		max = 1
	}
	c := &Committer[T]{
		commit:   commit,
		max:      max,
		onCommit: onCommit,
		cur:      newGroup[T](0),
		wake:     make(chan struct{}, 1),
		stopped:  make(chan struct{}),
	}
	go c.run()
	return c
}

func newGroup[T any](capacity int) *group[T] {
	return &group[T]{items: make([]T, 0, capacity), done: make(chan struct{})}
}

// Add queues item and waits until the commit holding it has finished,
// returning that commit's error. It does not give up early when ctx ends:
// once queued, an item is committed, and the caller learns the outcome.
func (c *Committer[T]) Add(item T) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return ErrClosed
	}
	g := c.cur
	g.items = append(g.items, item)
	if len(g.items) >= c.max {
		c.full = append(c.full, g)
		c.cur = newGroup[T](c.max)
	}
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
	<-g.done
	return g.err
}

// Close commits everything queued, stops the writer and returns when the
// last commit has finished. Add fails with ErrClosed afterwards.
func (c *Committer[T]) Close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
	<-c.stopped
}

func (c *Committer[T]) next() (*group[T], bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.full) > 0 {
		g := c.full[0]
		c.full = c.full[1:]
		return g, true
	}
	if len(c.cur.items) > 0 {
		g := c.cur
		c.cur = newGroup[T](len(g.items))
		return g, true
	}
	return nil, c.closed
}

func (c *Committer[T]) run() {
	defer close(c.stopped)
	for {
		g, ok := c.next()
		if g == nil {
			if ok { // closed and drained
				return
			}
			<-c.wake
			continue
		}
		start := time.Now()
		g.err = c.commit(context.Background(), g.items)
		if c.onCommit != nil {
			c.onCommit(len(g.items), time.Since(start), g.err)
		}
		close(g.done)
	}
}
