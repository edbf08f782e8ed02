-- Leases of work that one node at a time does (touchpoint.LeaseStore):
-- until is Unix milliseconds, as the embedded store keeps it.
CREATE TABLE leases (
	name   TEXT PRIMARY KEY,
	holder TEXT NOT NULL,
	until  BIGINT NOT NULL
);
