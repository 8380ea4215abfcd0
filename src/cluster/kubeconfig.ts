/**
 * Writing and reading kubeconfig files. We write the local cluster's admin kubeconfig (the one
 * `kubectl` uses) and read any kubeconfig so svcnet's proxy and DNS can run against a real
 * cluster. Reading follows kubectl's rules for the common fields: the current context (or an
 * explicit one), inline `-data` fields or file paths resolved relative to the kubeconfig,
 * `token`/`tokenFile`, `insecure-skip-tls-verify`, and KUBECONFIG lists joined with ':'
 * (first file to set a value wins, as kubectl merges them).
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, isAbsolute, join, resolve } from 'node:path';
import YAML from 'yaml';

export interface WriteKubeconfigOptions {
  /** e.g. https://127.0.0.1:6443 */
  server: string;
  caPem: string;
  token?: string;
  clientCertPem?: string;
  clientKeyPem?: string;
  /** Names of the cluster/context (default `svcnet`) and user (default `svcnet-admin`). */
  clusterName?: string;
  userName?: string;
  namespace?: string;
}

/** What a client needs to connect; field names match HttpClientConfig (src/client/http.ts). */
export interface KubeconfigCredentials {
  server: string;
  caPem?: string;
  token?: string;
  clientCertPem?: string;
  clientKeyPem?: string;
  insecureSkipTLSVerify?: boolean;
  /** The context's namespace, when it sets one. */
  namespace?: string;
  /** The context used. */
  context: string;
}

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

/** The kubeconfig document (as YAML text) for one cluster, one user and one current context. */
export function renderKubeconfig(o: WriteKubeconfigOptions): string {
  const cluster = o.clusterName ?? 'svcnet';
  const user = o.userName ?? 'svcnet-admin';
  const userBody: Record<string, string> = {};
  if (o.clientCertPem) userBody['client-certificate-data'] = b64(o.clientCertPem);
  if (o.clientKeyPem) userBody['client-key-data'] = b64(o.clientKeyPem);
  if (o.token) userBody.token = o.token;
  const context: Record<string, string> = { cluster, user };
  if (o.namespace) context.namespace = o.namespace;
  // Written by hand rather than with YAML.stringify: the document's shape is fixed, and the YAML
  // library's first stringify costs ~8 ms of compilation on every `svcnet up`.
  const map = (indent: string, body: Record<string, string>) =>
    Object.entries(body)
      .map(([k, v]) => `${indent}${k}: ${yamlScalar(v)}\n`)
      .join('');
  return [
    'apiVersion: v1\n',
    'kind: Config\n',
    'clusters:\n',
    `  - name: ${yamlScalar(cluster)}\n`,
    '    cluster:\n',
    map('      ', { 'certificate-authority-data': b64(o.caPem), server: o.server }),
    'users:\n',
    `  - name: ${yamlScalar(user)}\n`,
    Object.keys(userBody).length ? `    user:\n${map('      ', userBody)}` : '    user: {}\n',
    'contexts:\n',
    `  - name: ${yamlScalar(cluster)}\n`,
    '    context:\n',
    map('      ', context),
    `current-context: ${yamlScalar(cluster)}\n`,
    'preferences: {}\n',
  ].join('');
}

/**
 * A string as a YAML scalar: plain when it cannot be read as anything but that string (names,
 * URLs, base64, tokens), otherwise double-quoted (a JSON string is a valid YAML double-quoted one).
 */
function yamlScalar(s: string): string {
  const plain =
    /^[A-Za-z0-9_./+=-][A-Za-z0-9_./+=:@-]*$/.test(s) &&
    !/^(?:[-+.]?\d|\.|[-.]$|(?:true|false|yes|no|on|off|null|y|n|~)$)/i.test(s) &&
    !/:$/.test(s);
  return plain ? s : JSON.stringify(s);
}

/** Writes the kubeconfig atomically with mode 0600 (it holds a credential). */
export function writeKubeconfig(path: string, o: WriteKubeconfigOptions): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, renderKubeconfig(o), { mode: 0o600 });
  renameSync(tmp, path);
}

type Section = Record<string, unknown>;

interface RawConfig {
  clusters?: { name: string; cluster?: Section }[];
  users?: { name: string; user?: Section }[];
  contexts?: { name: string; context?: Section }[];
  'current-context'?: string;
}

/**
 * The kubeconfig paths kubectl would use: `explicit`, else $KUBECONFIG split on ':', else
 * ~/.kube/config.
 */
export function kubeconfigPaths(explicit?: string, env: NodeJS.ProcessEnv = process.env): string[] {
  if (explicit) return [explicit];
  const list = (env.KUBECONFIG ?? '').split(delimiter).filter(Boolean);
  return list.length ? list : [join(homedir(), '.kube', 'config')];
}

/**
 * Loads credentials from a kubeconfig (or a KUBECONFIG-style list of files). Throws with a
 * kubectl-like message when the context, cluster or user cannot be found.
 */
export function loadKubeconfig(path?: string, opts: { context?: string; env?: NodeJS.ProcessEnv } = {}): KubeconfigCredentials {
  const files = kubeconfigPaths(path, opts.env).filter((f) => path !== undefined || existsSync(f));
  if (!files.length) throw new Error('invalid configuration: no configuration has been provided');

  // Merge: the first file to define a name (or current-context) wins.
  let current: string | undefined;
  const clusters = new Map<string, { body: Section; dir: string }>();
  const users = new Map<string, { body: Section; dir: string }>();
  const contexts = new Map<string, Section>();
  for (const file of files) {
    const abs = resolve(file);
    const raw = (YAML.parse(readFileSync(abs, 'utf8')) ?? {}) as RawConfig;
    const dir = dirname(abs);
    current ??= raw['current-context'] || undefined;
    for (const c of raw.clusters ?? []) if (!clusters.has(c.name)) clusters.set(c.name, { body: c.cluster ?? {}, dir });
    for (const u of raw.users ?? []) if (!users.has(u.name)) users.set(u.name, { body: u.user ?? {}, dir });
    for (const c of raw.contexts ?? []) if (!contexts.has(c.name)) contexts.set(c.name, c.context ?? {});
  }

  const contextName = opts.context ?? current;
  if (!contextName) throw new Error('invalid configuration: no current context is set');
  const ctx = contexts.get(contextName);
  if (!ctx) throw new Error(`context was not found for specified context: ${contextName}`);
  const clusterName = String(ctx.cluster ?? '');
  const cluster = clusters.get(clusterName);
  if (!cluster) throw new Error(`cluster has no server defined: ${clusterName}`);
  const server = String(cluster.body.server ?? '');
  if (!server) throw new Error(`cluster has no server defined: ${clusterName}`);
  const user = users.get(String(ctx.user ?? '')) ?? { body: {}, dir: cluster.dir };

  const out: KubeconfigCredentials = { server, context: contextName };
  const caPem = dataOrFile(cluster.body, 'certificate-authority', cluster.dir);
  if (caPem) out.caPem = caPem;
  if (cluster.body['insecure-skip-tls-verify'] === true) out.insecureSkipTLSVerify = true;
  const cert = dataOrFile(user.body, 'client-certificate', user.dir);
  const key = dataOrFile(user.body, 'client-key', user.dir);
  if (cert) out.clientCertPem = cert;
  if (key) out.clientKeyPem = key;
  if (typeof user.body.token === 'string' && user.body.token) out.token = user.body.token;
  else if (typeof user.body.tokenFile === 'string' && user.body.tokenFile)
    out.token = readFileSync(resolveFrom(user.dir, user.body.tokenFile), 'utf8').trim();
  if (typeof ctx.namespace === 'string' && ctx.namespace) out.namespace = ctx.namespace;
  return out;
}

/** `<field>-data` (base64) wins over `<field>` (a path relative to the kubeconfig's directory). */
function dataOrFile(body: Section, field: string, dir: string): string | undefined {
  const data = body[`${field}-data`];
  if (typeof data === 'string' && data) return Buffer.from(data, 'base64').toString('utf8');
  const file = body[field];
  if (typeof file === 'string' && file) return readFileSync(resolveFrom(dir, file), 'utf8');
  return undefined;
}

function resolveFrom(dir: string, p: string): string {
  const expanded = p.startsWith('~/') ? join(homedir(), p.slice(2)) : p;
  return isAbsolute(expanded) ? expanded : join(dir, expanded);
}
