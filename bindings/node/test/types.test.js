// `tsc --strict` over a consumer that imports the package by its name and uses every method.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const PACKAGE = path.join(__dirname, '..');

test('tsc --strict compiles a consumer of every method, and rejects misuse', (t) => {
  // The consumer resolves `statevault` as an installed package would: node_modules/statevault.
  const project = fs.mkdtempSync(path.join(os.tmpdir(), 'statevault-types-'));
  t.after(() => fs.rmSync(project, { recursive: true, force: true }));
  for (const file of fs.readdirSync(path.join(__dirname, 'types'))) {
    fs.copyFileSync(path.join(__dirname, 'types', file), path.join(project, file));
  }
  fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'consumer', type: 'module' }));
  fs.mkdirSync(path.join(project, 'node_modules'));
  fs.symlinkSync(PACKAGE, path.join(project, 'node_modules', 'statevault'), 'dir');
  const tsc = path.join(PACKAGE, 'node_modules', 'typescript', 'bin', 'tsc');
  const run = spawnSync(process.execPath, [tsc, '-p', project], { encoding: 'utf8' });
  assert.equal(run.status, 0, `tsc failed:\n${run.stdout}${run.stderr}`);

  // And a consumer that misuses a type does fail: the check is not vacuous.
  fs.writeFileSync(path.join(project, 'consumer.ts'), "import { open } from 'statevault';\nexport const s: number = open({ dir: 'x' });\n");
  const bad = spawnSync(process.execPath, [tsc, '-p', project], { encoding: 'utf8' });
  assert.notEqual(bad.status, 0, 'tsc accepted a wrong type');
  assert.match(bad.stdout, /TS2322/);
});
