package cohort

import (
	"math/bits"
	"slices"
)

// Set is a set of amplitude ids: a bitmap over [base, base+64·len(bits)),
// the range of a project's ids (a million users: 125 KB a set). The sets
// of one evaluation share one range, which And, Or and AndNot assume.
type Set struct {
	base int64
	bits []uint64
}

// NewSet returns an empty set over the ids lo to hi (and up to the end
// of the last word).
func NewSet(lo, hi int64) *Set {
	if hi < lo {
		return &Set{base: lo}
	}
	return &Set{base: lo, bits: make([]uint64, (hi-lo)/64+1)}
}

// emptyLike returns an empty set over s's range.
func (s *Set) emptyLike() *Set { return &Set{base: s.base, bits: make([]uint64, len(s.bits))} }

// Clone returns a copy of s.
func (s *Set) Clone() *Set { return &Set{base: s.base, bits: slices.Clone(s.bits)} }

// Add adds id; an id outside the set's range is not a user of the project
// and is left out.
func (s *Set) Add(id int64) {
	i := id - s.base
	if i >= 0 && i/64 < int64(len(s.bits)) {
		s.bits[i/64] |= 1 << (i % 64)
	}
}

// Has reports whether id is in s.
func (s *Set) Has(id int64) bool {
	i := id - s.base
	return i >= 0 && i/64 < int64(len(s.bits)) && s.bits[i/64]&(1<<(i%64)) != 0
}

// And keeps in s the ids also in o.
func (s *Set) And(o *Set) {
	for i := range s.bits {
		s.bits[i] &= o.bits[i]
	}
}

// Or adds to s the ids in o.
func (s *Set) Or(o *Set) {
	for i := range s.bits {
		s.bits[i] |= o.bits[i]
	}
}

// AndNot removes from s the ids in o.
func (s *Set) AndNot(o *Set) {
	for i := range s.bits {
		s.bits[i] &^= o.bits[i]
	}
}

// Count returns the number of ids in s.
func (s *Set) Count() int64 {
	n := 0
	for _, w := range s.bits {
		n += bits.OnesCount64(w)
	}
	return int64(n)
}

// Each calls fn with every id, lowest first, until it returns false.
func (s *Set) Each(fn func(id int64) bool) {
	for i, w := range s.bits {
		for w != 0 {
			b := bits.TrailingZeros64(w)
			if !fn(s.base + int64(i)*64 + int64(b)) {
				return
			}
			w &= w - 1
		}
	}
}

// IDs returns the ids of s, lowest first.
func (s *Set) IDs() []int64 {
	out := make([]int64, 0, s.Count())
	s.Each(func(id int64) bool { out = append(out, id); return true })
	return out
}
