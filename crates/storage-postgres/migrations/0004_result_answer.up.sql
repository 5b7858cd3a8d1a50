-- The text extracted from the provider's answer gets a column of its own. Until now the service
-- stored it inside `response` under the synthetic key `_prompter_content`, so `response` was not
-- exactly what the provider sent. Existing rows move the text out of `response` into `answer`.
ALTER TABLE prompt_results ADD COLUMN answer TEXT;

-- Only a string was ever written under the key (and only for succeeded runs); a key of another
-- type would be the provider's own and stays where it is.
UPDATE prompt_results
   SET answer = response ->> '_prompter_content',
       response = response - '_prompter_content'
 WHERE jsonb_typeof(response -> '_prompter_content') = 'string';
