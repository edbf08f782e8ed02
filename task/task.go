// Package task runs a server's background work from one table: each task
// is a name, a period, a jitter and what it does. A Runner starts them all
// and stops them all, records each run (last run, duration, outcome) for
// /metrics, and runs any task once on demand, which is how tests exercise
// a task without waiting for its period.
//
// Work that one process at a time must do (purging old touches, expiring
// held attributions) names a lease: each round first takes the task's
// lease through the store (touchpoint.LeaseStore), and a process that does
// not get it skips the round, so several servers over one database run the
// same table safely.
package task

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/touchpointhq/touchpoint"
)

// Task is one line of the table.
type Task struct {
	// Name names the task in logs, metrics and its lease.
	Name string
	// Period is the wait between the end of a round and the start of the
	// next; the first round starts one Jitter-bounded moment after Start.
	// Zero: never on a schedule (RunOnce only).
	Period time.Duration
	// Jitter is the most added, at random, to each wait, so that servers
	// started together do not run in step.
	Jitter time.Duration
	// Lease, when set, makes a round run only in the process that holds
	// the task's lease, taken (or extended) for Lease before the round.
	// It must be longer than a round takes, and is best a little longer
	// than Period and Jitter together: the holder then keeps it from
	// round to round, and another process takes over only when the
	// holder stops.
	Lease time.Duration
	// Due, when set, is asked before each scheduled round; false skips
	// the round without counting it (a cheap "is there work" check).
	Due func() bool
	// Wake, when set, starts a round at once when it receives (an admin
	// change that makes work due sooner than the period).
	Wake <-chan struct{}
	// Loop marks a worker: Run runs until its context ends (the outbox),
	// and Period, Jitter and Due do not apply.
	Loop bool
	// Run does the work.
	Run func(ctx context.Context) error
}

// ErrNotHeld is what RunOnce returns when another process holds the
// task's lease: the round was skipped.
var ErrNotHeld = errors.New("task: another process holds the lease")

// Runner runs a table of tasks. Set the fields, then Start; Stop ends
// every task and waits for them.
type Runner struct {
	Tasks []Task
	// Leases grants the leases of tasks that have one; Holder names this
	// process to it (unique among the processes sharing the store).
	Leases touchpoint.LeaseStore
	Holder string
	// Clock is the server's clock: when rounds ran, how long they took,
	// and the times of leases.
	Clock  touchpoint.Clock
	Logger *slog.Logger
	// After waits between rounds; default time.After. Tests replace it.
	After func(time.Duration) <-chan time.Time

	mu     sync.Mutex
	stats  map[string]*Stats
	rounds map[string]*sync.Mutex // one round of a task at a time
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// Stats are a task's runs so far.
type Stats struct {
	Name string
	// Runs counts the rounds that ran, Errors those that failed, Skipped
	// those another process's lease skipped.
	Runs, Errors, Skipped int64
	// LastRun is when the last round began, LastDuration how long it took
	// and LastError what it failed with ("" if it did not).
	LastRun      time.Time
	LastDuration time.Duration
	LastError    string
	// Running is true while a Loop task runs.
	Running bool
}

func (r *Runner) init() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stats != nil {
		return nil
	}
	if r.Clock == nil {
		return errors.New("task: the runner has no clock")
	}
	r.Logger = cmp.Or(r.Logger, slog.Default())
	if r.After == nil {
		r.After = time.After
	}
	r.stats = make(map[string]*Stats, len(r.Tasks))
	r.rounds = make(map[string]*sync.Mutex, len(r.Tasks))
	for _, t := range r.Tasks {
		if t.Name == "" || t.Run == nil {
			return fmt.Errorf("task: a task needs a name and a function: %+v", t)
		}
		if _, dup := r.stats[t.Name]; dup {
			return fmt.Errorf("task: two tasks named %q", t.Name)
		}
		if t.Lease > 0 && (r.Leases == nil || r.Holder == "") {
			return fmt.Errorf("task %q has a lease but the runner has no lease store or holder", t.Name)
		}
		r.stats[t.Name] = &Stats{Name: t.Name}
		r.rounds[t.Name] = new(sync.Mutex)
	}
	return nil
}

// Start starts every task that has a period (and every Loop task).
func (r *Runner) Start() error {
	if err := r.init(); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.mu.Lock()
	if r.cancel != nil {
		r.mu.Unlock()
		cancel()
		return errors.New("task: the runner is running already")
	}
	r.cancel = cancel
	r.mu.Unlock()
	for _, t := range r.Tasks {
		switch {
		case t.Loop:
			r.mu.Lock()
			r.stats[t.Name].Running = true
			r.mu.Unlock()
			r.wg.Add(1)
			go r.loop(ctx, t)
		case t.Period > 0:
			r.wg.Add(1)
			go r.schedule(ctx, t)
		}
	}
	return nil
}

// Stop ends every task and waits until all have returned: a round under
// way sees its context end.
func (r *Runner) Stop() {
	r.mu.Lock()
	cancel := r.cancel
	r.cancel = nil
	r.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	r.wg.Wait()
}

// RunOnce runs the named task's round now, lease included, and returns its
// error (ErrNotHeld when another process holds the lease).
func (r *Runner) RunOnce(ctx context.Context, name string) error {
	if err := r.init(); err != nil {
		return err
	}
	for _, t := range r.Tasks {
		if t.Name == name {
			return r.round(ctx, t)
		}
	}
	return fmt.Errorf("task: no task named %q", name)
}

// Stats returns every task's stats, in the table's order.
func (r *Runner) Stats() []Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Stats, 0, len(r.Tasks))
	for _, t := range r.Tasks {
		if s := r.stats[t.Name]; s != nil {
			out = append(out, *s)
		}
	}
	return out
}

func (r *Runner) schedule(ctx context.Context, t Task) {
	defer r.wg.Done()
	wait := r.jitter(t.Jitter)
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.After(wait):
		case <-t.Wake: // nil: never
		}
		if ctx.Err() != nil {
			return // stopped while the wait ended
		}
		if t.Due == nil || t.Due() {
			err := r.round(ctx, t)
			if err != nil && !errors.Is(err, ErrNotHeld) && ctx.Err() == nil {
				r.Logger.Error("task failed", "task", t.Name, "err", err)
			}
		}
		wait = t.Period + r.jitter(t.Jitter)
	}
}

func (r *Runner) jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return rand.N(d)
}

// round runs one round of t: its lease first, when it has one. Rounds of
// one task never overlap (RunOnce during a scheduled round waits for it).
func (r *Runner) round(ctx context.Context, t Task) error {
	mu := r.rounds[t.Name]
	mu.Lock()
	defer mu.Unlock()
	if t.Lease > 0 {
		now := r.Clock.Now()
		held, err := r.Leases.AcquireLease(ctx, "task/"+t.Name, r.Holder, now, now.Add(t.Lease))
		if err != nil {
			return r.record(t.Name, now, 0, fmt.Errorf("lease: %w", err))
		}
		if !held {
			r.mu.Lock()
			r.stats[t.Name].Skipped++
			r.mu.Unlock()
			return ErrNotHeld
		}
		// The lease is kept until it runs out, not released: a round
		// every Period by whoever holds it, not by each process in turn
		// right after another's.
	}
	start := r.Clock.Now()
	err := t.Run(ctx)
	return r.record(t.Name, start, r.Clock.Now().Sub(start), err)
}

func (r *Runner) record(name string, start time.Time, d time.Duration, err error) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.stats[name]
	s.Runs++
	s.LastRun, s.LastDuration, s.LastError = start, d, ""
	if err != nil {
		s.Errors++
		s.LastError = err.Error()
	}
	return err
}

// loop runs a worker until ctx ends.
func (r *Runner) loop(ctx context.Context, t Task) {
	defer r.wg.Done()
	start := r.Clock.Now()
	err := t.Run(ctx)
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		err = nil
	}
	if err != nil {
		r.Logger.Error("worker stopped", "task", t.Name, "err", err)
	}
	r.record(t.Name, start, r.Clock.Now().Sub(start), err)
	r.mu.Lock()
	r.stats[t.Name].Running = false
	r.mu.Unlock()
}
