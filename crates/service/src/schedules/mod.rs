//! Schedules: a batch body fired on a cron expression in a time zone, by the workers.
//!
//! Every slot fires once across replicas: the batch of a slot carries the idempotency key
//! `schedule:{id}:{slot}`, and the unique index on (org, idempotency key) refuses a second one.
//! After downtime the missed slots are not replayed: the most recent one fires once, the others
//! are counted as missed (`prompter_schedule_slots_total{outcome="missed"}`).

pub mod cron;

use chrono::{DateTime, Utc};
use prompter_domain::{FieldError, WorkspaceId};
use prompter_storage::{timestamp, Schedule, ScheduleFired};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use uuid::Uuid;

use self::cron::CronSchedule;
use crate::batches::BatchRequest;
use crate::{telemetry, Caller, ServiceError, Services};

/// `POST /api/schedules`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CreateSchedule {
    pub org_id: Option<String>,
    pub workspace_id: String,
    pub name: String,
    /// Five fields: minute hour day-of-month month day-of-week.
    pub cron: String,
    /// IANA name; default `UTC`.
    pub timezone: Option<String>,
    /// The batch body without `workspace_id` (validated now, as a batch would be).
    pub batch: Option<Map<String, Value>>,
    /// Default `true`.
    pub enabled: Option<bool>,
}

/// `PATCH /api/schedules/{id}`: the fields to change.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UpdateSchedule {
    pub name: Option<String>,
    pub cron: Option<String>,
    pub timezone: Option<String>,
    pub batch: Option<Map<String, Value>>,
    pub enabled: Option<bool>,
}

fn check_name(name: &str) -> Result<(), FieldError> {
    if name.trim().is_empty() || name.chars().count() > 200 {
        return Err(FieldError::new(
            "name",
            "must be 1–200 characters, not blank",
        ));
    }
    Ok(())
}

/// The batch a schedule fires: its body with the schedule's org and workspace.
fn batch_request(
    org_id: &str,
    workspace_id: &str,
    body: &Map<String, Value>,
) -> Result<BatchRequest, FieldError> {
    for own in ["workspace_id", "org_id"] {
        if body.contains_key(own) {
            return Err(FieldError::new(
                format!("batch.{own}"),
                "is the schedule's: leave it out of the batch",
            ));
        }
    }
    let mut full = body.clone();
    full.insert("workspace_id".into(), json!(workspace_id));
    full.insert("org_id".into(), json!(org_id));
    serde_json::from_value(Value::Object(full)).map_err(|e| FieldError::new("batch", e.to_string()))
}

/// A batch field error, named as the schedule's body names it (`batch.samples`).
fn in_batch(e: ServiceError) -> ServiceError {
    match e {
        ServiceError::Invalid(f) => {
            ServiceError::Invalid(FieldError::new(format!("batch.{}", f.field), f.message))
        }
        other => other,
    }
}

impl Services {
    /// Validates the schedule (cron, time zone, and its batch as a batch would be) and stores it
    /// with its next slot.
    pub async fn create_schedule(
        &self,
        caller: &Caller,
        request: &CreateSchedule,
    ) -> Result<Schedule, ServiceError> {
        caller.require_writer()?;
        let org = caller.org(request.org_id.as_deref())?;
        if request.workspace_id.trim().is_empty() {
            return Err(FieldError::new("workspace_id", "is required").into());
        }
        let workspace = WorkspaceId::parse(&request.workspace_id)?;
        if !caller.permits_workspace(workspace.as_str()) {
            return Err(ServiceError::WorkspaceNotFound);
        }
        check_name(&request.name)?;
        let timezone = request.timezone.clone().unwrap_or_else(|| "UTC".into());
        let cron = CronSchedule::parse(&request.cron, &timezone)?;
        let body = request.batch.clone().unwrap_or_default();
        self.check_schedule_batch(org.as_str(), workspace.as_str(), &body)
            .await?;
        let now = timestamp::now();
        let enabled = request.enabled.unwrap_or(true);
        let schedule = Schedule {
            id: Uuid::now_v7(),
            org_id: org.as_str().to_owned(),
            workspace_id: workspace.as_str().to_owned(),
            name: request.name.trim().to_owned(),
            cron: request
                .cron
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" "),
            timezone,
            batch: Value::Object(body),
            enabled,
            next_run_at: if enabled { cron.next_after(now) } else { None },
            last_slot: None,
            last_batch_id: None,
            last_error: None,
            created_by: caller.label().map(str::to_owned),
            created_at: now,
            updated_at: now,
        };
        self.db.create_schedule(&schedule).await?;
        tracing::info!(action = "create_schedule", schedule_id = %schedule.id,
            org_id = %schedule.org_id, workspace_id = %schedule.workspace_id,
            cron = %schedule.cron, timezone = %schedule.timezone, status = "created");
        Ok(schedule)
    }

    /// A schedule's batch is valid now (templates, countries, variables, providers).
    async fn check_schedule_batch(
        &self,
        org: &str,
        workspace: &str,
        body: &Map<String, Value>,
    ) -> Result<(), ServiceError> {
        let request = batch_request(org, workspace, body)?;
        let org = prompter_domain::OrgId::parse(org)?;
        let workspace = WorkspaceId::parse(workspace)?;
        self.plan_batch(&org, &workspace, &request)
            .await
            .map(|_| ())
            .map_err(in_batch)
    }

    pub async fn get_schedule(&self, caller: &Caller, id: Uuid) -> Result<Schedule, ServiceError> {
        self.db
            .get_schedule(id)
            .await?
            .filter(|s| caller.permits(&s.org_id, &s.workspace_id))
            .ok_or(ServiceError::ScheduleNotFound)
    }

    /// The schedules the caller may see (of one workspace), oldest first.
    pub async fn list_schedules(
        &self,
        caller: &Caller,
        org_id: Option<&str>,
        workspace_id: Option<&str>,
    ) -> Result<Vec<Schedule>, ServiceError> {
        let org = caller.org(org_id)?;
        caller.workspace_filter(workspace_id)?;
        let allowed = caller.allowed_workspaces();
        Ok(self
            .db
            .list_schedules(org.as_str(), workspace_id, allowed.as_deref())
            .await?)
    }

    /// Changes name, cron, time zone, batch or enabled; the next slot is computed again from
    /// now (`null` while disabled).
    pub async fn update_schedule(
        &self,
        caller: &Caller,
        id: Uuid,
        patch: &UpdateSchedule,
    ) -> Result<Schedule, ServiceError> {
        let mut s = self.get_schedule(caller, id).await?;
        caller.require_writer()?;
        if let Some(name) = &patch.name {
            check_name(name)?;
            s.name = name.trim().to_owned();
        }
        if let Some(c) = &patch.cron {
            s.cron = c.split_whitespace().collect::<Vec<_>>().join(" ");
        }
        if let Some(tz) = &patch.timezone {
            s.timezone = tz.clone();
        }
        let cron = CronSchedule::parse(&s.cron, &s.timezone)?;
        if let Some(body) = &patch.batch {
            self.check_schedule_batch(&s.org_id, &s.workspace_id, body)
                .await?;
            s.batch = Value::Object(body.clone());
        }
        if let Some(enabled) = patch.enabled {
            s.enabled = enabled;
        }
        let now = timestamp::now();
        s.next_run_at = if s.enabled {
            cron.next_after(now)
        } else {
            None
        };
        s.updated_at = now;
        if !self.db.update_schedule(&s).await? {
            return Err(ServiceError::ScheduleNotFound);
        }
        tracing::info!(action = "update_schedule", schedule_id = %id, enabled = s.enabled,
            status = "updated");
        Ok(s)
    }

    /// Deletes the schedule; the batches it fired stay (with its id).
    pub async fn delete_schedule(&self, caller: &Caller, id: Uuid) -> Result<(), ServiceError> {
        self.get_schedule(caller, id).await?;
        caller.require_writer()?;
        if !self.db.delete_schedule(id).await? {
            return Err(ServiceError::ScheduleNotFound);
        }
        tracing::info!(action = "delete_schedule", schedule_id = %id, status = "deleted");
        Ok(())
    }

    /// Fires every due schedule once (the latest slot each), and moves each to its next slot.
    /// Run by the workers every second; safe on any number of replicas at once.
    pub(crate) async fn fire_due_schedules(&self, now: DateTime<Utc>) -> Result<(), ServiceError> {
        for s in self.db.due_schedules(now, 100).await? {
            self.fire(s, now).await?;
        }
        Ok(())
    }

    async fn fire(&self, s: Schedule, now: DateTime<Utc>) -> Result<(), ServiceError> {
        let Some(due) = s.next_run_at else {
            return Ok(());
        };
        let count = |outcome: &'static str, n: u64| {
            metrics::counter!(telemetry::SCHEDULE_SLOTS, "outcome" => outcome).increment(n)
        };
        let cron = match CronSchedule::parse(&s.cron, &s.timezone) {
            Ok(c) => c,
            Err(e) => {
                // Stored before a rule changed: stop it, and say why.
                let fired = ScheduleFired {
                    slot: due,
                    batch_id: None,
                    error: Some(json!({"code": "INVALID_SCHEDULE", "message": e.to_string()})),
                    next_run_at: None,
                    at: now,
                };
                self.db.record_schedule_fire(s.id, due, &fired).await?;
                return Ok(());
            }
        };
        let (slot, missed) = cron.catch_up(due, now);
        let body = s.batch.as_object().cloned().unwrap_or_default();
        let key = format!(
            "{}{}:{}",
            crate::batches::SCHEDULE_KEY_PREFIX,
            s.id,
            timestamp::format(&slot)
        );
        let outcome = match batch_request(&s.org_id, &s.workspace_id, &body) {
            Ok(request) => {
                self.create_batch_for(&Caller::system(), &request, Some(&key), Some(s.id))
                    .await
            }
            Err(e) => Err(e.into()),
        };
        let (batch_id, error, created) = match outcome {
            Ok(c) => (Some(c.batch.id), None, !c.replayed),
            // Try again at the next tick.
            Err(e) if e.is_unavailable() => return Err(e),
            Err(e) => (
                None,
                Some(json!({"code": "BATCH_REFUSED", "message": e.to_string()})),
                false,
            ),
        };
        let fired = ScheduleFired {
            slot,
            batch_id,
            error: error.clone(),
            next_run_at: cron.next_after(now),
            at: now,
        };
        if self.db.record_schedule_fire(s.id, due, &fired).await? {
            count("missed", missed);
            if error.is_some() {
                count("failed", 1);
                tracing::warn!(schedule_id = %s.id, slot = %timestamp::format(&slot),
                    error = ?error, "a schedule's slot could not create its batch");
            }
        }
        if created {
            count("fired", 1);
            tracing::info!(action = "fire_schedule", schedule_id = %s.id,
                slot = %timestamp::format(&slot), batch_id = ?batch_id, missed, status = "fired");
        }
        Ok(())
    }
}
