//! The operations behind each method, on a store, wherever they run (pool or JavaScript thread).

use std::collections::HashMap;

use serde::Serialize;
use serde_json::value::RawValue;
use statevault::layers::migrate::Version;
use statevault::schema::contract::BatchOperation;
use statevault::{Batch, Patch, SaveOptions, Store};

use crate::error::{bad_json, store_error};
use crate::task::Reply;

pub(crate) fn save_options(options: Option<String>) -> napi::Result<SaveOptions> {
    match options {
        None => Ok(SaveOptions::default()),
        Some(json) => serde_json::from_str(&json).map_err(|e| bad_json("save options", e)),
    }
}

/// The value of `key` as JSON text. A registered document is validated (and migrated) as a
/// value by the load path and then written out once, straight into the text handed to
/// JavaScript; any other key's stored text is handed through.
pub(crate) fn load_text(store: &Store, key: &str) -> statevault::Result<Option<String>> {
    Ok(store
        .load::<Box<RawValue>>(key)?
        .map(|raw| String::from(Box::<str>::from(raw))))
}

/// The value before a change, for change listeners: a key that cannot be read counts as absent.
pub(crate) fn old_text(store: &Store, key: &str, want: bool) -> Option<String> {
    if want {
        load_text(store, key).ok().flatten()
    } else {
        None
    }
}

/// Whether loading `key` will migrate it: a registered document stored at an older version.
pub(crate) fn needs_migration(store: &Store, key: &str) -> bool {
    let Some(document) = store.registry().lookup(key) else {
        return false;
    };
    let Ok(Some(info)) = store.inspect(key) else {
        return false;
    };
    info.schema_version
        .and_then(|v| v.parse::<Version>().ok())
        .is_some_and(|stored| stored < *document.version())
}

pub(crate) fn op_save(
    store: &Store,
    key: &str,
    json: String,
    options: &SaveOptions,
    want_old: bool,
) -> napi::Result<Reply> {
    let old = old_text(store, key, want_old);
    let value = RawValue::from_string(json).map_err(|e| bad_json("data", e))?;
    store.save_with(key, &value, options).map_err(store_error)?;
    Ok(Reply {
        old,
        ..Reply::default()
    })
}

pub(crate) fn op_load(store: &Store, key: &str, track: bool) -> napi::Result<Reply> {
    let migrates = track && needs_migration(store, key);
    let value = load_text(store, key).map_err(store_error)?;
    Ok(Reply {
        flag: Some(migrates && value.is_some() && store.is_writer()),
        value,
        ..Reply::default()
    })
}

pub(crate) fn op_delete(store: &Store, key: &str, want_old: bool) -> napi::Result<Reply> {
    let old = old_text(store, key, want_old);
    let existed = store.delete(key).map_err(store_error)?;
    Ok(Reply {
        flag: Some(existed),
        old,
        ..Reply::default()
    })
}

/// Applies a JSON Patch (JSON text of an RFC 6902 operation array) to `key`; with `want_old`,
/// `old` is the value before and `value` the value after, for change listeners.
pub(crate) fn op_patch(
    store: &Store,
    key: &str,
    patch: &str,
    want_old: bool,
) -> napi::Result<Reply> {
    let patch: Patch = serde_json::from_str(patch).map_err(|e| bad_json("patch", e))?;
    let old = old_text(store, key, want_old);
    store.patch(key, &patch).map_err(store_error)?;
    Ok(Reply {
        old,
        value: old_text(store, key, want_old),
        ..Reply::default()
    })
}

pub(crate) fn op_save_batch(
    store: &Store,
    operations: &str,
    want_old: bool,
) -> napi::Result<Reply> {
    let operations: Vec<BatchOperation> =
        serde_json::from_str(operations).map_err(|e| bad_json("batch operations", e))?;
    let olds = want_old.then(|| {
        operations
            .iter()
            .map(|op| match op {
                BatchOperation::Save { key, .. }
                | BatchOperation::Delete { key }
                | BatchOperation::Patch { key, .. } => old_text(store, key, true),
            })
            .collect()
    });
    let batch = Batch::from_operations(operations).map_err(store_error)?;
    store.save_batch(batch).map_err(store_error)?;
    Ok(Reply {
        list: olds,
        ..Reply::default()
    })
}

pub(crate) fn op_load_batch(store: &Store, keys: &[String]) -> napi::Result<Reply> {
    let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    let loaded: HashMap<String, Box<RawValue>> = store
        .load_batch::<Box<RawValue>>(&refs)
        .map_err(store_error)?
        .into_iter()
        .map(|(key, value)| (key.as_str().to_owned(), value))
        .collect();
    let mut list = Vec::with_capacity(loaded.len() * 2);
    let mut seen = std::collections::HashSet::new();
    for key in keys {
        if let Some(value) = loaded.get(key)
            && seen.insert(key)
        {
            list.push(Some(key.clone()));
            list.push(Some(value.get().to_owned()));
        }
    }
    Ok(Reply {
        list: Some(list),
        ..Reply::default()
    })
}

/// Every key's value as JSON text (keys that cannot be read are left out).
pub(crate) fn snapshot(store: &Store) -> napi::Result<HashMap<String, String>> {
    let mut values = HashMap::new();
    for key in store.keys("").map_err(store_error)? {
        if let Some(text) = old_text(store, key.as_str(), true) {
            values.insert(key.as_str().to_owned(), text);
        }
    }
    Ok(values)
}

pub(crate) fn op_restore(store: &Store, id: &str, track: bool) -> napi::Result<Reply> {
    let before = if track {
        snapshot(store)?
    } else {
        HashMap::new()
    };
    store.restore_backup(id).map_err(store_error)?;
    if !track {
        return Ok(Reply::default());
    }
    let after = snapshot(store)?;
    let mut keys: Vec<&String> = before.keys().chain(after.keys()).collect();
    keys.sort();
    keys.dedup();
    let mut list = Vec::new();
    for key in keys {
        let (old, new) = (before.get(key), after.get(key));
        if old != new {
            list.push(Some(key.clone()));
            list.push(old.cloned());
            list.push(new.cloned());
        }
    }
    Ok(Reply {
        list: Some(list),
        ..Reply::default()
    })
}

/// A backup as `listBackups` returns it: the specification's fields first.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct BackupPayload {
    id: String,
    name: String,
    timestamp: u64,
    size: u64,
    compressed: bool,
    encrypted: bool,
    kind: String,
    file_count: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    damaged: Option<String>,
}

pub(crate) fn op_list_backups(store: &Store) -> napi::Result<Reply> {
    let backups: Vec<BackupPayload> = store
        .list_backups()
        .map_err(store_error)?
        .into_iter()
        .map(|info| BackupPayload {
            id: info.id.to_string(),
            name: info.name.unwrap_or_default(),
            timestamp: info.timestamp,
            size: info.size,
            compressed: info.compressed,
            encrypted: info.encrypted,
            kind: info.kind.as_str().to_owned(),
            file_count: info.file_count,
            reason: info.reason,
            damaged: info.damaged,
        })
        .collect();
    Ok(Reply {
        value: Some(serde_json::to_string(&backups).map_err(|e| bad_json("backups", e))?),
        ..Reply::default()
    })
}
