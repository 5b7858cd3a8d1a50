//! Migration bookkeeping shared by the backends: which versions `migrate down` reverts, the
//! status listing, and (with the `sqlx` feature) the up/down/status steps over an embedded
//! `sqlx` migrator, which are the same whatever the database.

use crate::MigrationState;

/// For `migrate down`: the version to undo back to (exclusive) and the versions that reverts,
/// given the applied versions (any order) and how many steps to go back.
pub fn down_target(applied: &[i64], steps: usize) -> (i64, Vec<i64>) {
    let mut sorted = applied.to_vec();
    sorted.sort_unstable();
    let keep = sorted.len().saturating_sub(steps);
    let target = if keep == 0 { 0 } else { sorted[keep - 1] };
    let mut reverted = sorted.split_off(keep);
    reverted.reverse();
    (target, reverted)
}

/// Joins the migrations a binary embeds (`(version, description, is_down)`) with the applied
/// versions.
pub fn migration_states<'a>(
    known: impl Iterator<Item = (i64, &'a str, bool)>,
    applied: &[i64],
) -> Vec<MigrationState> {
    known
        .filter(|(_, _, is_down)| !is_down)
        .map(|(version, description, _)| MigrationState {
            version,
            description: description.to_owned(),
            applied: applied.contains(&version),
        })
        .collect()
}

/// The [`crate::Database`] migration operations over an embedded `sqlx` migrator and a pool.
#[cfg(feature = "sqlx")]
pub mod sql {
    use sqlx::migrate::{Migrate, Migrator};
    use sqlx::Pool;

    use crate::{MigrationState, Result};

    /// Applies every pending migration; returns the versions applied now.
    pub async fn migrate_up<DB>(migrator: &Migrator, pool: &Pool<DB>) -> Result<Vec<i64>>
    where
        DB: sqlx::Database,
        DB::Connection: Migrate,
    {
        let before = applied_versions(pool).await?;
        migrator.run(pool).await?;
        let after = applied_versions(pool).await?;
        Ok(after.into_iter().filter(|v| !before.contains(v)).collect())
    }

    /// Reverts the `steps` most recent migrations; returns the versions reverted.
    pub async fn migrate_down<DB>(
        migrator: &Migrator,
        pool: &Pool<DB>,
        steps: usize,
    ) -> Result<Vec<i64>>
    where
        DB: sqlx::Database,
        DB::Connection: Migrate,
    {
        let applied = applied_versions(pool).await?;
        let (target, reverted) = super::down_target(&applied, steps);
        migrator.undo(pool, target).await?;
        Ok(reverted)
    }

    /// Every migration `migrator` embeds, and whether it is applied.
    pub async fn migration_status<DB>(
        migrator: &Migrator,
        pool: &Pool<DB>,
    ) -> Result<Vec<MigrationState>>
    where
        DB: sqlx::Database,
        DB::Connection: Migrate,
    {
        let applied = applied_versions(pool).await?;
        Ok(super::migration_states(
            migrator.iter().map(|m| {
                (
                    m.version,
                    m.description.as_ref(),
                    m.migration_type.is_down_migration(),
                )
            }),
            &applied,
        ))
    }

    async fn applied_versions<DB>(pool: &Pool<DB>) -> Result<Vec<i64>>
    where
        DB: sqlx::Database,
        DB::Connection: Migrate,
    {
        let mut conn = pool.acquire().await?;
        conn.ensure_migrations_table().await?;
        let applied = conn.list_applied_migrations().await?;
        Ok(applied.into_iter().map(|m| m.version).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn down_target_goes_back_the_requested_steps() {
        assert_eq!(down_target(&[1, 3, 2], 1), (2, vec![3]));
        assert_eq!(down_target(&[1, 2, 3], 2), (1, vec![3, 2]));
        assert_eq!(down_target(&[1, 2], 5), (0, vec![2, 1]));
        assert_eq!(down_target(&[], 1), (0, vec![]));
    }
}
