package geo

// members calls fn with each top-level member of a JSON object, its
// name and value as they are written (the name quoted), and reports
// whether the object was read to its end. It reads what package
// analytics stores, valid JSON written by a JSON encoder, and so checks
// no more than it must to find the members: a text that is not an
// object, or is cut short, ends the scan with false. It allocates
// nothing, where a full decoder's tokens cost more than the rest of the
// enrichment.
func members(b []byte, fn func(name, value []byte)) bool {
	i := space(b, 0)
	if i >= len(b) || b[i] != '{' {
		return false
	}
	i = space(b, i+1)
	if i < len(b) && b[i] == '}' {
		return true
	}
	for i < len(b) {
		if b[i] != '"' {
			return false
		}
		end := stringEnd(b, i)
		if end < 0 {
			return false
		}
		name := b[i:end]
		i = space(b, end)
		if i >= len(b) || b[i] != ':' {
			return false
		}
		i = space(b, i+1)
		end = valueEnd(b, i)
		if end < 0 {
			return false
		}
		fn(name, b[i:end])
		i = space(b, end)
		if i >= len(b) {
			return false
		}
		switch b[i] {
		case ',':
			i = space(b, i+1)
		case '}':
			return true
		default:
			return false
		}
	}
	return false
}

// space skips JSON whitespace from i.
func space(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// stringEnd returns the index after the string starting at b[i] ('"'),
// or -1.
func stringEnd(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++ // the escaped byte; \uXXXX's digits need no care
		case '"':
			return i + 1
		}
	}
	return -1
}

// valueEnd returns the index after the value starting at b[i], or -1:
// a string, an object or array (to its matching close, strings in it
// skipped whole), or a number or literal (to the next delimiter).
func valueEnd(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		depth := 0
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				end := stringEnd(b, i)
				if end < 0 {
					return -1
				}
				i = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
		}
		return -1
	}
	for j := i; j < len(b); j++ {
		switch b[j] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			if j == i {
				return -1
			}
			return j
		}
	}
	return -1
}
