-- Leases of work that one process at a time does (touchpoint.LeaseStore):
-- until is Unix milliseconds.
CREATE TABLE leases (
	name   TEXT PRIMARY KEY,
	holder TEXT NOT NULL,
	until  INTEGER NOT NULL
);
