-- Registry hygiene (import, dedupe, near-duplicates).
-- near_key: hex key of (model, folded prompt) shared by every configuration that may be a
-- near-duplicate of this one (domain::near_duplicates); NULL for rows written before this
-- migration until the service fills it in the background.
ALTER TABLE prompt_templates ADD COLUMN near_key TEXT;
-- A template merged into its twin by import or dedupe: soft-deleted, naming the survivor, so
-- its id still resolves.
ALTER TABLE prompt_templates ADD COLUMN merged_into UUID;
-- A version row merged into the survivor's row with the same provider_version_key stays on its
-- old (merged) template, naming that row.
ALTER TABLE prompt_versions ADD COLUMN merged_into UUID;
CREATE INDEX ix_templates_near_key ON prompt_templates (org_id, workspace_id, near_key)
  WHERE deleted_at IS NULL;
CREATE INDEX ix_templates_near_key_missing ON prompt_templates (id) WHERE near_key IS NULL;
