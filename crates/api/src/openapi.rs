//! The OpenAPI 3.1 document of the API, generated from the code with `utoipa` and served at
//! `GET /openapi.json`.
//!
//! Each handler carries its own `#[utoipa::path]` (method, path, parameters, body, responses);
//! this module assembles them, describes the request bodies (the handlers read them as raw JSON,
//! to produce field-named errors) and the shared error envelope, and adds what every operation
//! has in common: bearer security on `/api` (health excepted), 401/429 there, 408 and 500
//! everywhere. The committed snapshot `crates/api/openapi.json` is checked by
//! `tests/openapi_snapshot.rs`.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use utoipa::openapi::path::Operation;
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Schema, SchemaType, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, HeaderBuilder, OpenApi as Document, Ref, RefOr};
use utoipa::{Modify, OpenApi, PartialSchema, ToSchema};

use crate::routes::{
    batches, health, observability, runs, schedules, templates, tokens, visibility, workspaces,
};

/// Every error code the API answers with: `(code, HTTP status, when)`. The schema `ErrorCode`
/// is built from this table, and a test checks it against [`crate::error::ApiError`].
pub const ERROR_CODES: &[(&str, u16, &str)] = &[
    ("WORKSPACE_REQUIRED", 400, "`workspace_id` missing, null or empty"),
    ("MALFORMED_JSON", 400, "the body is not JSON, or not UTF-8"),
    ("UNAUTHORIZED", 401, "no, a malformed, an unknown or a revoked bearer token (auth required)"),
    ("FORBIDDEN", 403, "the token's organisation differs from the one named, a reader token writes, or the workspace is not the token's"),
    ("TEMPLATE_NOT_FOUND", 404, "unknown or malformed template id (or not visible to the token)"),
    ("WORKSPACE_NOT_FOUND", 404, "unknown workspace in that organisation (or not visible to the token)"),
    ("RESULT_NOT_FOUND", 404, "unknown or malformed result id (or not visible to the token)"),
    ("BATCH_NOT_FOUND", 404, "unknown or malformed batch id (or not visible to the token)"),
    ("SCHEDULE_NOT_FOUND", 404, "unknown or malformed schedule id (or not visible to the token)"),
    ("REANALYSIS_NOT_FOUND", 404, "unknown or malformed re-analysis job id (or not visible to the token)"),
    ("ENTITIES_NOT_SET", 404, "the workspace has no entities (alias snapshot) yet"),
    ("TOKEN_NOT_FOUND", 404, "unknown or already revoked token (or not one the admin token manages)"),
    ("NOT_FOUND", 404, "no such route"),
    ("METHOD_NOT_ALLOWED", 405, "the route exists, the method does not"),
    ("REQUEST_TIMEOUT", 408, "the request took longer than the request timeout (30 s); a run it started goes on and is recorded"),
    ("TEMPLATE_EXISTS", 409, "an active template holds this configuration in this org and workspace; `template_id`, `template_name` and `workspace_id` name it"),
    ("WORKSPACE_EXISTS", 409, "a workspace with this id exists in the organisation"),
    ("TEMPLATE_DELETED", 409, "the template is soft-deleted; restore it to run it"),
    ("BATCH_CLOSED", 409, "cancel of a finished batch, retry-failed of a cancelled batch or one out of budget; `status` says which"),
    ("PAYLOAD_TOO_LARGE", 413, "the body is over 1 MiB"),
    ("UNSUPPORTED_MEDIA_TYPE", 415, "`Content-Type` is not `application/json` (or `application/*+json`)"),
    ("INVALID_FIELD", 422, "a field (body, query or header) fails validation; `field` names it"),
    ("UNKNOWN_PROVIDER", 422, "the provider of the model cannot be told; `field` is `provider`"),
    ("IDEMPOTENCY_KEY_REUSED", 422, "this `Idempotency-Key` was used with a different body"),
    ("RATE_LIMITED", 429, "the token made more requests than its per-minute limit (`Retry-After` says when to retry)"),
    ("INTERNAL_ERROR", 500, "a bug; the details are logged, not returned"),
    ("PROVIDER_ERROR", 502, "the provider failed; `provider`, `provider_status` and `result_id` (the recorded failed attempt)"),
    ("PROVIDER_NOT_CONFIGURED", 503, "live mode without the provider's credentials; the message names the variable"),
    ("PROBE_DISABLED", 503, "probes are switched off and the template has no known version yet"),
    ("DATABASE_UNAVAILABLE", 503, "the database cannot be reached"),
];

/// The stable machine-readable error code (`detail.code`).
pub struct ErrorCode;

impl PartialSchema for ErrorCode {
    fn schema() -> RefOr<Schema> {
        let mut description = String::from(
            "Stable machine-readable error code:\n\n| code | status | when |\n|---|---|---|\n",
        );
        for (code, status, when) in ERROR_CODES {
            description.push_str(&format!("| `{code}` | {status} | {when} |\n"));
        }
        ObjectBuilder::new()
            .schema_type(SchemaType::Type(Type::String))
            .enum_values(Some(ERROR_CODES.iter().map(|(code, _, _)| *code)))
            .description(Some(description))
            .into()
    }
}

impl ToSchema for ErrorCode {}

/// What went wrong. Beyond `code` and `message`, the fields present depend on the code.
#[derive(ToSchema)]
#[allow(dead_code)] // documentation only: errors are built by `ApiError`
pub struct ErrorDetail {
    code: ErrorCode,
    /// Human-readable; may change between versions.
    message: String,
    /// The one field at fault (`country_set[1]`, `inference_params.stop[0]`, `body`,
    /// `content-type`, `Idempotency-Key`, a query parameter…), when there is one.
    #[schema(nullable = false)]
    field: Option<String>,
    /// `TEMPLATE_EXISTS`: the active template holding the configuration.
    #[schema(nullable = false)]
    template_id: Option<uuid::Uuid>,
    /// `TEMPLATE_EXISTS`: its name.
    #[schema(nullable = false)]
    template_name: Option<String>,
    /// `TEMPLATE_EXISTS`: its workspace.
    #[schema(nullable = false)]
    workspace_id: Option<String>,
    /// `TEMPLATE_EXISTS`: other active templates that differ in one or two fields only.
    #[schema(nullable = false)]
    near_matches: Option<Vec<crate::views::NearMatchView>>,
    /// `PROVIDER_ERROR`, `PROVIDER_NOT_CONFIGURED`: the provider.
    #[schema(nullable = false)]
    provider: Option<String>,
    /// `PROVIDER_ERROR`: the provider's HTTP status, if it answered.
    provider_status: Option<u16>,
    /// `PROVIDER_ERROR`: the recorded failed attempt.
    result_id: Option<uuid::Uuid>,
}

/// The one error envelope: `{"detail": {"code": ..., "message": ..., "field"?: ...}}`.
#[derive(ToSchema)]
#[allow(dead_code)] // documentation only
pub struct ErrorResponse {
    detail: ErrorDetail,
}

/// A country of `country_set`.
pub struct CountryCode;

impl PartialSchema for CountryCode {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(
                "An ISO 3166-1 alpha-2 code, after the config hash's normalisation: case and \
                 surrounding whitespace are free, `UK` means `GB` (e.g. `US`, ` uk `).",
            ))
            .into()
    }
}

impl ToSchema for CountryCode {}

/// A tag of a template.
pub struct TagString;

impl PartialSchema for TagString {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .min_length(Some(1))
            .max_length(Some(64))
            .pattern(Some(r"^[a-z0-9:_-]+$"))
            .description(Some(
                "A tag: `[a-z0-9:_-]{1,64}` (e.g. `funnel:awareness`).",
            ))
            .into()
    }
}

impl ToSchema for TagString {}

/// Body of `PATCH /api/prompt-templates/{id}`: the labels to change (absent: unchanged).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct UpdateLabelsRequest {
    /// 1–200 characters, not blank.
    #[schema(min_length = 1, max_length = 200)]
    name: Option<String>,
    /// The whole new list (`[]` removes every tag): at most 20, each `[a-z0-9:_-]{1,64}`.
    #[schema(max_items = 20)]
    tags: Option<Vec<TagString>>,
}

/// Body of `PATCH /api/workspaces/{id}`.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct RenameWorkspaceRequest {
    /// 1–200 characters, not blank.
    #[schema(min_length = 1, max_length = 200)]
    name: String,
}

/// Body of `POST /api/prompt-templates` (unknown top-level fields are ignored). The whole body:
/// at most 1 MiB, nesting at most 32, no U+0000 anywhere, numbers within the range of a double.
#[derive(ToSchema)]
#[allow(dead_code)] // documentation only: the handler validates the raw JSON
pub struct CreateTemplateRequest {
    /// Organisation; `default` when absent.
    #[schema(
        min_length = 1,
        max_length = 128,
        pattern = r"^[A-Za-z0-9._:-]+$",
        example = "default"
    )]
    org_id: Option<String>,
    /// The brand. Missing, `null` or `""`: 400 `WORKSPACE_REQUIRED`. Created (name = id) by the
    /// first template in it.
    #[schema(
        min_length = 1,
        max_length = 128,
        pattern = r"^[A-Za-z0-9._:-]+$",
        example = "test"
    )]
    workspace_id: String,
    /// Display name: a label, not part of the identity. 1–200 characters, not blank.
    #[schema(min_length = 1, max_length = 200, example = "Hello")]
    name: String,
    /// Labels, not part of the hash: at most 20, each `[a-z0-9:_-]{1,64}`
    /// (`funnel:awareness`); repeats are dropped.
    #[schema(max_items = 20)]
    tags: Option<Vec<TagString>>,
    /// `{{name}}` placeholders are filled at run time. At most 100,000 characters, not empty
    /// after whitespace normalisation.
    #[schema(min_length = 1, max_length = 100000, example = "Say hello")]
    user_prompt_template: String,
    /// At most 100,000 characters.
    #[schema(max_length = 100000)]
    system_instructions: Option<String>,
    /// At most 200 characters, not blank.
    #[schema(min_length = 1, max_length = 200, example = "gpt-4o")]
    model_id: String,
    /// Explicit provider (`openai`, `azure-openai`, `google`, `anthropic`,
    /// `openai-compatible`); detected from `model_id` when absent. Not part of the hash.
    #[schema(min_length = 1, max_length = 64, pattern = r"^[a-z0-9-]+$")]
    provider: Option<String>,
    /// Countries the template runs in (at most 250).
    #[schema(max_items = 250)]
    country_set: Option<Vec<CountryCode>>,
    /// Provider parameters (temperature, max_tokens, stop, …); `{}` when absent.
    #[schema(value_type = Option<Object>)]
    inference_params: Option<serde_json::Value>,
    /// Probe the API a grounded run uses (OpenAI and Azure run grounded calls on the Responses
    /// API, keyed by the resolved model instead of the fingerprint). Default false.
    use_grounding: Option<bool>,
    /// Tool definitions (at most 128).
    #[schema(max_items = 128)]
    tools_spec: Option<Vec<serde_json::Value>>,
    #[schema(value_type = Option<Object>)]
    response_format: Option<serde_json::Value>,
    #[schema(value_type = Option<Object>)]
    retrieval_params: Option<serde_json::Value>,
    #[schema(max_length = 256)]
    grounding_profile_id: Option<String>,
    #[schema(max_length = 256)]
    grounding_snapshot_id: Option<String>,
    #[schema(max_length = 256)]
    created_by: Option<String>,
}

/// Body of `POST /api/prompt-templates/check-duplicate`: the create body, `name` optional.
pub struct CheckDuplicateRequest;

impl PartialSchema for CheckDuplicateRequest {
    fn schema() -> RefOr<Schema> {
        let RefOr::T(Schema::Object(mut object)) = CreateTemplateRequest::schema() else {
            unreachable!("CreateTemplateRequest is an object schema")
        };
        object.required.retain(|field| field != "name");
        object.description = Some(
            "The create-template body (same fields and limits), `name` optional. Never writes."
                .into(),
        );
        RefOr::T(Schema::Object(object))
    }
}

impl ToSchema for CheckDuplicateRequest {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        <CreateTemplateRequest as ToSchema>::schemas(schemas);
    }
}

/// Optional body of `POST /api/prompt-templates/{id}/ensure-version` (absent or `null`: `{}`).
#[derive(ToSchema)]
#[allow(dead_code)] // documentation only
pub struct EnsureVersionRequest {
    /// Must be the template's organisation (422 otherwise).
    #[schema(max_length = 128)]
    org_id: Option<String>,
    /// Must be the template's workspace (422 otherwise).
    #[schema(max_length = 128)]
    workspace_id: Option<String>,
    /// `openai`, `azure-openai` (or `azure`), `google` (or `gemini`), `anthropic` or
    /// `openai-compatible`, case-insensitive; another name is a 422 `UNKNOWN_PROVIDER`. Default:
    /// detected from `model_id` (the template's own provider applies only to its own model).
    #[schema(max_length = 64)]
    provider: Option<String>,
    /// Another model than the template's records a version for that model on this template.
    #[schema(max_length = 200)]
    model_id: Option<String>,
    /// Default: the template's.
    #[schema(max_length = 100000)]
    system_instructions: Option<String>,
    /// Default: the template's.
    #[schema(value_type = Option<Object>)]
    inference_params: Option<serde_json::Value>,
}

/// A `runtime_vars` value: a string, a number or a boolean.
pub struct RuntimeVar;

impl PartialSchema for RuntimeVar {
    fn schema() -> RefOr<Schema> {
        OneOfBuilder::new()
            .item(ObjectBuilder::new().schema_type(Type::String))
            .item(ObjectBuilder::new().schema_type(Type::Number))
            .item(ObjectBuilder::new().schema_type(Type::Boolean))
            .description(Some("A string, a number or a boolean."))
            .into()
    }
}

impl ToSchema for RuntimeVar {}

fn runtime_vars_schema() -> Schema {
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::Object, Type::Null]))
        .additional_properties(Some(RuntimeVar::schema()))
        .max_properties(Some(100))
        .description(Some(
            "Values of `{{name}}` placeholders (at most 100); a missing one is a 422 naming \
             `runtime_vars.<name>`.",
        ))
        .into()
}

/// Optional body of `POST /api/prompt-templates/{id}/run` (absent or `null`: `{}`).
#[derive(ToSchema)]
#[allow(dead_code)] // documentation only
pub struct RunRequest {
    /// Required when the template has a country set, and must be in it (after normalisation).
    #[schema(max_length = 16)]
    country: Option<String>,
    /// Fills `{{brand_name}}` and `{{brand}}` unless `runtime_vars` sets them.
    #[schema(max_length = 200)]
    brand_name: Option<String>,
    /// Used as is instead of rendering the template; not blank.
    #[schema(max_length = 100000)]
    rendered_prompt: Option<String>,
    /// Values of `{{name}}` placeholders (at most 100); a missing one is a 422 naming
    /// `runtime_vars.<name>`.
    #[schema(schema_with = runtime_vars_schema)]
    runtime_vars: Option<std::collections::HashMap<String, RuntimeVar>>,
    /// Default `false`.
    use_grounding: Option<bool>,
    /// Default `brand`.
    #[schema(max_length = 64)]
    analysis_scope: Option<String>,
}

/// Body of `POST /api/batches` (and a schedule's `batch`, without `workspace_id`). Unknown
/// fields are refused (422 naming them).
#[derive(ToSchema)]
#[allow(dead_code)] // documentation only
pub struct BatchRequest {
    /// Organisation; the token's (or `default`) when absent.
    #[schema(max_length = 128)]
    org_id: Option<String>,
    /// The brand whose templates run.
    #[schema(min_length = 1, max_length = 128)]
    workspace_id: String,
    /// Default: every active template of the workspace (at most 5,000). Unknown, deleted or
    /// another workspace's ids: 422 listing them.
    #[schema(max_items = 5000)]
    template_ids: Option<Vec<uuid::Uuid>>,
    /// Narrows each template's own country set; a template whose set does not meet it is
    /// skipped (listed in the batch's `skipped`); a template without countries runs once
    /// without one.
    countries: Option<Vec<CountryCode>>,
    /// Runs per (template, country): 1–50, default 1. At most 100,000 tasks per batch.
    #[schema(minimum = 1, maximum = 50)]
    samples: Option<u32>,
    /// Fills `{{brand_name}}` and `{{brand}}` unless `runtime_vars` sets them.
    #[schema(max_length = 200)]
    brand_name: Option<String>,
    #[schema(schema_with = runtime_vars_schema)]
    runtime_vars: Option<std::collections::HashMap<String, RuntimeVar>>,
    /// Default `false`.
    use_grounding: Option<bool>,
    /// Tasks of this batch running at once, across all workers: 1–500, default 10.
    #[schema(minimum = 1, maximum = 500)]
    max_concurrency: Option<u32>,
    /// Prompt + completion tokens of the batch's recorded results after which no new task
    /// starts (`budget_exhausted`; the tasks left are cancelled).
    #[schema(minimum = 1)]
    token_budget: Option<u64>,
}

/// Body of `POST /api/schedules`. Unknown fields are refused.
#[derive(ToSchema)]
#[allow(dead_code)] // documentation only
pub struct CreateScheduleRequest {
    #[schema(max_length = 128)]
    org_id: Option<String>,
    #[schema(min_length = 1, max_length = 128)]
    workspace_id: String,
    /// 1–200 characters.
    #[schema(min_length = 1, max_length = 200)]
    name: String,
    /// Five fields: minute hour day-of-month month day-of-week (`0 6 * * *`).
    #[schema(example = "0 6 * * *")]
    cron: String,
    /// IANA time zone; default `UTC`.
    #[schema(example = "Europe/Zurich")]
    timezone: Option<String>,
    /// The batch body without `workspace_id` and `org_id` (see `BatchRequest`); validated now.
    #[schema(value_type = Option<Object>)]
    batch: Option<serde_json::Value>,
    /// Default `true`.
    enabled: Option<bool>,
}

/// Body of `PATCH /api/schedules/{id}`: the fields to change.
#[derive(ToSchema)]
#[allow(dead_code)] // documentation only
pub struct UpdateScheduleRequest {
    #[schema(min_length = 1, max_length = 200)]
    name: Option<String>,
    cron: Option<String>,
    timezone: Option<String>,
    #[schema(value_type = Option<Object>)]
    batch: Option<serde_json::Value>,
    enabled: Option<bool>,
}

/// Body of `POST /api/workspaces`.
#[derive(ToSchema)]
#[allow(dead_code)] // documentation only
pub struct CreateWorkspaceRequest {
    /// Generated (a UUIDv7) when absent.
    #[schema(min_length = 1, max_length = 128, pattern = r"^[A-Za-z0-9._:-]+$")]
    id: Option<String>,
    /// `default` when absent.
    #[schema(min_length = 1, max_length = 128, pattern = r"^[A-Za-z0-9._:-]+$")]
    org_id: Option<String>,
    /// Display name: 1–200 characters, not blank.
    #[schema(min_length = 1, max_length = 200)]
    name: String,
}

#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)] // documentation only
pub enum HealthStatus {
    Ok,
    Unavailable,
}

#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)] // documentation only
pub enum DatabaseStatus {
    Ok,
    Unreachable,
}

/// The database as a probe sees it.
#[derive(ToSchema)]
#[allow(dead_code)] // documentation only
pub struct DatabaseHealth {
    status: DatabaseStatus,
    /// `sqlite` or `postgres`.
    backend: String,
}

/// `GET /api/prompt-templates/health`.
#[derive(ToSchema)]
#[allow(dead_code)] // documentation only
pub struct Health {
    status: HealthStatus,
    service: String,
    version: String,
    database: DatabaseHealth,
}

#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)] // documentation only
pub enum ReadinessStatus {
    Ready,
    NotReady,
}

#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)] // documentation only
pub enum MigrationsStatus {
    Current,
    Pending,
    Unknown,
}

#[derive(ToSchema)]
#[allow(dead_code)] // documentation only
pub struct MigrationsReadiness {
    status: MigrationsStatus,
    /// Versions known to this binary and not applied.
    pending: Vec<i64>,
}

#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)] // documentation only
pub enum RedisStatus {
    NotConfigured,
    Ok,
    Unreachable,
}

/// Redis (the probe cache) is reported, not required.
#[derive(ToSchema)]
#[allow(dead_code)] // documentation only
pub struct RedisReadiness {
    configured: bool,
    status: RedisStatus,
}

/// `GET /readyz`.
#[derive(ToSchema)]
#[allow(dead_code)] // documentation only
pub struct Readiness {
    status: ReadinessStatus,
    database: DatabaseHealth,
    migrations: MigrationsReadiness,
    redis: RedisReadiness,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Prompter",
        description = "Prompt templates per organisation and brand (workspace), refusing identical \
configurations inside one brand; provider versions and runs.\n\nEvery error is \
`{\"detail\": {\"code\": ..., \"message\": ..., \"field\"?: ...}}` (schema `ErrorResponse`, codes \
in `ErrorCode`); an unknown route is 404 `NOT_FOUND`, a wrong method 405 `METHOD_NOT_ALLOWED`.\n\n\
Authentication: `Authorization: Bearer <token>` on `/api` (health excepted) when required; with \
`PROMPTER_AUTH=auto` it is off while the service listens on loopback and no token exists.",
    ),
    paths(
        templates::create,
        templates::list,
        templates::check_duplicate,
        templates::get,
        templates::update_labels,
        templates::delete,
        templates::restore,
        runs::ensure_version,
        runs::versions,
        runs::run,
        runs::results,
        runs::result,
        workspaces::create,
        workspaces::list,
        workspaces::get,
        workspaces::rename,
        workspaces::near_duplicates,
        visibility::put_entities,
        visibility::get_entities,
        visibility::alias_snapshots,
        visibility::reanalyze,
        visibility::get_reanalysis,
        visibility::visibility,
        batches::create,
        batches::list,
        batches::get,
        batches::tasks,
        batches::cancel,
        batches::retry_failed,
        schedules::create,
        schedules::list,
        schedules::get,
        schedules::update,
        schedules::delete,
        tokens::create,
        tokens::list,
        tokens::revoke,
        health::health,
        health::readyz,
        observability::metrics,
        openapi_json,
    ),
    components(schemas(ErrorResponse, ErrorDetail, ErrorCode)),
    modifiers(&Common),
    tags(
        (name = "templates", description = "The template registry"),
        (name = "runs", description = "Provider versions and runs of a template"),
        (name = "workspaces", description = "Brands"),
        (name = "visibility", description = "Brand visibility: entities, analyses, re-analysis and numbers"),
        (name = "batches", description = "Many runs as one unit of work on the durable queue"),
        (name = "schedules", description = "Batches fired on a cron expression in a time zone"),
        (name = "tokens", description = "API tokens of the organisation (admin tokens)"),
        (name = "operations", description = "Health, readiness, metrics, this document (no authentication)"),
    ),
)]
pub struct ApiDoc;

/// Schemas of response records: the service serialises every field, `null` included.
const COMPLETE_RESPONSE_SCHEMAS: &[&str] = &[
    "Template",
    "Workspace",
    "Version",
    "RunResult",
    "EnsuredVersion",
    "RunOutcome",
    "TemplateList",
    "DuplicateCheck",
    "VersionList",
    "ResultList",
    "WorkspaceList",
    "ApiToken",
    "CreatedToken",
    "TokenList",
    "Batch",
    "BatchList",
    "BatchTask",
    "TaskList",
    "Schedule",
    "ScheduleList",
];

/// What all operations share: the security scheme, the responses of the authentication layer
/// and of the outer middleware, and fully required response records.
struct Common;

fn error_response(description: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorResponse")))
                .build(),
        )
        .build()
}

fn operations_mut(item: &mut utoipa::openapi::PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.options,
        &mut item.head,
        &mut item.patch,
        &mut item.trace,
    ]
    .into_iter()
    .filter_map(Option::as_mut)
}

impl Modify for Common {
    fn modify(&self, doc: &mut Document) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An API token (`prompter tokens create`), when authentication is required.",
                    ))
                    .build(),
            ),
        );
        let shared = [
            (
                "Unauthorized",
                error_response("`UNAUTHORIZED`: authentication is required and the bearer token is missing, unknown or revoked (with `WWW-Authenticate: Bearer`)"),
            ),
            ("RateLimited", {
                let mut r = error_response("`RATE_LIMITED`: over the token's per-minute limit");
                r.headers.insert(
                    "Retry-After".into(),
                    HeaderBuilder::new()
                        .schema(ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(1)))
                        .description(Some("Seconds to wait"))
                        .build(),
                );
                r
            }),
            (
                "Timeout",
                ResponseBuilder::new()
                    .description("Not answered within 30 s (empty body)")
                    .build(),
            ),
            (
                "InternalError",
                error_response("`INTERNAL_ERROR`: a bug; details are logged, not returned"),
            ),
        ];
        for (name, response) in shared {
            components.responses.insert(name.into(), response.into());
        }
        for name in COMPLETE_RESPONSE_SCHEMAS {
            if let Some(RefOr::T(Schema::Object(object))) = components.schemas.get_mut(*name) {
                object.required = object.properties.keys().cloned().collect();
            }
        }

        for item in doc.paths.paths.values_mut() {
            for op in operations_mut(item) {
                let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
                let mut add = |status: &str, name: &str| {
                    op.responses
                        .responses
                        .entry(status.into())
                        .or_insert_with(|| {
                            Ref::new(format!("#/components/responses/{name}")).into()
                        });
                };
                if secured {
                    add("401", "Unauthorized");
                    add("429", "RateLimited");
                }
                add("408", "Timeout");
                add("500", "InternalError");
            }
        }
    }
}

/// This OpenAPI document.
#[utoipa::path(
    get,
    path = "/openapi.json",
    operation_id = "openapi",
    tag = "operations",
    responses((status = 200, description = "The OpenAPI 3.1 document of this API", content_type = "application/json", body = Object)),
)]
pub async fn openapi_json() -> impl IntoResponse {
    ([(CONTENT_TYPE, "application/json")], document_json())
}

/// The document as served and committed: pretty JSON, keys in a stable order (the document's
/// own structure, maps sorted).
pub fn document_json() -> &'static str {
    static JSON: OnceLock<String> = OnceLock::new();
    JSON.get_or_init(render)
}

/// Renders the document anew (pretty JSON and a final newline).
pub fn render() -> String {
    let mut json = ApiDoc::openapi()
        .to_pretty_json()
        .expect("the OpenAPI document serialises");
    json.push('\n');
    json
}

/// `(METHOD, path)` of every operation in the document.
pub fn documented_operations() -> BTreeSet<(String, String)> {
    let doc = ApiDoc::openapi();
    let mut ops = BTreeSet::new();
    for (path, item) in doc.paths.paths {
        for (method, op) in [
            ("GET", item.get),
            ("PUT", item.put),
            ("POST", item.post),
            ("DELETE", item.delete),
            ("OPTIONS", item.options),
            ("HEAD", item.head),
            ("PATCH", item.patch),
            ("TRACE", item.trace),
        ] {
            if op.is_some() {
                ops.insert((method.to_owned(), path.clone()));
            }
        }
    }
    ops
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ApiError;
    use prompter_domain::FieldError;

    /// One of each variant; the match makes adding a variant fail to compile until it is here.
    fn every_error() -> Vec<ApiError> {
        let all = vec![
            ApiError::WorkspaceRequired,
            ApiError::MalformedJson(String::new()),
            ApiError::PayloadTooLarge { limit_bytes: 1 },
            ApiError::UnsupportedMediaType,
            ApiError::Invalid(FieldError::new("f", "m")),
            ApiError::TemplateNotFound,
            ApiError::WorkspaceNotFound,
            ApiError::RouteNotFound,
            ApiError::MethodNotAllowed,
            ApiError::WorkspaceExists { id: "w".into() },
            ApiError::TemplateDeleted,
            ApiError::UnknownProvider {
                model_id: "m".into(),
            },
            ApiError::ProviderNotConfigured {
                provider: "p".into(),
                hint: "h".into(),
            },
            ApiError::ProviderFailed {
                provider: "p".into(),
                provider_status: None,
                message: "m".into(),
                result_id: None,
            },
            ApiError::ProbeDisabled,
            ApiError::IdempotencyKeyReused,
            ApiError::ResultNotFound,
            ApiError::TokenNotFound,
            ApiError::BatchNotFound,
            ApiError::ScheduleNotFound,
            ApiError::ReanalysisNotFound,
            ApiError::EntitiesNotSet,
            ApiError::BatchClosed {
                status: "cancelled",
            },
            ApiError::RequestTimeout { timeout_s: 30 },
            ApiError::Unauthorized("u"),
            ApiError::Forbidden("f"),
            ApiError::RateLimited { retry_after_s: 1 },
            ApiError::Unavailable(String::new()),
            ApiError::Internal(String::new()),
        ];
        for e in &all {
            match e {
                ApiError::WorkspaceRequired
                | ApiError::MalformedJson(_)
                | ApiError::PayloadTooLarge { .. }
                | ApiError::UnsupportedMediaType
                | ApiError::Invalid(_)
                | ApiError::TemplateNotFound
                | ApiError::WorkspaceNotFound
                | ApiError::RouteNotFound
                | ApiError::MethodNotAllowed
                | ApiError::WorkspaceExists { .. }
                | ApiError::TemplateDeleted
                | ApiError::UnknownProvider { .. }
                | ApiError::ProviderNotConfigured { .. }
                | ApiError::ProviderFailed { .. }
                | ApiError::ProbeDisabled
                | ApiError::IdempotencyKeyReused
                | ApiError::ResultNotFound
                | ApiError::TokenNotFound
                | ApiError::BatchNotFound
                | ApiError::ScheduleNotFound
                | ApiError::ReanalysisNotFound
                | ApiError::EntitiesNotSet
                | ApiError::BatchClosed { .. }
                | ApiError::RequestTimeout { .. }
                | ApiError::Unauthorized(_)
                | ApiError::Forbidden(_)
                | ApiError::RateLimited { .. }
                | ApiError::Unavailable(_)
                | ApiError::Internal(_) => {}
                // Built from a stored template; covered by the table's own entry.
                ApiError::TemplateExists { .. } => {}
            }
        }
        all
    }

    #[test]
    fn every_error_code_is_documented_with_its_status() {
        let mut codes: Vec<(&str, u16)> = every_error()
            .iter()
            .map(|e| (e.code(), e.status().as_u16()))
            .collect();
        codes.push(("TEMPLATE_EXISTS", 409));
        for (code, status) in &codes {
            assert!(
                ERROR_CODES.iter().any(|(c, s, _)| c == code && s == status),
                "{code} ({status}) is missing from openapi::ERROR_CODES"
            );
        }
        for (code, _, _) in ERROR_CODES {
            assert!(
                codes.iter().any(|(c, _)| c == code),
                "{code} is documented but no ApiError answers it"
            );
        }
    }
}
