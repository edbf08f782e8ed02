-- The ids of the analytics plane's rows come from sequences, read and
-- advanced in the transaction that uses them: next is the first free id.
-- analytics_generation counts the commits of the analytics writer: a
-- process that finds it other than its own last commit left it knows that
-- another wrote, and reloads what it keeps in memory. Existing databases
-- continue after their largest ids.
CREATE TABLE sequences (
	name TEXT PRIMARY KEY,
	next INTEGER NOT NULL
) WITHOUT ROWID;

INSERT INTO sequences (name, next) VALUES
	('events', coalesce((SELECT max(id) FROM events), 0) + 1),
	('users', coalesce((SELECT max(id) FROM users), 0) + 1),
	('user_props', coalesce((SELECT max(version) FROM user_props), 0) + 1),
	('event_types', coalesce((SELECT max(id) FROM event_types), 0) + 1),
	('pending_attributions', coalesce((SELECT max(id) FROM pending_attributions), 0) + 1),
	('analytics_generation', 0);
