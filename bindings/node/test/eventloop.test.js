// The event loop stays responsive while durable saves run: the work is on the libuv pool.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');

const statevault = require('..');
const { tempDir, layout } = require('./helpers');

/** The largest lag a 10 ms timer may show: generous for a loaded 2-core CI machine. */
const MAX_LAG_MS = 200;
const SAVES = 1000;

test(`a timer's lag stays under ${MAX_LAG_MS} ms while ${SAVES} durable saves run`, async (t) => {
  const store = await statevault.open({ dir: tempDir(t), durability: 'full', encryption: false });
  t.after(() => store.close());
  let worst = 0;
  let ticks = 0;
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    worst = Math.max(worst, now - last - 10);
    last = now;
    ticks += 1;
  }, 10);
  const started = performance.now();
  // Four in flight at a time (the libuv pool's default size), 1,000 in all.
  let next = 0;
  const worker = async () => {
    while (next < SAVES) {
      const i = next++;
      await store.save(`layout.l${i % 250}`, { ...layout, timestamp: i });
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  const elapsed = performance.now() - started;
  clearInterval(timer);
  t.diagnostic(`${SAVES} saves in ${elapsed.toFixed(0)} ms; ${ticks} ticks; worst timer lag ${worst.toFixed(1)} ms`);
  assert.ok(ticks > 0, 'the timer ran while the saves were in flight');
  assert.ok(worst < MAX_LAG_MS, `worst lag ${worst.toFixed(1)} ms`);
});
