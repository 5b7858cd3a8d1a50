DROP INDEX ix_templates_near_key_missing;
DROP INDEX ix_templates_near_key;
ALTER TABLE prompt_versions DROP COLUMN merged_into;
ALTER TABLE prompt_templates DROP COLUMN merged_into;
ALTER TABLE prompt_templates DROP COLUMN near_key;
