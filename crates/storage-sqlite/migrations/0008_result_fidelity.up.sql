-- What a real answer can be, recorded faithfully: the provider's stop reason (or `refusal`,
-- `prompt_blocked:<reason>`), whether the answer was cut off, reasoning text kept apart from the
-- answer, and the cited sources as data (`[{url, title, domain, cited_text?}]`, deduplicated by
-- URL in order of first appearance) so the analysis can query them. NULL on rows written before
-- this migration and on failed attempts: unknown, not "none".
ALTER TABLE prompt_results ADD COLUMN finish_reason TEXT;
ALTER TABLE prompt_results ADD COLUMN truncated INTEGER;
ALTER TABLE prompt_results ADD COLUMN reasoning TEXT;
ALTER TABLE prompt_results ADD COLUMN citations TEXT;
