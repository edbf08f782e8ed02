-- Keys this server verifies are kept as hashes: apps' dev_key and
-- api_token, projects' api_key and secret_key hold 'sha256:' and the hex
-- SHA-256 of the key, with the key's last four characters beside it. The
-- keys stored in plaintext before are hashed in Go, in this migration's
-- transaction (hashStoredKeys, sqlite/keys.go).
ALTER TABLE apps ADD COLUMN dev_key_last4 TEXT NOT NULL DEFAULT '';
ALTER TABLE apps ADD COLUMN api_token_last4 TEXT NOT NULL DEFAULT '';
ALTER TABLE projects ADD COLUMN api_key_last4 TEXT NOT NULL DEFAULT '';
ALTER TABLE projects ADD COLUMN secret_key_last4 TEXT NOT NULL DEFAULT '';
