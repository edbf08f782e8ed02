package migrate

// SourceQueries returns the query each step reads its source table with,
// by the table.
func SourceQueries() map[string]string {
	out := map[string]string{}
	for _, s := range steps {
		if s.query != "" {
			out[s.source] = s.query
		}
	}
	return out
}
