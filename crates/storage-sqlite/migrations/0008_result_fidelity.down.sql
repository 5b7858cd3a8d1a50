ALTER TABLE prompt_results DROP COLUMN citations;
ALTER TABLE prompt_results DROP COLUMN reasoning;
ALTER TABLE prompt_results DROP COLUMN truncated;
ALTER TABLE prompt_results DROP COLUMN finish_reason;
