// Killed processes: a child killed with SIGKILL in the middle of saveBatch leaves all of the
// batch or none of it.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { spawn } = require('node:child_process');

const statevault = require('..');
const { tempDir } = require('./helpers');

const ROUNDS = 6;
const KEYS = 40;

/** A child that commits batches of KEYS keys, all holding the round number, in a loop. */
function writer(dir) {
  const script = `
    const statevault = require(${JSON.stringify(path.join(__dirname, '..'))});
    (async () => {
      const store = await statevault.open({ dir: ${JSON.stringify(dir)}, encryption: false });
      process.stdout.write('ready\\n');
      for (let round = 1; ; round++) {
        const ops = [];
        for (let i = 0; i < ${KEYS}; i++) {
          ops.push({ type: 'save', key: 'plugins.k' + i, data: { round, pad: 'x'.repeat(2000) } });
        }
        await store.saveBatch(ops);
      }
    })();`;
  return spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
}

test(`SIGKILL during saveBatch leaves all of a batch or none (${ROUNDS} rounds)`, async (t) => {
  const dir = tempDir(t);
  const rounds = new Set();
  for (let attempt = 0; attempt < ROUNDS; attempt++) {
    const child = writer(dir);
    await new Promise((resolve, reject) => {
      child.stdout.once('data', resolve);
      child.once('exit', (code) => reject(new Error(`writer exited with ${code} before it was ready`)));
    });
    // Let it commit for a while, a different time each round.
    await new Promise((resolve) => setTimeout(resolve, 40 + attempt * 37));
    const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(signal)));
    child.kill('SIGKILL');
    assert.equal(await exited, 'SIGKILL');

    const store = await statevault.open({ dir, encryption: false });
    const keys = Array.from({ length: KEYS }, (_, i) => `plugins.k${i}`);
    const values = await store.loadBatch(keys);
    const seen = new Set([...values.values()].map((v) => v.round));
    await store.close();
    assert.ok(values.size === 0 || values.size === KEYS, `round ${attempt}: ${values.size} of ${KEYS} keys`);
    assert.ok(seen.size <= 1, `round ${attempt}: keys of several batches mixed: ${[...seen]}`);
    rounds.add([...seen][0]);
  }
  // The child committed batches at all (else the test proves nothing).
  assert.ok([...rounds].some((r) => r > 1), `batches committed: ${[...rounds]}`);
});
