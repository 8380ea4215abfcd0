/**
 * Real kubectl protobuf request bodies: `kubectl create …` commands run against a throwaway HTTP
 * server (aggregated discovery from the resource registry plus /openapi/v3), which records the
 * `application/vnd.kubernetes.protobuf` POST bodies. Each body must decode to exactly the JSON
 * kubectl itself prints for the same command with `--dry-run=client -o json`.
 */

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { decodeProtobufObject, PROTOBUF_CONTENT_TYPE } from '../../src/api/protobuf/decode.js';
import { groupVersions, type ResourceInfo } from '../../src/api/resources.js';
import { openapiV3Index, openapiV3Response } from '../../src/apiserver/openapi.js';

const run = promisify(execFile);
const AGGREGATED = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList';

function aggregated(core: boolean) {
  const resource = (r: ResourceInfo) => ({
    resource: r.resource,
    responseKind: { group: r.group, version: r.version, kind: r.kind },
    scope: r.namespaced ? 'Namespaced' : 'Cluster',
    singularResource: r.singular,
    verbs: r.verbs,
    shortNames: r.shortNames,
  });
  const byGroup = new Map<string, { metadata: { name: string }; versions: unknown[] }>();
  for (const gv of groupVersions()) {
    if ((gv.group === '') !== core) continue;
    const entry = byGroup.get(gv.group) ?? { metadata: { name: gv.group }, versions: [] };
    entry.versions.push({ version: gv.version, resources: gv.resources.map(resource), freshness: 'Current' });
    byGroup.set(gv.group, entry);
  }
  return { kind: 'APIGroupDiscoveryList', apiVersion: 'apidiscovery.k8s.io/v2', metadata: {}, items: [...byGroup.values()] };
}

interface Captured {
  path: string;
  contentType: string;
  body: Buffer;
}

let server: Server;
let dir: string;
let kubeconfig: string;
const captured: Captured[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'svcnet-protobuf-'));
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = (req.url ?? '/').split('?')[0];
      const json = (status: number, body: unknown, type = 'application/json') => {
        res.writeHead(status, { 'Content-Type': type });
        res.end(JSON.stringify(body));
      };
      if (path === '/api' || path === '/apis') return json(200, aggregated(path === '/api'), AGGREGATED);
      if (path === '/openapi/v3') return json(200, openapiV3Index());
      const doc = path.startsWith('/openapi/v3/') ? openapiV3Response(path) : undefined;
      if (doc) {
        res.writeHead(200, { 'Content-Type': 'application/json', ETag: doc.etag });
        return res.end(doc.body);
      }
      if (req.method === 'POST') {
        const body = Buffer.concat(chunks);
        captured.push({ path, contentType: req.headers['content-type'] ?? '', body });
        // Answer JSON, as our API server does; kubectl prints `<kind>/<name> created` from it.
        return json(201, decodeProtobufObject(body).object);
      }
      json(404, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404 });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  kubeconfig = join(dir, 'kubeconfig');
  await writeFile(
    kubeconfig,
    [
      'apiVersion: v1',
      'kind: Config',
      `clusters: [{name: t, cluster: {server: "${url}"}}]`,
      'users: [{name: t, user: {}}]',
      'contexts: [{name: t, context: {cluster: t, user: t, namespace: default}}]',
      'current-context: t',
    ].join('\n'),
  );
});

after(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await rm(dir, { recursive: true, force: true });
});

async function kubectl(args: string[]): Promise<string> {
  const { stdout } = await run('kubectl', [`--kubeconfig=${kubeconfig}`, `--cache-dir=${join(dir, 'cache')}`, ...args], {
    timeout: 30_000,
  });
  return stdout;
}

/** Runs `kubectl create …` for real and returns the body it POSTed, with kubectl's own JSON rendering of the object. */
async function createBoth(args: string[]): Promise<{ sent: Captured; expected: unknown }> {
  const before = captured.length;
  const out = await kubectl(['create', ...args]);
  assert.match(out, / created$/m);
  assert.equal(captured.length, before + 1, 'one POST recorded');
  const expected = JSON.parse(await kubectl(['create', '--dry-run=client', '--output=json', ...args]));
  return { sent: captured[before], expected };
}

const COMMANDS: { name: string; args: string[]; path: string }[] = [
  {
    name: 'create service clusterip',
    args: ['service', 'clusterip', 'watched', '--tcp=8080:80', '--tcp=53:dns'],
    path: '/api/v1/namespaces/default/services',
  },
  {
    name: 'create service nodeport',
    args: ['service', 'nodeport', 'np', '--tcp=80:8080', '--node-port=30080'],
    path: '/api/v1/namespaces/default/services',
  },
  {
    name: 'create service headless',
    args: ['service', 'clusterip', 'hl', '--clusterip=None'],
    path: '/api/v1/namespaces/default/services',
  },
  {
    name: 'create service externalname',
    args: ['service', 'externalname', 'en', '--external-name=example.com'],
    path: '/api/v1/namespaces/default/services',
  },
  {
    name: 'create deployment',
    args: ['deployment', 'web', '--image=nginx', '--replicas=2', '--port=80'],
    path: '/apis/apps/v1/namespaces/default/deployments',
  },
  {
    name: 'create deployment with zero replicas and a command',
    args: ['deployment', 'idle', '--image=busybox', '--replicas=0', '--', 'sleep', '3600'],
    path: '/apis/apps/v1/namespaces/default/deployments',
  },
  {
    name: 'create configmap',
    args: ['configmap', 'c', '--from-literal=a=b', '--from-literal=empty='],
    path: '/api/v1/namespaces/default/configmaps',
  },
  { name: 'create secret generic', args: ['secret', 'generic', 's', '--from-literal=p=q'], path: '/api/v1/namespaces/default/secrets' },
  { name: 'create namespace', args: ['namespace', 'n'], path: '/api/v1/namespaces' },
  { name: 'create serviceaccount', args: ['serviceaccount', 'sa'], path: '/api/v1/namespaces/default/serviceaccounts' },
  {
    name: 'create ingress',
    args: [
      'ingress',
      'simple',
      '--rule=foo.com/bar*=svc1:http,tls=my-cert',
      '--annotation=a=b',
      '--class=nginx',
      '--default-backend=def:80',
    ],
    path: '/apis/networking.k8s.io/v1/namespaces/default/ingresses',
  },
];

describe('kubectl typed-client protobuf bodies decode to the JSON kubectl would send', () => {
  for (const c of COMMANDS) {
    test(c.name, async () => {
      const { sent, expected } = await createBoth(c.args);
      assert.equal(sent.path, c.path);
      assert.equal(sent.contentType, PROTOBUF_CONTENT_TYPE);
      const decoded = decodeProtobufObject(sent.body);
      assert.deepEqual(decoded.object, expected);
      assert.equal(decoded.kind, (expected as { kind: string }).kind);
      assert.equal(decoded.apiVersion, (expected as { apiVersion: string }).apiVersion);
    });
  }
});
