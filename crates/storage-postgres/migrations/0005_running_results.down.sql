-- Rows still running have no outcome the previous release could show: they become failed.
UPDATE prompt_results
   SET status = 'failed',
       error = '{"code": "interrupted", "message": "downgraded while the run was in flight"}'::jsonb
 WHERE status = 'running';
DROP INDEX ix_results_running;
ALTER TABLE prompt_results DROP COLUMN heartbeat_at;
ALTER TABLE prompt_results DROP COLUMN runner_id;
