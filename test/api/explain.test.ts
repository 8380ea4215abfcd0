/**
 * Real `kubectl explain` against the OpenAPI v3 documents, served by a throwaway HTTP server
 * (aggregated discovery built from the resource registry plus /openapi/v3), so the schemas,
 * `$ref`s and GVK extensions are checked by the client that actually reads them.
 */

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { groupVersions, type ResourceInfo } from '../../src/api/resources.js';
import { openapiV3Index, openapiV3Response } from '../../src/apiserver/openapi.js';

const run = promisify(execFile);
const AGGREGATED = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList';

function discoveryResource(r: ResourceInfo) {
  return {
    resource: r.resource,
    responseKind: { group: r.group, version: r.version, kind: r.kind },
    scope: r.namespaced ? 'Namespaced' : 'Cluster',
    singularResource: r.singular,
    verbs: r.verbs,
    shortNames: r.shortNames,
    categories: r.categories,
    subresources: r.subresources.map((s) => ({ subresource: s.name, responseKind: s.responseKind, verbs: s.verbs })),
  };
}

function aggregated(core: boolean) {
  const byGroup = new Map<string, { metadata: { name: string }; versions: unknown[] }>();
  for (const gv of groupVersions()) {
    if ((gv.group === '') !== core) continue;
    const entry = byGroup.get(gv.group) ?? { metadata: { name: gv.group }, versions: [] };
    entry.versions.push({ version: gv.version, resources: gv.resources.map(discoveryResource), freshness: 'Current' });
    byGroup.set(gv.group, entry);
  }
  return { kind: 'APIGroupDiscoveryList', apiVersion: 'apidiscovery.k8s.io/v2', metadata: {}, items: [...byGroup.values()] };
}

let server: Server;
let url: string;
let cacheDir: string;

before(async () => {
  cacheDir = await mkdtemp(join(tmpdir(), 'svcnet-explain-'));
  server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const json = (body: unknown, type = 'application/json') => {
      res.writeHead(200, { 'Content-Type': type });
      res.end(typeof body === 'string' ? body : JSON.stringify(body));
    };
    if (path === '/api' || path === '/apis') return json(aggregated(path === '/api'), AGGREGATED);
    if (path === '/version') return json({ major: '1', minor: '32', gitVersion: 'v1.32.0' });
    if (path === '/openapi/v3') return json(openapiV3Index());
    const doc = path.startsWith('/openapi/v3/') ? openapiV3Response(path) : undefined;
    if (doc) {
      res.writeHead(200, { 'Content-Type': 'application/json', ETag: doc.etag });
      return res.end(doc.body);
    }
    res.writeHead(404, { 'Content-Type': 'text/plain' });
    res.end('404 page not found');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await rm(cacheDir, { recursive: true, force: true });
});

async function explain(...args: string[]): Promise<string> {
  const { stdout } = await run('kubectl', [`--server=${url}`, `--cache-dir=${cacheDir}`, 'explain', ...args], {
    env: { ...process.env, KUBECONFIG: '/dev/null' },
    timeout: 30_000,
  });
  return stdout;
}

describe('kubectl explain over our OpenAPI v3', () => {
  test('service.spec.ports lists the ServicePort fields', async () => {
    const out = await explain('service.spec.ports');
    assert.match(out, /^KIND:\s+Service$/m);
    assert.match(out, /^VERSION:\s+v1$/m);
    assert.match(out, /^FIELD: ports <\[\]ServicePort>$/m);
    assert.match(out, /^DESCRIPTION:/m);
    assert.match(out, /^FIELDS:/m);
    for (const field of ['appProtocol', 'name', 'nodePort', 'port', 'protocol', 'targetPort']) {
      assert.match(out, new RegExp(`^ {2}${field}\\s+<`, 'm'), `field ${field} listed`);
    }
    assert.match(out, /^ {2}port\s+<integer> -required-$/m);
    assert.match(out, /^ {2}targetPort\s+<IntOrString>$/m);
  });

  test('deployment.spec.template.spec.containers walks into apps and core types', async () => {
    const out = await explain('deployment.spec.template.spec.containers');
    assert.match(out, /^GROUP:\s+apps$/m);
    assert.match(out, /^KIND:\s+Deployment$/m);
    assert.match(out, /^FIELD: containers <\[\]Container>$/m);
    for (const field of ['image', 'ports', 'env', 'readinessProbe', 'resources', 'imagePullPolicy', 'securityContext']) {
      assert.match(out, new RegExp(`^ {2}${field}\\s+<`, 'm'), `field ${field} listed`);
    }
  });

  test('pods shows the top-level Pod fields', async () => {
    const out = await explain('pods');
    assert.match(out, /^KIND:\s+Pod$/m);
    for (const field of ['apiVersion', 'kind', 'metadata', 'spec', 'status']) {
      assert.match(out, new RegExp(`^ {2}${field}\\s+<`, 'm'), `field ${field} listed`);
    }
  });
});
