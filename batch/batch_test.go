package batch_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint/batch"
)

// liveness bounds how long a test waits for something that must happen. It
// is not a speed requirement: it only turns a hang into a failure.
const liveness = 5 * time.Second

// recorder is a commit function that records every call. Its first call
// blocks until release is closed when block is set, so that tests can queue
// items behind a commit in progress.
type recorder struct {
	mu    sync.Mutex
	calls [][]int
	done  map[int]int // item → number of commits that returned with it
	fail  func(call int, items []int) error
	max   int // when > 0, calls with more items are errors of the test

	block   bool
	started chan struct{} // closed when the first call starts
	release chan struct{} // closed to let the first call return
	once    sync.Once
	errs    []string
}

// unblock lets the first call return.
func (r *recorder) unblock() { r.once.Do(func() { close(r.release) }) }

func newRecorder(block bool) *recorder {
	return &recorder{done: map[int]int{}, block: block, started: make(chan struct{}), release: make(chan struct{})}
}

func (r *recorder) commit(ctx context.Context, items []int) error {
	if ctx == nil || ctx.Err() != nil {
		r.mu.Lock()
		r.errs = append(r.errs, "commit called without a live context")
		r.mu.Unlock()
	}
	r.mu.Lock()
	call := len(r.calls)
	r.calls = append(r.calls, append([]int(nil), items...))
	if r.max > 0 && len(items) > r.max {
		r.errs = append(r.errs, fmt.Sprintf("call %d has %d items, more than Max %d", call, len(items), r.max))
	}
	if len(items) == 0 {
		r.errs = append(r.errs, fmt.Sprintf("call %d has no items", call))
	}
	r.mu.Unlock()
	if call == 0 && r.block {
		close(r.started)
		<-r.release
	}
	runtime.Gosched() // give an early return from Add a chance to show
	var err error
	if r.fail != nil {
		err = r.fail(call, items)
	}
	r.mu.Lock()
	for _, it := range items {
		r.done[it]++
	}
	r.mu.Unlock()
	return err
}

func (r *recorder) committed(item int) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.done[item]
}

func (r *recorder) snapshot() [][]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([][]int, len(r.calls))
	for i, c := range r.calls {
		out[i] = append([]int(nil), c...)
		sort.Ints(out[i])
	}
	return out
}

func (r *recorder) check(t *testing.T) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range r.errs {
		t.Error(e)
	}
}

// goroutines counts the goroutines whose innermost frame is the Committer
// method fn and whose state starts with state ("chan receive", "select").
// Tests use it to know, without sleeping, that an Add has queued its item
// (it then waits in Add on a channel) or where the writer is.
func goroutines(fn, state string) int {
	buf := make([]byte, 1<<16)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	count := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		lines := strings.SplitN(g, "\n", 3)
		if len(lines) < 2 {
			continue
		}
		if strings.Contains(lines[0], "["+state) && strings.Contains(lines[1], "batch.(*Committer[...])."+fn+"(") {
			count++
		}
	}
	return count
}

// waitFor polls cond until it holds, failing after the liveness bound.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(liveness)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(50 * time.Microsecond)
	}
}

// waitAdds waits until n goroutines have queued their item and wait in Add.
func waitAdds(t *testing.T, n int) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%d Adds are queued", n), func() bool { return goroutines("Add", "chan receive") >= n })
}

// waitIdle waits until the writer waits for a first item with nothing
// pending.
func waitIdle(t *testing.T) {
	t.Helper()
	waitFor(t, "the writer is idle", func() bool { return goroutines("next", "chan receive") == 1 })
}

// addAll adds items, each from its own goroutine, and returns a channel
// that receives every Add's result.
type result struct {
	item int
	err  error
}

func addAll(c *batch.Committer[int], items ...int) <-chan result {
	ch := make(chan result, len(items))
	for _, it := range items {
		go func() { ch <- result{it, c.Add(it)} }()
	}
	return ch
}

// collect receives n results, failing after the liveness bound.
func collect(t *testing.T, ch <-chan result, n int) map[int]error {
	t.Helper()
	out := make(map[int]error, n)
	timeout := time.After(liveness)
	for len(out) < n {
		select {
		case r := <-ch:
			out[r.item] = r.err
		case <-timeout:
			t.Fatalf("only %d of %d Adds returned", len(out), n)
		}
	}
	return out
}

func seq(from, to int) []int {
	var s []int
	for i := from; i <= to; i++ {
		s = append(s, i)
	}
	return s
}

func equalCalls(t *testing.T, got, want [][]int) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("commit calls = %v, want %v", got, want)
	}
}

// closeLater closes c when the test ends, after unblock, so that a failing
// test does not hang on a blocked commit.
func closeLater(t *testing.T, c *batch.Committer[int], unblock func()) {
	t.Cleanup(func() {
		unblock()
		closed := make(chan struct{})
		go func() { c.Close(); close(closed) }()
		select {
		case <-closed:
		case <-time.After(liveness):
			t.Errorf("Close did not return")
		}
	})
}

// blockFirst starts a committer whose first commit (of item 0) is in progress
// and blocked until r.unblock. The committer is closed when the test ends.
func blockFirst(t *testing.T, r *recorder, o batch.Options) (*batch.Committer[int], <-chan result) {
	t.Helper()
	c := batch.New(r.commit, o)
	closeLater(t, c, r.unblock)
	first := addAll(c, 0)
	select {
	case <-r.started:
	case <-time.After(liveness):
		t.Fatalf("the first commit did not start")
	}
	return c, first
}

func TestExactlyOnce(t *testing.T) {
	const goroutinesN, perG = 50, 40
	for _, tc := range []struct {
		name string
		o    batch.Options
		max  int
	}{
		{"Default", batch.Options{}, 1024},
		{"Max7", batch.Options{Max: 7}, 7},
		{"Max1", batch.Options{Max: 1}, 1},
		{"Linger", batch.Options{Max: 16, Linger: 50 * time.Microsecond}, 16},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRecorder(false)
			r.max = tc.max
			c := batch.New(r.commit, tc.o)
			closeLater(t, c, func() {})
			var wg sync.WaitGroup
			errs := make(chan error, goroutinesN*perG)
			for g := 0; g < goroutinesN; g++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < perG; i++ {
						item := g*perG + i
						if err := c.Add(item); err != nil {
							errs <- fmt.Errorf("Add(%d): %v", item, err)
							return
						}
						if n := r.committed(item); n != 1 {
							errs <- fmt.Errorf("Add(%d) returned with the item committed %d times", item, n)
							return
						}
					}
				}()
			}
			waited := make(chan struct{})
			go func() { wg.Wait(); close(waited) }()
			select {
			case <-waited:
			case <-time.After(liveness):
				t.Fatalf("the Adds did not all return")
			}
			c.Close()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			r.check(t)
			r.mu.Lock()
			defer r.mu.Unlock()
			if got, want := len(r.done), goroutinesN*perG; got != want {
				t.Fatalf("%d distinct items committed, want %d", got, want)
			}
			total := 0
			for _, call := range r.calls {
				total += len(call)
			}
			if got, want := total, goroutinesN*perG; got != want {
				t.Fatalf("%d items in commit calls, want %d", got, want)
			}
			for item, n := range r.done {
				if n != 1 {
					t.Fatalf("item %d committed %d times", item, n)
				}
			}
		})
	}
}

func TestGroups(t *testing.T) {
	r := newRecorder(true)
	c, first := blockFirst(t, r, batch.Options{})
	rest := addAll(c, seq(1, 10)...)
	waitAdds(t, 11)
	if got, want := len(r.snapshot()), 1; got != want {
		t.Fatalf("%d commit calls while the first is in progress, want %d", got, want)
	}
	select {
	case res := <-first:
		t.Fatalf("Add(0) returned %v before its commit returned", res.err)
	default:
	}
	r.unblock()
	for item, err := range collect(t, first, 1) {
		if err != nil {
			t.Fatalf("Add(%d): %v", item, err)
		}
	}
	for item, err := range collect(t, rest, 10) {
		if err != nil {
			t.Fatalf("Add(%d): %v", item, err)
		}
	}
	equalCalls(t, r.snapshot(), [][]int{{0}, seq(1, 10)})
	r.check(t)
}

func TestMax(t *testing.T) {
	for _, tc := range []struct {
		name string
		max  int
		want [][]int // sizes of the calls after the first
	}{
		{"Max4", 4, [][]int{{1}, {4}, {4}, {2}}},
		{"Max5", 5, [][]int{{1}, {5}, {5}}},
		{"Max1", 1, [][]int{{1}, {1}, {1}, {1}, {1}, {1}, {1}, {1}, {1}, {1}, {1}}},
		{"Max11", 11, [][]int{{1}, {10}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRecorder(true)
			r.max = tc.max
			c, first := blockFirst(t, r, batch.Options{Max: tc.max})
			rest := addAll(c, seq(1, 10)...)
			waitAdds(t, 11)
			r.unblock()
			collect(t, first, 1)
			for item, err := range collect(t, rest, 10) {
				if err != nil {
					t.Fatalf("Add(%d): %v", item, err)
				}
			}
			calls := r.snapshot()
			var sizes [][]int
			seen := map[int]bool{}
			for _, call := range calls {
				sizes = append(sizes, []int{len(call)})
				for _, it := range call {
					if seen[it] {
						t.Fatalf("item %d committed twice: %v", it, calls)
					}
					seen[it] = true
				}
			}
			if fmt.Sprint(sizes) != fmt.Sprint(tc.want) {
				t.Fatalf("call sizes = %v, want %v (calls %v)", sizes, tc.want, calls)
			}
			if got, want := len(seen), 11; got != want {
				t.Fatalf("%d items committed, want %d", got, want)
			}
			r.check(t)
		})
	}
}

func TestCommitError(t *testing.T) {
	errBoom := errors.New("boom")
	t.Run("Group", func(t *testing.T) {
		r := newRecorder(true)
		r.fail = func(call int, items []int) error {
			if call == 1 {
				return fmt.Errorf("commit: %w", errBoom)
			}
			return nil
		}
		// An error of the whole commit (Isolate refuses it) fails every
		// item of the group, and is not tried again.
		c, first := blockFirst(t, r, batch.Options{Isolate: func(err error) bool { return !errors.Is(err, errBoom) }})
		rest := addAll(c, seq(1, 5)...)
		waitAdds(t, 6)
		r.unblock()
		if err := collect(t, first, 1)[0]; err != nil {
			t.Fatalf("Add(0) = %v, want nil", err)
		}
		for item, err := range collect(t, rest, 5) {
			if !errors.Is(err, errBoom) {
				t.Fatalf("Add(%d) = %v, want %v", item, err, errBoom)
			}
		}
		// Later groups are unaffected.
		for _, item := range []int{6, 7} {
			if err := c.Add(item); err != nil {
				t.Fatalf("Add(%d) = %v, want nil", item, err)
			}
		}
		equalCalls(t, r.snapshot(), [][]int{{0}, seq(1, 5), {6}, {7}})
	})
	t.Run("Alone", func(t *testing.T) {
		r := newRecorder(false)
		r.fail = func(call int, items []int) error {
			if items[0] < 0 {
				return errBoom
			}
			return nil
		}
		c := batch.New(r.commit, batch.Options{})
		closeLater(t, c, func() {})
		for _, tc := range []struct {
			item int
			want error
		}{{1, nil}, {-1, errBoom}, {2, nil}, {-2, errBoom}, {-3, errBoom}, {3, nil}} {
			if got := c.Add(tc.item); got != tc.want {
				t.Fatalf("Add(%d) = %v, want %v", tc.item, got, tc.want)
			}
		}
	})
}

// TestPoisonPill: a commit that fails because of one item's data is split
// until that item fails alone; every other item of the group is committed
// exactly once, and Add returns each item's own outcome.
func TestPoisonPill(t *testing.T) {
	errPoison := errors.New("poison")
	for _, bad := range [][]int{{3}, {1}, {9}, {2, 7}, {1, 2, 3, 4, 5, 6, 7, 8, 9}} {
		t.Run(fmt.Sprint(bad), func(t *testing.T) {
			isBad := map[int]bool{}
			for _, b := range bad {
				isBad[b] = true
			}
			r := newRecorder(true)
			// Like a store: a commit holding a bad item fails as a whole
			// (it changes nothing), so only the good items' successful
			// commits count.
			var mu sync.Mutex
			stored := map[int]int{}
			r.fail = func(call int, items []int) error {
				for _, it := range items {
					if isBad[it] {
						return fmt.Errorf("item %d: %w", it, errPoison)
					}
				}
				mu.Lock()
				for _, it := range items {
					stored[it]++
				}
				mu.Unlock()
				return nil
			}
			c, first := blockFirst(t, r, batch.Options{})
			rest := addAll(c, seq(1, 9)...)
			waitAdds(t, 10)
			r.unblock()
			collect(t, first, 1)
			for item, err := range collect(t, rest, 9) {
				if isBad[item] {
					if !errors.Is(err, errPoison) || !strings.Contains(err.Error(), fmt.Sprintf("item %d:", item)) {
						t.Errorf("Add(%d) = %v, want its own poison error", item, err)
					}
				} else if err != nil {
					t.Errorf("Add(%d) = %v, want nil: a good item failed with a bad one", item, err)
				}
			}
			mu.Lock()
			defer mu.Unlock()
			for item := 1; item <= 9; item++ {
				if want := map[bool]int{true: 0, false: 1}[isBad[item]]; stored[item] != want {
					t.Errorf("item %d committed %d times, want %d", item, stored[item], want)
				}
			}
			// The group of nine was tried once whole, then in halves: never
			// more tries than two per item and level.
			if n := len(r.snapshot()); n > 1+2*9 {
				t.Errorf("%d commits for one group of 9", n)
			}
		})
	}
}

func TestClose(t *testing.T) {
	t.Run("Drains", func(t *testing.T) {
		r := newRecorder(true)
		c, first := blockFirst(t, r, batch.Options{Linger: time.Hour})
		rest := addAll(c, seq(1, 5)...)
		waitAdds(t, 6)
		closed := make(chan struct{})
		go func() { c.Close(); close(closed) }()
		waitFor(t, "Close waits", func() bool { return goroutines("Close", "chan receive") == 1 })
		select {
		case <-closed:
			t.Fatalf("Close returned while a commit was in progress")
		default:
		}
		// Close has begun: new items are refused at once, even though the
		// writer is still busy.
		if got, want := collect(t, addAll(c, 99), 1)[99], batch.ErrClosed; got != want {
			t.Fatalf("Add during Close = %v, want %v", got, want)
		}
		r.unblock()
		select {
		case <-closed:
		case <-time.After(liveness):
			t.Fatalf("Close did not return")
		}
		// Every queued item was committed before Close returned.
		for _, item := range seq(0, 5) {
			if got, want := r.committed(item), 1; got != want {
				t.Fatalf("item %d committed %d times when Close returned, want %d", item, got, want)
			}
		}
		collect(t, first, 1)
		for item, err := range collect(t, rest, 5) {
			if err != nil {
				t.Fatalf("Add(%d) = %v", item, err)
			}
		}
		if got, want := collect(t, addAll(c, 100), 1)[100], batch.ErrClosed; got != want {
			t.Fatalf("Add after Close = %v, want %v", got, want)
		}
		equalCalls(t, r.snapshot(), [][]int{{0}, seq(1, 5)})
		// A second Close returns.
		again := make(chan struct{})
		go func() { c.Close(); close(again) }()
		select {
		case <-again:
		case <-time.After(liveness):
			t.Fatalf("second Close did not return")
		}
	})
	t.Run("Idle", func(t *testing.T) {
		r := newRecorder(false)
		c := batch.New(r.commit, batch.Options{})
		c.Close()
		if got, want := collect(t, addAll(c, 1), 1)[1], batch.ErrClosed; got != want {
			t.Fatalf("Add after Close = %v, want %v", got, want)
		}
		if got := r.snapshot(); len(got) != 0 {
			t.Fatalf("commit calls = %v, want none", got)
		}
	})
}

func TestOnCommit(t *testing.T) {
	type obs struct {
		n   int
		err error
	}
	errBoom := errors.New("boom")
	var mu sync.Mutex
	var seen []obs
	r := newRecorder(true)
	r.fail = func(call int, items []int) error {
		if items[0] < 0 {
			return errBoom
		}
		return nil
	}
	c, first := blockFirst(t, r, batch.Options{OnCommit: func(n int, d time.Duration, err error) {
		if d < 0 {
			t.Errorf("OnCommit duration %v < 0", d)
		}
		mu.Lock()
		seen = append(seen, obs{n, err})
		mu.Unlock()
	}})
	count := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(seen)
	}
	rest := addAll(c, seq(1, 6)...)
	waitAdds(t, 7)
	if got, want := count(), 0; got != want {
		t.Fatalf("OnCommit called %d times during the first commit, want %d", got, want)
	}
	r.unblock()
	collect(t, first, 1)
	collect(t, rest, 6)
	// OnCommit runs before Add returns.
	for i, tc := range []struct {
		item int
		want error
	}{{-1, errBoom}, {7, nil}} {
		if err := c.Add(tc.item); err != tc.want {
			t.Fatalf("Add(%d) = %v, want %v", tc.item, err, tc.want)
		}
		if got, want := count(), 2+i+1; got != want {
			t.Fatalf("after Add(%d): %d OnCommit calls, want %d", tc.item, got, want)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	want := []obs{{1, nil}, {6, nil}, {1, errBoom}, {1, nil}}
	if fmt.Sprint(seen) != fmt.Sprint(want) {
		t.Fatalf("OnCommit saw %v, want %v", seen, want)
	}
}

func TestLoneAddDoesNotLinger(t *testing.T) {
	r := newRecorder(false)
	// A lingering committer would hold each Add an hour: the liveness
	// bound tells the two apart on any machine, however loaded.
	c := batch.New(r.commit, batch.Options{Linger: time.Hour})
	closeLater(t, c, func() {})
	for _, item := range []int{1, 2, 3} {
		done := addAll(c, item)
		select {
		case res := <-done:
			if res.err != nil {
				t.Fatalf("Add(%d): %v", item, res.err)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("lone Add(%d) did not return within 30s (Linger is an hour)", item)
		}
	}
	equalCalls(t, r.snapshot(), [][]int{{1}, {2}, {3}})
}

// TestLingerUnderLoad checks that once commits have been holding several
// items, the writer waits for more, and that a full group or Close ends the
// wait.
func TestLingerUnderLoad(t *testing.T) {
	var mu sync.Mutex
	var sizes []int
	block := make(chan struct{})
	close(block)
	blocking := false
	started := make(chan struct{}, 1)
	unblock := func() {
		mu.Lock()
		defer mu.Unlock()
		select {
		case <-block:
		default:
			close(block)
		}
	}
	commit := func(ctx context.Context, items []int) error {
		mu.Lock()
		sizes = append(sizes, len(items))
		b, ch := blocking, block
		blocking = false
		mu.Unlock()
		if b {
			started <- struct{}{}
			<-ch
		}
		return nil
	}
	c := batch.New(commit, batch.Options{Max: 10, Linger: time.Hour})
	closeLater(t, c, unblock)
	// Two rounds of a lone commit followed by a group of nine raise the
	// average group size above 1.5 (0.1, 0.99, 0.99, 1.79).
	next := 0
	for round := 0; round < 2; round++ {
		waitIdle(t)
		mu.Lock()
		blocking = true
		block = make(chan struct{})
		mu.Unlock()
		first := addAll(c, next)
		select {
		case <-started:
		case <-time.After(liveness):
			t.Fatalf("round %d: the first commit did not start", round)
		}
		rest := addAll(c, seq(next+1, next+9)...)
		waitAdds(t, 10)
		unblock()
		collect(t, first, 1)
		collect(t, rest, 9)
		next += 10
	}
	mu.Lock()
	if got, want := fmt.Sprint(sizes), "[1 9 1 9]"; got != want {
		mu.Unlock()
		t.Fatalf("commit sizes = %s, want %s", got, want)
	}
	mu.Unlock()
	ncalls := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(sizes)
	}

	t.Run("FullGroup", func(t *testing.T) {
		waitIdle(t)
		lone := addAll(c, 100)
		waitAdds(t, 1)
		waitFor(t, "the writer lingers", func() bool { return goroutines("next", "select") == 1 })
		if got, want := ncalls(), 4; got != want {
			t.Fatalf("%d commits while lingering, want %d", got, want)
		}
		select {
		case res := <-lone:
			t.Fatalf("Add(100) returned %v while the writer lingers", res.err)
		default:
		}
		rest := addAll(c, seq(101, 109)...)
		collect(t, lone, 1)
		collect(t, rest, 9)
		mu.Lock()
		defer mu.Unlock()
		if got, want := fmt.Sprint(sizes[4:]), "[10]"; got != want {
			t.Fatalf("commit sizes after lingering = %s, want %s", got, want)
		}
	})
	t.Run("Close", func(t *testing.T) {
		waitIdle(t)
		lone := addAll(c, 200)
		waitAdds(t, 1)
		waitFor(t, "the writer lingers", func() bool { return goroutines("next", "select") == 1 })
		closed := make(chan struct{})
		go func() { c.Close(); close(closed) }()
		select {
		case <-closed:
		case <-time.After(liveness):
			t.Fatalf("Close did not end the linger")
		}
		if err := collect(t, lone, 1)[200]; err != nil {
			t.Fatalf("Add(200) = %v", err)
		}
		if got, want := ncalls(), 6; got != want {
			t.Fatalf("%d commits, want %d", got, want)
		}
	})
	c.Close()
}

// TestWriters: with Writers 3, three commits run at once (each waits
// until the three have started), every item is committed exactly once,
// and Close stops every writer.
func TestWriters(t *testing.T) {
	const writers = 3
	var mu sync.Mutex
	committed := map[int]int{}
	started := make(chan struct{}, 100)
	all := make(chan struct{})
	var once sync.Once
	running := 0
	c := batch.New(func(ctx context.Context, items []int) error {
		mu.Lock()
		running++
		if running == writers {
			once.Do(func() { close(all) })
		}
		mu.Unlock()
		started <- struct{}{}
		select {
		case <-all:
		case <-time.After(liveness):
			return errors.New("the other writers never started")
		}
		mu.Lock()
		for _, it := range items {
			committed[it]++
		}
		mu.Unlock()
		return nil
	}, batch.Options{Max: 1, Writers: writers})
	var wg sync.WaitGroup
	errs := make(chan error, 30)
	for i := range 30 {
		wg.Go(func() { errs <- c.Add(i) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	closed := make(chan struct{})
	go func() { c.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(liveness):
		t.Fatal("Close did not return: a writer was left waiting")
	}
	for i := range 30 {
		if committed[i] != 1 {
			t.Fatalf("item %d committed %d times", i, committed[i])
		}
	}
	if err := c.Add(99); !errors.Is(err, batch.ErrClosed) {
		t.Fatalf("Add after Close: %v", err)
	}
}
