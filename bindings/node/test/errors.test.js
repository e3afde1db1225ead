// Every error code provoked for real, with its key and path.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const statevault = require('..');
const { tempDir, layout, preferences, rejectsWith, throwsWith } = require('./helpers');

test('E_INVALID_KEY names the key', async (t) => {
  const store = await statevault.open({ dir: tempDir(t), encryption: false });
  t.after(() => store.close());
  const error = await rejectsWith(assert, store.save('../etc/passwd', { a: 1 }), 'E_INVALID_KEY');
  assert.equal(error.key, '../etc/passwd');
  await rejectsWith(assert, store.load('Layout.Default'), 'E_INVALID_KEY');
  await rejectsWith(assert, store.load(42), 'E_INVALID_KEY');
});

test('E_VALIDATION carries every violation with its pointer', async (t) => {
  const store = await statevault.open({ dir: tempDir(t), encryption: false });
  t.after(() => store.close());
  const bad = { ...preferences, theme: 'purple', ui: { ...preferences.ui, gridDensity: 7 } };
  const error = await rejectsWith(assert, store.save('settings.preferences', bad), 'E_VALIDATION');
  assert.equal(error.key, 'settings.preferences');
  const pointers = [...new Set(error.violations.map((v) => v.pointer))].sort();
  assert.deepEqual(pointers, ['/theme', '/ui/gridDensity']);
  for (const violation of error.violations) assert.equal(typeof violation.message, 'string');
  assert.equal(await store.exists('settings.preferences'), false, 'nothing written');
});

test('E_CORRUPT names the key and the damaged file, which stays as it was', async (t) => {
  const store = await statevault.open({ dir: tempDir(t), encryption: false });
  t.after(() => store.close());
  await store.save('layout.default', layout);
  await store.checkpoint();
  const file = store.path('layout.default');
  const bytes = fs.readFileSync(file);
  bytes[bytes.length - 10] ^= 0x55;
  fs.writeFileSync(file, bytes);
  const error = await rejectsWith(assert, store.load('layout.default'), 'E_CORRUPT');
  assert.equal(error.key, 'layout.default');
  assert.equal(error.path, file);
  assert.deepEqual(fs.readFileSync(file), bytes);
});

test('E_LOCKED: a second process opening the store for writing', async (t) => {
  const dir = tempDir(t);
  const store = await statevault.open({ dir, encryption: false });
  t.after(() => store.close());
  const script = `
    const statevault = require(${JSON.stringify(path.join(__dirname, '..'))});
    statevault.open({ dir: ${JSON.stringify(dir)}, encryption: false }).then(
      () => console.log(JSON.stringify({ opened: true })),
      (e) => console.log(JSON.stringify({ code: e.code, path: e.path })));`;
  const child = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
  assert.equal(child.status, 0, child.stderr);
  const result = JSON.parse(child.stdout);
  assert.equal(result.code, 'E_LOCKED');
  assert.equal(result.path, dir);
});

test('E_QUOTA: a save past the quota writes nothing', async (t) => {
  const store = await statevault.open({ dir: tempDir(t), encryption: false, quotaBytes: 2000 });
  t.after(() => store.close());
  await store.save('plugins.small', { a: 1 });
  const error = await rejectsWith(assert, store.save('plugins.big', { blob: 'x'.repeat(5000) }), 'E_QUOTA');
  assert.equal(error.key, 'plugins.big');
  assert.equal(await store.exists('plugins.big'), false);
});

test('E_WRONG_KEY: an encrypted value opened with another key', async (t) => {
  const dir = tempDir(t);
  const first = await statevault.open({ dir, encryption: { key: Buffer.alloc(32, 1) } });
  await first.save('history.conversations.a', { version: '1.0.0', conversations: [], metadata: { totalCount: 0, lastUpdated: 0, totalTokens: 0 } });
  await first.close();
  const second = await statevault.open({ dir, encryption: { key: Buffer.alloc(32, 2) } });
  t.after(() => second.close());
  const error = await rejectsWith(assert, second.load('history.conversations.a'), 'E_WRONG_KEY');
  assert.equal(error.key, 'history.conversations.a');
  assert.equal(error.path, second.path('history.conversations.a'));
});

test('E_KEY_UNAVAILABLE: encryption asked for with encryption off is refused, never plaintext', async (t) => {
  const store = await statevault.open({ dir: tempDir(t), encryption: false });
  t.after(() => store.close());
  await rejectsWith(assert, store.save('plugins.secret', { s: 'hunter2' }, { encrypt: true }), 'E_KEY_UNAVAILABLE');
  assert.equal(await store.exists('plugins.secret'), false);
});

test('E_NEWER_VERSION: a document written by a newer program', async (t) => {
  const dir = tempDir(t);
  const schema = { type: 'object', required: ['version'], properties: { version: { type: 'string' } } };
  const newer = await statevault.open({
    dir,
    encryption: false,
    documents: [{ name: 'Note', pattern: 'notes.*', version: '2.0.0', schema }],
  });
  await newer.save('notes.a', { version: '2.0.0' });
  await newer.close();
  const older = await statevault.open({
    dir,
    encryption: false,
    documents: [{ name: 'Note', pattern: 'notes.*', version: '1.0.0', schema }],
  });
  t.after(() => older.close());
  const error = await rejectsWith(assert, older.load('notes.a'), 'E_NEWER_VERSION');
  assert.equal(error.key, 'notes.a');
});

test('E_READ_ONLY: a store opened to read refuses writes', async (t) => {
  const dir = tempDir(t);
  const writer = await statevault.open({ dir, encryption: false });
  await writer.save('layout.default', layout);
  const reader = await statevault.open({ dir, readOnly: true, encryption: false });
  t.after(async () => {
    await reader.close();
    await writer.close();
  });
  assert.deepEqual(await reader.load('layout.default'), layout);
  const error = await rejectsWith(assert, reader.save('layout.default', layout), 'E_READ_ONLY');
  assert.equal(error.path, dir);
});

test('E_NOT_A_STORE and E_IO: folders that cannot be stores', async (t) => {
  const dir = tempDir(t);
  const error = await rejectsWith(assert, statevault.open({ dir, readOnly: true, encryption: false }), 'E_NOT_A_STORE');
  assert.equal(error.path, dir);
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  fs.writeFileSync(dir, 'a file, not a folder');
  const io = await rejectsWith(assert, statevault.open({ dir: path.join(dir, 'below'), encryption: false }), 'E_IO');
  assert.ok(io.path.startsWith(dir), io.path);
});

test('E_INVALID_INPUT and E_OTHER: malformed calls', async (t) => {
  const store = await statevault.open({ dir: tempDir(t), encryption: false });
  t.after(() => store.close());
  await rejectsWith(assert, store.save('plugins.a', undefined), 'E_INVALID_INPUT');
  await rejectsWith(assert, store.save('plugins.a', { a: 1 }, { encrypt: true, zip: true }), 'E_INVALID_INPUT');
  await rejectsWith(assert, store.saveBatch([{ type: 'save', key: 'plugins.a' }]), 'E_INVALID_INPUT');
  const twice = await rejectsWith(
    assert,
    store.saveBatch([
      { type: 'save', key: 'plugins.a', data: 1 },
      { type: 'delete', key: 'plugins.a' },
    ]),
    'E_INVALID_INPUT',
  );
  assert.equal(twice.key, 'plugins.a');
  await rejectsWith(assert, statevault.open({ dir: tempDir(t, 'x'), encryption: { key: Buffer.alloc(16) } }), 'E_INVALID_INPUT');
  await rejectsWith(assert, statevault.open({ folder: '/tmp' }), 'E_INVALID_INPUT');
  throwsWith(assert, () => statevault.validateData({}, { type: 12 }), 'E_OTHER');
});
