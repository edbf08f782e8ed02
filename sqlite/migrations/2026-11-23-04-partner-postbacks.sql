-- Partners' postback settings (touchpoint.Postbacks); the templates are a
-- JSON array.
ALTER TABLE partners ADD COLUMN send_all_installs INTEGER NOT NULL DEFAULT 0;
ALTER TABLE partners ADD COLUMN in_app_window INTEGER NOT NULL DEFAULT 0; -- hours; 0: lifetime
ALTER TABLE partners ADD COLUMN postback_retries INTEGER NOT NULL DEFAULT 4;
ALTER TABLE partners ADD COLUMN postback_retry_minutes INTEGER NOT NULL DEFAULT 15;
ALTER TABLE partners ADD COLUMN postbacks TEXT NOT NULL DEFAULT '[]';
