-- The analytics generation: advanced by every transaction that writes the
-- analytics plane, on any node, with the ids it reserves. A node keeps
-- what it read of the plane while the generation is the one it left
-- (postgres/event_memo.go).
INSERT INTO sequences (name, next) VALUES ('analytics_generation', 1);
