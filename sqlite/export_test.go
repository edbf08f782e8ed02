package sqlite

// SplitLoads makes every chart load above rows read in parts parts, until
// the returned function puts it back.
func SplitLoads(above int64, parts int) (restore func()) {
	oldAbove, oldInto := splitAbove, splitInto
	splitAbove, splitInto = above, func(int) int { return parts }
	return func() { splitAbove, splitInto = oldAbove, oldInto }
}
