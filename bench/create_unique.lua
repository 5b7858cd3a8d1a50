-- POST /api/prompt-templates with a body that is unique per request: a random run id per thread
-- (so that successive runs against one server do not collide) + thread id + counter.
local run_id = "run"
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
  math.randomseed(os.time() * 1000 + tid)
  run_id = string.format("%d%d", os.time(), math.random(1, 1000000000))
end

request = function()
  counter = counter + 1
  local body = string.format(
    '{"workspace_id":"bench-brand","name":"Load %s-%d-%d","user_prompt_template":"What is brand %s-%d-%d known for in {{country}}?","country_set":["CH","US"],"model_id":"gpt-4o","inference_params":{"temperature":0.7,"max_tokens":1000}}',
    run_id, thread_id, counter, run_id, thread_id, counter)
  return wrk.format("POST", "/api/prompt-templates", {["Content-Type"] = "application/json"}, body)
end
