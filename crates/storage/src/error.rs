//! Storage errors. The two failure variants keep the error that caused them as their
//! [`source`](std::error::Error::source), so a log line or an error report can walk down to the
//! driver's (or the operating system's) own error; their display stays the one-line message it
//! always was.

/// Any error, as the cause of a [`StorageError`]. A plain message converts too
/// (`"the writer has stopped".into()`), for failures that have no underlying error.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A storage failure the caller cannot fix by changing its request.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The database cannot be reached (connection refused, pool exhausted, timed out).
    #[error("database unavailable: {0}")]
    Unavailable(#[source] BoxError),
    /// A workspace with this id already exists in the organisation.
    #[error("workspace already exists")]
    WorkspaceExists,
    /// Anything else: a bug or a broken database. Logged in full, reported as a 500.
    #[error("database error: {0}")]
    Internal(#[source] BoxError),
}

impl StorageError {
    /// An internal error with no underlying error: a broken invariant, a column holding a value
    /// the code does not know.
    pub fn internal(message: impl Into<String>) -> Self {
        StorageError::Internal(message.into().into())
    }

    /// An internal error caused by `source`, with what was being done: displays as
    /// `database error: {context}: {source}`.
    pub fn internal_with(context: impl Into<String>, source: impl Into<BoxError>) -> Self {
        StorageError::Internal(Box::new(Context {
            context: context.into(),
            source: source.into(),
        }))
    }

    /// The database cannot be reached, and there is no underlying error to say why.
    pub fn unavailable(message: impl Into<String>) -> Self {
        StorageError::Unavailable(message.into().into())
    }
}

/// A cause with what was being done when it happened.
#[derive(Debug, thiserror::Error)]
#[error("{context}: {source}")]
struct Context {
    context: String,
    source: BoxError,
}

#[cfg(feature = "sqlx")]
impl From<sqlx::Error> for StorageError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::WorkerCrashed => StorageError::Unavailable(Box::new(e)),
            // The server ended the session: terminated by an administrator or a failover
            // (57P01), crashed (57P02), not accepting connections yet (57P03), or any
            // connection exception (class 08). The next connection may well work.
            sqlx::Error::Database(ref db) if db.code().is_some_and(|c| is_connection_loss(&c)) => {
                StorageError::Unavailable(Box::new(e))
            }
            other => StorageError::Internal(Box::new(other)),
        }
    }
}

/// SQLSTATE codes meaning the connection was lost, not that the statement was wrong.
#[cfg(feature = "sqlx")]
fn is_connection_loss(code: &str) -> bool {
    // 08P01 (protocol violation) is a bug, not a lost connection.
    matches!(code, "57P01" | "57P02" | "57P03") || (code.starts_with("08") && code != "08P01")
}

#[cfg(feature = "sqlx")]
impl From<sqlx::migrate::MigrateError> for StorageError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        match e {
            sqlx::migrate::MigrateError::Execute(inner) => inner.into(),
            other => StorageError::Internal(Box::new(other)),
        }
    }
}

/// Reads a JSON column stored as text (SQLite) back into a value.
pub fn json_from_text<T: serde::de::DeserializeOwned>(
    column: &str,
    text: &str,
) -> Result<T, StorageError> {
    serde_json::from_str(text)
        .map_err(|e| StorageError::internal_with(format!("column {column} holds invalid JSON"), e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn display_stays_one_line_and_the_cause_is_kept() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let e = StorageError::Unavailable(Box::new(io));
        assert_eq!(e.to_string(), "database unavailable: refused");
        let source = e.source().expect("a source");
        assert!(source.downcast_ref::<std::io::Error>().is_some());

        let e = StorageError::internal_with("invalid URL", "no scheme");
        assert_eq!(e.to_string(), "database error: invalid URL: no scheme");
        let context = e.source().expect("the context");
        assert_eq!(
            context.source().expect("the cause").to_string(),
            "no scheme"
        );

        let e = StorageError::internal("mismatched write outcome");
        assert_eq!(e.to_string(), "database error: mismatched write outcome");
    }

    #[test]
    fn invalid_json_names_the_column_and_keeps_the_parse_error() {
        let e = json_from_text::<Vec<String>>("country_set", "[").unwrap_err();
        assert!(e
            .to_string()
            .starts_with("database error: column country_set holds invalid JSON: "));
        let parse = e
            .source()
            .and_then(|c| c.source())
            .expect("the parse error");
        assert!(parse.downcast_ref::<serde_json::Error>().is_some());
    }
}
