// Electron preload wiring: the renderer's StatePersistenceAPI over the channels that
// `statevault/electron`'s exposeStore registers. Expose it with
//   contextBridge.exposeInMainWorld('statevault', rendererApi(ipcRenderer));
// This file requires nothing (not even the addon): it runs in a sandboxed preload.
'use strict';

const PREFIX = 'statevault:';

function toError(error) {
  const e = new Error(error.message);
  for (const name of ['code', 'key', 'path', 'violations']) {
    if (error[name] !== undefined) e[name] = error[name];
  }
  return e;
}

function unwrap(reply) {
  if (!reply || reply.ok !== true) throw toError(reply?.error ?? { message: 'no answer from the main process' });
  return reply.value;
}

/**
 * @param {{ invoke: Function, sendSync: Function, on: Function, removeListener: Function }} ipcRenderer
 * @returns the StatePersistenceAPI plus onDidChange / onDidAnyChange
 */
function rendererApi(ipcRenderer) {
  const invoke = async (method, ...args) => unwrap(await ipcRenderer.invoke(PREFIX + method, ...args));
  const sync = (method, ...args) => unwrap(ipcRenderer.sendSync(PREFIX + method, ...args));
  const listeners = new Set();
  let subscribed = false;
  const onChange = (_event, change) => {
    for (const listener of [...listeners]) listener(change);
  };
  const listen = (listener) => {
    listeners.add(listener);
    if (!subscribed) {
      subscribed = true;
      ipcRenderer.on(`${PREFIX}change`, onChange);
      ipcRenderer.invoke(`${PREFIX}subscribe`);
    }
    return () => {
      listeners.delete(listener);
    };
  };

  return {
    save: (key, data, options) => invoke('save', key, data, options).then(() => undefined),
    async load(key, schema) {
      const value = await invoke('load', key);
      if (value !== null && schema && !schema.validate(value)) {
        const error = new Error(`${key}: the value was rejected by the schema validator`);
        error.code = sync('codes').validation;
        error.key = key;
        error.violations = [{ pointer: '', message: 'rejected by the schema validator' }];
        throw error;
      }
      return value;
    },
    delete: (key) => invoke('delete', key).then(() => undefined),
    exists: (key) => invoke('exists', key),
    saveBatch: (operations) => invoke('saveBatch', operations).then(() => undefined),
    loadBatch: async (keys) => new Map(await invoke('loadBatch', keys)),
    createBackup: (name) => invoke('createBackup', name),
    restoreBackup: (backupId) => invoke('restoreBackup', backupId).then(() => undefined),
    listBackups: () => invoke('listBackups'),
    validateData: (data, schema) => sync('validateData', data, schema),
    migrateData: (data, fromVersion, toVersion) => sync('migrateData', data, fromVersion, toVersion),
    onDidChange: (key, callback) =>
      listen((change) => {
        if (change.key === key) callback(change.newValue, change.oldValue);
      }),
    onDidAnyChange: (callback) => listen((change) => callback(change.key, change.newValue, change.oldValue)),
  };
}

module.exports = { rendererApi };
