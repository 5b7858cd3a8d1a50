-- API tokens: only a SHA-256 of each token is stored. `workspaces` is a JSON array of the
-- workspace ids the token may use, or NULL for every workspace of its organisation.
CREATE TABLE api_tokens (
  id         UUID PRIMARY KEY,
  org_id     TEXT NOT NULL,
  workspaces JSONB,
  role       TEXT NOT NULL CHECK (role IN ('admin', 'writer', 'reader')),
  token_hash TEXT NOT NULL,
  label      TEXT,
  created_at TIMESTAMPTZ NOT NULL,
  revoked_at TIMESTAMPTZ
);

CREATE UNIQUE INDEX ux_api_tokens_hash ON api_tokens (token_hash);
