DROP TABLE IF EXISTS prompt_results;
DROP TABLE IF EXISTS prompt_versions;
DROP TABLE IF EXISTS prompt_templates;
DROP TABLE IF EXISTS workspaces;
