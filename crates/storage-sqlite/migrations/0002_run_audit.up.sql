-- What a run records beyond the seed's columns: which provider/model, status and error of a failed
-- attempt, latency, token usage, whether the built-in fake answered, and the idempotency key.
ALTER TABLE prompt_results ADD COLUMN provider TEXT NOT NULL DEFAULT 'unknown';
ALTER TABLE prompt_results ADD COLUMN model_id TEXT NOT NULL DEFAULT '';
ALTER TABLE prompt_results ADD COLUMN status TEXT NOT NULL DEFAULT 'succeeded';
ALTER TABLE prompt_results ADD COLUMN error TEXT;            -- JSON
ALTER TABLE prompt_results ADD COLUMN latency_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE prompt_results ADD COLUMN usage TEXT;            -- JSON
ALTER TABLE prompt_results ADD COLUMN is_fake INTEGER NOT NULL DEFAULT 0;
ALTER TABLE prompt_results ADD COLUMN idempotency_key TEXT;
ALTER TABLE prompt_results ADD COLUMN request_hash TEXT;

CREATE UNIQUE INDEX ux_results_tpl_idempotency
  ON prompt_results (template_id, idempotency_key)
  WHERE idempotency_key IS NOT NULL;

CREATE INDEX ix_versions_tpl_seen ON prompt_versions (template_id, last_seen_at DESC);
