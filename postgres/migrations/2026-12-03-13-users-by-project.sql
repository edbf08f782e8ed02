-- A project's users, as the charts' and cohorts' scans read them (they ask
-- by project alone; users_user_id covers only identified users).
CREATE INDEX users_project ON users (project, id);
