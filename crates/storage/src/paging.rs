//! Keyset pagination shared by the backends: fetch one row more than the page holds, and let
//! that extra row only say that there is more.

use crate::{
    Batch, BatchPage, BatchTask, Cursor, ResultPage, RunResult, TaskPage, Template, TemplatePage,
};

/// The `LIMIT` of a page query: one row more than the page, to know whether there is a next one.
pub fn fetch_limit(limit: u32) -> i64 {
    i64::from(limit) + 1
}

/// Cuts a `limit + 1` fetch into a page: the extra row only says that there is more.
pub fn page(items: Vec<Template>, limit: u32) -> TemplatePage {
    let (items, next) = cut(items, limit, |t| Cursor {
        created_at: t.created_at,
        id: t.id,
    });
    TemplatePage { items, next }
}

/// Cuts a `limit + 1` fetch of results into a page.
pub fn result_page(items: Vec<RunResult>, limit: u32) -> ResultPage {
    let (items, next) = cut(items, limit, |r| Cursor {
        created_at: r.created_at,
        id: r.id,
    });
    ResultPage { items, next }
}

/// Cuts a `limit + 1` fetch of batches into a page.
pub fn batch_page(items: Vec<Batch>, limit: u32) -> BatchPage {
    let (items, next) = cut(items, limit, |b| Cursor {
        created_at: b.created_at,
        id: b.id,
    });
    BatchPage { items, next }
}

/// Cuts a `limit + 1` fetch of tasks (in id order) into a page.
pub fn task_page(mut items: Vec<BatchTask>, limit: u32) -> TaskPage {
    let next = if items.len() > limit as usize {
        items.truncate(limit as usize);
        items.last().map(|t| t.id)
    } else {
        None
    };
    TaskPage { items, next }
}

fn cut<T>(
    mut items: Vec<T>,
    limit: u32,
    cursor: impl Fn(&T) -> Cursor,
) -> (Vec<T>, Option<Cursor>) {
    let limit = limit as usize;
    let next = if items.len() > limit {
        items.truncate(limit);
        items.last().map(cursor)
    } else {
        None
    };
    (items, next)
}
