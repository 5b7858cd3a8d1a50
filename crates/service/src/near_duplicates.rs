//! Near-duplicate groups of a workspace (for a clean-up) and the background fill of near keys
//! for templates written before they existed. The matching itself is pure domain code
//! (`prompter_domain::near_duplicates`); check-duplicate and create use it in templates.rs.

use chrono::{DateTime, Utc};
use prompter_domain::near_duplicates;
use serde::Serialize;
use uuid::Uuid;

use crate::templates::canonical_value;
use crate::{Caller, ServiceError, Services};

/// Templates whose near key is filled per transaction in the background.
const FILL_PAGE: u32 = 500;

/// A member of a near-duplicate group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NearMember {
    pub template_id: Uuid,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

/// Two members of a group that are near matches of each other.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NearPair {
    pub template_id: Uuid,
    pub other_template_id: Uuid,
    pub differing_fields: Vec<String>,
}

/// Templates of one workspace that are near-duplicates of one another, directly or through
/// other members; oldest member first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NearDuplicateGroup {
    pub templates: Vec<NearMember>,
    pub pairs: Vec<NearPair>,
}

impl Services {
    /// `GET /api/workspaces/{id}/near-duplicates`: the near-duplicate groups among the active
    /// templates of a workspace the caller may see, largest group first.
    pub async fn near_duplicate_groups(
        &self,
        caller: &Caller,
        org_id: Option<&str>,
        workspace: &str,
    ) -> Result<Vec<NearDuplicateGroup>, ServiceError> {
        let (org, ws) = self.visible_workspace(caller, org_id, workspace).await?;
        let templates = self.db.templates_sharing_near_keys(&org, &ws).await?;
        // Storage orders by near key: each run of one key is compared within itself only (a
        // near match always shares the key).
        let mut groups = Vec::new();
        let mut start = 0;
        let keyed: Vec<(String, _)> = templates
            .into_iter()
            .map(|t| {
                let config = canonical_value(&t.config_canonical_json);
                let key = near_duplicates::near_key(&config).unwrap_or_default();
                (key, (t, config))
            })
            .collect();
        while start < keyed.len() {
            let end = keyed[start..]
                .iter()
                .position(|(k, _)| *k != keyed[start].0)
                .map_or(keyed.len(), |n| start + n);
            let run: Vec<_> = keyed[start..end]
                .iter()
                .map(|(_, (t, config))| {
                    let member = NearMember {
                        template_id: t.id,
                        name: t.name.clone(),
                        created_at: t.created_at,
                    };
                    (member, config.clone())
                })
                .collect();
            for group in near_duplicates::near_duplicate_groups(&run) {
                groups.push(NearDuplicateGroup {
                    templates: group.members,
                    pairs: group
                        .pairs
                        .into_iter()
                        .map(|p| NearPair {
                            template_id: p.a.template_id,
                            other_template_id: p.b.template_id,
                            differing_fields: p.differing_fields,
                        })
                        .collect(),
                });
            }
            start = end;
        }
        groups.sort_by(|a, b| {
            b.templates
                .len()
                .cmp(&a.templates.len())
                .then(a.templates[0].created_at.cmp(&b.templates[0].created_at))
        });
        Ok(groups)
    }

    /// Computes the near key of every template that has none (written before near keys
    /// existed, or by an old binary); how many were filled. Idempotent; runs at start-up.
    pub async fn fill_near_keys(&self) -> Result<u64, ServiceError> {
        let mut filled = 0;
        loop {
            let missing = self.db.templates_missing_near_key(FILL_PAGE).await?;
            if missing.is_empty() {
                return Ok(filled);
            }
            let keys: Vec<(Uuid, String)> = missing
                .into_iter()
                .map(|(id, json)| {
                    // A canonical JSON that does not parse (never written by Prompter) gets an
                    // empty key: it is then filled, and matches nothing.
                    let key = near_duplicates::near_key_of_json(&json).unwrap_or_default();
                    (id, key)
                })
                .collect();
            let n = keys.len() as u64;
            self.db.set_near_keys(&keys).await?;
            filled += n;
            if n < u64::from(FILL_PAGE) {
                return Ok(filled);
            }
        }
    }
}
