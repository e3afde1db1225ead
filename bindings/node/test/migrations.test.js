// An application's own documents from JavaScript: JSON Schema validation and JavaScript
// migrations run by the store's load path.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');

const statevault = require('..');
const { tempDir, rejectsWith, throwsWith } = require('./helpers');

const v1 = {
  type: 'object',
  required: ['version', 'name'],
  properties: { version: { type: 'string' }, name: { type: 'string' } },
  additionalProperties: false,
};
const v2 = {
  type: 'object',
  required: ['version', 'title', 'enabled'],
  properties: { version: { type: 'string' }, title: { type: 'string' }, enabled: { type: 'boolean' } },
  additionalProperties: false,
};

function plugin(version, schema, migrations = []) {
  return { name: 'PluginState', pattern: 'plugins.*', version, schema, migrations };
}

async function writeV1(dir) {
  const old = await statevault.open({ dir, encryption: false, documents: [plugin('1.0.0', v1)] });
  await old.save('plugins.clock', { version: '1.0.0', name: 'Clock' });
  await rejectsWith(assert, old.save('plugins.bad', { version: '1.0.0', name: 3 }), 'E_VALIDATION');
  await old.close();
}

test('old data migrates on load, once, and is written back after a backup', async (t) => {
  const dir = tempDir(t);
  await writeV1(dir);
  let calls = 0;
  const migrations = [
    {
      from: '1.0.0',
      to: '2.0.0',
      migrate(doc) {
        calls += 1;
        return { version: '2.0.0', title: doc.name, enabled: true };
      },
    },
  ];
  const store = await statevault.open({ dir, encryption: false, documents: [plugin('2.0.0', v2, migrations)] });
  t.after(() => store.close());
  const changes = [];
  store.onDidChange('plugins.clock', (newValue) => changes.push(newValue));
  const backupsBefore = (await store.listBackups()).length;
  const expected = { version: '2.0.0', title: 'Clock', enabled: true };
  assert.deepEqual(await store.load('plugins.clock'), expected);
  assert.equal(calls, 1);
  assert.deepEqual(changes, [expected], 'the write-back is a change');
  assert.deepEqual(await store.load('plugins.clock'), expected);
  assert.deepEqual(store.loadSync('plugins.clock'), expected);
  assert.equal(calls, 1, 'written back: the migration ran once');
  const backups = await store.listBackups();
  assert.equal(backups.length, backupsBefore + 1, 'an automatic backup before the write-back');
  assert.equal(backups[0].kind, 'auto');
  // migrateData runs the same JavaScript function, on this thread.
  assert.deepEqual(store.migrateData({ version: '1.0.0', name: 'X' }, '1.0.0', '2.0.0'), {
    version: '2.0.0',
    title: 'X',
    enabled: true,
  });
  assert.equal(calls, 2);
  await rejectsWith(assert, store.save('plugins.y', { version: '2.0.0', title: 'Y' }), 'E_VALIDATION');
});

test('loadSync on the JavaScript thread runs the migration directly (no deadlock)', async (t) => {
  const dir = tempDir(t);
  await writeV1(dir);
  const seen = [];
  const store = statevault.openSync({
    dir,
    encryption: false,
    documents: [
      plugin('2.0.0', v2, [
        { from: '1.0.0', to: '2.0.0', migrate: (doc) => (seen.push(doc.name), { version: '2.0.0', title: doc.name, enabled: false }) },
      ]),
    ],
  });
  t.after(() => store.closeSync());
  assert.deepEqual(store.loadSync('plugins.clock'), { version: '2.0.0', title: 'Clock', enabled: false });
  assert.deepEqual(seen, ['Clock']);
});

test('a throwing migration leaves the file untouched', async (t) => {
  const dir = tempDir(t);
  await writeV1(dir);
  const migrations = [
    {
      from: '1.0.0',
      to: '2.0.0',
      migrate() {
        throw new Error('cannot convert this plugin');
      },
    },
  ];
  const store = await statevault.open({ dir, encryption: false, documents: [plugin('2.0.0', v2, migrations)] });
  t.after(() => store.close());
  const file = store.path('plugins.clock');
  const before = fs.readFileSync(file);
  const error = await rejectsWith(assert, store.load('plugins.clock'), 'E_MIGRATION');
  assert.equal(error.key, 'plugins.clock');
  assert.match(error.message, /cannot convert this plugin/);
  throwsWith(assert, () => store.loadSync('plugins.clock'), 'E_MIGRATION');
  assert.deepEqual(fs.readFileSync(file), before);
});

test('a migration whose result breaks the new schema is E_VALIDATION, file untouched', async (t) => {
  const dir = tempDir(t);
  await writeV1(dir);
  const migrations = [{ from: '1.0.0', to: '2.0.0', migrate: (doc) => ({ version: '2.0.0', title: doc.name }) }];
  const store = await statevault.open({ dir, encryption: false, documents: [plugin('2.0.0', v2, migrations)] });
  t.after(() => store.close());
  const before = fs.readFileSync(store.path('plugins.clock'));
  const error = await rejectsWith(assert, store.load('plugins.clock'), 'E_VALIDATION');
  assert.ok(error.violations.length > 0);
  assert.deepEqual(fs.readFileSync(store.path('plugins.clock')), before);
});
