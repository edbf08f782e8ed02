-- Test-mode projects have a clock of their own (Unix milliseconds); NULL:
-- a production project, on the server's clock.
ALTER TABLE projects ADD COLUMN test_clock INTEGER;
