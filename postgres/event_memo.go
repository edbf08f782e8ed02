package postgres

import (
	"slices"
	"sync"

	amp "github.com/touchpointhq/touchpoint/analytics"
)

// memo is what a node keeps of the analytics plane between its write
// transactions: the users, their keys, the event types and the held
// attribution events its transactions read or wrote, misses included, as
// of one analytics generation. Every transaction that writes the plane,
// on any node, advances the generation (a row of sequences, read FOR
// UPDATE with the ids). A transaction that finds the generation its node's
// memo was left at uses it and reads only keys it does not hold; one that
// finds another (a write from another node came between) starts from an
// empty memo. So one node writing alone plans most events from memory, as
// the embedded store does, and nodes writing in turns each read what they
// need as before.
//
// Insert ids, properties and group properties are not kept: each insert
// id is new, and the others are read rarely.
type memo struct {
	gen      int64 // the generation the contents are of
	users    map[int64]*amp.User
	byUserID map[projectString]int64
	byDevice map[projectString]int64
	byAdID   map[projectAdID]int64
	types    map[projectString]int64
	held     map[projectAdID][]*amp.Held
}

// memoMaxUsers bounds a memo (some 300 bytes a user with its keys): a
// memo that grows past it is dropped, and the next transaction starts an
// empty one.
const memoMaxUsers = 500_000

func newMemo(gen int64) *memo {
	return &memo{gen: gen, users: map[int64]*amp.User{}, byUserID: map[projectString]int64{}, byDevice: map[projectString]int64{},
		byAdID: map[projectAdID]int64{}, types: map[projectString]int64{}, held: map[projectAdID][]*amp.Held{}}
}

// memoHolder is a node's memo and the lock its analytics writers take
// turns on: they take turns on the sequences' rows anyway, and the memo is
// theirs from reading the generation to applying what they committed.
type memoHolder struct {
	mu sync.Mutex
	m  *memo // nil: none
}

// take returns the memo for a transaction that read generation gen. The
// caller holds mu.
func (h *memoHolder) take(gen int64) *memo {
	if h.m == nil || h.m.gen != gen {
		h.m = newMemo(gen)
	}
	return h.m
}

// committed records that the memo's transaction committed w (nil: wrote
// nothing) as generation gen, or failed (err): the memo may then hold
// marks of lookups that never finished, and is dropped. The caller holds
// mu.
func (h *memoHolder) committed(w *amp.Writes, gen int64, err error) {
	if err != nil || h.m == nil {
		h.m = nil
		return
	}
	if w != nil {
		h.m.apply(w)
		h.m.gen = gen
	}
	if len(h.m.users) > memoMaxUsers {
		h.m = nil
	}
}

// apply applies committed writes. What the memo holds of a key is all
// there is of it, so a held event is added to, or removed from, the lists
// of keys the memo holds only.
func (m *memo) apply(w *amp.Writes) {
	for _, u := range w.Changed {
		m.users[u.ID] = u
	}
	for _, u := range w.NewUsers {
		if u.UserID != "" {
			m.byUserID[projectString{u.Project, u.UserID}] = u.ID
		}
	}
	for _, s := range w.UserIDs {
		m.byUserID[projectString{s.Project, s.UserID}] = s.User
	}
	for _, d := range w.Devices {
		m.byDevice[projectString{d.Project, d.DeviceID}] = d.User
	}
	for _, a := range w.AdIDs {
		m.byAdID[projectAdID{a.Project, a.Key}] = a.User
	}
	for _, t := range w.Types {
		m.types[projectString{t.Project, t.Name}] = t.ID
	}
	for _, h := range w.Holds {
		for _, k := range h.Keys {
			pk := projectAdID{h.Project, k}
			if l, ok := m.held[pk]; ok {
				m.held[pk] = append(slices.Clip(l), h)
			}
		}
	}
	for _, u := range w.Unholds {
		for _, k := range u.Held.Keys {
			pk := projectAdID{u.Held.Project, k}
			if l, ok := m.held[pk]; ok {
				m.held[pk] = slices.DeleteFunc(slices.Clone(l), func(x *amp.Held) bool { return x.ID == u.Held.ID })
			}
		}
	}
}
