// statevault through the addon beside conf (electron-store's engine), in one run, on the same
// kind of folder (fresh folders under the OS temporary folder):
//   - set one 1 KiB key in stores of 10, 1,000 and 10,000 keys;
//   - get one key from those stores;
//   - append one message to a 10,000-message conversation history.
// statevault runs with its defaults (durability 'full': fsync of the file and the folder;
// history.* encrypted and compressed, here with a key held by the app); conf with its own
// (atomic write with fsync, the whole store in one JSON file). Each cell is the median of
// repeated operations, run for a bounded time, so the whole run takes a minute or two.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Conf from 'conf';
import { open } from '../index.mjs';

const SIZES = [10, 1000, 10000];
const BUDGET_MS = Number(process.env.BENCH_BUDGET_MS ?? 1500);
const MAX_RUNS = 200;
const value = { text: 'x'.repeat(1000) }; // 1 KiB of JSON with its key
const base = fs.mkdtempSync(path.join(os.tmpdir(), 'statevault-bench-'));
process.on('exit', () => fs.rmSync(base, { recursive: true, force: true }));

async function measure(fn) {
  const times = [];
  const end = performance.now() + BUDGET_MS;
  while ((times.length < 5 || performance.now() < end) && times.length < MAX_RUNS) {
    const start = performance.now();
    await fn(times.length);
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return { median: times[Math.floor(times.length / 2)], runs: times.length };
}

function confStore(name, keys) {
  const conf = new Conf({ cwd: path.join(base, name), projectName: 'bench', configName: 'store' });
  const data = {};
  for (let i = 0; i < keys; i++) data[`k${i}`] = value;
  conf.store = data;
  return conf;
}

async function statevaultStore(name, keys) {
  const store = await open({ dir: path.join(base, name), encryption: { key: Buffer.alloc(32, 1) } });
  for (let start = 0; start < keys; start += 1000) {
    const ops = [];
    for (let i = start; i < Math.min(keys, start + 1000); i++) ops.push({ type: 'save', key: `plugins.k${i}`, data: value });
    await store.saveBatch(ops);
  }
  return store;
}

function history(messages) {
  const list = [];
  for (let i = 0; i < messages; i++) {
    list.push({ id: `m${i}`, role: i % 2 ? 'assistant' : 'user', content: `message ${i} `.repeat(8), timestamp: 1764126000000 + i });
  }
  return {
    version: '1.0.0',
    conversations: [{ id: 'c1', createdAt: 1764126000000, updatedAt: 1764126000000, messages: list }],
    metadata: { totalCount: 1, lastUpdated: 1764126000000, totalTokens: 0 },
  };
}

const rows = [];
function row(name, conf, sv) {
  rows.push({ name, conf, statevault: sv, speedup: conf.median / sv.median });
  const f = (r) => `${r.median.toFixed(3)} ms (${r.runs} runs)`;
  console.log(`${name.padEnd(44)} conf ${f(conf).padEnd(26)} statevault ${f(sv).padEnd(26)} ${(conf.median / sv.median).toFixed(1)}x`);
}

for (const keys of SIZES) {
  const conf = confStore(`conf-${keys}`, keys);
  const store = await statevaultStore(`sv-${keys}`, keys);
  const set = [
    await measure((i) => conf.set('k0', { ...value, i })),
    await measure((i) => store.save('plugins.k0', { ...value, i })),
  ];
  row(`set one 1 KiB key, store of ${keys} keys`, ...set);
  const get = [await measure(() => conf.get('k1')), await measure(() => store.load('plugins.k1'))];
  row(`get one key, store of ${keys} keys`, ...get);
  await store.close();
}

{
  const conf = new Conf({ cwd: path.join(base, 'conf-history'), projectName: 'bench', configName: 'store' });
  conf.set('history', history(10000));
  const store = await open({ dir: path.join(base, 'sv-history'), encryption: { key: Buffer.alloc(32, 1) } });
  await store.save('history.conversations', history(10000));
  const message = (i) => ({ id: `n${i}`, role: 'user', content: 'one more message', timestamp: 1764127000000 + i });
  const append = [
    await measure((i) => {
      const h = conf.get('history');
      h.conversations[0].messages.push(message(i));
      conf.set('history', h);
    }),
    await measure(async (i) => {
      const h = await store.load('history.conversations');
      h.conversations[0].messages.push(message(i));
      await store.save('history.conversations', h);
    }),
  ];
  row('append one message to a 10,000-message history', ...append);
  await store.close();
}

console.log('\n| operation | conf (median) | statevault (median) | statevault vs conf |');
console.log('| --- | ---: | ---: | ---: |');
for (const r of rows) {
  console.log(`| ${r.name} | ${r.conf.median.toFixed(3)} ms | ${r.statevault.median.toFixed(3)} ms | ${r.speedup.toFixed(1)}× |`);
}
console.log(`\nnode ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? 'unknown'}), ${os.platform()} ${os.release()}, folder ${os.tmpdir()}`);
