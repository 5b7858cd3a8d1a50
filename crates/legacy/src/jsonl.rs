//! The JSONL source: one JSON object per line, either a plain create request (no `kind`) or a
//! line of Prompter's own export (`kind`: `workspace`, `template`, `version` or `result`).
//!
//! Lines are read as bytes and decoded one by one, so that a line that is not UTF-8 is one bad
//! line rather than the end of the read. Line numbers are 1-based and count blank lines, so that
//! they match what an editor shows.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use serde_json::Value;

use crate::normalise::{self, value_text, Origin};
use crate::{BadRow, LegacyData, LegacyError};

pub(crate) fn read(path: &Path) -> Result<LegacyData, LegacyError> {
    let io_err = |source| LegacyError::Io {
        path: path.to_owned(),
        source,
    };
    let mut reader = BufReader::new(File::open(path).map_err(io_err)?);
    let mut data = LegacyData::default();
    let mut buf = Vec::new();
    let mut line = 0u64;
    loop {
        buf.clear();
        if reader.read_until(b'\n', &mut buf).map_err(io_err)? == 0 {
            break;
        }
        line += 1;
        // The line's exact text excludes its terminator (`\n` or `\r\n`).
        let bytes = buf.strip_suffix(b"\n").unwrap_or(&buf);
        let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
        match std::str::from_utf8(bytes) {
            Ok(text) if text.trim().is_empty() => {}
            Ok(text) => take_line(line, text, &mut data),
            Err(e) => data
                .bad_rows
                .push(bad(line, None, format!("not UTF-8 ({e})"))),
        }
    }
    Ok(data)
}

fn bad(line: u64, source_id: Option<String>, reason: String) -> BadRow {
    BadRow {
        table: "jsonl",
        source_id,
        line: Some(line),
        reason,
    }
}

fn take_line(line: u64, text: &str, data: &mut LegacyData) {
    let map = match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => map,
        Ok(other) => {
            let reason = format!("expected a JSON object, found {}", normalise::kind(&other));
            return data.bad_rows.push(bad(line, None, reason));
        }
        Err(e) => {
            return data
                .bad_rows
                .push(bad(line, None, format!("not JSON ({e})")))
        }
    };
    let origin = Origin::Export { line };
    let outcome = match map.get("kind") {
        None => normalise::plain_template(&map, line, text).map(|t| data.templates.push(t)),
        Some(Value::String(k)) if k == "workspace" => {
            normalise::workspace(&map, origin).map(|w| data.workspaces.push(w))
        }
        Some(Value::String(k)) if k == "template" => {
            normalise::template(&map, origin).map(|t| data.templates.push(t))
        }
        Some(Value::String(k)) if k == "version" => {
            normalise::version(&map, origin).map(|v| data.versions.push(v))
        }
        Some(Value::String(k)) if k == "result" => {
            normalise::result(&map, origin).map(|r| data.results.push(r))
        }
        Some(other) => Err(bad(
            line,
            map.get("id").filter(|v| !v.is_null()).map(value_text),
            format!(
                "kind: expected \"workspace\", \"template\", \"version\" or \"result\", \
                 found {other}"
            ),
        )),
    };
    if let Err(b) = outcome {
        data.bad_rows.push(b);
    }
}
