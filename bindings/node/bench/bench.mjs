// statevault through the addon beside conf (electron-store's engine), in one run, on the same
// kind of folder (fresh folders under the OS temporary folder):
//   - set one 1 KiB key in stores of 10, 1,000 and 10,000 keys;
//   - get one key from those stores;
//   - append one message to a 10,000-message conversation history (statevault's `append`, and a
//     load, push and whole save as conf has to).
// statevault runs with its defaults (durability 'full': fsync of the file and the folder;
// history.* encrypted and compressed, here with a key held by the app); conf with its own
// (atomic write with fsync, the whole store in one JSON file). The two run in turns (one conf
// operation, one statevault operation, …) so that both see the same load on a shared machine;
// each cell is the median of the repeated operations, run for a bounded time, so the whole run
// takes a minute or two.
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

/** Runs the functions in turns (after one warm-up run each) and returns the median of each. */
async function measure(...fns) {
  const times = fns.map(() => []);
  for (const fn of fns) await fn(-1);
  const end = performance.now() + BUDGET_MS;
  while ((times[0].length < 5 || performance.now() < end) && times[0].length < MAX_RUNS) {
    const i = times[0].length;
    for (const [n, fn] of fns.entries()) {
      const start = performance.now();
      await fn(i);
      times[n].push(performance.now() - start);
    }
  }
  return times.map((list) => {
    list.sort((x, y) => x - y);
    return { median: list[Math.floor(list.length / 2)], runs: list.length };
  });
}

function confStore(name, keys) {
  const conf = new Conf({ cwd: path.join(base, name), projectName: 'bench', configName: 'store' });
  const data = {};
  for (let i = 0; i < keys; i++) data[`k${i}`] = value;
  conf.store = data;
  return conf;
}

async function statevaultStore(name, keys, durability = 'full') {
  const store = await open({ dir: path.join(base, name), durability, encryption: { key: Buffer.alloc(32, 1) } });
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
const ms = (r) => (r ? `${r.median.toFixed(3)} ms` : '—');
const ratio = (conf, r) => (r ? `${(conf.median / r.median).toFixed(1)}×` : '—');
function row(name, conf, full, normal) {
  rows.push({ name, conf, full, normal });
  console.log(`${name.padEnd(50)} conf ${ms(conf).padEnd(12)} statevault ${ms(full).padEnd(12)} ${ratio(conf, full).padEnd(8)} normal ${ms(normal).padEnd(12)} ${ratio(conf, normal)}`);
}

for (const keys of SIZES) {
  const conf = confStore(`conf-${keys}`, keys);
  const full = await statevaultStore(`sv-${keys}`, keys);
  const normal = await statevaultStore(`svn-${keys}`, keys, 'normal');
  const set = (store, method) => (i) => store[method]('plugins.k0', { ...value, i });
  const confSet = (i) => conf.set('k0', { ...value, i });
  row(`set one 1 KiB key, ${keys} keys (save)`, ...(await measure(confSet, set(full, 'save'), set(normal, 'save'))));
  row(`set one 1 KiB key, ${keys} keys (saveSync)`, ...(await measure(confSet, set(full, 'saveSync'), set(normal, 'saveSync'))));
  const confGet = () => conf.get('k1');
  row(`get one key, ${keys} keys (load)`, ...(await measure(confGet, () => full.load('plugins.k1'))));
  row(`get one key, ${keys} keys (loadSync)`, ...(await measure(confGet, () => full.loadSync('plugins.k1'))));
  await full.close();
  await normal.close();
}

{
  const conf = new Conf({ cwd: path.join(base, 'conf-history'), projectName: 'bench', configName: 'store' });
  conf.set('history', history(10000));
  const stores = [];
  for (const durability of ['full', 'normal']) {
    const store = await open({ dir: path.join(base, `sv-history-${durability}`), durability, encryption: { key: Buffer.alloc(32, 1) } });
    await store.save('history.conversations', history(10000));
    stores.push(store);
  }
  const message = (i) => ({ id: `n${i}`, role: 'user', content: 'one more message', timestamp: 1764127000000 + i });
  const append = (store) => async (i) => {
    const h = await store.load('history.conversations');
    h.conversations[0].messages.push(message(i));
    await store.save('history.conversations', h);
  };
  const confAppend = (i) => {
    const h = conf.get('history');
    h.conversations[0].messages.push(message(i));
    conf.set('history', h);
  };
  // statevault's append: one journal record of the patch, the history neither read nor rewritten.
  const patchAppend = (store) => async (i) => {
    await store.append('history.conversations', '/conversations/0/messages', message(i));
  };
  row('append one message to a 10,000-message history', ...(await measure(confAppend, ...stores.map(patchAppend))));
  // In turns, statevault's one data-only fdatasync also commits the file system's journal that
  // holds conf's rename of its 10 MiB file; measured alone, each pays only for its own writes.
  const [confAlone] = await measure(confAppend);
  const svAlone = [];
  for (const store of stores) svAlone.push((await measure(patchAppend(store)))[0]);
  row('  the same, each measured alone (not in turns)', confAlone, ...svAlone);
  row('  the same as load, push, save whole', ...(await measure(confAppend, ...stores.map(append))));
  for (const store of stores) await store.close();
}

console.log('\n| operation | conf | statevault (full) | vs conf | statevault (normal) | vs conf |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
for (const r of rows) {
  console.log(`| ${r.name} | ${ms(r.conf)} | ${ms(r.full)} | ${ratio(r.conf, r.full)} | ${ms(r.normal)} | ${ratio(r.conf, r.normal)} |`);
}
console.log(`\nnode ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? 'unknown'}), ${os.platform()} ${os.release()}, folder ${os.tmpdir()}, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
