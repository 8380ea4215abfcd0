import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Pod, Service } from '../../api/types/index.js';
import { CrashBackoff, goDuration } from './backoff.js';
import { formatResolvConf, hostsFile, parseResolvConf, podResolvConf } from './dns.js';
import { ContainerConfigError, containerEnv, expandVars, serviceEnv, serviceLinkEnv } from './env.js';
import { containerInitScript, planMounts } from './mounts.js';

type SpecFields = Partial<NonNullable<Pod['spec']>>;
const pod = (spec: SpecFields = {}, meta: Pod['metadata'] = {}): Pod => ({
  metadata: { name: 'web-0', namespace: 'shop', uid: 'u1', ...meta },
  spec: { ...spec, containers: [] },
});
const node = parseResolvConf('nameserver 192.0.2.1\nnameserver 192.0.2.2\nsearch corp.test\noptions edns0 # comment\n');

describe('resolv.conf', () => {
  const cases: [string, SpecFields, string][] = [
    [
      'ClusterFirst (default)',
      {},
      'nameserver 10.96.0.10\nsearch shop.svc.cluster.local svc.cluster.local cluster.local corp.test\noptions ndots:5\n',
    ],
    [
      'Default uses the node file',
      { dnsPolicy: 'Default' },
      'nameserver 192.0.2.1\nnameserver 192.0.2.2\nsearch corp.test\noptions edns0\n',
    ],
    [
      'hostNetwork + ClusterFirst falls back to the node',
      { hostNetwork: true },
      'nameserver 192.0.2.1\nnameserver 192.0.2.2\nsearch corp.test\noptions edns0\n',
    ],
    [
      'ClusterFirstWithHostNet',
      { hostNetwork: true, dnsPolicy: 'ClusterFirstWithHostNet' },
      'nameserver 10.96.0.10\nsearch shop.svc.cluster.local svc.cluster.local cluster.local corp.test\noptions ndots:5\n',
    ],
    [
      'None with dnsConfig',
      {
        dnsPolicy: 'None',
        dnsConfig: { nameservers: ['1.1.1.1'], searches: ['a.test'], options: [{ name: 'ndots', value: '2' }, { name: 'edns0' }] },
      },
      'nameserver 1.1.1.1\nsearch a.test\noptions ndots:2 edns0\n',
    ],
    [
      'dnsConfig merges and overrides options',
      { dnsConfig: { nameservers: ['10.96.0.10', '8.8.8.8'], options: [{ name: 'ndots', value: '1' }] } },
      'nameserver 10.96.0.10\nnameserver 8.8.8.8\nsearch shop.svc.cluster.local svc.cluster.local cluster.local corp.test\noptions ndots:1\n',
    ],
  ];
  for (const [name, spec, want] of cases) test(name, () => assert.equal(formatResolvConf(podResolvConf(pod(spec), undefined, node)), want));

  test('/etc/hosts names the pod, with its FQDN under a subdomain, and host aliases', () => {
    const text = hostsFile(
      pod({ hostname: 'db-0', subdomain: 'db', hostAliases: [{ ip: '10.1.2.3', hostnames: ['foo.local', 'bar.local'] }] }),
      ['10.244.1.5'],
    );
    assert.match(text, /^# Kubernetes-managed hosts file\.\n127\.0\.0\.1\tlocalhost\n/);
    assert.match(text, /^10\.244\.1\.5\tdb-0\.db\.shop\.svc\.cluster\.local\tdb-0$/m);
    assert.match(text, /# Entries added by HostAliases\.\n10\.1\.2\.3\tfoo\.local\tbar\.local\n$/);
    assert.match(hostsFile(pod(), ['10.244.1.6']), /^10\.244\.1\.6\tweb-0$/m);
  });
});

const svc = (name: string, namespace: string, clusterIP: string, ports: { name?: string; port: number; protocol?: string }[]): Service => ({
  metadata: { name, namespace },
  spec: { clusterIP, ports },
});

describe('environment', () => {
  test('docker-link variables of a Service', () => {
    assert.deepEqual(
      serviceEnv(
        svc('webui-svc', 'default', '10.96.0.20', [
          { name: 'http', port: 80 },
          { port: 53, protocol: 'UDP' },
        ]),
      ),
      [
        ['WEBUI_SVC_SERVICE_HOST', '10.96.0.20'],
        ['WEBUI_SVC_SERVICE_PORT', '80'],
        ['WEBUI_SVC_SERVICE_PORT_HTTP', '80'],
        ['WEBUI_SVC_PORT', 'tcp://10.96.0.20:80'],
        ['WEBUI_SVC_PORT_80_TCP', 'tcp://10.96.0.20:80'],
        ['WEBUI_SVC_PORT_80_TCP_PROTO', 'tcp'],
        ['WEBUI_SVC_PORT_80_TCP_PORT', '80'],
        ['WEBUI_SVC_PORT_80_TCP_ADDR', '10.96.0.20'],
        ['WEBUI_SVC_PORT_53_UDP', 'udp://10.96.0.20:53'],
        ['WEBUI_SVC_PORT_53_UDP_PROTO', 'udp'],
        ['WEBUI_SVC_PORT_53_UDP_PORT', '53'],
        ['WEBUI_SVC_PORT_53_UDP_ADDR', '10.96.0.20'],
      ],
    );
  });

  test('service links: own namespace only, headless skipped, kubernetes always; enableServiceLinks false keeps only kubernetes', () => {
    const services = [
      svc('kubernetes', 'default', '10.96.0.1', [{ name: 'https', port: 443 }]),
      svc('api', 'shop', '10.96.0.30', [{ port: 8080 }]),
      svc('other', 'elsewhere', '10.96.0.31', [{ port: 80 }]),
      svc('headless', 'shop', 'None', [{ port: 80 }]),
    ];
    const names = (p: Pod) => [...new Set(serviceLinkEnv(p, services).map(([k]) => k.split('_')[0]))];
    assert.deepEqual(names(pod()), ['API', 'KUBERNETES']);
    assert.deepEqual(names(pod({ enableServiceLinks: false })), ['KUBERNETES']);
  });

  test('$(VAR) expansion', () => {
    const vars = new Map([['A', 'x']]);
    assert.equal(expandVars('$(A)-$(B)-$$(A)', vars), 'x-$(B)-$(A)');
  });

  test('valueFrom and envFrom, and the error for a missing ConfigMap', async () => {
    const source = {
      configMap: async (_ns: string, name: string) => (name === 'cfg' ? { data: { k: 'v' } } : undefined),
      secret: async () => ({ data: { p: Buffer.from('pw').toString('base64') } }),
    };
    const p = pod({}, { labels: { app: 'a' } });
    p.status = { podIP: '10.244.1.9' };
    const env = await containerEnv(
      p,
      {
        name: 'c',
        envFrom: [{ configMapRef: { name: 'cfg' } }, { configMapRef: { name: 'gone', optional: true } }],
        env: [
          { name: 'IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
          { name: 'NS', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
          { name: 'P', valueFrom: { secretKeyRef: { name: 's', key: 'p' } } },
          { name: 'KV', value: '$(k)!' },
        ],
      },
      [],
      source,
    );
    assert.deepEqual(env, [
      ['k', 'v'],
      ['IP', '10.244.1.9'],
      ['NS', 'shop'],
      ['P', 'pw'],
      ['KV', 'v!'],
    ]);
    await assert.rejects(
      containerEnv(p, { name: 'c', env: [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'gone', key: 'k' } } }] }, [], source),
      (err: unknown) => err instanceof ContainerConfigError && err.message === 'configmap "gone" not found',
    );
  });
});

describe('restart back-off', () => {
  test('first restart at once, then 10 s after the exit, doubling to 5 minutes', () => {
    const b = new CrashBackoff();
    assert.deepEqual(b.check('p/c', 0, 0), { waitMs: 0, backoffMs: 10_000 });
    assert.deepEqual(b.check('p/c', 1000, 1000), { waitMs: 10_000, backoffMs: 10_000 });
    assert.deepEqual(b.check('p/c', 1000, 11_000), { waitMs: 0, backoffMs: 20_000 });
    // The container keeps crashing right after each restart: the waits go 20 s, 40 s, … up to 5 minutes.
    let now = 11_000;
    const waits: number[] = [];
    for (let i = 0; i < 6; i++) {
      const finishedAt = now;
      const { waitMs } = b.check('p/c', finishedAt, now);
      waits.push(waitMs);
      now += waitMs;
      assert.equal(b.check('p/c', finishedAt, now).waitMs, 0);
    }
    assert.deepEqual(waits, [20_000, 40_000, 80_000, 160_000, 300_000, 300_000]);
    assert.deepEqual(b.check('p/c', now, now + 601_000 + 300_000), { waitMs: 0, backoffMs: 10_000 }, 'forgotten after 2 × max');
    assert.deepEqual([goDuration(10_000), goDuration(40_000), goDuration(300_000)], ['10s', '40s', '5m0s']);
  });
});

describe('mounts', () => {
  const host = new Map<string, 'dir' | 'file'>([
    ['/etc', 'dir'],
    ['/etc/hosts', 'file'],
    ['/usr', 'dir'],
    ['/usr/share', 'dir'],
  ]);
  test('existing targets are bound; missing ones are made in an overlay over the nearest existing directory', () => {
    const plan = planMounts(
      [
        { source: '/s/hosts', target: '/etc/hosts', directory: false },
        { source: '/s/html', target: '/usr/share/nginx/html', directory: true },
        { source: '/s/cfg', target: '/etc/config', directory: true, readOnly: true },
        { source: '/s/data', target: '/data', directory: true },
      ],
      (p) => host.get(p),
      (n) => `/pod/ov/${n}`,
    );
    assert.deepEqual(plan.overlays, [
      { lower: '/etc', upper: '/pod/ov/0/upper', work: '/pod/ov/0/work' },
      { lower: '/usr/share', upper: '/pod/ov/1/upper', work: '/pod/ov/1/work' },
    ]);
    assert.deepEqual(plan.mkdirs, ['/data', '/etc/config', '/usr/share/nginx/html']);
    const script = containerInitScript(plan, { hostname: 'web-0', workingDir: '/srv app' });
    assert.equal(
      script,
      [
        'set -e',
        'mount -t overlay svcnet-overlay -o lowerdir=/etc,upperdir=/pod/ov/0/upper,workdir=/pod/ov/0/work /etc',
        'mount -t overlay svcnet-overlay -o lowerdir=/usr/share,upperdir=/pod/ov/1/upper,workdir=/pod/ov/1/work /usr/share',
        'mkdir -p /data /etc/config /usr/share/nginx/html',
        'mount --bind /s/data /data',
        'mount --bind /s/cfg /etc/config',
        'mount -o remount,bind,ro /etc/config',
        'mount --bind /s/hosts /etc/hosts',
        'mount --bind /s/html /usr/share/nginx/html',
        'hostname web-0',
        "cd '/srv app'",
        'printf started >&3',
        'exec 3>&-',
        'exec "$@"',
      ].join('\n'),
    );
  });

  test('a container asking for a stdout pipe gets one through a FIFO relayed by cat, after it reports started', () => {
    const script = containerInitScript(
      { overlays: [], mkdirs: [], touches: [], binds: [] },
      { hostname: 'web', stdoutPipe: '/pod/c/nginx/stdout' },
    );
    assert.equal(
      script,
      [
        'set -e',
        'hostname web',
        'printf started >&3',
        'exec 3>&-',
        '[ -p /pod/c/nginx/stdout ] || mkfifo /pod/c/nginx/stdout',
        'cat /pod/c/nginx/stdout &',
        'exec >/pod/c/nginx/stdout',
        'exec "$@"',
      ].join('\n'),
    );
  });
});
