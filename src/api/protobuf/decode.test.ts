import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { StatusError } from '../errors.js';
import { NAMED } from '../types/index.js';
import { decodeProtobufObject, schemaIdForKind } from './decode.js';
import { FIELDS, INLINE, parseTable } from './tables.js';
import { readFields, WireError } from './wire.js';

// A tiny protobuf writer, enough to hand-build request bodies.
function varint(n: number | bigint): Buffer {
  let v = BigInt.asUintN(64, BigInt(n));
  const out: number[] = [];
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return Buffer.from(out);
}
/** A varint field (int, bool, enum). */
const num = (field: number, v: number | bigint | boolean) =>
  Buffer.concat([varint(field << 3), varint(typeof v === 'boolean' ? Number(v) : v)]);
/** A length-delimited field: a string, raw bytes, or a nested message. */
const len = (field: number, v: string | Buffer) => {
  const bytes = typeof v === 'string' ? Buffer.from(v) : v;
  return Buffer.concat([varint((field << 3) | 2), varint(bytes.length), bytes]);
};
const msg = (...parts: Buffer[]) => Buffer.concat(parts);
const entry = (field: number, key: string, value: string | Buffer) => len(field, msg(len(1, key), len(2, value)));

/** A whole body: `k8s\0` + runtime.Unknown{typeMeta, raw, contentEncoding, contentType}. */
function body(apiVersion: string, kind: string, raw: Buffer, contentEncoding = ''): Buffer {
  return msg(Buffer.from('k8s\0'), len(1, msg(len(1, apiVersion), len(2, kind))), len(2, raw), len(3, contentEncoding), len(4, ''));
}

/** ObjectMeta as gogo writes it for a new object: every non-pointer field, most of them empty. */
const newMeta = (name: string, ...extra: Buffer[]) =>
  len(1, msg(len(1, name), len(2, ''), len(3, ''), len(4, ''), len(5, ''), len(6, ''), num(7, 0), len(8, ''), ...extra));

const intstrInt = (n: number) => msg(num(1, 0), num(2, n), len(3, ''));
const intstrString = (s: string) => msg(num(1, 1), num(2, 0), len(3, s));

function statusError(fn: () => unknown): StatusError {
  try {
    fn();
  } catch (e) {
    return e as StatusError;
  }
  assert.fail('expected an error');
}

describe('wire reader', () => {
  test('reads varints, bytes and fixed fields, including 10-byte negative varints', () => {
    const buf = msg(num(1, 150), len(2, 'hi'), num(3, -1), Buffer.from([(4 << 3) | 5, 1, 0, 0, 0]));
    const fields = [...readFields(buf)];
    assert.deepEqual(
      fields.map((f) => f.number),
      [1, 2, 3, 4],
    );
    assert.equal(fields[0].wireType === 0 && fields[0].value, 150n);
    assert.equal(fields[2].wireType === 0 && BigInt.asIntN(64, fields[2].value), -1n);
    assert.equal(fields[1].wireType === 2 && fields[1].bytes.toString(), 'hi');
  });

  test('truncated data is a WireError', () => {
    assert.throws(() => [...readFields(Buffer.from([0x0a, 0x05, 0x61]))], WireError);
    assert.throws(() => [...readFields(Buffer.from([0x08, 0x80]))], WireError);
  });
});

describe('decodeProtobufObject', () => {
  test('a Service: IntOrString, omitempty zeros, pointers kept, required zeros kept, empty status', () => {
    const port = (name: string, p: number, target: Buffer) =>
      len(1, msg(len(1, name), len(2, 'TCP'), num(3, p), len(4, target), num(5, 0)));
    const spec = msg(
      port('http', 80, intstrInt(8080)),
      port('dns', 0, intstrString('dns')),
      entry(2, 'app', 'web'),
      len(3, ''),
      len(4, 'LoadBalancer'),
      len(7, ''),
      len(10, ''),
      num(12, 0),
      num(13, false),
      num(20, false),
    );
    const raw = msg(newMeta('web'), len(2, spec), len(3, len(1, '')));
    const { apiVersion, kind, object } = decodeProtobufObject(body('v1', 'Service', raw));
    assert.equal(apiVersion, 'v1');
    assert.equal(kind, 'Service');
    assert.deepEqual(object, {
      kind: 'Service',
      apiVersion: 'v1',
      metadata: { name: 'web', creationTimestamp: null },
      spec: {
        ports: [
          { name: 'http', protocol: 'TCP', port: 80, targetPort: 8080 },
          { name: 'dns', protocol: 'TCP', port: 0, targetPort: 'dns' },
        ],
        selector: { app: 'web' },
        type: 'LoadBalancer',
        allocateLoadBalancerNodePorts: false,
      },
      status: { loadBalancer: {} },
    });
  });

  test('metadata: timestamps, labels with empty values, owner references, finalizers and managed fields', () => {
    const owner = len(13, msg(len(1, 'ReplicaSet'), len(3, 'rs'), len(4, 'u-1'), len(5, 'apps/v1'), num(6, true), num(7, false)));
    const managed = len(
      17,
      msg(
        len(1, 'kubectl'),
        len(2, 'Update'),
        len(3, 'v1'),
        len(4, msg(num(1, 1700000000))),
        len(6, 'FieldsV1'),
        len(7, len(1, '{"f:data":{}}')),
      ),
    );
    const meta = len(
      1,
      msg(
        len(1, 'c'),
        len(3, 'default'),
        num(7, 3),
        len(8, msg(num(1, 1700000000), num(2, 5))),
        len(9, msg(num(1, 1700000100))),
        num(10, 0),
        entry(11, 'tier', ''),
        len(11, len(1, 'bare')),
        entry(12, 'note', 'x'),
        owner,
        len(14, 'example.com/f'),
        managed,
      ),
    );
    const { object } = decodeProtobufObject(body('v1', 'ConfigMap', meta));
    assert.deepEqual(object.metadata, {
      name: 'c',
      namespace: 'default',
      generation: 3,
      creationTimestamp: '2023-11-14T22:13:20Z',
      deletionTimestamp: '2023-11-14T22:15:00Z',
      deletionGracePeriodSeconds: 0,
      labels: { tier: '', bare: '' },
      annotations: { note: 'x' },
      ownerReferences: [{ kind: 'ReplicaSet', name: 'rs', uid: 'u-1', apiVersion: 'apps/v1', controller: true, blockOwnerDeletion: false }],
      finalizers: ['example.com/f'],
      managedFields: [
        {
          manager: 'kubectl',
          operation: 'Update',
          apiVersion: 'v1',
          time: '2023-11-14T22:13:20Z',
          fieldsType: 'FieldsV1',
          fieldsV1: { 'f:data': {} },
        },
      ],
    });
  });

  test('Secret and ConfigMap bytes become base64; immutable false is kept', () => {
    const binary = Buffer.from([0, 1, 2, 255]);
    const secret = decodeProtobufObject(
      body('v1', 'Secret', msg(newMeta('s'), entry(2, 'bin', binary), entry(4, 'plain', 'text'), len(3, 'Opaque'), num(5, false))),
    );
    assert.deepEqual(secret.object, {
      kind: 'Secret',
      apiVersion: 'v1',
      metadata: { name: 's', creationTimestamp: null },
      data: { bin: binary.toString('base64') },
      stringData: { plain: 'text' },
      type: 'Opaque',
      immutable: false,
    });
    const cm = decodeProtobufObject(body('v1', 'ConfigMap', msg(newMeta('c'), entry(3, 'b', Buffer.from('hi')))));
    assert.deepEqual(cm.object.binaryData, { b: 'aGk=' });
  });

  test('a Deployment: pointer replicas 0, inlined structs (probe handler, volume source, key selector), quantities, negative ints', () => {
    const probe = msg(
      len(1, len(2, msg(len(1, '/healthz'), len(2, intstrString('http')), len(4, 'HTTP')))),
      num(2, 0),
      num(3, 1),
      num(4, 10),
    );
    const env = len(7, msg(len(1, 'PASSWORD'), len(2, ''), len(3, len(4, msg(len(1, len(1, 'creds')), len(2, 'pw'), num(3, true))))));
    const container = msg(
      len(1, 'web'),
      len(2, 'nginx'),
      len(6, msg(len(1, ''), num(2, 0), num(3, 80), len(4, 'TCP'), len(5, ''))),
      env,
      len(8, msg(entry(1, 'cpu', len(1, '500m')), entry(2, 'memory', len(1, '64Mi')))),
      len(9, msg(len(1, 'conf'), num(2, true), len(3, '/etc/conf'), len(4, ''), len(6, ''))),
      len(11, probe),
      len(13, '/dev/termination-log'),
      len(14, 'IfNotPresent'),
      num(16, false),
    );
    const volume = len(1, msg(len(1, 'conf'), len(2, len(19, msg(len(1, len(1, 'settings')), num(3, 420))))));
    const podSpec = msg(volume, len(2, container), len(3, 'Always'), num(25, -5), len(6, 'ClusterFirst'), num(11, false));
    const template = msg(len(1, msg(len(8, ''), entry(11, 'app', 'web'))), len(2, podSpec));
    const strategy = msg(len(1, 'RollingUpdate'), len(2, msg(len(1, intstrString('25%')), len(2, intstrInt(1)))));
    const spec = msg(num(1, 0), len(2, entry(1, 'app', 'web')), len(3, template), len(4, strategy), num(5, 0), num(7, false));
    const { object } = decodeProtobufObject(body('apps/v1', 'Deployment', msg(newMeta('web'), len(2, spec), len(3, ''))));
    assert.deepEqual(object.spec, {
      replicas: 0,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { creationTimestamp: null, labels: { app: 'web' } },
        spec: {
          volumes: [{ name: 'conf', configMap: { name: 'settings', defaultMode: 420 } }],
          containers: [
            {
              name: 'web',
              image: 'nginx',
              ports: [{ containerPort: 80, protocol: 'TCP' }],
              env: [{ name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 'creds', key: 'pw', optional: true } } }],
              resources: { limits: { cpu: '500m' }, requests: { memory: '64Mi' } },
              volumeMounts: [{ name: 'conf', readOnly: true, mountPath: '/etc/conf' }],
              readinessProbe: { httpGet: { path: '/healthz', port: 'http', scheme: 'HTTP' }, timeoutSeconds: 1, periodSeconds: 10 },
              terminationMessagePath: '/dev/termination-log',
              imagePullPolicy: 'IfNotPresent',
            },
          ],
          restartPolicy: 'Always',
          priority: -5,
          dnsPolicy: 'ClusterFirst',
        },
      },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: 1 } },
    });
    assert.deepEqual(object.status, {});
  });

  test('fields the tables do not know are skipped, as gogo does', () => {
    const { object } = decodeProtobufObject(body('v1', 'ServiceAccount', msg(newMeta('sa', len(15, 'old-cluster-name')), num(99, 7))));
    assert.deepEqual(object, { kind: 'ServiceAccount', apiVersion: 'v1', metadata: { name: 'sa', creationTimestamp: null } });
  });

  test('a loosely modelled struct with content is refused with 415 rather than dropped', () => {
    const podSpec = msg(len(2, len(1, 'c')), len(14, num(2, 1000)));
    const template = msg(len(1, ''), len(2, podSpec));
    const e = statusError(() => decodeProtobufObject(body('apps/v1', 'Deployment', msg(newMeta('d'), len(2, len(3, template))))));
    assert.equal(e.code, 415);
    assert.equal(e.reason, 'UnsupportedMediaType');
    assert.match(e.message, /PodSpec\.securityContext/);
  });

  test('kinds without tables and encoded payloads are 415; malformed bodies are 400', () => {
    assert.equal(statusError(() => decodeProtobufObject(body('v1', 'Pod', newMeta('p')))).code, 415);
    assert.equal(statusError(() => decodeProtobufObject(body('v1', 'ConfigMap', newMeta('c'), 'gzip'))).code, 415);
    const noMagic = statusError(() => decodeProtobufObject(Buffer.from('{"kind":"ConfigMap"}')));
    assert.equal(noMagic.code, 400);
    const truncated = body('v1', 'ConfigMap', newMeta('c')).subarray(0, 20);
    const e = statusError(() => decodeProtobufObject(truncated));
    assert.equal(e.code, 400);
    assert.equal(e.reason, 'BadRequest');
  });

  test('DeleteOptions bodies (typed-client deletes): pointers kept, dry run listed', () => {
    const raw = msg(num(1, 0), len(2, msg(len(1, 'u-1'))), len(4, 'Foreground'), len(5, 'All'));
    const { object } = decodeProtobufObject(body('v1', 'DeleteOptions', raw));
    assert.deepEqual(object, {
      kind: 'DeleteOptions',
      apiVersion: 'v1',
      gracePeriodSeconds: 0,
      preconditions: { uid: 'u-1' },
      propagationPolicy: 'Foreground',
      dryRun: ['All'],
    });
  });

  test('schema ids follow the upstream package naming', () => {
    assert.equal(schemaIdForKind('v1', 'Service'), 'io.k8s.api.core.v1.Service');
    assert.equal(schemaIdForKind('apps/v1', 'Deployment'), 'io.k8s.api.apps.v1.Deployment');
    assert.equal(schemaIdForKind('networking.k8s.io/v1', 'Ingress'), 'io.k8s.api.networking.v1.Ingress');
  });
});

describe('field tables', () => {
  test('every table names a schema struct, and numbers every property of it (and of the structs it reaches)', () => {
    for (const [id, spec] of Object.entries(FIELDS)) {
      const schema = NAMED.get(id) as { properties?: Record<string, { type?: string; $id?: string; items?: unknown }> } | undefined;
      assert.ok(schema?.properties, `${id} is a schema struct`);
      const numbered = new Set<string>();
      const collect = (s: string) => {
        for (const e of parseTable(s).values()) {
          if ('inline' in e) {
            assert.ok(INLINE[e.inline], `inline table ${e.inline}`);
            collect(INLINE[e.inline]);
          } else numbered.add(e.property);
        }
      };
      collect(spec);
      for (const p of numbered) assert.ok(p in schema.properties, `${id}: ${p} is a property`);
      for (const p of Object.keys(schema.properties)) {
        if (p !== 'apiVersion' && p !== 'kind') assert.ok(numbered.has(p), `${id}: ${p} has a field number`);
      }
    }
  });

  test('parseTable rejects duplicates and typos', () => {
    assert.throws(() => parseTable('a=1 b=1'), /listed twice/);
    assert.throws(() => parseTable('a:1'), /bad protobuf table entry/);
    assert.deepEqual(
      [...parseTable('a=1 b=2* &X=3')],
      [
        [1, { property: 'a', pointer: false }],
        [2, { property: 'b', pointer: true }],
        [3, { inline: 'X' }],
      ],
    );
  });
});
