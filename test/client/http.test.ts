/**
 * The client conformance suite over HTTPS: HttpClient, configured from the generated kubeconfig,
 * against the control plane `svcnet up --foreground` runs (HTTPS, token auth, SQLite store,
 * controllers), started in-process so the test can compact its store.
 */

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { HttpClient } from '../../src/client/http.js';
import { R } from '../../src/client/types.js';
import { startControlPlane } from '../../src/cluster/control-plane.js';
import { loadKubeconfig } from '../../src/cluster/kubeconfig.js';
import { StateDir } from '../../src/cluster/state-dir.js';
import { clientConformance } from './conformance.js';

clientConformance('HTTP client over HTTPS (SQLite store)', async () => {
  const root = mkdtempSync(join(tmpdir(), 'svcnet-client-http-'));
  const sd = new StateDir(root);
  const cp = await startControlPlane(sd, {
    host: '127.0.0.1',
    port: 0,
    store: 'sqlite',
    serviceCIDR: '10.96.0.0/12',
    nodePortRange: '30000-32767',
  });
  const client = new HttpClient(loadKubeconfig(sd.kubeconfig));
  return {
    client,
    compact: async () => cp.store.compact(await cp.store.currentRevision()),
    close: async () => {
      client.close();
      await cp.close();
      rmSync(root, { recursive: true, force: true });
    },
  };
});

test('HttpClient: more open watches than its connection pool does not starve other requests', async () => {
  const root = mkdtempSync(join(tmpdir(), 'svcnet-client-watches-'));
  const sd = new StateDir(root);
  const cp = await startControlPlane(sd, {
    host: '127.0.0.1',
    port: 0,
    store: 'memory',
    serviceCIDR: '10.96.0.0/12',
    nodePortRange: '30000-32767',
  });
  const client = new HttpClient(loadKubeconfig(sd.kubeconfig));
  try {
    // The pool for ordinary requests holds 64 connections; 100 watches must not take them.
    const watches = await Promise.all(
      Array.from({ length: 100 }, () => client.watch(R.configmaps, { namespace: 'default', resourceVersion: '0' })),
    );
    const made = await client.create(R.configmaps, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'after-watches', namespace: 'default' },
    });
    assert.equal(made.metadata.name, 'after-watches');
    for (const w of watches) w.close();
  } finally {
    client.close();
    await cp.close();
    rmSync(root, { recursive: true, force: true });
  }
});
