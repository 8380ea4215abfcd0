import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BoundedFrequencyRunner, ManualTimers, type SyncRequest } from './runner.js';

function setup(fail: () => boolean = () => false) {
  const timers = new ManualTimers();
  const runs: Array<SyncRequest & { at: number }> = [];
  const runner = new BoundedFrequencyRunner(
    (req) => {
      runs.push({ ...req, at: timers.now() });
      if (fail()) throw new Error('restore failed');
    },
    { minIntervalMs: 1000, maxIntervalMs: 60_000, retryIntervalMs: 5000, timers },
  );
  return { timers, runs, runner };
}

/** Advances time and lets the (async) sync settle. */
async function step(timers: ManualTimers, runner: BoundedFrequencyRunner, ms: number) {
  timers.advance(ms);
  await runner.idle();
}

describe('bounded-frequency runner', () => {
  test('nothing runs before markSynced; the first run is full', async () => {
    const { timers, runs, runner } = setup();
    runner.run();
    await step(timers, runner, 10_000);
    assert.equal(runs.length, 0);
    runner.markSynced();
    await step(timers, runner, 0);
    assert.deepEqual(runs, [{ full: true, reason: 'initial', at: 10_000 }]);
  });

  test('a burst gets two runs at once (kube-proxy burstSyncs), the rest merge into one partial run', async () => {
    const { timers, runs, runner } = setup();
    runner.markSynced();
    await step(timers, runner, 0);
    for (let i = 0; i < 5; i++) {
      runner.run();
      await step(timers, runner, 100);
    }
    await step(timers, runner, 1000);
    assert.deepEqual(
      runs.map((r) => [r.at, r.full, r.reason]),
      [
        [0, true, 'initial'],
        [0, false, 'requested'],
        [1000, false, 'requested'],
      ],
    );
  });

  test('a request long after the last run runs at once', async () => {
    const { timers, runs, runner } = setup();
    runner.markSynced();
    await step(timers, runner, 5000);
    runner.run();
    await step(timers, runner, 0);
    assert.deepEqual(runs.at(-1), { full: false, reason: 'requested', at: 5000 });
  });

  test('without requests a periodic full resync happens every maxInterval', async () => {
    const { timers, runs, runner } = setup();
    runner.markSynced();
    await step(timers, runner, 0);
    await step(timers, runner, 60_000);
    await step(timers, runner, 60_000);
    assert.deepEqual(
      runs.map((r) => [r.at, r.full, r.reason]),
      [
        [0, true, 'initial'],
        [60_000, true, 'periodic'],
        [120_000, true, 'periodic'],
      ],
    );
  });

  test('a failed run is retried after retryInterval, and the retry is full', async () => {
    let failures = 1;
    const { timers, runs, runner } = setup(() => failures-- > 0);
    runner.markSynced();
    await step(timers, runner, 0);
    await step(timers, runner, 5000);
    runner.run();
    await step(timers, runner, 1000);
    assert.deepEqual(
      runs.map((r) => [r.at, r.full, r.reason]),
      [
        [0, true, 'initial'],
        [5000, true, 'retry'],
        // The bucket refilled during the 5 s wait, so the request right after the retry runs at once.
        [5000, false, 'requested'],
      ],
    );
  });

  test('stop cancels future runs', async () => {
    const { timers, runs, runner } = setup();
    runner.markSynced();
    await step(timers, runner, 0);
    runner.stop();
    runner.run();
    await step(timers, runner, 120_000);
    assert.equal(runs.length, 1);
    assert.equal(timers.size, 0);
  });
});
