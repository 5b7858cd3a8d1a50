DROP INDEX IF EXISTS ix_results_template_batch;
DROP INDEX IF EXISTS ix_results_task;
DROP INDEX IF EXISTS ux_results_task_succeeded;
ALTER TABLE prompt_results DROP COLUMN sample_index;
ALTER TABLE prompt_results DROP COLUMN task_id;
ALTER TABLE prompt_results DROP COLUMN batch_id;
DROP TABLE batch_tasks;
DROP TABLE batches;
