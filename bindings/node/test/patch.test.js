// JSON Patch through the real addon: patch and append commit the change, not the document;
// failures name the operation and change nothing; batches carry patches; listeners see the
// patched value; another handle reads patches still pending in the journal.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');

const statevault = require('..');
const { tempDir, history, rejectsWith, throwsWith } = require('./helpers');

const message = (i) => ({ id: `n${i}`, role: 'user', content: `appended ${i}`, timestamp: 1764127000000 + i });

test('append adds a message to a history; every load sees it at once', async (t) => {
  const dir = tempDir(t);
  const store = await statevault.open({ dir, encryption: false });
  t.after(() => store.close());
  await store.save('history.conversations', history(3));
  await store.append('history.conversations', '/conversations/0/messages', message(1));
  store.appendSync('history.conversations', '/conversations/0/messages', message(2));
  const loaded = await store.load('history.conversations');
  assert.deepEqual(loaded.conversations[0].messages.slice(3), [message(1), message(2)]);
  // A read-only handle in this process reads the journal's patches too.
  const reader = await statevault.open({ dir, readOnly: true, encryption: false });
  t.after(() => reader.close());
  assert.deepEqual(await reader.load('history.conversations'), loaded);
});

test('a failing operation rejects with E_PATCH and changes nothing', async (t) => {
  const store = await statevault.open({ dir: tempDir(t), encryption: false });
  t.after(() => store.close());
  await store.save('plugins.todo', { done: 0, items: ['a'] });
  const error = await rejectsWith(
    assert,
    store.patch('plugins.todo', [
      { op: 'replace', path: '/done', value: 1 },
      { op: 'test', path: '/items/0', value: 'z' },
    ]),
    'E_PATCH',
  );
  assert.match(error.message, /operation 1/);
  assert.deepEqual(await store.load('plugins.todo'), { done: 0, items: ['a'] });
  await rejectsWith(assert, store.append('plugins.missing', '/items', 1), 'E_NOT_FOUND');
  throwsWith(assert, () => store.patchSync('plugins.todo', { op: 'add' }), 'E_INVALID_INPUT');
  // An invalid result of a registered document is refused like a save.
  await store.save('history.conversations', history(1));
  await rejectsWith(
    assert,
    store.append('history.conversations', '/conversations/0/messages', { id: 'x', role: 'robot', content: '', timestamp: 1 }),
    'E_VALIDATION',
  );
});

test('saveBatch carries patches beside saves and deletes; listeners see the patched value', async (t) => {
  const store = await statevault.open({ dir: tempDir(t), encryption: false });
  t.after(() => store.close());
  await store.save('plugins.todo', { items: [] });
  await store.save('plugins.old', 1);
  const seen = [];
  store.onDidChange('plugins.todo', (value, old) => seen.push([value, old]));
  await store.saveBatch([
    { type: 'patch', key: 'plugins.todo', patch: [{ op: 'add', path: '/items/-', value: 'x' }] },
    { type: 'delete', key: 'plugins.old' },
  ]);
  assert.deepEqual(await store.load('plugins.todo'), { items: ['x'] });
  assert.equal(await store.exists('plugins.old'), false);
  await store.patch('plugins.todo', [{ op: 'add', path: '/items/-', value: 'y' }]);
  assert.deepEqual(seen, [
    [{ items: ['x'] }, { items: [] }],
    [{ items: ['x', 'y'] }, { items: ['x'] }],
  ]);
});

test('an encrypted key is patched without plaintext in the journal or its file', async (t) => {
  const dir = tempDir(t);
  const store = await statevault.open({ dir, encryption: { key: Buffer.alloc(32, 9) } });
  t.after(() => store.close());
  await store.save('history.conversations', history(2), { encrypt: true, compression: true });
  const secret = { id: 's', role: 'user', content: 'passport X1234567', timestamp: 5 };
  await store.append('history.conversations', '/conversations/0/messages', secret);
  const journal = path.join(dir, '.statevault', 'journal');
  for (const name of fs.readdirSync(journal)) {
    assert.ok(!fs.readFileSync(path.join(journal, name)).includes('X1234567'), `no plaintext in ${name}`);
  }
  await store.checkpoint();
  const file = fs.readFileSync(path.join(dir, 'history', 'conversations.json'));
  assert.ok(!file.includes('X1234567'), 'no plaintext in the file');
  const loaded = await store.load('history.conversations');
  assert.deepEqual(loaded.conversations[0].messages[2], secret);
});
