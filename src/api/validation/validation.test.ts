import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { applyDefaults } from '../defaults/index.js';
import { fieldErrorString, invalid } from '../errors.js';
import type { KubeObject } from '../meta.js';
import { validate } from './index.js';

/* biome-ignore-start lint/suspicious/noExplicitAny: test fixtures are loose JSON */
type Json = any;
/* biome-ignore-end lint/suspicious/noExplicitAny: test fixtures are loose JSON */

const clone = <T>(x: T): T => structuredClone(x);

function errors(kind: string, obj: Json, old?: Json): string[] {
  const o = clone(obj);
  applyDefaults(kind, o);
  return validate(kind, o, old).map(fieldErrorString);
}

const svc = (spec: Json, name = 'web'): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace: 'default' },
  spec,
});

describe('Service validation', () => {
  const cases: [string, Json, string[]][] = [
    ['valid ClusterIP', { selector: { app: 'web' }, ports: [{ port: 80 }] }, []],
    [
      'tutorial typo type: ClusterIp',
      { type: 'ClusterIp', selector: { app: 'web' }, ports: [{ port: 80 }] },
      ['spec.type: Unsupported value: "ClusterIp": supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"'],
    ],
    [
      'port out of range',
      { ports: [{ port: 70000 }] },
      [
        'spec.ports[0].port: Invalid value: 70000: must be between 1 and 65535, inclusive',
        'spec.ports[0].targetPort: Invalid value: 70000: must be between 1 and 65535, inclusive',
      ],
    ],
    ['no ports', { selector: { app: 'web' } }, ['spec.ports: Required value']],
    ['headless needs no ports', { clusterIP: 'None', selector: { app: 'web' } }, []],
    ['ExternalName needs no ports', { type: 'ExternalName', externalName: 'example.com.' }, []],
    ['ExternalName requires externalName', { type: 'ExternalName' }, ['spec.externalName: Required value']],
    ['two ports need names', { ports: [{ port: 80 }, { name: 'b', port: 81 }] }, ['spec.ports[0].name: Required value']],
    [
      'duplicate port names',
      {
        ports: [
          { name: 'a', port: 80 },
          { name: 'a', port: 81 },
        ],
      },
      ['spec.ports[1].name: Duplicate value: "a"'],
    ],
    [
      'bad protocol',
      { ports: [{ port: 80, protocol: 'HTTP' }] },
      ['spec.ports[0].protocol: Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP"'],
    ],
    ['named targetPort', { ports: [{ port: 80, targetPort: 'http-web' }] }, []],
    [
      'bad named targetPort',
      { ports: [{ port: 80, targetPort: 'HTTP' }] },
      [
        'spec.ports[0].targetPort: Invalid value: "HTTP": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)',
        'spec.ports[0].targetPort: Invalid value: "HTTP": must contain at least one letter (a-z)',
      ],
    ],
    [
      'nodePort on ClusterIP',
      { ports: [{ port: 80, nodePort: 30080 }] },
      ["spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"],
    ],
    [
      'bad clusterIP',
      { clusterIP: '10.96.0.300', ports: [{ port: 80 }] },
      ['spec.clusterIPs[0]: Invalid value: "10.96.0.300": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)'],
    ],
    [
      'headless NodePort',
      { type: 'NodePort', clusterIP: 'None', ports: [{ port: 80 }] },
      ['spec.clusterIPs[0]: Invalid value: "None": may not be set to \'None\' for NodePort services'],
    ],
    [
      'sessionAffinity enum',
      { sessionAffinity: 'Sticky', ports: [{ port: 80 }] },
      ['spec.sessionAffinity: Unsupported value: "Sticky": supported values: "ClientIP", "None"'],
    ],
    [
      'affinity timeout range',
      { sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 90000 } }, ports: [{ port: 80 }] },
      ['spec.sessionAffinityConfig.clientIP.timeoutSeconds: Invalid value: 90000: must be greater than 0 and less than 86400'],
    ],
    [
      'externalTrafficPolicy on ClusterIP',
      { externalTrafficPolicy: 'Local', ports: [{ port: 80 }] },
      ['spec.externalTrafficPolicy: Invalid value: "Local": may only be set for externally-accessible services'],
    ],
    [
      'externalTrafficPolicy enum',
      { type: 'NodePort', externalTrafficPolicy: 'Global', ports: [{ port: 80 }] },
      ['spec.externalTrafficPolicy: Unsupported value: "Global": supported values: "Cluster", "Local"'],
    ],
    [
      'duplicate port/protocol',
      {
        ports: [
          { name: 'a', port: 80 },
          { name: 'b', port: 80 },
        ],
      },
      [
        'spec.ports[1]: Duplicate value: core.ServicePort{Name:"", Protocol:"TCP", AppProtocol:(*string)(nil), Port:80, TargetPort:intstr.IntOrString{Type:0, IntVal:0, StrVal:""}, NodePort:0}',
      ],
    ],
  ];
  for (const [name, spec, want] of cases) test(name, () => assert.deepEqual(errors('Service', svc(spec)), want));

  test('Service names are DNS-1035 labels', () => {
    assert.deepEqual(errors('Service', svc({ ports: [{ port: 80 }] }, '1web')), [
      `metadata.name: Invalid value: "1web": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')`,
    ]);
  });

  test('kubectl message for the typo is exact', () => {
    const o = svc({ type: 'ClusterIp', ports: [{ port: 80 }] }, 'x');
    applyDefaults('Service', o);
    const err = invalid('Service', 'x', validate('Service', o));
    assert.equal(
      err.message,
      'Service "x" is invalid: spec.type: Unsupported value: "ClusterIp": supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"',
    );
  });

  test('clusterIP may not change once set', () => {
    const old = svc({ clusterIP: '10.96.0.10', ports: [{ port: 80 }] });
    applyDefaults('Service', old);
    old.metadata.resourceVersion = '5';
    const next = clone(old);
    next.spec.clusterIP = '10.96.0.11';
    next.spec.clusterIPs = ['10.96.0.11'];
    assert.deepEqual(validate('Service', next, old).map(fieldErrorString), [
      'spec.clusterIPs[0]: Invalid value: []string{"10.96.0.11"}: may not change once set',
    ]);
  });

  test('defaulted LoadBalancer with Local policy needs a health check port from the allocator', () => {
    assert.deepEqual(errors('Service', svc({ type: 'LoadBalancer', externalTrafficPolicy: 'Local', ports: [{ port: 80 }] })), [
      'spec.healthCheckNodePort: Required value',
    ]);
  });
});

const pod = (spec: Json, name = 'web-1'): KubeObject => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default' }, spec });

describe('Pod validation', () => {
  const cases: [string, Json, string[]][] = [
    ['valid', { containers: [{ name: 'web', image: 'nginx', ports: [{ containerPort: 80, name: 'http' }] }] }, []],
    ['no containers', { containers: [] }, ['spec.containers: Required value']],
    ['image required', { containers: [{ name: 'web' }] }, ['spec.containers[0].image: Required value']],
    [
      'duplicate container names',
      {
        containers: [
          { name: 'a', image: 'x' },
          { name: 'a', image: 'y' },
        ],
      },
      ['spec.containers[1].name: Duplicate value: "a"'],
    ],
    [
      'restartPolicy enum',
      { restartPolicy: 'Sometimes', containers: [{ name: 'a', image: 'x' }] },
      ['spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"'],
    ],
    [
      'containerPort range',
      { containers: [{ name: 'a', image: 'x', ports: [{ containerPort: 0 }] }] },
      ['spec.containers[0].ports[0].containerPort: Required value'],
    ],
    [
      'volume mount must name a volume',
      { containers: [{ name: 'a', image: 'x', volumeMounts: [{ name: 'data', mountPath: '/d' }] }] },
      ['spec.containers[0].volumeMounts[0].name: Not found: "data"'],
    ],
    [
      'probe needs a handler',
      { containers: [{ name: 'a', image: 'x', readinessProbe: {} }] },
      ['spec.containers[0].readinessProbe: Required value: must specify a handler type'],
    ],
    [
      'env var names',
      { containers: [{ name: 'a', image: 'x', env: [{ name: '1X', value: 'y' }] }] },
      [
        `spec.containers[0].env[0].name: Invalid value: "1X": a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit (e.g. 'my.env-name',  or 'MY_ENV.NAME',  or 'MyEnvName1', regex used for validation is '[-._a-zA-Z][-._a-zA-Z0-9]*')`,
      ],
    ],
  ];
  for (const [name, spec, want] of cases) test(name, () => assert.deepEqual(errors('Pod', pod(spec)), want));

  test('updates may change only images', () => {
    const old = pod({ containers: [{ name: 'a', image: 'nginx:1', ports: [{ containerPort: 80 }] }] });
    applyDefaults('Pod', old);
    old.metadata.resourceVersion = '3';
    const imageOnly = clone(old);
    imageOnly.spec.containers[0].image = 'nginx:2';
    assert.deepEqual(validate('Pod', imageOnly, old), []);
    const port = clone(old);
    port.spec.containers[0].ports[0].containerPort = 81;
    const errs = validate('Pod', port, old).map(fieldErrorString);
    assert.equal(errs.length, 1);
    assert.ok(
      errs[0].startsWith(
        'spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)\n',
      ),
      errs[0],
    );
  });
});

const deploy = (spec: Json): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'default' },
  spec,
});
const template = (labels: Json) => ({ metadata: { labels }, spec: { containers: [{ name: 'web', image: 'nginx' }] } });

describe('Deployment validation', () => {
  test('valid', () =>
    assert.deepEqual(errors('Deployment', deploy({ selector: { matchLabels: { app: 'web' } }, template: template({ app: 'web' }) })), []));
  test('selector must match template labels', () =>
    assert.deepEqual(errors('Deployment', deploy({ selector: { matchLabels: { app: 'web' } }, template: template({ app: 'nginx' }) })), [
      'spec.template.metadata.labels: Invalid value: map[string]string{"app":"nginx"}: `selector` does not match template `labels`',
    ]));
  test('selector required (a nil selector matches nothing, so kube reports both)', () =>
    assert.deepEqual(errors('Deployment', deploy({ template: template({ app: 'web' }) })), [
      'spec.selector: Required value',
      'spec.template.metadata.labels: Invalid value: map[string]string{"app":"web"}: `selector` does not match template `labels`',
    ]));
  test('replicas non-negative', () =>
    assert.deepEqual(
      errors('Deployment', deploy({ replicas: -1, selector: { matchLabels: { app: 'web' } }, template: template({ app: 'web' }) })),
      ['spec.replicas: Invalid value: -1: must be greater than or equal to 0'],
    ));
  test('both surge and unavailable zero', () =>
    assert.deepEqual(
      errors(
        'Deployment',
        deploy({
          strategy: { rollingUpdate: { maxSurge: 0, maxUnavailable: 0 } },
          selector: { matchLabels: { app: 'web' } },
          template: template({ app: 'web' }),
        }),
      ),
      ['spec.strategy.rollingUpdate.maxUnavailable: Invalid value: 0: may not be 0 when `maxSurge` is 0'],
    ));
  test('selector is immutable', () => {
    const old = deploy({ selector: { matchLabels: { app: 'web' } }, template: template({ app: 'web', v: '2' }) });
    applyDefaults('Deployment', old);
    old.metadata.resourceVersion = '1';
    const next = clone(old);
    next.spec.selector = { matchLabels: { app: 'web', v: '2' } };
    assert.deepEqual(validate('Deployment', next, old).map(fieldErrorString), [
      'spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"app":"web", "v":"2"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable',
    ]);
  });
});

describe('other kinds', () => {
  test('EndpointSlice', () => {
    const slice = {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: 'web-abc', namespace: 'default' },
      addressType: 'IPv4',
      endpoints: [{ addresses: ['10.244.1.5'] }],
      ports: [{ port: 80 }],
    };
    assert.deepEqual(errors('EndpointSlice', slice), []);
    assert.deepEqual(errors('EndpointSlice', { ...slice, addressType: 'IPv5' }), [
      'addressType: Unsupported value: "IPv5": supported values: "FQDN", "IPv4", "IPv6"',
    ]);
    assert.deepEqual(errors('EndpointSlice', { ...slice, endpoints: [{ addresses: ['fd00::1'] }] }), [
      'endpoints[0].addresses[0]: Invalid value: "fd00::1": must be a valid IPv4 address',
    ]);
    const many = { ...slice, endpoints: Array.from({ length: 1001 }, () => ({ addresses: ['10.244.1.5'] })) };
    assert.deepEqual(errors('EndpointSlice', many), ['endpoints: Too many: must have at most 1000 items']);
  });

  test('Endpoints', () => {
    const ep = {
      kind: 'Endpoints',
      metadata: { name: 'web', namespace: 'default' },
      subsets: [{ addresses: [{ ip: '127.0.0.1' }], ports: [{ port: 80 }] }],
    };
    assert.deepEqual(errors('Endpoints', ep), [
      'subsets[0].addresses[0].ip: Invalid value: "127.0.0.1": may not be in the loopback range (127.0.0.0/8, ::1/128)',
    ]);
  });

  test('Ingress', () => {
    const ing = (path: Json) => ({
      kind: 'Ingress',
      metadata: { name: 'web', namespace: 'default' },
      spec: { rules: [{ host: 'a.example.com', http: { paths: [path] } }] },
    });
    assert.deepEqual(
      errors('Ingress', ing({ path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { number: 80 } } } })),
      [],
    );
    assert.deepEqual(
      errors('Ingress', ing({ path: '/', pathType: 'Regex', backend: { service: { name: 'web', port: { number: 80 } } } })),
      ['spec.rules[0].http.paths[0].pathType: Unsupported value: "Regex": supported values: "Exact", "ImplementationSpecific", "Prefix"'],
    );
    assert.deepEqual(errors('Ingress', ing({ path: '/', backend: { service: { name: 'web', port: { number: 80 } } } })), [
      'spec.rules[0].http.paths[0].pathType: Required value: pathType must be specified',
    ]);
    assert.deepEqual(errors('Ingress', ing({ path: '/', pathType: 'Exact', backend: { service: { name: 'web', port: {} } } })), [
      'spec.rules[0].http.paths[0].backend: Required value: port name or number is required',
    ]);
  });

  test('ConfigMap keys, Namespace names, metadata rules', () => {
    assert.deepEqual(errors('ConfigMap', { kind: 'ConfigMap', metadata: { name: 'c', namespace: 'default' }, data: { 'a/b': 'x' } }), [
      `data[a/b]: Invalid value: "a/b": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')`,
    ]);
    assert.deepEqual(errors('Namespace', { kind: 'Namespace', metadata: { name: 'a.b' } }), [
      'metadata.name: Invalid value: "a.b": must not contain dots',
    ]);
    assert.deepEqual(errors('Service', { kind: 'Service', metadata: { namespace: 'default' }, spec: { ports: [{ port: 80 }] } }), [
      'metadata.name: Required value: name or generateName is required',
    ]);
    assert.deepEqual(errors('Namespace', { kind: 'Namespace', metadata: { name: 'x', namespace: 'default' } }), [
      'metadata.namespace: Forbidden: not allowed on this type',
    ]);
    assert.deepEqual(errors('Service', svc({ ports: [{ port: 80 }] }, 'web')).length, 0);
    const labelled = svc({ ports: [{ port: 80 }] });
    labelled.metadata.labels = { 'bad key': 'v' };
    assert.equal(errors('Service', labelled)[0].startsWith('metadata.labels: Invalid value: "bad key": name part must consist of'), true);
  });
});
