-- Back to the previous layout: the answer travels inside `response` (an object, as the service
-- only ever added the key to objects), then the column goes.
UPDATE prompt_results
   SET response = json_set(response, '$._prompter_content', answer)
 WHERE answer IS NOT NULL AND json_type(response) = 'object';

ALTER TABLE prompt_results DROP COLUMN answer;
