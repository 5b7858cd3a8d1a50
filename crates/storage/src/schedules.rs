//! Schedules: a batch body fired on a cron expression in a time zone.

use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    pub id: Uuid,
    pub org_id: String,
    pub workspace_id: String,
    pub name: String,
    /// Five fields (minute hour day-of-month month day-of-week).
    pub cron: String,
    /// IANA name (`Europe/Zurich`).
    pub timezone: String,
    /// The batch body, without `workspace_id`.
    pub batch: Value,
    pub enabled: bool,
    /// The next slot; `None` while disabled.
    pub next_run_at: Option<DateTime<Utc>>,
    /// The slot fired last, the batch it created (or why it could not).
    pub last_slot: Option<DateTime<Utc>>,
    pub last_batch_id: Option<Uuid>,
    pub last_error: Option<Value>,
    pub created_by: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What firing a slot did, and the slot after it.
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduleFired {
    pub slot: DateTime<Utc>,
    pub batch_id: Option<Uuid>,
    pub error: Option<Value>,
    pub next_run_at: Option<DateTime<Utc>>,
    pub at: DateTime<Utc>,
}
