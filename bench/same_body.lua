-- POST the same body to the path given as the first script argument (duplicates → 409, or
-- check-duplicate).
-- An optional second argument replaces the body.
local path = "/api/prompt-templates"
local body = '{"workspace_id":"bench-brand","name":"Duplicate","user_prompt_template":"The one duplicated prompt","country_set":["CH","US"],"model_id":"gpt-4o","inference_params":{"temperature":0.7}}'
function init(args)
  if args[1] then path = args[1] end
  if args[2] then body = args[2] end
end
request = function()
  return wrk.format("POST", path, {["Content-Type"] = "application/json"}, body)
end
