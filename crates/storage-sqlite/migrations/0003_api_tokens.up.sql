-- API tokens: only a SHA-256 of each token is stored. `workspaces` is a JSON array of the
-- workspace ids the token may use, or NULL for every workspace of its organisation.
CREATE TABLE api_tokens (
  id         TEXT PRIMARY KEY,
  org_id     TEXT NOT NULL,
  workspaces TEXT,
  role       TEXT NOT NULL CHECK (role IN ('admin', 'writer', 'reader')),
  token_hash TEXT NOT NULL,
  label      TEXT,
  created_at TEXT NOT NULL,
  revoked_at TEXT
);

CREATE UNIQUE INDEX ux_api_tokens_hash ON api_tokens (token_hash);
