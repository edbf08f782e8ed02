package chart

import "math/bits"

// sortKeys sorts keys, using tmp (grown as needed) and returning it for
// reuse: a least-significant-digit radix sort on 16-bit digits, as many
// as the largest key needs (distinct users are counted by sorting
// (cell, user) keys, millions of them, where a comparison sort takes
// most of a chart's time).
func sortKeys(keys, tmp []uint64) []uint64 {
	if len(keys) < 2 {
		return tmp
	}
	var top uint64
	for _, k := range keys {
		top |= k
	}
	if cap(tmp) < len(keys) {
		tmp = make([]uint64, len(keys))
	}
	tmp = tmp[:len(keys)]
	src, dst := keys, tmp
	var count [1 << 16]int
	for shift := 0; shift < bits.Len64(top); shift += 16 {
		clear(count[:])
		for _, k := range src {
			count[k>>shift&0xffff]++
		}
		sum := 0
		for i, n := range count {
			count[i] = sum
			sum += n
		}
		for _, k := range src {
			d := k >> shift & 0xffff
			dst[count[d]] = k
			count[d]++
		}
		src, dst = dst, src
	}
	if &src[0] != &keys[0] {
		copy(keys, src)
	}
	return tmp
}
