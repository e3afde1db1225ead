// Encryption at rest: a key the application holds, the default policy for history, and the OS
// keychain (Secret Service) when the test runs under scripts/with-keychains.sh.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');

const statevault = require('..');
const { tempDir, history, rejectsWith } = require('./helpers');

const SECRET = 'the secret plan is';

test('a Buffer key: history is encrypted by default and its file holds no plaintext', async (t) => {
  const dir = tempDir(t);
  const key = Buffer.alloc(32, 42);
  const store = await statevault.open({ dir, encryption: { key } });
  await store.save('history.conversations', history(5));
  await store.save('plugins.notes', { text: `${SECRET} public` }, { encrypt: true });
  await store.save('plugins.open', { text: `${SECRET} public` });
  await store.checkpoint();
  for (const k of ['history.conversations', 'plugins.notes']) {
    const bytes = fs.readFileSync(store.path(k));
    assert.equal(bytes.includes(SECRET), false, `${k} holds plaintext`);
  }
  assert.equal(fs.readFileSync(store.path('plugins.open')).includes(SECRET), true, 'unencrypted key is plain');
  await store.close();
  const again = await statevault.open({ dir, encryption: { key } });
  t.after(() => again.close());
  assert.deepEqual(await again.load('history.conversations'), history(5));
  assert.deepEqual(await again.load('plugins.notes'), { text: `${SECRET} public` });
});

test('encryption off: history is stored plain, and an explicit encrypt is refused', async (t) => {
  const store = await statevault.open({ dir: tempDir(t), encryption: false });
  t.after(() => store.close());
  await store.save('history.conversations', history(1));
  await store.checkpoint();
  assert.equal(fs.readFileSync(store.path('history.conversations')).includes(SECRET), true);
  await rejectsWith(assert, store.save('history.conversations', history(1), { encrypt: true }), 'E_KEY_UNAVAILABLE');
});

const keychain = process.env.STATEVAULT_TEST_SECRET_SERVICE === '1';
test('the OS keychain (Secret Service) holds the key', { skip: !keychain && 'run under scripts/with-keychains.sh' }, async (t) => {
  const dir = tempDir(t);
  const store = await statevault.open({ dir });
  await store.save('history.conversations', history(3));
  await store.checkpoint();
  assert.equal(fs.readFileSync(store.path('history.conversations')).includes(SECRET), false);
  await store.close();
  const again = await statevault.open({ dir });
  assert.deepEqual(await again.load('history.conversations'), history(3));
  await again.close();
  // The key lives in the keychain only: without it the file does not decrypt.
  const without = await statevault.open({ dir, encryption: false });
  t.after(() => without.close());
  await rejectsWith(assert, without.load('history.conversations'), 'E_KEY_UNAVAILABLE');
});
