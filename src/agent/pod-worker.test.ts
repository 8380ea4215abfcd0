import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { Pod } from '../api/types/index.js';
import { PodWorker, podStartLine } from './pod-worker.js';
import { CrashBackoff } from './runtime/backoff.js';
import { DEFAULT_CLUSTER_DNS, parseResolvConf } from './runtime/dns.js';

describe('pod start timing', () => {
  test('the log line names the pod, the total and each phase in order, in whole milliseconds', () => {
    const phases: [string, number][] = [
      ['queue', 0.2],
      ['sandbox', 26.4],
      ['files', 1],
      ['containers', 15.6],
      ['status', 9],
    ];
    assert.equal(
      podStartLine('default/web', 52.3, phases),
      'pod default/web started in 52 ms (queue 0 ms, sandbox 26 ms, files 1 ms, containers 16 ms, status 9 ms)',
    );
  });

  test('a worker records sandbox, files and containers of its first start once', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'svcnet-worker-'));
    try {
      let sandboxes = 0;
      const pod: Pod = {
        metadata: { name: 'web', namespace: 'default', uid: 'u-1' },
        // Not a builtin image and no command: the container reports an image error without a process being started.
        spec: { containers: [{ name: 'app', image: 'example.com/app:1' }] },
      };
      const worker = new PodWorker(pod, {
        hostIP: '172.18.0.2',
        stateDir,
        dns: DEFAULT_CLUSTER_DNS,
        nodeResolv: parseResolvConf(''),
        imageCommand: ['true'],
        services: () => [],
        config: { configMap: async () => undefined, secret: async () => undefined },
        sandboxes: {
          create: async () => {
            sandboxes++;
            await new Promise((r) => setTimeout(r, 20));
            return { ip: '10.244.1.2', netnsPath: '/var/run/netns/none' };
          },
          destroy: async () => {},
        },
        backoff: new CrashBackoff(),
        resync: () => {},
        log: () => {},
      });
      await worker.sync(pod);
      assert.deepEqual([...worker.startPhases.keys()], ['sandbox', 'files', 'containers']);
      assert.ok(
        worker.startPhases.get('sandbox')! >= 15,
        `sandbox phase ${worker.startPhases.get('sandbox')} ms covers the sandbox creation`,
      );
      const first = [...worker.startPhases.values()];
      await worker.sync(pod);
      assert.equal(sandboxes, 1);
      assert.deepEqual([...worker.startPhases.values()], first, 'later syncs leave the first start as it was');
      assert.equal(worker.runtimeState().containers[0]?.state.kind, 'waiting');
    } finally {
      rmSync(stateDir, { recursive: true, force: true });
    }
  });
});
