//! An open store as JavaScript holds it, and its methods.

use std::sync::{Arc, Mutex};

use napi::Env;
use napi::bindgen_prelude::AsyncTask;
use napi_derive::napi;
use statevault::{ErrorKind, Store};

use serde_json::Value;

use crate::error::{bad_json, binding_error, store_error};
use crate::migrations::on_js_thread;
use crate::ops::*;
use crate::task::{Job, Reply};

/// An open store. `index.js` wraps it into the public `Store`.
#[napi]
#[derive(Debug)]
pub struct NativeStore {
    store: Mutex<Option<Arc<Store>>>,
}

impl NativeStore {
    pub(crate) fn new(store: Store) -> NativeStore {
        NativeStore {
            store: Mutex::new(Some(Arc::new(store))),
        }
    }

    fn get(&self) -> napi::Result<Arc<Store>> {
        self.store
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .ok_or_else(|| binding_error(ErrorKind::Closed, "the store is closed"))
    }

    /// `work` on the libuv pool.
    fn spawn(
        &self,
        work: impl FnOnce(&Store) -> napi::Result<Reply> + Send + 'static,
    ) -> napi::Result<AsyncTask<Job>> {
        let store = self.get()?;
        Ok(AsyncTask::new(Job(Some(Box::new(move || work(&store))))))
    }

    /// `work` here, on the JavaScript thread.
    fn now(
        &self,
        env: Env,
        work: impl FnOnce(&Store) -> napi::Result<Reply>,
    ) -> napi::Result<Reply> {
        let store = self.get()?;
        on_js_thread(env, || work(&store))
    }
}

#[napi]
impl NativeStore {
    /// Saves JSON text under `key`; `old` is the previous value when `wantOld`.
    #[napi]
    pub fn save(
        &self,
        key: String,
        json: String,
        options: Option<String>,
        want_old: bool,
    ) -> napi::Result<AsyncTask<Job>> {
        let options = save_options(options)?;
        self.spawn(move |s| op_save(s, &key, json, &options, want_old))
    }

    /// [`NativeStore::save`] on the calling thread.
    #[napi]
    pub fn save_sync(
        &self,
        env: Env,
        key: String,
        json: String,
        options: Option<String>,
        want_old: bool,
    ) -> napi::Result<Reply> {
        let options = save_options(options)?;
        self.now(env, |s| op_save(s, &key, json, &options, want_old))
    }

    /// Loads `key` as JSON text (`value` absent when it does not exist); `flag` says whether
    /// the load migrated it (and so wrote it back), when `track`.
    #[napi]
    pub fn load(&self, key: String, track: bool) -> napi::Result<AsyncTask<Job>> {
        self.spawn(move |s| op_load(s, &key, track))
    }

    /// [`NativeStore::load`] on the calling thread.
    #[napi]
    pub fn load_sync(&self, env: Env, key: String, track: bool) -> napi::Result<Reply> {
        self.now(env, |s| op_load(s, &key, track))
    }

    /// Deletes `key`; `flag` says whether it existed.
    #[napi]
    pub fn delete(&self, key: String, want_old: bool) -> napi::Result<AsyncTask<Job>> {
        self.spawn(move |s| op_delete(s, &key, want_old))
    }

    /// [`NativeStore::delete`] on the calling thread.
    #[napi]
    pub fn delete_sync(&self, env: Env, key: String, want_old: bool) -> napi::Result<Reply> {
        self.now(env, |s| op_delete(s, &key, want_old))
    }

    /// Applies a JSON Patch (an RFC 6902 operation array as JSON text) to the value of `key`,
    /// all or nothing; with `wantOld`, `old` and `value` are the values before and after.
    #[napi]
    pub fn patch(
        &self,
        key: String,
        patch: String,
        want_old: bool,
    ) -> napi::Result<AsyncTask<Job>> {
        self.spawn(move |s| op_patch(s, &key, &patch, want_old))
    }

    /// [`NativeStore::patch`] on the calling thread.
    #[napi]
    pub fn patch_sync(
        &self,
        env: Env,
        key: String,
        patch: String,
        want_old: bool,
    ) -> napi::Result<Reply> {
        self.now(env, |s| op_patch(s, &key, &patch, want_old))
    }

    /// Whether `key` exists (`flag`).
    #[napi]
    pub fn exists(&self, key: String) -> napi::Result<AsyncTask<Job>> {
        self.spawn(move |s| {
            Ok(Reply {
                flag: Some(s.exists(&key).map_err(store_error)?),
                ..Reply::default()
            })
        })
    }

    /// Applies a JSON array of the specification's batch operations, all or nothing; `list`
    /// holds the previous value of each operation's key when `wantOld`.
    #[napi]
    pub fn save_batch(&self, operations: String, want_old: bool) -> napi::Result<AsyncTask<Job>> {
        self.spawn(move |s| op_save_batch(s, &operations, want_old))
    }

    /// [`NativeStore::save_batch`] on the calling thread.
    #[napi]
    pub fn save_batch_sync(
        &self,
        env: Env,
        operations: String,
        want_old: bool,
    ) -> napi::Result<Reply> {
        self.now(env, |s| op_save_batch(s, &operations, want_old))
    }

    /// Loads several keys; `list` is `[key, json, key, json, …]` without missing keys.
    #[napi]
    pub fn load_batch(&self, keys: Vec<String>) -> napi::Result<AsyncTask<Job>> {
        self.spawn(move |s| op_load_batch(s, &keys))
    }

    /// Takes a manual backup; `value` is its id.
    #[napi]
    pub fn create_backup(&self, name: Option<String>) -> napi::Result<AsyncTask<Job>> {
        self.spawn(move |s| {
            let id = s.create_backup(name.as_deref()).map_err(store_error)?;
            Ok(Reply {
                value: Some(id),
                ..Reply::default()
            })
        })
    }

    /// Restores a backup; with `track`, `list` holds `[key, old, new]` for each changed key.
    #[napi]
    pub fn restore_backup(&self, id: String, track: bool) -> napi::Result<AsyncTask<Job>> {
        self.spawn(move |s| op_restore(s, &id, track))
    }

    /// Every backup, newest first, as a JSON array in `value`.
    #[napi]
    pub fn list_backups(&self) -> napi::Result<AsyncTask<Job>> {
        self.spawn(op_list_backups)
    }

    /// Migrates JSON text from one version to another along the registered migrations.
    #[napi]
    pub fn migrate_data(
        &self,
        env: Env,
        json: String,
        from: String,
        to: String,
        document: Option<String>,
    ) -> napi::Result<String> {
        let value: Value = serde_json::from_str(&json).map_err(|e| bad_json("data", e))?;
        let reply = self.now(env, |s| {
            let migrated = match document.as_deref() {
                Some(document) => s.migrate_as_document(value, document, &from, &to),
                None => s.migrate_data(value, &from, &to),
            }
            .map_err(store_error)?;
            Ok(Reply {
                value: Some(migrated.to_string()),
                ..Reply::default()
            })
        })?;
        Ok(reply.value.unwrap_or_default())
    }

    /// Writes every value the journal holds into its key's file now (saves reach the files
    /// on their own after 2 s without a save, when the journal is full, and at close).
    #[napi]
    pub fn checkpoint(&self) -> napi::Result<AsyncTask<Job>> {
        self.spawn(|s| {
            s.checkpoint().map_err(store_error)?;
            Ok(Reply::default())
        })
    }

    /// [`NativeStore::checkpoint`] on the calling thread.
    #[napi]
    pub fn checkpoint_sync(&self, env: Env) -> napi::Result<()> {
        self.now(env, |s| {
            s.checkpoint().map_err(store_error)?;
            Ok(Reply::default())
        })?;
        Ok(())
    }

    /// The file of `key`.
    #[napi]
    pub fn path(&self, key: String) -> napi::Result<String> {
        let path = self.get()?.path_of(&key).map_err(store_error)?;
        Ok(path.display().to_string())
    }

    /// The store's folder.
    #[napi]
    pub fn dir(&self) -> napi::Result<String> {
        Ok(self.get()?.dir().display().to_string())
    }

    /// Every key starting with `prefix`, sorted.
    #[napi]
    pub fn keys(&self, prefix: String) -> napi::Result<Vec<String>> {
        let keys = self.get()?.keys(&prefix).map_err(store_error)?;
        Ok(keys.iter().map(|k| k.as_str().to_owned()).collect())
    }

    /// Closes the store on the pool (its last handle is dropped there, which checkpoints the
    /// journal and releases the writer lock). Later calls fail with `E_CLOSED`.
    #[napi]
    pub fn close(&self) -> AsyncTask<Job> {
        let store = self.store.lock().unwrap_or_else(|e| e.into_inner()).take();
        AsyncTask::new(Job(Some(Box::new(move || {
            drop(store);
            Ok(Reply::default())
        }))))
    }

    /// [`NativeStore::close`] on the calling thread.
    #[napi]
    pub fn close_sync(&self) {
        let store = self.store.lock().unwrap_or_else(|e| e.into_inner()).take();
        drop(store);
    }
}
