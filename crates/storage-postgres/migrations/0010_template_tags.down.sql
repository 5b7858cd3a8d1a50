DROP INDEX ix_templates_tags;
ALTER TABLE prompt_templates DROP COLUMN tags;
