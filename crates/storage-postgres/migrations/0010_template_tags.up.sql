-- Tags are labels of a template (like its name): not part of the configuration hash, so adding
-- or changing them never creates or breaks a duplicate. A JSON list of `[a-z0-9:_-]{1,64}`, at
-- most 20 (validated by the service).
ALTER TABLE prompt_templates ADD COLUMN tags JSONB NOT NULL DEFAULT '[]';
CREATE INDEX ix_templates_tags ON prompt_templates USING GIN (tags);
