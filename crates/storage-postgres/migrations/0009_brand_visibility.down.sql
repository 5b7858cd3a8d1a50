DROP TABLE reanalysis_jobs;
DROP TABLE visibility_daily;
DROP TABLE result_mentions;
DROP TABLE result_analyses;
DROP INDEX ix_results_ws_time_id;
DROP TABLE alias_snapshots;
