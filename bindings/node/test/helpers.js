// Shared by the tests: temporary stores, the built-in documents, and the Rust binaries (the
// `statevault` command line and the interop example) built with cargo from this workspace.
'use strict';

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

const ROOT = path.resolve(__dirname, '..', '..', '..');

function tempDir(t, name = 'store') {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'statevault-node-'));
  t.after(() => fs.rmSync(base, { recursive: true, force: true }));
  return path.join(base, name);
}

const layout = {
  version: '1.0.0',
  timestamp: 1764126784000,
  layout: {
    chat: { i: 'chat', x: 0, y: 0, w: 6, h: 4, minW: 2, static: false },
    terminal: { i: 'terminal', x: 6, y: 0, w: 6, h: 4, moved: false, resizeHandles: ['se', 'e'] },
  },
  instances: {
    chat: { id: 'chat', widgetType: 'chat', title: 'Assistant', config: { model: 'local' }, state: {} },
    terminal: { id: 'terminal', widgetType: 'terminal', config: {}, state: { cwd: '/home' } },
  },
  metadata: { name: 'Default', description: 'Two columns', tags: ['work'] },
};

const preferences = {
  version: '1.0.0',
  theme: 'dark',
  language: 'en-GB',
  keyBindings: { 'palette.open': 'CmdOrCtrl+K' },
  ui: { sidebarCollapsed: false, gridDensity: 'compact', showGridLines: true },
  privacy: { telemetryEnabled: false, crashReportingEnabled: true },
};

function history(messages = 2) {
  const list = [];
  for (let i = 0; i < messages; i++) {
    list.push({
      id: `m${i}`,
      role: i % 2 ? 'assistant' : 'user',
      content: `message number ${i}: the secret plan is ${i * 7}`,
      timestamp: 1764126000000 + i,
      tokens: 10,
    });
  }
  return {
    version: '1.0.0',
    conversations: [
      { id: 'c1', title: 'Planning', createdAt: 1764126000000, updatedAt: 1764126784000, messages: list, tags: ['x'] },
    ],
    metadata: { totalCount: 1, lastUpdated: 1764126784000, totalTokens: 10 * messages },
  };
}

const config = {
  version: '1.0.0',
  window: { bounds: { x: -1200, y: 40, width: 1280, height: 800 }, maximized: false, fullscreen: false, displayId: 7 },
  paths: { dataDir: '/home/ada/.local/share/app' },
  featureFlags: { newGrid: true },
  logLevel: 'debug',
  updates: { channel: 'beta', checkAutomatically: true },
};

const built = new Map();
/** Builds (once per run) and returns the path of a binary of this workspace. */
function cargoBinary(pkg, { example, bin } = {}) {
  const id = `${pkg}/${example ?? bin}`;
  if (built.has(id)) return built.get(id);
  const args = ['build', '--quiet', '-p', pkg];
  if (example) args.push('--example', example);
  else args.push('--bin', bin);
  execFileSync('cargo', args, { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
  const target = process.env.CARGO_TARGET_DIR ?? path.join(ROOT, 'target');
  const file = example ? path.join(target, 'debug', 'examples', example) : path.join(target, 'debug', bin);
  built.set(id, file);
  return file;
}

/** Asserts that `promise` rejects with an Error of `code` and returns the error. */
async function rejectsWith(assert, promise, code) {
  let error;
  try {
    await promise;
  } catch (e) {
    error = e;
  }
  assert.ok(error instanceof Error, `expected a rejection with ${code}`);
  assert.equal(error.code, code, `${error.message}`);
  return error;
}

function throwsWith(assert, fn, code) {
  let error;
  try {
    fn();
  } catch (e) {
    error = e;
  }
  assert.ok(error instanceof Error, `expected a throw with ${code}`);
  assert.equal(error.code, code, `${error.message}`);
  return error;
}

module.exports = {
  ROOT,
  tempDir,
  layout,
  preferences,
  history,
  config,
  cargoBinary,
  rejectsWith,
  throwsWith,
};
