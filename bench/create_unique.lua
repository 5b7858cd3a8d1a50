-- POST /api/prompt-templates with a body that is unique per request (thread id + counter).
local thread_id = 0
local counter = 0
local threads = {}
local next_id = 0

function setup(thread)
  next_id = next_id + 1
  thread:set("tid", next_id)
  table.insert(threads, thread)
end

function init(args)
  thread_id = tid
end

request = function()
  counter = counter + 1
  local body = string.format(
    '{"workspace_id":"bench-brand","name":"Load %d-%d","user_prompt_template":"What is brand %d-%d known for in {{country}}?","country_set":["CH","US"],"model_id":"gpt-4o","inference_params":{"temperature":0.7,"max_tokens":1000}}',
    thread_id, counter, thread_id, counter)
  return wrk.format("POST", "/api/prompt-templates", {["Content-Type"] = "application/json"}, body)
end
