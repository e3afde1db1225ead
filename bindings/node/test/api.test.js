// The StatePersistenceAPI through the real addon: built-in documents, batches, backups,
// sync calls, change events, close.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');

const statevault = require('..');
const { tempDir, layout, preferences, history, config, rejectsWith, throwsWith } = require('./helpers');

const key32 = Buffer.alloc(32, 7);

test('each built-in document is saved and loaded back exactly', async (t) => {
  const store = await statevault.open({ dir: tempDir(t), encryption: { key: key32 } });
  t.after(() => store.close());
  const documents = {
    'layout.default': layout,
    'settings.preferences': preferences,
    'history.conversations': history(3),
    'config.app': config,
  };
  for (const [key, value] of Object.entries(documents)) await store.save(key, value);
  for (const [key, value] of Object.entries(documents)) {
    assert.deepEqual(await store.load(key), value, key);
    assert.equal(await store.exists(key), true);
  }
  assert.equal(await store.load('layout.missing'), null);
  assert.equal(await store.exists('layout.missing'), false);
  // An untyped key keeps any JSON, as it was.
  const odd = { nested: [1, 'two', { three: null }], unicode: 'äöü ✓', big: 2 ** 53 - 1 };
  await store.save('plugins.demo', odd);
  assert.deepEqual(await store.load('plugins.demo'), odd);
});

test('loadBatch resolves to a Map without the missing keys', async (t) => {
  const store = await statevault.open({ dir: tempDir(t), encryption: false });
  t.after(() => store.close());
  await store.save('layout.a', layout);
  await store.save('settings.preferences', preferences);
  const map = await store.loadBatch(['layout.a', 'layout.missing', 'settings.preferences']);
  assert.ok(map instanceof Map);
  assert.deepEqual([...map.keys()], ['layout.a', 'settings.preferences']);
  assert.deepEqual(map.get('layout.a'), layout);
  assert.equal(map.has('layout.missing'), false);
});

test('saveBatch is all or nothing when one value is invalid', async (t) => {
  const store = await statevault.open({ dir: tempDir(t), encryption: false });
  t.after(() => store.close());
  await store.save('layout.keep', layout);
  const broken = { ...preferences, theme: 'purple' };
  const error = await rejectsWith(
    assert,
    store.saveBatch([
      { type: 'save', key: 'layout.new', data: layout },
      { type: 'delete', key: 'layout.keep' },
      { type: 'save', key: 'settings.preferences', data: broken },
    ]),
    'E_VALIDATION',
  );
  assert.equal(error.key, 'settings.preferences');
  assert.ok(error.violations.some((v) => v.pointer === '/theme'), JSON.stringify(error.violations));
  assert.equal(await store.exists('layout.new'), false);
  assert.deepEqual(await store.load('layout.keep'), layout);
  await store.saveBatch([
    { type: 'save', key: 'layout.new', data: layout, options: { compression: true } },
    { type: 'delete', key: 'layout.keep' },
  ]);
  assert.equal(await store.exists('layout.keep'), false);
  assert.deepEqual(await store.load('layout.new'), layout);
});

test('backups: create, list in the specification shape, restore', async (t) => {
  const store = await statevault.open({ dir: tempDir(t), encryption: { key: key32 } });
  t.after(() => store.close());
  await store.save('layout.default', layout);
  await store.save('history.conversations', history(2));
  const named = await store.createBackup('before-change');
  const unnamed = await store.createBackup();
  assert.equal(typeof named, 'string');
  await store.save('layout.default', { ...layout, timestamp: 1 });
  await store.delete('history.conversations');
  const list = await store.listBackups();
  const fields = ['id', 'name', 'timestamp', 'size', 'compressed', 'encrypted'];
  for (const info of list) {
    for (const field of fields) assert.ok(field in info, `${field} in ${JSON.stringify(info)}`);
    assert.equal(typeof info.timestamp, 'number');
    assert.equal(typeof info.size, 'number');
  }
  const mine = list.find((b) => b.id === named);
  assert.equal(mine.name, 'before-change');
  assert.equal(mine.encrypted, true, 'history.* is encrypted by default');
  assert.equal(mine.compressed, true);
  assert.equal(list.find((b) => b.id === unnamed).name, '');
  await store.restoreBackup(named);
  assert.deepEqual(await store.load('layout.default'), layout);
  assert.deepEqual(await store.load('history.conversations'), history(2));
  await rejectsWith(assert, store.restoreBackup('no-such-backup'), 'E_NOT_FOUND');
});

test('sync calls, validateData and migrateData', async (t) => {
  const store = statevault.openSync({ dir: tempDir(t), encryption: false });
  t.after(() => store.closeSync());
  store.saveSync('settings.preferences', preferences);
  assert.deepEqual(store.loadSync('settings.preferences'), preferences);
  assert.equal(store.loadSync('settings.other'), null);
  throwsWith(assert, () => store.saveSync('settings.preferences', { theme: 'dark' }), 'E_VALIDATION');
  const schema = { type: 'object', required: ['n'], properties: { n: { type: 'integer' } } };
  assert.equal(store.validateData({ n: 1 }, schema), true);
  assert.equal(store.validateData({ n: 'x' }, schema), false);
  assert.equal(statevault.validateData({}, schema), false);
  assert.deepEqual(store.migrateData({ a: 1 }, '1.0.0', '1.0.0'), { a: 1 });
  throwsWith(assert, () => store.migrateData({ a: 1 }, '1.0.0', '2.0.0'), 'E_MIGRATION');
  assert.equal(store.path('settings.preferences'), `${store.dir}/settings/preferences.json`);
  store.checkpointSync();
  assert.ok(fs.existsSync(store.path('settings.preferences')));
});

test('load with a SchemaValidator: a rejected value is E_VALIDATION', async (t) => {
  const store = await statevault.open({ dir: tempDir(t), encryption: false });
  t.after(() => store.close());
  await store.save('plugins.x', { count: 3 });
  const accepts = { validate: (data) => typeof data.count === 'number' };
  assert.deepEqual(await store.load('plugins.x', accepts), { count: 3 });
  const rejects = { validate: (data) => typeof data.count === 'string' };
  const error = await rejectsWith(assert, store.load('plugins.x', rejects), 'E_VALIDATION');
  assert.equal(error.key, 'plugins.x');
  assert.equal(error.path, store.path('plugins.x'));
  assert.deepEqual(error.violations, [{ pointer: '', message: 'rejected by the schema validator' }]);
});

test('change events fire after every kind of write, and unsubscribe', async (t) => {
  const store = await statevault.open({ dir: tempDir(t), encryption: false });
  t.after(() => store.close());
  const seen = [];
  const any = [];
  const off = store.onDidChange('layout.a', (newValue, oldValue) => seen.push([newValue?.timestamp, oldValue?.timestamp]));
  const offAny = store.onDidAnyChange((key, newValue, oldValue) => any.push([key, newValue === undefined, oldValue === undefined]));
  await store.save('layout.a', { ...layout, timestamp: 1 });
  store.saveSync('layout.a', { ...layout, timestamp: 2 });
  await store.saveBatch([
    { type: 'save', key: 'layout.a', data: { ...layout, timestamp: 3 } },
    { type: 'save', key: 'layout.b', data: layout },
  ]);
  const backup = await store.createBackup();
  await store.delete('layout.a');
  await store.restoreBackup(backup);
  assert.deepEqual(seen, [
    [1, undefined],
    [2, 1],
    [3, 2],
    [undefined, 3],
    [3, undefined],
  ]);
  assert.deepEqual(any, [
    ['layout.a', false, true],
    ['layout.a', false, false],
    ['layout.a', false, false],
    ['layout.b', false, true],
    ['layout.a', true, false],
    ['layout.a', false, true],
  ]);
  off();
  offAny();
  await store.save('layout.a', layout);
  assert.equal(seen.length, 5);
  assert.equal(any.length, 6);
});

test('close releases the store; later calls reject with E_CLOSED', async (t) => {
  const dir = tempDir(t);
  const store = await statevault.open({ dir, encryption: false });
  const pending = store.save('plugins.a', { v: 1 });
  await store.close();
  await pending;
  await rejectsWith(assert, store.load('plugins.a'), 'E_CLOSED');
  throwsWith(assert, () => store.loadSync('plugins.a'), 'E_CLOSED');
  throwsWith(assert, () => store.path('plugins.a'), 'E_CLOSED');
  const again = await statevault.open({ dir, encryption: false });
  assert.deepEqual(await again.load('plugins.a'), { v: 1 });
  await again.close();
});

test('the ESM entry exports the same API', async () => {
  const esm = await import('../index.mjs');
  assert.equal(esm.open, statevault.open);
  assert.equal(esm.default.openSync, statevault.openSync);
});

test('appName opens the store in the platform data folder', (t) => {
  const home = tempDir(t, 'data-home');
  const script = `
    const statevault = require(${JSON.stringify(require('node:path').join(__dirname, '..'))});
    const store = statevault.openSync({ appName: 'my-app', encryption: false });
    store.saveSync('plugins.a', { ok: true });
    console.log(store.dir);
    store.closeSync();`;
  const out = require('node:child_process').execFileSync(process.execPath, ['-e', script], {
    encoding: 'utf8',
    env: { ...process.env, XDG_DATA_HOME: home },
  });
  assert.equal(out.trim(), `${home}/my-app`);
  assert.ok(fs.existsSync(`${home}/my-app/plugins/a.json`));
});

test('policies set save options per key pattern; durability is checked', async (t) => {
  const store = await statevault.open({
    dir: tempDir(t),
    encryption: false,
    durability: 'normal',
    policies: { 'layout.*': { compression: true } },
  });
  t.after(() => store.close());
  const big = { ...layout, metadata: { ...layout.metadata, description: 'grid '.repeat(4000) } };
  await store.save('layout.big', big);
  await store.save('plugins.big', big);
  await store.checkpoint();
  const compressed = fs.statSync(store.path('layout.big')).size;
  const plain = fs.statSync(store.path('plugins.big')).size;
  assert.ok(compressed * 10 < plain, `layout.* compressed: ${compressed} vs ${plain} bytes`);
  assert.deepEqual(await store.load('layout.big'), big);
  await rejectsWith(assert, statevault.open({ dir: tempDir(t, 'd'), durability: 'sometimes' }), 'E_INVALID_INPUT');
});
