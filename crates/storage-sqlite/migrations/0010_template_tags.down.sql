ALTER TABLE prompt_templates DROP COLUMN tags;
