// Electron main-process wiring: exposes an open Store to renderers over IPC, one channel per
// method, only for the keys the application allows. Pair it with `statevault/preload`.
'use strict';

const { codes } = require('./index.js');

const PREFIX = 'statevault:';
/** The asynchronous methods, each an `ipcMain.handle` channel. */
const ASYNC_METHODS = [
  'save',
  'load',
  'delete',
  'exists',
  'saveBatch',
  'loadBatch',
  'createBackup',
  'restoreBackup',
  'listBackups',
];
/** The synchronous methods of the specification, answered through `event.returnValue`. */
const SYNC_METHODS = ['validateData', 'migrateData'];

/** Whether `key` matches one of `patterns` (an exact key, `prefix.*`, or `*` for every key). */
function allowed(patterns, key) {
  if (typeof key !== 'string') return false;
  return patterns.some((pattern) => {
    if (pattern === '*') return true;
    if (pattern.endsWith('.*')) {
      const prefix = pattern.slice(0, -1);
      return key.startsWith(prefix) && key.length > prefix.length;
    }
    return pattern === key;
  });
}

function forbidden(message) {
  const error = new Error(message);
  error.code = codes.forbidden;
  return error;
}

/** What crosses IPC for an error: Electron keeps only the message of a rejected handler. */
function errorReply(error) {
  return {
    ok: false,
    error: {
      code: error.code,
      message: error.message,
      key: error.key,
      path: error.path,
      violations: error.violations,
    },
  };
}

/**
 * Registers the store's channels on `ipcMain`.
 * @param {{ handle: Function, removeHandler: Function, on: Function, removeListener: Function }} ipcMain
 * @param {import('./index').Store} store
 * @param {{ allow: string[], backups?: boolean }} options `allow`: key patterns renderers may
 *   touch; `backups`: whether they may create, list and restore backups (default false).
 * @returns {() => void} removes every channel and listener again
 */
function exposeStore(ipcMain, store, options) {
  const allow = options?.allow;
  if (!Array.isArray(allow)) throw new TypeError('exposeStore needs { allow: [key patterns] }');
  const backups = options.backups === true;
  const subscribers = new Set();

  const checkKeys = (method, args) => {
    let keys = [];
    if (['save', 'load', 'delete', 'exists'].includes(method)) keys = [args[0]];
    if (method === 'saveBatch') keys = (Array.isArray(args[0]) ? args[0] : []).map((op) => op?.key);
    if (method === 'loadBatch') keys = Array.isArray(args[0]) ? args[0] : [];
    for (const key of keys) {
      if (!allowed(allow, key)) throw forbidden(`the renderer may not use the key ${JSON.stringify(key)}`);
    }
    if (['createBackup', 'restoreBackup', 'listBackups'].includes(method) && !backups) {
      throw forbidden(`the renderer may not call ${method}`);
    }
  };

  for (const method of ASYNC_METHODS) {
    ipcMain.handle(PREFIX + method, async (_event, ...args) => {
      try {
        checkKeys(method, args);
        // A schema validator is a function: it cannot cross IPC; the preload applies it.
        const callArgs = method === 'load' ? [args[0]] : args;
        let value = await store[method](...callArgs);
        if (value instanceof Map) value = [...value];
        return { ok: true, value };
      } catch (error) {
        return errorReply(error);
      }
    });
  }
  const onSync = (method) => (event, ...args) => {
    try {
      event.returnValue = { ok: true, value: store[method](...args) };
    } catch (error) {
      event.returnValue = errorReply(error);
    }
  };
  const syncHandlers = SYNC_METHODS.map((method) => [PREFIX + method, onSync(method)]);
  // The preload cannot load the addon; it asks here for the codes of statevault's table.
  syncHandlers.push([`${PREFIX}codes`, (event) => (event.returnValue = { ok: true, value: codes })]);
  for (const [channel, handler] of syncHandlers) ipcMain.on(channel, handler);

  ipcMain.handle(`${PREFIX}subscribe`, (event) => {
    const sender = event.sender;
    if (!subscribers.has(sender)) {
      subscribers.add(sender);
      sender.once?.('destroyed', () => subscribers.delete(sender));
    }
    return { ok: true };
  });
  const unsubscribe = store.onDidAnyChange((key, newValue, oldValue) => {
    if (!allowed(allow, key)) return;
    for (const sender of subscribers) {
      if (sender.isDestroyed?.()) {
        subscribers.delete(sender);
        continue;
      }
      sender.send(`${PREFIX}change`, { key, newValue, oldValue });
    }
  });

  return () => {
    unsubscribe();
    for (const method of ASYNC_METHODS) ipcMain.removeHandler(PREFIX + method);
    ipcMain.removeHandler(`${PREFIX}subscribe`);
    for (const [channel, handler] of syncHandlers) ipcMain.removeListener(channel, handler);
    subscribers.clear();
  };
}

module.exports = { exposeStore, allowed, CHANNEL_PREFIX: PREFIX };
