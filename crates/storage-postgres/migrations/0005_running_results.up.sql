-- A run's result is recorded as `running` before the provider call and updated with the outcome,
-- so a run belongs to the service, not to the request that started it. `runner_id` names the
-- process running it and `heartbeat_at` is renewed while it runs: a `running` row whose heartbeat
-- went stale belongs to a dead process and is marked failed (`error.code = 'interrupted'`).
ALTER TABLE prompt_results ADD COLUMN runner_id UUID;
ALTER TABLE prompt_results ADD COLUMN heartbeat_at TIMESTAMPTZ;

CREATE INDEX ix_results_running ON prompt_results (heartbeat_at) WHERE status = 'running';
