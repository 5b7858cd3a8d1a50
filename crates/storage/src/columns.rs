//! Column lists both SQL backends use: the schema is the same on both (only the column types
//! differ), so the lists are written once. Each backend's row mapping reads columns by these
//! names; where a list is also an insert's column list, the backend binds in this order.

/// `prompt_templates` read through the alias `t` (so it joins with `workspaces w`).
pub const TEMPLATE_COLUMNS: &str = "t.id, t.org_id, t.workspace_id, t.name, t.provider, \
    t.system_instructions, t.user_prompt_template, t.country_set, t.model_id, t.inference_params, \
    t.tools_spec, t.response_format, t.grounding_profile_id, t.grounding_snapshot_id, \
    t.retrieval_params, t.created_by, t.config_hash, t.config_canonical_json, t.created_at, \
    t.deleted_at";

/// What a template insert writes (`deleted_at` starts empty), in bind order.
pub const TEMPLATE_INSERT_COLUMNS: &str = "id, org_id, workspace_id, name, provider, \
    system_instructions, user_prompt_template, country_set, model_id, inference_params, \
    tools_spec, response_format, grounding_profile_id, grounding_snapshot_id, retrieval_params, \
    config_hash, config_canonical_json, created_by, created_at";

/// `workspaces`, read and inserted.
pub const WORKSPACE_COLUMNS: &str = "org_id, id, name, created_at";

/// `prompt_versions`, read and inserted.
pub const VERSION_COLUMNS: &str = "id, org_id, workspace_id, template_id, provider, \
    provider_version_key, model_id, response_model, system_fingerprint, provider_response_id, \
    fingerprint_captured_at, first_seen_at, last_seen_at";

/// `prompt_results`, read and inserted.
pub const RESULT_COLUMNS: &str = "id, org_id, workspace_id, template_id, version_id, provider, \
    model_id, provider_version_key, system_fingerprint, request, response, answer, \
    analysis_config, rendered_prompt_hash, run_country, used_grounding, status, error, latency_ms, \
    usage, is_fake, idempotency_key, request_hash, created_at, runner_id";

/// What a run's outcome updates (everything the provider's answer decides), in bind order after
/// the result id.
pub const RESULT_OUTCOME_COLUMNS: [&str; 12] = [
    "version_id",
    "provider_version_key",
    "system_fingerprint",
    "request",
    "response",
    "answer",
    "used_grounding",
    "status",
    "error",
    "latency_ms",
    "usage",
    "is_fake",
];

/// `api_tokens` as read (never the hash).
pub const TOKEN_COLUMNS: &str = "id, org_id, workspaces, role, label, created_at, revoked_at";

/// What a token insert writes, in bind order.
pub const TOKEN_INSERT_COLUMNS: &str =
    "id, org_id, workspaces, role, token_hash, label, created_at";
