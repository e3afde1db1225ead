// What Node writes, the `statevault` command line and the Rust API read, and the reverse.
// Both are built from this workspace with cargo (debug) on first use.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');

const statevault = require('..');
const { tempDir, layout, preferences, cargoBinary } = require('./helpers');

test('Node -> CLI and Rust; CLI and Rust -> Node', async (t) => {
  const cli = cargoBinary('statevault-cli', { bin: 'statevault' });
  const rust = cargoBinary('statevault-node', { example: 'interop' });
  const dir = tempDir(t);

  const store = await statevault.open({ dir, encryption: false });
  await store.save('layout.default', layout);
  await store.saveBatch([
    { type: 'save', key: 'settings.preferences', data: preferences },
    { type: 'save', key: 'plugins.node', data: { from: 'node', n: [1, 2, 3] } },
  ]);
  // The command line opens read-only: it reads while Node holds the writer lock.
  const got = execFileSync(cli, ['--dir', dir, '--json', 'get', 'layout.default'], { encoding: 'utf8' });
  assert.deepEqual(JSON.parse(got), layout);
  const fromBatch = execFileSync(cli, ['--dir', dir, '--json', 'get', 'settings.preferences'], { encoding: 'utf8' });
  assert.deepEqual(JSON.parse(fromBatch), preferences);
  await store.close();

  const read = execFileSync(rust, ['read', dir, 'plugins.node'], { encoding: 'utf8' });
  assert.deepEqual(JSON.parse(read), { from: 'node', n: [1, 2, 3] });

  execFileSync(rust, ['write', dir, 'plugins.rust', JSON.stringify({ from: 'rust' })]);
  const changed = { ...preferences, theme: 'light' };
  execFileSync(cli, ['--dir', dir, 'set', 'settings.preferences', '-'], { input: JSON.stringify(changed) });

  const again = await statevault.open({ dir, encryption: false });
  t.after(() => again.close());
  assert.deepEqual(await again.load('plugins.rust'), { from: 'rust' });
  assert.deepEqual(await again.load('settings.preferences'), changed);
});
