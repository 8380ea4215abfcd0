import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decodeObject, parseJson } from './decode.js';
import { StatusError } from './errors.js';
import { findResource } from './resources.js';

const services = findResource('', 'v1', 'services')!;
const deployments = findResource('apps', 'v1', 'deployments')!;
const secrets = findResource('', 'v1', 'secrets')!;
const events = findResource('', 'v1', 'events')!;

const svc = (spec: string, meta = '{"name":"web"}') => `{"apiVersion":"v1","kind":"Service","metadata":${meta},"spec":${spec}}`;
const deploy = (podSpec: string) =>
  `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d"},"spec":{"selector":{"matchLabels":{"app":"d"}},"template":{"metadata":{"labels":{"app":"d"}},"spec":${podSpec}}}}`;

function failure(fn: () => unknown): StatusError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof StatusError, `expected StatusError, got ${e}`);
    return e;
  }
  assert.fail('expected the decode to fail');
}

const PREFIX = 'Service in version "v1" cannot be handled as a Service: ';

describe('decodeObject: type mismatches (Go encoding/json wording)', () => {
  const cases: [string, string, string][] = [
    [
      'string for a map (the tutorial typo)',
      svc('{"selector":"app:webui"}'),
      'json: cannot unmarshal string into Go struct field ServiceSpec.spec.selector of type map[string]string',
    ],
    [
      'string for int32 inside a list',
      svc('{"ports":[{"port":"80"}]}'),
      'json: cannot unmarshal string into Go struct field ServicePort.spec.ports.port of type int32',
    ],
    [
      'fraction for int32',
      svc('{"ports":[{"port":1.5}]}'),
      'json: cannot unmarshal number 1.5 into Go struct field ServicePort.spec.ports.port of type int32',
    ],
    [
      'int32 overflow',
      svc('{"ports":[{"port":4294967296}]}'),
      'json: cannot unmarshal number 4294967296 into Go struct field ServicePort.spec.ports.port of type int32',
    ],
    [
      'number for a string',
      svc('{"clusterIP":10}'),
      'json: cannot unmarshal number into Go struct field ServiceSpec.spec.clusterIP of type string',
    ],
    ['bool for a string', svc('{"type":true}'), 'json: cannot unmarshal bool into Go struct field ServiceSpec.spec.type of type string'],
    [
      'object for a list',
      svc('{"ports":{"port":80}}'),
      'json: cannot unmarshal object into Go struct field ServiceSpec.spec.ports of type []v1.ServicePort',
    ],
    ['array for a struct', svc('[]'), 'json: cannot unmarshal array into Go struct field Service.spec of type v1.ServiceSpec'],
    [
      'string for a bool',
      svc('{"publishNotReadyAddresses":"yes"}'),
      'json: cannot unmarshal string into Go struct field ServiceSpec.spec.publishNotReadyAddresses of type bool',
    ],
    [
      'number for a label value',
      svc('{}', '{"name":"web","labels":{"app":1}}'),
      'json: cannot unmarshal number into Go struct field ObjectMeta.metadata.labels of type string',
    ],
    [
      'bool for IntOrString',
      svc('{"ports":[{"port":80,"targetPort":true}]}'),
      'json: cannot unmarshal bool into Go struct field ServicePort.spec.ports.targetPort of type int32',
    ],
    [
      'number for a timestamp',
      svc('{}', '{"name":"web","creationTimestamp":5}'),
      'json: cannot unmarshal number into Go struct field ObjectMeta.metadata.creationTimestamp of type string',
    ],
  ];
  for (const [name, body, message] of cases) {
    test(name, () => {
      const err = failure(() => decodeObject(body, services, 'Strict'));
      assert.equal(err.code, 400);
      assert.equal(err.reason, 'BadRequest');
      assert.equal(err.message, PREFIX + message);
    });
  }

  test('type errors win over strict errors, and in every mode', () => {
    for (const mode of ['Strict', 'Warn', 'Ignore'] as const) {
      const err = failure(() => decodeObject(svc('{"foo":1,"selector":"app:webui"}'), services, mode));
      assert.match(err.message, /cannot unmarshal string into Go struct field ServiceSpec\.spec\.selector/);
    }
  });

  test('Deployment errors name the deep struct and the kind', () => {
    const err = failure(() => decodeObject(deploy('{"containers":[{"name":"a","ports":[{"containerPort":"80"}]}]}'), deployments));
    assert.equal(
      err.message,
      'Deployment in version "v1" cannot be handled as a Deployment: json: cannot unmarshal string into Go struct field ContainerPort.spec.template.spec.containers.ports.containerPort of type int32',
    );
  });

  test('bad quantities fail with resource.Quantity wording', () => {
    const err = failure(() => decodeObject(deploy('{"containers":[{"name":"a","resources":{"limits":{"cpu":"lots"}}}]}'), deployments));
    assert.equal(
      err.message,
      `Deployment in version "v1" cannot be handled as a Deployment: quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'`,
    );
  });

  test('bad base64 in Secret data', () => {
    const err = failure(() => decodeObject('{"apiVersion":"v1","kind":"Secret","metadata":{"name":"s"},"data":{"k":"ab$c"}}', secrets));
    assert.equal(err.message, 'Secret in version "v1" cannot be handled as a Secret: illegal base64 data at input byte 2');
  });
});

describe('decodeObject: unknown and duplicate fields', () => {
  const body = svc('{"foo":1,"ports":[{"port":80,"bar":2}]}', '{"name":"web","name":"web2"}');

  test('Strict fails with every strict error, in document order', () => {
    const err = failure(() => decodeObject(body, services, 'Strict'));
    assert.equal(err.code, 400);
    assert.equal(
      err.message,
      `${PREFIX}strict decoding error: duplicate field "metadata.name", unknown field "spec.foo", unknown field "spec.ports[0].bar"`,
    );
  });

  test('Warn returns them as warnings and prunes unknown fields; last duplicate wins', () => {
    const { object, warnings } = decodeObject(body, services, 'Warn');
    assert.deepEqual(warnings, ['duplicate field "metadata.name"', 'unknown field "spec.foo"', 'unknown field "spec.ports[0].bar"']);
    assert.deepEqual(object.spec, { ports: [{ port: 80 }] });
    assert.equal(object.metadata.name, 'web2');
  });

  test('Ignore prunes silently', () => {
    const { object, warnings } = decodeObject(body, services, 'Ignore');
    assert.deepEqual(warnings, []);
    assert.deepEqual(object.spec, { ports: [{ port: 80 }] });
  });

  test('repeated unknown fields are reported once', () => {
    const err = failure(() => decodeObject(svc('{"foo":1,"foo":2}'), services, 'Strict'));
    assert.equal(err.message, `${PREFIX}strict decoding error: unknown field "spec.foo"`);
  });

  test('a misplaced block is one unknown field, not its contents', () => {
    const err = failure(() => decodeObject(deploy('{"containers":[{"name":"a","restartPolicyy":"Always"}]}'), deployments));
    assert.equal(
      err.message,
      'Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: unknown field "spec.template.spec.containers[0].restartPolicyy"',
    );
  });

  test('a realistic workload manifest decodes cleanly', () => {
    const pod = JSON.stringify({
      containers: [
        {
          name: 'web',
          image: 'nginx',
          imagePullPolicy: 'IfNotPresent',
          ports: [{ containerPort: 80, name: 'http' }],
          env: [{ name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } }],
          resources: { limits: { cpu: '500m', memory: '128Mi' }, requests: { cpu: 0.25 } },
          readinessProbe: { httpGet: { path: '/', port: 'http' }, periodSeconds: 5 },
          securityContext: { runAsUser: 1000, capabilities: { add: ['NET_ADMIN'] } },
          volumeMounts: [{ name: 'conf', mountPath: '/etc/conf' }],
        },
      ],
      volumes: [{ name: 'conf', configMap: { name: 'c' } }],
      tolerations: [{ key: 'k', operator: 'Exists' }],
      affinity: { nodeAffinity: {} },
      dnsPolicy: 'ClusterFirst',
      hostname: 'h',
      subdomain: 's',
    });
    const { object, warnings } = decodeObject(deploy(pod), deployments, 'Strict');
    assert.deepEqual(warnings, []);
    assert.deepEqual(object.spec.template.spec.containers[0].securityContext, { runAsUser: 1000, capabilities: { add: ['NET_ADMIN'] } });
    assert.equal(object.spec.template.spec.containers[0].readinessProbe.httpGet.port, 'http');
  });
});

describe('decodeObject: apiVersion and kind', () => {
  test('missing apiVersion/kind default to the URL kind', () => {
    const { object } = decodeObject({ metadata: { name: 'web' }, spec: { ports: [{ port: 80 }] } }, services);
    assert.equal(object.apiVersion, 'v1');
    assert.equal(object.kind, 'Service');
  });

  test('another known kind cannot be converted', () => {
    const err = failure(() => decodeObject('{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"}}', services));
    assert.equal(
      err.message,
      'Pod in version "v1" cannot be handled as a Service: converting (v1.Pod) to (core.Service): unknown conversion',
    );
  });

  test('a kind not registered in that version', () => {
    const err = failure(() => decodeObject('{"apiVersion":"apps/v1","kind":"Service","metadata":{"name":"p"}}', services));
    assert.equal(
      err.message,
      'Service in version "v1" cannot be handled as a Service: no kind "Service" is registered for version "apps/v1" in scheme "k8s.io/kubernetes/pkg/api/legacyscheme/scheme.go:30"',
    );
  });

  test('the same kind from another group version', () => {
    const err = failure(() => decodeObject('{"apiVersion":"events.k8s.io/v1","kind":"Event","metadata":{"name":"e"}}', events));
    assert.equal(err.message, 'the API version in the data (events.k8s.io/v1) does not match the expected API version (v1)');
  });

  test('non-string apiVersion', () => {
    const err = failure(() => decodeObject('{"apiVersion":1}', services));
    assert.equal(
      err.message,
      'the object provided is unrecognized (must be of type Service): couldn\'t get version/kind; json parse error: json: cannot unmarshal number into Go struct field .apiVersion of type string ({"apiVersion":1})',
    );
  });
});

describe('parseJson: Go scanner wording', () => {
  const cases: [string, string][] = [
    ['', 'unexpected end of JSON input'],
    ['{"a":1', 'unexpected end of JSON input'],
    ['{"a" 1}', "invalid character '1' after object key"],
    ['{"a":1 "b":2}', `invalid character '"' after object key:value pair`],
    ['[1 2]', "invalid character '2' after array element"],
    ['{a:1}', "invalid character 'a' looking for beginning of object key string"],
    ['{"a":x}', "invalid character 'x' looking for beginning of value"],
    ['{"a":tru}', "invalid character '}' in literal true (expecting 'e')"],
    ['{"a":-}', "invalid character '}' in numeric literal"],
    ['{} {}', "invalid character '{' after top-level value"],
    ['{"a":"\n"}', "invalid character '\\n' in string literal"],
    ['{"a":"\\q"}', "invalid character 'q' in string escape code"],
  ];
  for (const [text, message] of cases) {
    test(JSON.stringify(text), () => assert.throws(() => parseJson(text), { message }));
  }

  test('syntax errors become BadRequest with a summary of the body', () => {
    const err = failure(() => decodeObject('{"apiVersion":"v1","kind":"Service",', services));
    assert.equal(
      err.message,
      'the object provided is unrecognized (must be of type Service): couldn\'t get version/kind; json parse error: unexpected end of JSON input ({"apiVersion":"v1","kind":"Ser ...)',
    );
  });
});
