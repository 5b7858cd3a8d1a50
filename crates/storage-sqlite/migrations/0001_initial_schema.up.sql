-- Prompter schema for SQLite (seed 000/001/002, with the decisions of the foundation issue):
-- UUIDs as text, JSON as text, timestamps as fixed-width RFC 3339 UTC text
-- ('2025-08-14T14:13:29.123456Z'), so text order is time order.

CREATE TABLE workspaces (
  org_id     TEXT NOT NULL,
  id         TEXT NOT NULL,
  name       TEXT NOT NULL,
  created_at TEXT NOT NULL,
  PRIMARY KEY (org_id, id)
);

CREATE TABLE prompt_templates (
  id                    TEXT PRIMARY KEY,
  org_id                TEXT NOT NULL,
  workspace_id          TEXT NOT NULL,
  name                  TEXT NOT NULL,
  provider              TEXT,
  system_instructions   TEXT,
  user_prompt_template  TEXT NOT NULL,
  country_set           TEXT NOT NULL,  -- JSON array, as sent
  model_id              TEXT NOT NULL,
  inference_params      TEXT NOT NULL,  -- JSON object
  tools_spec            TEXT,           -- JSON array
  response_format       TEXT,           -- JSON object
  grounding_profile_id  TEXT,
  grounding_snapshot_id TEXT,
  retrieval_params      TEXT,           -- JSON object
  config_hash           TEXT NOT NULL,
  config_canonical_json TEXT NOT NULL,  -- exactly the hashed text
  created_by            TEXT,
  created_at            TEXT NOT NULL,
  deleted_at            TEXT,
  FOREIGN KEY (org_id, workspace_id) REFERENCES workspaces (org_id, id) ON DELETE RESTRICT
);

-- The arbiter of duplicates: one active template per configuration per brand.
CREATE UNIQUE INDEX ux_templates_org_ws_confighash_active
  ON prompt_templates (org_id, workspace_id, config_hash)
  WHERE deleted_at IS NULL;

-- Listing, newest first, with (created_at, id) keyset pagination.
CREATE INDEX ix_templates_org_ws_time ON prompt_templates (org_id, workspace_id, created_at DESC, id DESC);
CREATE INDEX ix_templates_org_time ON prompt_templates (org_id, created_at DESC, id DESC);

CREATE TABLE prompt_versions (
  id                      TEXT PRIMARY KEY,
  org_id                  TEXT NOT NULL,
  workspace_id            TEXT NOT NULL,
  template_id             TEXT NOT NULL REFERENCES prompt_templates (id),
  provider                TEXT NOT NULL,
  provider_version_key    TEXT NOT NULL,
  model_id                TEXT NOT NULL,  -- the requested model
  response_model          TEXT,           -- the snapshot the provider reported
  system_fingerprint      TEXT,
  provider_response_id    TEXT,
  fingerprint_captured_at TEXT,
  first_seen_at           TEXT NOT NULL,
  last_seen_at            TEXT NOT NULL
);

CREATE UNIQUE INDEX ux_versions_org_ws_tpl_providerkey
  ON prompt_versions (org_id, workspace_id, template_id, provider_version_key);

CREATE TABLE prompt_results (
  id                   TEXT PRIMARY KEY,
  org_id               TEXT NOT NULL,
  workspace_id         TEXT NOT NULL,
  template_id          TEXT NOT NULL REFERENCES prompt_templates (id),
  version_id           TEXT REFERENCES prompt_versions (id),
  provider_version_key TEXT,
  system_fingerprint   TEXT,
  request              TEXT NOT NULL,  -- JSON: full request snapshot
  response             TEXT NOT NULL,  -- JSON: full response
  analysis_config      TEXT,           -- JSON
  rendered_prompt_hash TEXT,
  run_country          TEXT,
  used_grounding       INTEGER,        -- boolean
  created_at           TEXT NOT NULL
);

CREATE INDEX ix_results_tpl_time ON prompt_results (template_id, created_at DESC);
CREATE INDEX ix_results_workspace ON prompt_results (workspace_id, created_at DESC);
