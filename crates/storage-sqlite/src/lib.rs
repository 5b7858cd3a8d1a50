//! SQLite backend: the embedded default (a file in the working directory, nothing to install).
//!
//! SQLite allows one writer at a time. Rather than letting many pooled connections race for the
//! write lock (and sleep in `busy_timeout`), all writes go through a pool of exactly one
//! connection, and reads use a separate pool. WAL mode lets the readers run while the writer
//! commits. Durability: `synchronous=FULL`, so an acknowledged write survives power loss, not only
//! a process crash.
//!
//! Template creates — the hot write — use group commit: a task collects the creates that queue
//! up while the previous transaction commits and writes them in one transaction, so one fsync
//! covers many requests. Every request still gets its own outcome, and only after the commit.
//! A create whose configuration already has an active twin is answered from a read connection
//! without queueing for the writer at all (the unique index stays the arbiter for the rest).

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use prompter_domain::{OrgId, WorkspaceId};
use prompter_storage::{
    json_from_text, timestamp, Backend, CreateTemplate, Cursor, Database, MigrationState,
    NewTemplate, NewWorkspace, RecordedRun, RestoreTemplate, Result, ResultPage, RunRecord,
    RunResult, RunStatus, StorageError, Template, TemplatePage, TemplateQuery, UpsertedVersion,
    Version, VersionObservation, Workspace,
};
use prompter_storage::{ApiToken, NewToken, Role};
use sqlx::migrate::{Migrate, Migrator};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

const TEMPLATE_COLUMNS: &str = "t.id, t.org_id, t.workspace_id, t.name, t.provider, \
    t.system_instructions, t.user_prompt_template, t.country_set, t.model_id, t.inference_params, \
    t.tools_spec, t.response_format, t.grounding_profile_id, t.grounding_snapshot_id, \
    t.retrieval_params, t.created_by, t.config_hash, t.config_canonical_json, t.created_at, \
    t.deleted_at";

/// Most creates written in one transaction.
const MAX_GROUP_COMMIT: usize = 256;

pub struct SqliteDatabase {
    writer: SqlitePool,
    reader: SqlitePool,
    writes: mpsc::Sender<WriteJob>,
}

/// A hot write, queued for the group-commit task. Jobs are moved through a channel once; their
/// size does not matter, so the variants are not boxed.
#[allow(clippy::large_enum_variant)]
enum WriteJob {
    Create {
        new: NewTemplate,
        reply: oneshot::Sender<Result<CreateTemplate>>,
    },
    Run {
        record: RunRecord,
        reply: oneshot::Sender<Result<RecordedRun>>,
    },
}

impl WriteJob {
    async fn apply(&self, conn: &mut SqliteConnection) -> Result<WriteOutcome> {
        Ok(match self {
            WriteJob::Create { new, .. } => WriteOutcome::Create(insert_template(conn, new).await?),
            WriteJob::Run { record, .. } => WriteOutcome::Run(insert_run(conn, record).await?),
        })
    }

    fn reply(self, outcome: Result<WriteOutcome>) {
        match (self, outcome) {
            (WriteJob::Create { reply, .. }, Ok(WriteOutcome::Create(o))) => {
                let _ = reply.send(o);
            }
            (WriteJob::Run { reply, .. }, Ok(WriteOutcome::Run(o))) => {
                let _ = reply.send(o);
            }
            (WriteJob::Create { reply, .. }, Err(e)) => {
                let _ = reply.send(Err(e));
            }
            (WriteJob::Run { reply, .. }, Err(e)) => {
                let _ = reply.send(Err(e));
            }
            (WriteJob::Create { reply, .. }, Ok(_)) => {
                let _ = reply.send(Err(StorageError::Internal(
                    "mismatched write outcome".into(),
                )));
            }
            (WriteJob::Run { reply, .. }, Ok(_)) => {
                let _ = reply.send(Err(StorageError::Internal(
                    "mismatched write outcome".into(),
                )));
            }
        }
    }
}

/// Per-job outcomes inside a committed batch (a duplicate is an outcome, not an error).
#[allow(clippy::large_enum_variant)]
enum WriteOutcome {
    Create(Result<CreateTemplate>),
    Run(Result<RecordedRun>),
}

impl SqliteDatabase {
    /// Opens (creating if missing) the database at `url` (`sqlite://prompter.db`,
    /// `sqlite:relative.db`, `sqlite:///abs/path.db`). Does not migrate.
    pub async fn connect(url: &str, max_readers: u32) -> Result<Self> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| StorageError::Internal(format!("invalid SQLite URL: {e}")))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            // An in-memory database lives and dies with its one connection.
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options.clone())
            .await?;
        let reader = if in_memory {
            writer.clone()
        } else {
            SqlitePoolOptions::new()
                .max_connections(max_readers.max(1))
                .acquire_timeout(Duration::from_secs(30))
                .connect_with(options.read_only(true))
                .await?
        };
        let (writes, queue) = mpsc::channel(4 * MAX_GROUP_COMMIT);
        tokio::spawn(group_commit(writer.clone(), queue));
        Ok(Self {
            writer,
            reader,
            writes,
        })
    }

    async fn queue_write(&self, job: WriteJob) -> Result<()> {
        self.writes
            .send(job)
            .await
            .map_err(|_| StorageError::Unavailable("the SQLite writer has stopped".into()))
    }

    async fn template_by_id(&self, id: Uuid) -> Result<Option<Template>> {
        let sql = format!("SELECT {TEMPLATE_COLUMNS} FROM prompt_templates t WHERE t.id = ?1");
        let row = sqlx::query(&sql)
            .bind(id.to_string())
            .fetch_optional(&self.writer)
            .await?;
        row.as_ref().map(template_from_row).transpose()
    }
}

/// The active template with this hash and its brand's display name, read inside `tx`.
async fn active_twin(
    conn: &mut SqliteConnection,
    org: &str,
    workspace: &str,
    hash: &str,
) -> Result<Option<(Template, String)>> {
    let sql = format!(
        "SELECT {TEMPLATE_COLUMNS}, w.name AS workspace_name FROM prompt_templates t \
         JOIN workspaces w ON w.org_id = t.org_id AND w.id = t.workspace_id \
         WHERE t.org_id = ?1 AND t.workspace_id = ?2 AND t.config_hash = ?3 \
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

fn json_text<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("JSON values always serialise")
}

fn parse_ts(column: &str, text: &str) -> Result<DateTime<Utc>> {
    timestamp::parse(text)
        .ok_or_else(|| StorageError::Internal(format!("column {column} holds a bad timestamp")))
}

fn template_from_row(row: &SqliteRow) -> Result<Template> {
    let json_opt = |column: &str| -> Result<Option<String>> { Ok(row.try_get(column)?) };
    let id: String = row.try_get("id")?;
    Ok(Template {
        id: Uuid::parse_str(&id).map_err(|e| StorageError::Internal(e.to_string()))?,
        org_id: row.try_get("org_id")?,
        workspace_id: row.try_get("workspace_id")?,
        name: row.try_get("name")?,
        provider: row.try_get("provider")?,
        system_instructions: row.try_get("system_instructions")?,
        user_prompt_template: row.try_get("user_prompt_template")?,
        country_set: json_from_text("country_set", row.try_get("country_set")?)?,
        model_id: row.try_get("model_id")?,
        inference_params: json_from_text("inference_params", row.try_get("inference_params")?)?,
        tools_spec: json_opt("tools_spec")?
            .map(|t| json_from_text("tools_spec", &t))
            .transpose()?,
        response_format: json_opt("response_format")?
            .map(|t| json_from_text("response_format", &t))
            .transpose()?,
        grounding_profile_id: row.try_get("grounding_profile_id")?,
        grounding_snapshot_id: row.try_get("grounding_snapshot_id")?,
        retrieval_params: json_opt("retrieval_params")?
            .map(|t| json_from_text("retrieval_params", &t))
            .transpose()?,
        created_by: row.try_get("created_by")?,
        config_hash: row.try_get("config_hash")?,
        config_canonical_json: row.try_get("config_canonical_json")?,
        created_at: parse_ts("created_at", row.try_get("created_at")?)?,
        deleted_at: row
            .try_get::<Option<String>, _>("deleted_at")?
            .map(|t| parse_ts("deleted_at", &t))
            .transpose()?,
    })
}

fn workspace_from_row(row: &SqliteRow) -> Result<Workspace> {
    Ok(Workspace {
        id: row.try_get("id")?,
        org_id: row.try_get("org_id")?,
        name: row.try_get("name")?,
        created_at: parse_ts("created_at", row.try_get("created_at")?)?,
    })
}

#[async_trait]
impl Database for SqliteDatabase {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.reader).await?;
        Ok(())
    }

    async fn close(&self) {
        self.reader.close().await;
        self.writer.close().await;
    }

    async fn migrate_up(&self) -> Result<Vec<i64>> {
        let before = applied_versions(&self.writer).await?;
        MIGRATOR.run(&self.writer).await?;
        let after = applied_versions(&self.writer).await?;
        Ok(after.into_iter().filter(|v| !before.contains(v)).collect())
    }

    async fn migrate_down(&self, steps: usize) -> Result<Vec<i64>> {
        let applied = applied_versions(&self.writer).await?;
        let (target, reverted) = prompter_storage::down_target(&applied, steps);
        MIGRATOR.undo(&self.writer, target).await?;
        Ok(reverted)
    }

    async fn migration_status(&self) -> Result<Vec<MigrationState>> {
        let applied = applied_versions(&self.writer).await?;
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
            "INSERT INTO workspaces (org_id, id, name, created_at) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT DO NOTHING",
        )
        .bind(ws.org_id.as_str())
        .bind(ws.id.as_str())
        .bind(&ws.name)
        .bind(timestamp::format(&ws.created_at))
        .execute(&self.writer)
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
            "SELECT org_id, id, name, created_at FROM workspaces WHERE org_id = ?1 AND id = ?2",
        )
        .bind(org.as_str())
        .bind(id.as_str())
        .fetch_optional(&self.reader)
        .await?;
        row.as_ref().map(workspace_from_row).transpose()
    }

    async fn list_workspaces(&self, org: &OrgId) -> Result<Vec<Workspace>> {
        let rows = sqlx::query(
            "SELECT org_id, id, name, created_at FROM workspaces WHERE org_id = ?1 ORDER BY id",
        )
        .bind(org.as_str())
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(workspace_from_row).collect()
    }

    async fn create_template(&self, new: NewTemplate) -> Result<CreateTemplate> {
        let spec = &new.spec;
        let mut reader = self.reader.acquire().await?;
        if let Some((existing, workspace_name)) = active_twin(
            &mut reader,
            spec.org_id.as_str(),
            spec.workspace_id.as_str(),
            &spec.config.hash,
        )
        .await?
        {
            return Ok(CreateTemplate::Duplicate {
                existing,
                workspace_name,
            });
        }
        drop(reader);
        let (reply, outcome) = oneshot::channel();
        self.queue_write(WriteJob::Create { new, reply }).await?;
        outcome
            .await
            .map_err(|_| StorageError::Internal("the SQLite writer dropped a create".into()))?
    }

    async fn find_active_duplicate(
        &self,
        org: &OrgId,
        workspace: &WorkspaceId,
        config_hash: &str,
    ) -> Result<Option<Template>> {
        let sql = format!(
            "SELECT {TEMPLATE_COLUMNS} FROM prompt_templates t WHERE t.org_id = ?1 \
             AND t.workspace_id = ?2 AND t.config_hash = ?3 AND t.deleted_at IS NULL"
        );
        let row = sqlx::query(&sql)
            .bind(org.as_str())
            .bind(workspace.as_str())
            .bind(config_hash)
            .fetch_optional(&self.reader)
            .await?;
        row.as_ref().map(template_from_row).transpose()
    }

    async fn get_template(&self, id: Uuid) -> Result<Option<Template>> {
        let sql = format!("SELECT {TEMPLATE_COLUMNS} FROM prompt_templates t WHERE t.id = ?1");
        let row = sqlx::query(&sql)
            .bind(id.to_string())
            .fetch_optional(&self.reader)
            .await?;
        row.as_ref().map(template_from_row).transpose()
    }

    async fn list_templates(&self, q: &TemplateQuery) -> Result<TemplatePage> {
        let mut sql = QueryBuilder::<Sqlite>::new(format!(
            "SELECT {TEMPLATE_COLUMNS} FROM prompt_templates t WHERE t.org_id = "
        ));
        sql.push_bind(q.org_id.as_str());
        if let Some(ws) = &q.workspace_id {
            sql.push(" AND t.workspace_id = ").push_bind(ws.as_str());
        }
        if let Some(allowed) = &q.allowed_workspaces {
            sql.push(" AND t.workspace_id IN (SELECT value FROM json_each(")
                .push_bind(json_text(allowed))
                .push("))");
        }
        if !q.include_deleted {
            sql.push(" AND t.deleted_at IS NULL");
        }
        if let Some(after) = &q.after {
            sql.push(" AND (t.created_at, t.id) < (")
                .push_bind(timestamp::format(&after.created_at))
                .push(", ")
                .push_bind(after.id.to_string())
                .push(")");
        }
        sql.push(" ORDER BY t.created_at DESC, t.id DESC LIMIT ")
            .push_bind(i64::from(q.limit) + 1);
        let rows = sql.build().fetch_all(&self.reader).await?;
        let items = rows
            .iter()
            .map(template_from_row)
            .collect::<Result<Vec<_>>>()?;
        Ok(prompter_storage::page(items, q.limit))
    }

    async fn soft_delete_template(&self, id: Uuid) -> Result<Option<Template>> {
        sqlx::query(
            "UPDATE prompt_templates SET deleted_at = ?1 WHERE id = ?2 AND deleted_at IS NULL",
        )
        .bind(timestamp::format(&timestamp::now()))
        .bind(id.to_string())
        .execute(&self.writer)
        .await?;
        self.template_by_id(id).await
    }

    async fn restore_template(&self, id: Uuid) -> Result<RestoreTemplate> {
        let mut tx = self.writer.begin().await?;
        let sql = format!("SELECT {TEMPLATE_COLUMNS} FROM prompt_templates t WHERE t.id = ?1");
        let Some(row) = sqlx::query(&sql)
            .bind(id.to_string())
            .fetch_optional(&mut *tx)
            .await?
        else {
            return Ok(RestoreTemplate::NotFound);
        };
        let mut template = template_from_row(&row)?;
        if template.deleted_at.is_none() {
            return Ok(RestoreTemplate::Restored(template));
        }
        if let Some((existing, workspace_name)) = active_twin(
            &mut tx,
            &template.org_id,
            &template.workspace_id,
            &template.config_hash,
        )
        .await?
        {
            return Ok(RestoreTemplate::ActiveTwin {
                existing,
                workspace_name,
            });
        }
        sqlx::query("UPDATE prompt_templates SET deleted_at = NULL WHERE id = ?1")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        template.deleted_at = None;
        Ok(RestoreTemplate::Restored(template))
    }

    async fn upsert_version(&self, observation: &VersionObservation) -> Result<UpsertedVersion> {
        let mut conn = self.writer.acquire().await?;
        upsert_version_on(&mut conn, observation).await
    }

    async fn list_versions(&self, template_id: Uuid) -> Result<Vec<Version>> {
        let sql = format!(
            "SELECT {VERSION_COLUMNS} FROM prompt_versions WHERE template_id = ?1 \
             ORDER BY first_seen_at DESC, id DESC"
        );
        let rows = sqlx::query(&sql)
            .bind(template_id.to_string())
            .fetch_all(&self.reader)
            .await?;
        rows.iter().map(version_from_row).collect()
    }

    async fn latest_version(&self, template_id: Uuid) -> Result<Option<Version>> {
        let sql = format!(
            "SELECT {VERSION_COLUMNS} FROM prompt_versions WHERE template_id = ?1 \
             ORDER BY last_seen_at DESC, id DESC LIMIT 1"
        );
        let row = sqlx::query(&sql)
            .bind(template_id.to_string())
            .fetch_optional(&self.reader)
            .await?;
        row.as_ref().map(version_from_row).transpose()
    }

    async fn record_run(&self, record: RunRecord) -> Result<RecordedRun> {
        let (reply, outcome) = oneshot::channel();
        self.queue_write(WriteJob::Run { record, reply }).await?;
        outcome
            .await
            .map_err(|_| StorageError::Internal("the SQLite writer dropped a run".into()))?
    }

    async fn get_result(&self, id: Uuid) -> Result<Option<RunResult>> {
        let sql = format!("SELECT {RESULT_COLUMNS} FROM prompt_results WHERE id = ?1");
        let row = sqlx::query(&sql)
            .bind(id.to_string())
            .fetch_optional(&self.reader)
            .await?;
        row.as_ref().map(result_from_row).transpose()
    }

    async fn find_idempotent_result(
        &self,
        template_id: Uuid,
        key: &str,
        since: DateTime<Utc>,
    ) -> Result<Option<RunResult>> {
        let mut conn = self.reader.acquire().await?;
        Ok(idempotent_result(&mut conn, template_id, key)
            .await?
            .filter(|r| r.created_at >= since))
    }

    async fn create_token(&self, t: NewToken) -> Result<ApiToken> {
        sqlx::query(
            "INSERT INTO api_tokens (id, org_id, workspaces, role, token_hash, label, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )
        .bind(t.id.to_string())
        .bind(&t.org_id)
        .bind(t.workspaces.as_ref().map(json_text))
        .bind(t.role.as_str())
        .bind(&t.token_hash)
        .bind(&t.label)
        .bind(timestamp::format(&t.created_at))
        .execute(&self.writer)
        .await?;
        Ok(t.into_token())
    }

    async fn list_tokens(&self) -> Result<Vec<ApiToken>> {
        let rows = sqlx::query(&format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens ORDER BY created_at, id"
        ))
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(token_from_row).collect()
    }

    async fn revoke_token(&self, id: Uuid) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE api_tokens SET revoked_at = ?1 WHERE id = ?2 AND revoked_at IS NULL",
        )
        .bind(timestamp::format(&timestamp::now()))
        .bind(id.to_string())
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn active_token_by_hash(&self, token_hash: &str) -> Result<Option<ApiToken>> {
        let row = sqlx::query(&format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE token_hash = ?1 AND revoked_at IS NULL"
        ))
        .bind(token_hash)
        .fetch_optional(&self.reader)
        .await?;
        row.as_ref().map(token_from_row).transpose()
    }

    async fn count_active_tokens(&self) -> Result<i64> {
        Ok(
            sqlx::query_scalar("SELECT count(*) FROM api_tokens WHERE revoked_at IS NULL")
                .fetch_one(&self.reader)
                .await?,
        )
    }

    async fn list_results(
        &self,
        template_id: Uuid,
        limit: u32,
        after: Option<Cursor>,
    ) -> Result<ResultPage> {
        let mut sql = QueryBuilder::<Sqlite>::new(format!(
            "SELECT {RESULT_COLUMNS} FROM prompt_results WHERE template_id = "
        ));
        sql.push_bind(template_id.to_string());
        if let Some(after) = after {
            sql.push(" AND (created_at, id) < (")
                .push_bind(timestamp::format(&after.created_at))
                .push(", ")
                .push_bind(after.id.to_string())
                .push(")");
        }
        sql.push(" ORDER BY created_at DESC, id DESC LIMIT ")
            .push_bind(i64::from(limit) + 1);
        let rows = sql.build().fetch_all(&self.reader).await?;
        let items = rows
            .iter()
            .map(result_from_row)
            .collect::<Result<Vec<_>>>()?;
        Ok(prompter_storage::result_page(items, limit))
    }
}

/// The group-commit loop: takes whatever writes are queued (at least one, at most
/// [`MAX_GROUP_COMMIT`]) and commits them together. If the transaction as a whole fails, each
/// write is retried alone, so one bad row cannot fail its neighbours.
async fn group_commit(writer: SqlitePool, mut queue: mpsc::Receiver<WriteJob>) {
    let mut jobs = Vec::with_capacity(MAX_GROUP_COMMIT);
    while queue.recv_many(&mut jobs, MAX_GROUP_COMMIT).await > 0 {
        let batch = std::mem::take(&mut jobs);
        match commit_batch(&writer, &batch).await {
            Ok(outcomes) => {
                for (job, outcome) in batch.into_iter().zip(outcomes) {
                    job.reply(Ok(outcome));
                }
            }
            Err(e) if batch.len() == 1 => {
                let job = batch.into_iter().next().expect("one job");
                job.reply(Err(e));
            }
            Err(e) => {
                tracing::warn!(error = %e, size = batch.len(), "group commit failed; retrying writes one by one");
                for job in batch {
                    let outcome = commit_batch(&writer, std::slice::from_ref(&job))
                        .await
                        .map(|mut o| o.pop().expect("one outcome"));
                    job.reply(outcome);
                }
            }
        }
    }
}

/// Applies `jobs` in one transaction. The outer error means nothing was committed.
async fn commit_batch(writer: &SqlitePool, jobs: &[WriteJob]) -> Result<Vec<WriteOutcome>> {
    let mut tx = writer.begin().await?;
    let mut outcomes = Vec::with_capacity(jobs.len());
    for job in jobs {
        outcomes.push(job.apply(&mut tx).await?);
    }
    tx.commit().await?;
    Ok(outcomes)
}

/// Inserts the workspace record (if new) and the template, inside the caller's transaction.
async fn insert_template(
    conn: &mut SqliteConnection,
    new: &NewTemplate,
) -> Result<Result<CreateTemplate>> {
    let s = &new.spec;
    sqlx::query(
        "INSERT INTO workspaces (org_id, id, name, created_at) VALUES (?1, ?2, ?2, ?3) \
         ON CONFLICT DO NOTHING",
    )
    .bind(s.org_id.as_str())
    .bind(s.workspace_id.as_str())
    .bind(timestamp::format(&new.created_at))
    .execute(&mut *conn)
    .await?;
    let inserted = sqlx::query(
        "INSERT INTO prompt_templates (id, org_id, workspace_id, name, provider, \
         system_instructions, user_prompt_template, country_set, model_id, inference_params, \
         tools_spec, response_format, grounding_profile_id, grounding_snapshot_id, \
         retrieval_params, config_hash, config_canonical_json, created_by, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, \
         ?18, ?19) ON CONFLICT DO NOTHING",
    )
    .bind(new.id.to_string())
    .bind(s.org_id.as_str())
    .bind(s.workspace_id.as_str())
    .bind(&new.name)
    .bind(&s.provider)
    .bind(&s.system_instructions)
    .bind(&s.user_prompt_template)
    .bind(json_text(&s.country_set))
    .bind(&s.model_id)
    .bind(json_text(&s.inference_params))
    .bind(s.tools_spec.as_ref().map(json_text))
    .bind(s.response_format.as_ref().map(json_text))
    .bind(&s.grounding_profile_id)
    .bind(&s.grounding_snapshot_id)
    .bind(s.retrieval_params.as_ref().map(json_text))
    .bind(&s.config.hash)
    .bind(&s.config.canonical_json)
    .bind(&s.created_by)
    .bind(timestamp::format(&new.created_at))
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if inserted == 1 {
        return Ok(Ok(CreateTemplate::Created((*new).clone().into_template())));
    }
    // The unique index refused the row: report the template that holds the configuration
    // (possibly created earlier in this same batch).
    let twin = active_twin(
        conn,
        s.org_id.as_str(),
        s.workspace_id.as_str(),
        &s.config.hash,
    )
    .await?;
    Ok(match twin {
        Some((existing, workspace_name)) => Ok(CreateTemplate::Duplicate {
            existing,
            workspace_name,
        }),
        None => Err(StorageError::Internal(format!(
            "insert of template {} was refused but no active twin exists",
            new.id
        ))),
    })
}

const VERSION_COLUMNS: &str = "id, org_id, workspace_id, template_id, provider, \
    provider_version_key, model_id, response_model, system_fingerprint, provider_response_id, \
    fingerprint_captured_at, first_seen_at, last_seen_at";

const RESULT_COLUMNS: &str = "id, org_id, workspace_id, template_id, version_id, provider, \
    model_id, provider_version_key, system_fingerprint, request, response, answer, \
    analysis_config, rendered_prompt_hash, run_country, used_grounding, status, error, latency_ms, \
    usage, is_fake, idempotency_key, request_hash, created_at";

fn parse_uuid(column: &str, text: &str) -> Result<Uuid> {
    Uuid::parse_str(text)
        .map_err(|e| StorageError::Internal(format!("column {column} holds a bad uuid: {e}")))
}

fn version_from_row(row: &SqliteRow) -> Result<Version> {
    Ok(Version {
        id: parse_uuid("id", row.try_get("id")?)?,
        org_id: row.try_get("org_id")?,
        workspace_id: row.try_get("workspace_id")?,
        template_id: parse_uuid("template_id", row.try_get("template_id")?)?,
        provider: row.try_get("provider")?,
        provider_version_key: row.try_get("provider_version_key")?,
        model_id: row.try_get("model_id")?,
        response_model: row.try_get("response_model")?,
        system_fingerprint: row.try_get("system_fingerprint")?,
        provider_response_id: row.try_get("provider_response_id")?,
        fingerprint_captured_at: parse_ts(
            "fingerprint_captured_at",
            row.try_get("fingerprint_captured_at")?,
        )?,
        first_seen_at: parse_ts("first_seen_at", row.try_get("first_seen_at")?)?,
        last_seen_at: parse_ts("last_seen_at", row.try_get("last_seen_at")?)?,
    })
}

fn result_from_row(row: &SqliteRow) -> Result<RunResult> {
    let opt_json = |column: &str| -> Result<Option<serde_json::Value>> {
        row.try_get::<Option<String>, _>(column)?
            .map(|t| json_from_text(column, &t))
            .transpose()
    };
    let status: String = row.try_get("status")?;
    Ok(RunResult {
        id: parse_uuid("id", row.try_get("id")?)?,
        org_id: row.try_get("org_id")?,
        workspace_id: row.try_get("workspace_id")?,
        template_id: parse_uuid("template_id", row.try_get("template_id")?)?,
        version_id: row
            .try_get::<Option<String>, _>("version_id")?
            .map(|v| parse_uuid("version_id", &v))
            .transpose()?,
        provider: row.try_get("provider")?,
        model_id: row.try_get("model_id")?,
        provider_version_key: row.try_get("provider_version_key")?,
        system_fingerprint: row.try_get("system_fingerprint")?,
        request: json_from_text("request", row.try_get("request")?)?,
        response: json_from_text("response", row.try_get("response")?)?,
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
        created_at: parse_ts("created_at", row.try_get("created_at")?)?,
    })
}

/// Inserts or refreshes a version row; the unique index on
/// `(org_id, workspace_id, template_id, provider_version_key)` makes concurrent upserts meet.
async fn upsert_version_on(
    conn: &mut SqliteConnection,
    o: &VersionObservation,
) -> Result<UpsertedVersion> {
    let new_id = Uuid::now_v7();
    let seen = timestamp::format(&o.seen_at);
    let sql = format!(
        "INSERT INTO prompt_versions (id, org_id, workspace_id, template_id, provider, \
         provider_version_key, model_id, response_model, system_fingerprint, \
         provider_response_id, fingerprint_captured_at, first_seen_at, last_seen_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11, ?11) \
         ON CONFLICT (org_id, workspace_id, template_id, provider_version_key) DO UPDATE SET \
         last_seen_at = max(last_seen_at, excluded.last_seen_at), \
         response_model = coalesce(excluded.response_model, response_model), \
         system_fingerprint = coalesce(excluded.system_fingerprint, system_fingerprint), \
         provider_response_id = coalesce(excluded.provider_response_id, provider_response_id) \
         RETURNING {VERSION_COLUMNS}"
    );
    let row = sqlx::query(&sql)
        .bind(new_id.to_string())
        .bind(&o.org_id)
        .bind(&o.workspace_id)
        .bind(o.template_id.to_string())
        .bind(&o.provider)
        .bind(&o.provider_version_key)
        .bind(&o.model_id)
        .bind(&o.response_model)
        .bind(&o.system_fingerprint)
        .bind(&o.provider_response_id)
        .bind(&seen)
        .fetch_one(conn)
        .await?;
    let version = version_from_row(&row)?;
    Ok(UpsertedVersion {
        created: version.id == new_id,
        version,
    })
}

async fn idempotent_result(
    conn: &mut SqliteConnection,
    template_id: Uuid,
    key: &str,
) -> Result<Option<RunResult>> {
    let sql = format!(
        "SELECT {RESULT_COLUMNS} FROM prompt_results WHERE template_id = ?1 AND idempotency_key = ?2"
    );
    let row = sqlx::query(&sql)
        .bind(template_id.to_string())
        .bind(key)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(result_from_row).transpose()
}

/// Version upsert and result insert, inside the caller's transaction.
async fn insert_run(
    conn: &mut SqliteConnection,
    record: &RunRecord,
) -> Result<Result<RecordedRun>> {
    let mut result = record.result.clone();
    if let Some(key) = &result.idempotency_key {
        if let Some(first) = idempotent_result(conn, result.template_id, key).await? {
            return Ok(Ok(RecordedRun::IdempotentReplay(first)));
        }
    }
    let version = match &record.observation {
        Some(o) => Some(upsert_version_on(conn, o).await?),
        None => None,
    };
    if let Some(v) = &version {
        result.version_id = Some(v.version.id);
        result.provider_version_key = Some(v.version.provider_version_key.clone());
    }
    sqlx::query(
        "INSERT INTO prompt_results (id, org_id, workspace_id, template_id, version_id, provider, \
         model_id, provider_version_key, system_fingerprint, request, response, answer, \
         analysis_config, rendered_prompt_hash, run_country, used_grounding, status, error, \
         latency_ms, usage, is_fake, idempotency_key, request_hash, created_at) VALUES (?1, ?2, \
         ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, \
         ?22, ?23, ?24)",
    )
    .bind(result.id.to_string())
    .bind(&result.org_id)
    .bind(&result.workspace_id)
    .bind(result.template_id.to_string())
    .bind(result.version_id.map(|v| v.to_string()))
    .bind(&result.provider)
    .bind(&result.model_id)
    .bind(&result.provider_version_key)
    .bind(&result.system_fingerprint)
    .bind(json_text(&result.request))
    .bind(json_text(&result.response))
    .bind(&result.answer)
    .bind(json_text(&result.analysis_config))
    .bind(&result.rendered_prompt_hash)
    .bind(&result.run_country)
    .bind(result.used_grounding)
    .bind(result.status.as_str())
    .bind(result.error.as_ref().map(json_text))
    .bind(result.latency_ms)
    .bind(result.usage.as_ref().map(json_text))
    .bind(result.is_fake)
    .bind(&result.idempotency_key)
    .bind(&result.request_hash)
    .bind(timestamp::format(&result.created_at))
    .execute(&mut *conn)
    .await?;
    Ok(Ok(RecordedRun::Recorded { result, version }))
}

const TOKEN_COLUMNS: &str = "id, org_id, workspaces, role, label, created_at, revoked_at";

fn token_from_row(row: &SqliteRow) -> Result<ApiToken> {
    let role: String = row.try_get("role")?;
    Ok(ApiToken {
        id: parse_uuid("id", row.try_get("id")?)?,
        org_id: row.try_get("org_id")?,
        workspaces: row
            .try_get::<Option<String>, _>("workspaces")?
            .map(|t| json_from_text("workspaces", &t))
            .transpose()?,
        role: Role::parse(&role)
            .ok_or_else(|| StorageError::Internal(format!("unknown role {role:?}")))?,
        label: row.try_get("label")?,
        created_at: parse_ts("created_at", row.try_get("created_at")?)?,
        revoked_at: row
            .try_get::<Option<String>, _>("revoked_at")?
            .map(|t| parse_ts("revoked_at", &t))
            .transpose()?,
    })
}

async fn applied_versions(pool: &SqlitePool) -> Result<Vec<i64>> {
    let mut conn = pool.acquire().await?;
    conn.ensure_migrations_table().await?;
    let applied = conn.list_applied_migrations().await?;
    Ok(applied.into_iter().map(|m| m.version).collect())
}
