-- Back to the previous layout: the answer travels inside `response` (an object, as the service
-- only ever added the key to objects), then the column goes.
UPDATE prompt_results
   SET response = response || jsonb_build_object('_prompter_content', answer)
 WHERE answer IS NOT NULL AND jsonb_typeof(response) = 'object';

ALTER TABLE prompt_results DROP COLUMN answer;
