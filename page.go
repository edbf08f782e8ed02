package touchpoint

// CutPage cuts a page that was read one item past its limit (to learn
// whether another page follows) back to limit, and returns the cursor of
// the next page: the id of the page's last item, or 0 when none follows.
func CutPage[T any](items []T, limit int, id func(T) int64) ([]T, int64) {
	if len(items) <= limit {
		return items, 0
	}
	items = items[:limit]
	return items, id(items[limit-1])
}
