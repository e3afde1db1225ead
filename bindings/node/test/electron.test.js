// The Electron wiring: exposeStore in the main process and rendererApi in the preload.
//
// Electron's npm package cannot be installed here (its install step downloads a prebuilt
// binary), so these tests use stand-ins with the exact call shapes of Electron's
// `ipcMain.handle` / `ipcMain.on` / `ipcRenderer.invoke` / `ipcRenderer.sendSync` /
// `ipcRenderer.on` and `webContents.send`, and pass values through structuredClone as
// Electron's IPC does. The store behind them is the real addon.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');

const statevault = require('..');
const { exposeStore } = require('../electron');
const { rendererApi } = require('../preload');
const { tempDir, layout, preferences, rejectsWith } = require('./helpers');

/** ipcMain and one renderer's ipcRenderer + webContents, wired as Electron wires them. */
function fakeElectron() {
  const handlers = new Map();
  const syncListeners = new Map();
  const rendererListeners = new Map();
  const webContents = {
    destroyed: false,
    send(channel, ...args) {
      for (const listener of rendererListeners.get(channel) ?? []) listener({ sender: null }, ...structuredClone(args));
    },
    isDestroyed() {
      return this.destroyed;
    },
    once() {},
  };
  const ipcMain = {
    handle(channel, listener) {
      if (handlers.has(channel)) throw new Error(`Attempted to register a second handler for '${channel}'`);
      handlers.set(channel, listener);
    },
    removeHandler(channel) {
      handlers.delete(channel);
    },
    on(channel, listener) {
      syncListeners.set(channel, listener);
      return ipcMain;
    },
    removeListener(channel) {
      syncListeners.delete(channel);
      return ipcMain;
    },
  };
  const ipcRenderer = {
    async invoke(channel, ...args) {
      const handler = handlers.get(channel);
      if (!handler) throw new Error(`Error invoking remote method '${channel}': No handler registered`);
      return structuredClone(await handler({ sender: webContents }, ...structuredClone(args)));
    },
    sendSync(channel, ...args) {
      const event = { sender: webContents, returnValue: undefined };
      syncListeners.get(channel)(event, ...structuredClone(args));
      return structuredClone(event.returnValue);
    },
    on(channel, listener) {
      if (!rendererListeners.has(channel)) rendererListeners.set(channel, []);
      rendererListeners.get(channel).push(listener);
      return ipcRenderer;
    },
    removeListener() {
      return ipcRenderer;
    },
  };
  return { ipcMain, ipcRenderer, handlers };
}

test('a renderer gets the StatePersistenceAPI over IPC, limited to its allow list', async (t) => {
  const store = await statevault.open({ dir: tempDir(t), encryption: false });
  t.after(() => store.close());
  const { ipcMain, ipcRenderer, handlers } = fakeElectron();
  const remove = exposeStore(ipcMain, store, { allow: ['layout.*', 'settings.preferences'] });
  for (const method of ['save', 'load', 'delete', 'exists', 'saveBatch', 'loadBatch', 'createBackup', 'restoreBackup', 'listBackups']) {
    assert.ok(handlers.has(`statevault:${method}`), method);
  }
  const api = rendererApi(ipcRenderer);

  const changes = [];
  api.onDidChange('layout.main', (newValue, oldValue) => changes.push([newValue?.timestamp, oldValue?.timestamp]));
  await api.save('layout.main', layout);
  assert.deepEqual(await api.load('layout.main'), layout);
  assert.equal(await api.exists('layout.main'), true);
  assert.equal(await api.load('layout.none'), null);
  await api.saveBatch([
    { type: 'save', key: 'layout.main', data: { ...layout, timestamp: 5 } },
    { type: 'save', key: 'settings.preferences', data: preferences },
  ]);
  const map = await api.loadBatch(['layout.main', 'settings.preferences', 'layout.none']);
  assert.ok(map instanceof Map);
  assert.deepEqual([...map.keys()], ['layout.main', 'settings.preferences']);
  // A change made in the main process reaches the renderer too.
  await store.delete('layout.main');
  assert.deepEqual(changes, [
    [layout.timestamp, undefined],
    [5, layout.timestamp],
    [undefined, 5],
  ]);

  const invalid = await rejectsWith(assert, api.save('settings.preferences', { theme: 'x' }), 'E_VALIDATION');
  assert.equal(invalid.key, 'settings.preferences');
  assert.ok(invalid.violations.length > 0);
  const refused = await rejectsWith(assert, api.save('config.app', {}), 'E_FORBIDDEN');
  assert.match(refused.message, /config\.app/);
  await rejectsWith(assert, api.loadBatch(['layout.main', 'history.conversations']), 'E_FORBIDDEN');
  await rejectsWith(assert, api.createBackup('x'), 'E_FORBIDDEN');
  assert.equal(api.validateData({ a: 1 }, { type: 'object' }), true);
  assert.equal(api.validateData(1, { type: 'object' }), false);
  assert.deepEqual(api.migrateData({ a: 1 }, '1.0.0', '1.0.0'), { a: 1 });

  remove();
  assert.equal(handlers.size, 0);
});

test('a schema validator in the renderer rejects with E_VALIDATION', async (t) => {
  const store = await statevault.open({ dir: tempDir(t), encryption: false });
  t.after(() => store.close());
  const { ipcMain, ipcRenderer } = fakeElectron();
  exposeStore(ipcMain, store, { allow: ['*'], backups: true });
  const api = rendererApi(ipcRenderer);
  await api.save('plugins.a', { n: 1 });
  await rejectsWith(assert, api.load('plugins.a', { validate: (d) => typeof d.n === 'string' }), 'E_VALIDATION');
  const id = await api.createBackup('renderer');
  const list = await api.listBackups();
  assert.equal(list[0].id, id);
  await api.save('plugins.a', { n: 2 });
  await api.restoreBackup(id);
  assert.deepEqual(await api.load('plugins.a'), { n: 1 });
});
