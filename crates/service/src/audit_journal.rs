use std::fs::OpenOptions;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use regen_domain::AuditEvent;
use regen_storage::Store;

use crate::ServiceError;

/// The durable fallback for audit events the database refused: one JSON
/// object per line, appended and fsynced before the trigger answers. Each
/// instance writes its own file; `audit replay` reads the file it is given.
#[derive(Debug, Clone)]
pub struct AuditJournal {
    path: PathBuf,
    lock: Arc<Mutex<()>>,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ReplayReport {
    pub read: usize,
    pub inserted: usize,
    pub already_present: usize,
}

impl AuditJournal {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            lock: Arc::new(Mutex::new(())),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends `events`, one line each, and syncs once: when this returns
    /// Ok, every one of them is on disk.
    pub fn append_all(&self, events: &[AuditEvent]) -> std::io::Result<()> {
        let _guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let mut lines = String::new();
        for event in events {
            lines.push_str(&serde_json::to_string(event).map_err(std::io::Error::other)?);
            lines.push('\n');
        }
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        file.write_all(lines.as_bytes())?;
        file.sync_all()
    }

    /// Every event in the journal; a missing journal is an empty one.
    pub fn read(&self) -> Result<Vec<AuditEvent>, ServiceError> {
        let file = match std::fs::File::open(&self.path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => {
                return Err(ServiceError::InvalidInput(format!(
                    "cannot read {}: {e}",
                    self.path.display()
                )))
            }
        };
        let mut events = Vec::new();
        for (n, line) in BufReader::new(file).lines().enumerate() {
            let line = line.map_err(|e| ServiceError::InvalidInput(e.to_string()))?;
            if line.trim().is_empty() {
                continue;
            }
            let event = serde_json::from_str(&line).map_err(|e| {
                ServiceError::InvalidInput(format!("{} line {}: {e}", self.path.display(), n + 1))
            })?;
            events.push(event);
        }
        Ok(events)
    }

    /// Inserts journaled events missing from the audit table. Idempotent:
    /// events are keyed by their id, so replaying twice inserts nothing new.
    pub async fn replay(&self, store: &Store) -> Result<ReplayReport, ServiceError> {
        let mut report = ReplayReport::default();
        for event in self.read()? {
            report.read += 1;
            if store.insert_audit_event_if_missing(&event).await? {
                report.inserted += 1;
            } else {
                report.already_present += 1;
            }
        }
        Ok(report)
    }
}
