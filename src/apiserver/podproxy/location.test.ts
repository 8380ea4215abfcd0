import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { StatusError } from '../../api/errors.js';
import type { Node, Pod } from '../../api/types/index.js';
import {
  dialError,
  kubeletAddress,
  kubeletLogError,
  kubeletLogPath,
  kubeletStreamingPath,
  resolveContainer,
  UnknownStatusError,
} from './location.js';
import { rewriteUpgradeRequest } from './proxy.js';

const pod = (containers: string[], initContainers: string[] = []): Pod => ({
  metadata: { name: 'web', namespace: 'default' },
  spec: { containers: containers.map((name) => ({ name })), initContainers: initContainers.map((name) => ({ name })) },
});

const message = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof StatusError || err instanceof UnknownStatusError);
    return `${err.code} ${err.message}`;
  }
  assert.fail('no error');
};

describe('resolveContainer', () => {
  test('the only container is the default', () => assert.equal(resolveContainer(pod(['nginx']), undefined), 'nginx'));
  test('a named container must be the pod’s', () => {
    assert.equal(resolveContainer(pod(['a', 'b'], ['init']), 'init'), 'init');
    assert.equal(
      message(() => resolveContainer(pod(['a', 'b']), 'c')),
      '400 container c is not valid for pod web',
    );
  });
  test('logs: several containers need a name, all listed', () =>
    assert.equal(
      message(() => resolveContainer(pod(['a', 'b'], ['init']), '')),
      '400 a container name must be specified for pod web, choose one of: [init a b]',
    ));
  test('exec/attach: init containers listed apart', () =>
    assert.equal(
      message(() => resolveContainer(pod(['a', 'b'], ['init']), null, { listInitContainers: true })),
      '400 a container name must be specified for pod web, choose one of: [a b] or one of the init containers: [init]',
    ));
  test('no containers at all', () =>
    assert.equal(
      message(() => resolveContainer(pod([]), undefined)),
      '400 a container name must be specified for pod web',
    ));
});

describe('kubeletAddress', () => {
  const node = (status: Node['status']): Node => ({ metadata: { name: 'node-1' }, status });
  test('InternalIP and the published port', () =>
    assert.deepEqual(
      kubeletAddress(
        node({
          addresses: [
            { type: 'Hostname', address: 'node-1' },
            { type: 'InternalIP', address: '172.18.0.2' },
          ],
          daemonEndpoints: { kubeletEndpoint: { Port: 12345 } },
        }),
      ),
      { host: '172.18.0.2', port: 12345 },
    ));
  test('port 10250 when none is published', () =>
    assert.deepEqual(kubeletAddress(node({ addresses: [{ type: 'InternalIP', address: '172.18.0.3' }] })), {
      host: '172.18.0.3',
      port: 10250,
    }));
  test('no usable address', () =>
    assert.equal(
      message(() => kubeletAddress(node({ addresses: [{ type: 'Hostname', address: 'node-1' }] }))),
      '500 no preferred addresses found; known addresses: [{Hostname node-1}]',
    ));
});

test('log path: options under their names, container in the path', () =>
  assert.equal(
    kubeletLogPath(
      pod(['nginx']),
      'nginx',
      new URLSearchParams('container=nginx&follow=true&tailLines=5&timestamps=1&previous=false&pretty=1'),
    ),
    '/containerLogs/default/web/nginx?follow=true&timestamps=true&tailLines=5',
  ));

test("streaming paths: kubectl's names become the kubelet's", () => {
  const q = new URLSearchParams('command=sh&command=-c&command=ls /&container=nginx&stdin=true&stdout=true&stderr=true&tty=false');
  assert.equal(
    kubeletStreamingPath('exec', pod(['nginx']), 'nginx', q),
    '/exec/default/web/nginx?input=1&output=1&error=1&command=sh&command=-c&command=ls+%2F',
  );
  assert.equal(
    kubeletStreamingPath('attach', pod(['nginx']), 'nginx', new URLSearchParams('container=nginx&stdin=true&stdout=true&tty=true')),
    '/attach/default/web/nginx?input=1&output=1&tty=1',
  );
  assert.equal(kubeletStreamingPath('portforward', pod(['nginx']), undefined, new URLSearchParams()), '/portForward/default/web');
  assert.equal(
    kubeletStreamingPath('portforward', pod(['nginx']), undefined, new URLSearchParams('ports=80&ports=443')),
    '/portForward/default/web?port=80%2C443',
  );
});

test('kubelet log errors become the Status kube-apiserver makes', () => {
  assert.deepEqual(kubeletLogError(400, 'container "c" in pod "p" is waiting to start: ContainerCreating', 'p').toStatus(), {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: 'container "c" in pod "p" is waiting to start: ContainerCreating',
    reason: 'BadRequest',
    code: 400,
  });
  const notFound = kubeletLogError(404, 'pod "p" does not exist\n', 'p');
  assert.equal(notFound.message, 'the server could not find the requested resource ( pods/log p)');
  assert.deepEqual(notFound.details?.causes, [{ reason: 'UnexpectedServerResponse', message: 'pod "p" does not exist' }]);
});

test('dial errors read like Go’s', () => {
  const refused = Object.assign(new Error('x'), { code: 'ECONNREFUSED' });
  assert.equal(dialError(refused, { host: '172.18.0.3', port: 10250 }), 'dial tcp 172.18.0.3:10250: connect: connection refused');
  assert.deepEqual(new UnknownStatusError(`error dialing backend: ${dialError(refused, { host: 'fd00::1', port: 1 })}`).toStatus(), {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: 'error dialing backend: dial tcp [fd00::1]:1: connect: connection refused',
    code: 500,
  });
});

test('the upgrade request keeps the client’s headers but not its credentials', () => {
  const raw = {
    method: 'POST',
    rawHeaders: [
      'Host',
      '127.0.0.1:6443',
      'Authorization',
      'Bearer admin',
      'Impersonate-User',
      'x',
      'Connection',
      'Upgrade',
      'Upgrade',
      'SPDY/3.1',
      'X-Stream-Protocol-Version',
      'v4.channel.k8s.io',
      'X-Stream-Protocol-Version',
      'v3.channel.k8s.io',
    ],
  };
  assert.equal(
    rewriteUpgradeRequest(raw, '/exec/default/web/nginx?output=1', '172.18.0.2:10250', 'kubelet-token'),
    [
      'POST /exec/default/web/nginx?output=1 HTTP/1.1',
      'Host: 172.18.0.2:10250',
      'Authorization: Bearer kubelet-token',
      'Connection: Upgrade',
      'Upgrade: SPDY/3.1',
      'X-Stream-Protocol-Version: v4.channel.k8s.io',
      'X-Stream-Protocol-Version: v3.channel.k8s.io',
      '',
      '',
    ].join('\r\n'),
  );
});
