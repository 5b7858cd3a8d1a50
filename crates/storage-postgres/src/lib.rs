//! PostgreSQL backend: production. Several `prompter serve` processes may share one database;
//! the partial unique index decides which of two concurrent identical creates wins, and the loser
//! reads the winner back after the index made it wait (READ COMMITTED gives each statement a fresh
//! snapshot, so the committed winner is visible).

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use prompter_domain::{OrgId, WorkspaceId};
use prompter_storage::{
    timestamp, Backend, CreateTemplate, Cursor, Database, MigrationState, NewTemplate,
    NewWorkspace, RecordedRun, RestoreTemplate, Result, ResultPage, RunRecord, RunResult,
    RunStatus, StorageError, Template, TemplatePage, TemplateQuery, UpsertedVersion, Version,
    VersionObservation, Workspace,
};
use prompter_storage::{ApiToken, NewToken, Role};
use sqlx::migrate::{Migrate, Migrator};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::types::Json;
use sqlx::{PgConnection, Postgres, QueryBuilder, Row};
use uuid::Uuid;

static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

const TEMPLATE_COLUMNS: &str = "t.id, t.org_id, t.workspace_id, t.name, t.provider, \
    t.system_instructions, t.user_prompt_template, t.country_set, t.model_id, t.inference_params, \
    t.tools_spec, t.response_format, t.grounding_profile_id, t.grounding_snapshot_id, \
    t.retrieval_params, t.created_by, t.config_hash, t.config_canonical_json, t.created_at, \
    t.deleted_at";

/// How often a create retries when the index refused its row but the twin vanished (soft-deleted
/// between the two statements). One retry is almost always enough.
const CREATE_ATTEMPTS: usize = 3;

pub struct PostgresDatabase {
    pool: PgPool,
}

impl PostgresDatabase {
    /// Connects to `url` (`postgres://user@host:5432/db`). Does not migrate.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| StorageError::Internal(format!("invalid PostgreSQL URL: {e}")))?;
        let pool = PgPoolOptions::new()
            .max_connections(max_connections.max(1))
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await?;
        Ok(Self { pool })
    }

    /// A handle that connects on first use: the service can start (and report itself unhealthy)
    /// while the database is down.
    pub fn connect_lazy(url: &str, max_connections: u32) -> Result<Self> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| StorageError::Internal(format!("invalid PostgreSQL URL: {e}")))?;
        let pool = PgPoolOptions::new()
            .max_connections(max_connections.max(1))
            .acquire_timeout(Duration::from_secs(2))
            .connect_lazy_with(options);
        Ok(Self { pool })
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

/// Duplicate lookups rely on table statistics: without them (a table never analysed) the planner
/// serves `find_active_duplicate` from the brand's listing index and filters every template of
/// the brand (measured: 8 ms instead of 0.02 ms at 9,420 templates; BENCHMARKS.md). PostgreSQL's
/// autovacuum keeps statistics current; say so loudly when it is off.
async fn warn_without_autovacuum(pool: &PgPool) {
    match sqlx::query_scalar::<_, String>("SELECT current_setting('autovacuum')")
        .fetch_one(pool)
        .await
    {
        Ok(setting) if setting == "off" => tracing::warn!(
            "PostgreSQL runs with autovacuum = off: table statistics go stale and duplicate \
             checks slow down as brands grow; turn autovacuum on or run ANALYZE regularly"
        ),
        Ok(_) => {}
        Err(e) => tracing::debug!(error = %e, "could not read the autovacuum setting"),
    }
}

async fn active_twin(
    conn: &mut PgConnection,
    org: &str,
    workspace: &str,
    hash: &str,
) -> Result<Option<(Template, String)>> {
    let sql = format!(
        "SELECT {TEMPLATE_COLUMNS}, w.name AS workspace_name FROM prompt_templates t \
         JOIN workspaces w ON w.org_id = t.org_id AND w.id = t.workspace_id \
         WHERE t.org_id = $1 AND t.workspace_id = $2 AND t.config_hash = $3 \
         AND t.deleted_at IS NULL"
    );
    let row = sqlx::query(&sql)
        .bind(org)
        .bind(workspace)
        .bind(hash)
        .fetch_optional(conn)
        .await?;
    row.map(|r| Ok((template_from_row(&r)?, r.try_get("workspace_name")?)))
        .transpose()
}

fn template_from_row(row: &PgRow) -> Result<Template> {
    fn json<T: serde::de::DeserializeOwned>(row: &PgRow, column: &str) -> Result<T> {
        Ok(row.try_get::<Json<T>, _>(column)?.0)
    }
    fn json_opt<T: serde::de::DeserializeOwned>(row: &PgRow, column: &str) -> Result<Option<T>> {
        Ok(row.try_get::<Option<Json<T>>, _>(column)?.map(|j| j.0))
    }
    Ok(Template {
        id: row.try_get("id")?,
        org_id: row.try_get("org_id")?,
        workspace_id: row.try_get("workspace_id")?,
        name: row.try_get("name")?,
        provider: row.try_get("provider")?,
        system_instructions: row.try_get("system_instructions")?,
        user_prompt_template: row.try_get("user_prompt_template")?,
        country_set: json(row, "country_set")?,
        model_id: row.try_get("model_id")?,
        inference_params: json(row, "inference_params")?,
        tools_spec: json_opt(row, "tools_spec")?,
        response_format: json_opt(row, "response_format")?,
        grounding_profile_id: row.try_get("grounding_profile_id")?,
        grounding_snapshot_id: row.try_get("grounding_snapshot_id")?,
        retrieval_params: json_opt(row, "retrieval_params")?,
        created_by: row.try_get("created_by")?,
        config_hash: row.try_get("config_hash")?,
        config_canonical_json: row.try_get("config_canonical_json")?,
        created_at: row.try_get("created_at")?,
        deleted_at: row.try_get("deleted_at")?,
    })
}

fn workspace_from_row(row: &PgRow) -> Result<Workspace> {
    Ok(Workspace {
        id: row.try_get("id")?,
        org_id: row.try_get("org_id")?,
        name: row.try_get("name")?,
        created_at: row.try_get("created_at")?,
    })
}

#[async_trait]
impl Database for PostgresDatabase {
    fn backend(&self) -> Backend {
        Backend::Postgres
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn close(&self) {
        self.pool.close().await;
    }

    async fn migrate_up(&self) -> Result<Vec<i64>> {
        let before = applied_versions(&self.pool).await?;
        MIGRATOR.run(&self.pool).await?;
        warn_without_autovacuum(&self.pool).await;
        let after = applied_versions(&self.pool).await?;
        Ok(after.into_iter().filter(|v| !before.contains(v)).collect())
    }

    async fn migrate_down(&self, steps: usize) -> Result<Vec<i64>> {
        let applied = applied_versions(&self.pool).await?;
        let (target, reverted) = prompter_storage::down_target(&applied, steps);
        MIGRATOR.undo(&self.pool, target).await?;
        Ok(reverted)
    }

    async fn migration_status(&self) -> Result<Vec<MigrationState>> {
        let applied = applied_versions(&self.pool).await?;
        Ok(prompter_storage::migration_states(
            MIGRATOR.iter().map(|m| {
                (
                    m.version,
                    m.description.as_ref(),
                    m.migration_type.is_down_migration(),
                )
            }),
            &applied,
        ))
    }

    async fn create_workspace(&self, ws: NewWorkspace) -> Result<Workspace> {
        let done = sqlx::query(
            "INSERT INTO workspaces (org_id, id, name, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT DO NOTHING",
        )
        .bind(ws.org_id.as_str())
        .bind(ws.id.as_str())
        .bind(&ws.name)
        .bind(ws.created_at)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StorageError::WorkspaceExists);
        }
        Ok(Workspace {
            id: ws.id.to_string(),
            org_id: ws.org_id.to_string(),
            name: ws.name,
            created_at: ws.created_at,
        })
    }

    async fn get_workspace(&self, org: &OrgId, id: &WorkspaceId) -> Result<Option<Workspace>> {
        let row = sqlx::query(
            "SELECT org_id, id, name, created_at FROM workspaces WHERE org_id = $1 AND id = $2",
        )
        .bind(org.as_str())
        .bind(id.as_str())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(workspace_from_row).transpose()
    }

    async fn list_workspaces(&self, org: &OrgId) -> Result<Vec<Workspace>> {
        let rows = sqlx::query(
            "SELECT org_id, id, name, created_at FROM workspaces WHERE org_id = $1 ORDER BY id",
        )
        .bind(org.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(workspace_from_row).collect()
    }

    async fn create_template(&self, new: NewTemplate) -> Result<CreateTemplate> {
        let s = &new.spec;
        // Most duplicates are refused by a plain read; the index arbitrates the races.
        let mut conn = self.pool.acquire().await?;
        if let Some((existing, workspace_name)) = active_twin(
            &mut conn,
            s.org_id.as_str(),
            s.workspace_id.as_str(),
            &s.config.hash,
        )
        .await?
        {
            return Ok(CreateTemplate::Duplicate {
                existing,
                workspace_name,
            });
        }
        drop(conn);
        for _ in 0..CREATE_ATTEMPTS {
            let mut tx = self.pool.begin().await?;
            sqlx::query(
                "INSERT INTO workspaces (org_id, id, name, created_at) VALUES ($1, $2, $2, $3) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(s.org_id.as_str())
            .bind(s.workspace_id.as_str())
            .bind(new.created_at)
            .execute(&mut *tx)
            .await?;
            let inserted = sqlx::query(
                "INSERT INTO prompt_templates (id, org_id, workspace_id, name, provider, \
                 system_instructions, user_prompt_template, country_set, model_id, \
                 inference_params, tools_spec, response_format, grounding_profile_id, \
                 grounding_snapshot_id, retrieval_params, config_hash, config_canonical_json, \
                 created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, \
                 $12, $13, $14, $15, $16, $17, $18, $19) ON CONFLICT DO NOTHING",
            )
            .bind(new.id)
            .bind(s.org_id.as_str())
            .bind(s.workspace_id.as_str())
            .bind(&new.name)
            .bind(&s.provider)
            .bind(&s.system_instructions)
            .bind(&s.user_prompt_template)
            .bind(Json(&s.country_set))
            .bind(&s.model_id)
            .bind(Json(&s.inference_params))
            .bind(s.tools_spec.as_ref().map(Json))
            .bind(s.response_format.as_ref().map(Json))
            .bind(&s.grounding_profile_id)
            .bind(&s.grounding_snapshot_id)
            .bind(s.retrieval_params.as_ref().map(Json))
            .bind(&s.config.hash)
            .bind(&s.config.canonical_json)
            .bind(&s.created_by)
            .bind(new.created_at)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if inserted == 1 {
                tx.commit().await?;
                return Ok(CreateTemplate::Created(new.into_template()));
            }
            let twin = active_twin(
                &mut tx,
                s.org_id.as_str(),
                s.workspace_id.as_str(),
                &s.config.hash,
            )
            .await?;
            tx.rollback().await?;
            if let Some((existing, workspace_name)) = twin {
                return Ok(CreateTemplate::Duplicate {
                    existing,
                    workspace_name,
                });
            }
            tracing::debug!(template_id = %new.id, "duplicate vanished before it was read; retrying create");
        }
        Err(StorageError::Internal(format!(
            "create of template {} kept conflicting without a visible twin",
            new.id
        )))
    }

    async fn find_active_duplicate(
        &self,
        org: &OrgId,
        workspace: &WorkspaceId,
        config_hash: &str,
    ) -> Result<Option<Template>> {
        let sql = format!(
            "SELECT {TEMPLATE_COLUMNS} FROM prompt_templates t WHERE t.org_id = $1 \
             AND t.workspace_id = $2 AND t.config_hash = $3 AND t.deleted_at IS NULL"
        );
        let row = sqlx::query(&sql)
            .bind(org.as_str())
            .bind(workspace.as_str())
            .bind(config_hash)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(template_from_row).transpose()
    }

    async fn get_template(&self, id: Uuid) -> Result<Option<Template>> {
        let sql = format!("SELECT {TEMPLATE_COLUMNS} FROM prompt_templates t WHERE t.id = $1");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(template_from_row).transpose()
    }

    async fn list_templates(&self, q: &TemplateQuery) -> Result<TemplatePage> {
        let mut sql = QueryBuilder::<Postgres>::new(format!(
            "SELECT {TEMPLATE_COLUMNS} FROM prompt_templates t WHERE t.org_id = "
        ));
        sql.push_bind(q.org_id.as_str());
        if let Some(ws) = &q.workspace_id {
            sql.push(" AND t.workspace_id = ").push_bind(ws.as_str());
        }
        if let Some(allowed) = &q.allowed_workspaces {
            sql.push(" AND t.workspace_id = ANY(")
                .push_bind(allowed.clone())
                .push(")");
        }
        if !q.include_deleted {
            sql.push(" AND t.deleted_at IS NULL");
        }
        if let Some(after) = &q.after {
            sql.push(" AND (t.created_at, t.id) < (")
                .push_bind(after.created_at)
                .push(", ")
                .push_bind(after.id)
                .push(")");
        }
        sql.push(" ORDER BY t.created_at DESC, t.id DESC LIMIT ")
            .push_bind(i64::from(q.limit) + 1);
        let rows = sql.build().fetch_all(&self.pool).await?;
        let items = rows
            .iter()
            .map(template_from_row)
            .collect::<Result<Vec<_>>>()?;
        Ok(prompter_storage::page(items, q.limit))
    }

    async fn soft_delete_template(&self, id: Uuid) -> Result<Option<Template>> {
        sqlx::query(
            "UPDATE prompt_templates SET deleted_at = $1 WHERE id = $2 AND deleted_at IS NULL",
        )
        .bind(timestamp::now())
        .bind(id)
        .execute(&self.pool)
        .await?;
        self.get_template(id).await
    }

    async fn restore_template(&self, id: Uuid) -> Result<RestoreTemplate> {
        let mut tx = self.pool.begin().await?;
        // Lock the row so two restores of the same template serialise.
        let sql =
            format!("SELECT {TEMPLATE_COLUMNS} FROM prompt_templates t WHERE t.id = $1 FOR UPDATE");
        let Some(row) = sqlx::query(&sql).bind(id).fetch_optional(&mut *tx).await? else {
            return Ok(RestoreTemplate::NotFound);
        };
        let mut template = template_from_row(&row)?;
        if template.deleted_at.is_none() {
            return Ok(RestoreTemplate::Restored(template));
        }
        let restored = sqlx::query("UPDATE prompt_templates SET deleted_at = NULL WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await;
        match restored {
            Ok(_) => {
                tx.commit().await?;
                template.deleted_at = None;
                Ok(RestoreTemplate::Restored(template))
            }
            // An active twin holds the configuration: the index says so, we report which one.
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                tx.rollback().await?;
                let mut conn = self.pool.acquire().await?;
                match active_twin(
                    &mut conn,
                    &template.org_id,
                    &template.workspace_id,
                    &template.config_hash,
                )
                .await?
                {
                    Some((existing, workspace_name)) => Ok(RestoreTemplate::ActiveTwin {
                        existing,
                        workspace_name,
                    }),
                    None => Err(StorageError::Internal(
                        "restore conflicted but no active twin is visible".into(),
                    )),
                }
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn upsert_version(&self, observation: &VersionObservation) -> Result<UpsertedVersion> {
        let mut conn = self.pool.acquire().await?;
        upsert_version_on(&mut conn, observation).await
    }

    async fn list_versions(&self, template_id: Uuid) -> Result<Vec<Version>> {
        let sql = format!(
            "SELECT {VERSION_COLUMNS} FROM prompt_versions WHERE template_id = $1 \
             ORDER BY first_seen_at DESC, id DESC"
        );
        let rows = sqlx::query(&sql)
            .bind(template_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(version_from_row).collect()
    }

    async fn latest_version(&self, template_id: Uuid) -> Result<Option<Version>> {
        let sql = format!(
            "SELECT {VERSION_COLUMNS} FROM prompt_versions WHERE template_id = $1 \
             ORDER BY last_seen_at DESC, id DESC LIMIT 1"
        );
        let row = sqlx::query(&sql)
            .bind(template_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(version_from_row).transpose()
    }

    async fn record_run(&self, record: RunRecord) -> Result<RecordedRun> {
        let mut result = record.result;
        let mut tx = self.pool.begin().await?;
        if let Some(key) = &result.idempotency_key {
            if let Some(first) = idempotent_result(&mut tx, result.template_id, key).await? {
                return Ok(RecordedRun::IdempotentReplay(first));
            }
        }
        let version = match &record.observation {
            Some(o) => Some(upsert_version_on(&mut tx, o).await?),
            None => None,
        };
        if let Some(v) = &version {
            result.version_id = Some(v.version.id);
            result.provider_version_key = Some(v.version.provider_version_key.clone());
        }
        let inserted = sqlx::query(
            "INSERT INTO prompt_results (id, org_id, workspace_id, template_id, version_id, \
             provider, model_id, provider_version_key, system_fingerprint, request, response, \
             answer, analysis_config, rendered_prompt_hash, run_country, used_grounding, status, \
             error, latency_ms, usage, is_fake, idempotency_key, request_hash, created_at) VALUES \
             ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, \
             $19, $20, $21, $22, $23, $24) ON CONFLICT DO NOTHING",
        )
        .bind(result.id)
        .bind(&result.org_id)
        .bind(&result.workspace_id)
        .bind(result.template_id)
        .bind(result.version_id)
        .bind(&result.provider)
        .bind(&result.model_id)
        .bind(&result.provider_version_key)
        .bind(&result.system_fingerprint)
        .bind(Json(&result.request))
        .bind(Json(&result.response))
        .bind(&result.answer)
        .bind(Json(&result.analysis_config))
        .bind(&result.rendered_prompt_hash)
        .bind(&result.run_country)
        .bind(result.used_grounding)
        .bind(result.status.as_str())
        .bind(result.error.as_ref().map(Json))
        .bind(result.latency_ms)
        .bind(result.usage.as_ref().map(Json))
        .bind(result.is_fake)
        .bind(&result.idempotency_key)
        .bind(&result.request_hash)
        .bind(result.created_at)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 0 {
            // A concurrent run with the same idempotency key committed first.
            tx.rollback().await?;
            let key = result.idempotency_key.as_deref().unwrap_or_default();
            let mut conn = self.pool.acquire().await?;
            return match idempotent_result(&mut conn, result.template_id, key).await? {
                Some(first) => Ok(RecordedRun::IdempotentReplay(first)),
                None => Err(StorageError::Internal(format!(
                    "result {} was refused but no idempotent twin exists",
                    result.id
                ))),
            };
        }
        tx.commit().await?;
        Ok(RecordedRun::Recorded { result, version })
    }

    async fn get_result(&self, id: Uuid) -> Result<Option<RunResult>> {
        let sql = format!("SELECT {RESULT_COLUMNS} FROM prompt_results WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(result_from_row).transpose()
    }

    async fn find_idempotent_result(
        &self,
        template_id: Uuid,
        key: &str,
        since: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<RunResult>> {
        let mut conn = self.pool.acquire().await?;
        Ok(idempotent_result(&mut conn, template_id, key)
            .await?
            .filter(|r| r.created_at >= since))
    }

    async fn create_token(&self, t: NewToken) -> Result<ApiToken> {
        sqlx::query(
            "INSERT INTO api_tokens (id, org_id, workspaces, role, token_hash, label, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(t.id)
        .bind(&t.org_id)
        .bind(t.workspaces.as_ref().map(Json))
        .bind(t.role.as_str())
        .bind(&t.token_hash)
        .bind(&t.label)
        .bind(t.created_at)
        .execute(&self.pool)
        .await?;
        Ok(t.into_token())
    }

    async fn list_tokens(&self) -> Result<Vec<ApiToken>> {
        let rows = sqlx::query(&format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens ORDER BY created_at, id"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(token_from_row).collect()
    }

    async fn revoke_token(&self, id: Uuid) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
        )
        .bind(timestamp::now())
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn active_token_by_hash(&self, token_hash: &str) -> Result<Option<ApiToken>> {
        let row = sqlx::query(&format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL"
        ))
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(token_from_row).transpose()
    }

    async fn count_active_tokens(&self) -> Result<i64> {
        Ok(
            sqlx::query_scalar("SELECT count(*) FROM api_tokens WHERE revoked_at IS NULL")
                .fetch_one(&self.pool)
                .await?,
        )
    }

    async fn list_results(
        &self,
        template_id: Uuid,
        limit: u32,
        after: Option<Cursor>,
    ) -> Result<ResultPage> {
        let mut sql = QueryBuilder::<Postgres>::new(format!(
            "SELECT {RESULT_COLUMNS} FROM prompt_results WHERE template_id = "
        ));
        sql.push_bind(template_id);
        if let Some(after) = after {
            sql.push(" AND (created_at, id) < (")
                .push_bind(after.created_at)
                .push(", ")
                .push_bind(after.id)
                .push(")");
        }
        sql.push(" ORDER BY created_at DESC, id DESC LIMIT ")
            .push_bind(i64::from(limit) + 1);
        let rows = sql.build().fetch_all(&self.pool).await?;
        let items = rows
            .iter()
            .map(result_from_row)
            .collect::<Result<Vec<_>>>()?;
        Ok(prompter_storage::result_page(items, limit))
    }
}

const VERSION_COLUMNS: &str = "id, org_id, workspace_id, template_id, provider, \
    provider_version_key, model_id, response_model, system_fingerprint, provider_response_id, \
    fingerprint_captured_at, first_seen_at, last_seen_at";

const RESULT_COLUMNS: &str = "id, org_id, workspace_id, template_id, version_id, provider, \
    model_id, provider_version_key, system_fingerprint, request, response, answer, \
    analysis_config, rendered_prompt_hash, run_country, used_grounding, status, error, latency_ms, \
    usage, is_fake, idempotency_key, request_hash, created_at";

fn version_from_row(row: &PgRow) -> Result<Version> {
    Ok(Version {
        id: row.try_get("id")?,
        org_id: row.try_get("org_id")?,
        workspace_id: row.try_get("workspace_id")?,
        template_id: row.try_get("template_id")?,
        provider: row.try_get("provider")?,
        provider_version_key: row.try_get("provider_version_key")?,
        model_id: row.try_get("model_id")?,
        response_model: row.try_get("response_model")?,
        system_fingerprint: row.try_get("system_fingerprint")?,
        provider_response_id: row.try_get("provider_response_id")?,
        fingerprint_captured_at: row.try_get("fingerprint_captured_at")?,
        first_seen_at: row.try_get("first_seen_at")?,
        last_seen_at: row.try_get("last_seen_at")?,
    })
}

fn result_from_row(row: &PgRow) -> Result<RunResult> {
    let opt_json = |column: &str| -> Result<Option<serde_json::Value>> {
        Ok(row
            .try_get::<Option<Json<serde_json::Value>>, _>(column)?
            .map(|j| j.0))
    };
    let status: String = row.try_get("status")?;
    Ok(RunResult {
        id: row.try_get("id")?,
        org_id: row.try_get("org_id")?,
        workspace_id: row.try_get("workspace_id")?,
        template_id: row.try_get("template_id")?,
        version_id: row.try_get("version_id")?,
        provider: row.try_get("provider")?,
        model_id: row.try_get("model_id")?,
        provider_version_key: row.try_get("provider_version_key")?,
        system_fingerprint: row.try_get("system_fingerprint")?,
        request: row.try_get::<Json<serde_json::Value>, _>("request")?.0,
        response: row.try_get::<Json<serde_json::Value>, _>("response")?.0,
        answer: row.try_get("answer")?,
        analysis_config: opt_json("analysis_config")?.unwrap_or(serde_json::Value::Null),
        rendered_prompt_hash: row
            .try_get::<Option<String>, _>("rendered_prompt_hash")?
            .unwrap_or_default(),
        run_country: row.try_get("run_country")?,
        used_grounding: row.try_get("used_grounding")?,
        status: RunStatus::parse(&status)
            .ok_or_else(|| StorageError::Internal(format!("unknown run status {status:?}")))?,
        error: opt_json("error")?,
        latency_ms: row.try_get("latency_ms")?,
        usage: opt_json("usage")?,
        is_fake: row.try_get("is_fake")?,
        idempotency_key: row.try_get("idempotency_key")?,
        request_hash: row.try_get("request_hash")?,
        created_at: row.try_get("created_at")?,
    })
}

/// Inserts or refreshes a version row; the unique index on
/// `(org_id, workspace_id, template_id, provider_version_key)` makes concurrent upserts meet:
/// the second waits for the first and then updates the row the first inserted.
async fn upsert_version_on(
    conn: &mut PgConnection,
    o: &VersionObservation,
) -> Result<UpsertedVersion> {
    let new_id = Uuid::now_v7();
    let sql = format!(
        "INSERT INTO prompt_versions AS v (id, org_id, workspace_id, template_id, provider, \
         provider_version_key, model_id, response_model, system_fingerprint, \
         provider_response_id, fingerprint_captured_at, first_seen_at, last_seen_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $11) \
         ON CONFLICT (org_id, workspace_id, template_id, provider_version_key) DO UPDATE SET \
         last_seen_at = GREATEST(v.last_seen_at, EXCLUDED.last_seen_at), \
         response_model = COALESCE(EXCLUDED.response_model, v.response_model), \
         system_fingerprint = COALESCE(EXCLUDED.system_fingerprint, v.system_fingerprint), \
         provider_response_id = COALESCE(EXCLUDED.provider_response_id, v.provider_response_id) \
         RETURNING {VERSION_COLUMNS}"
    );
    let row = sqlx::query(&sql)
        .bind(new_id)
        .bind(&o.org_id)
        .bind(&o.workspace_id)
        .bind(o.template_id)
        .bind(&o.provider)
        .bind(&o.provider_version_key)
        .bind(&o.model_id)
        .bind(&o.response_model)
        .bind(&o.system_fingerprint)
        .bind(&o.provider_response_id)
        .bind(o.seen_at)
        .fetch_one(conn)
        .await?;
    let version = version_from_row(&row)?;
    Ok(UpsertedVersion {
        created: version.id == new_id,
        version,
    })
}

async fn idempotent_result(
    conn: &mut PgConnection,
    template_id: Uuid,
    key: &str,
) -> Result<Option<RunResult>> {
    let sql = format!(
        "SELECT {RESULT_COLUMNS} FROM prompt_results WHERE template_id = $1 AND idempotency_key = $2"
    );
    let row = sqlx::query(&sql)
        .bind(template_id)
        .bind(key)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(result_from_row).transpose()
}

const TOKEN_COLUMNS: &str = "id, org_id, workspaces, role, label, created_at, revoked_at";

fn token_from_row(row: &PgRow) -> Result<ApiToken> {
    let role: String = row.try_get("role")?;
    Ok(ApiToken {
        id: row.try_get("id")?,
        org_id: row.try_get("org_id")?,
        workspaces: row
            .try_get::<Option<Json<Vec<String>>>, _>("workspaces")?
            .map(|j| j.0),
        role: Role::parse(&role)
            .ok_or_else(|| StorageError::Internal(format!("unknown role {role:?}")))?,
        label: row.try_get("label")?,
        created_at: row.try_get("created_at")?,
        revoked_at: row.try_get("revoked_at")?,
    })
}

async fn applied_versions(pool: &PgPool) -> Result<Vec<i64>> {
    let mut conn = pool.acquire().await?;
    conn.ensure_migrations_table().await?;
    let applied = conn.list_applied_migrations().await?;
    Ok(applied.into_iter().map(|m| m.version).collect())
}
