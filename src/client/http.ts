/**
 * Client over HTTPS for any Kubernetes API server (svcnet's own or kube-apiserver), configured
 * from a kubeconfig. Keep-alive connections; watches are newline-delimited JSON streams.
 */

import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent, request as httpsRequest, type RequestOptions } from 'node:https';
import { StatusError } from '../api/errors.js';
import type { KubeList, KubeObject, WatchEvent } from '../api/meta.js';
import {
  type Client,
  type DeleteOptions,
  type GroupVersionResource,
  type ListOptions,
  PATCH_CONTENT_TYPES,
  type PatchType,
  type WatchOptions,
  type WatchStream,
  type WriteOptions,
} from './types.js';

export interface HttpClientConfig {
  /** e.g. https://127.0.0.1:6443 */
  server: string;
  caPem?: string;
  token?: string;
  clientCertPem?: string;
  clientKeyPem?: string;
  insecureSkipTLSVerify?: boolean;
  userAgent?: string;
}

export function resourcePath(gvr: GroupVersionResource, namespace?: string, name?: string, subresource?: string): string {
  let p = gvr.group ? `/apis/${gvr.group}/${gvr.version}` : `/api/${gvr.version}`;
  if (namespace) p += `/namespaces/${encodeURIComponent(namespace)}`;
  p += `/${gvr.resource}`;
  if (name) p += `/${encodeURIComponent(name)}`;
  if (subresource) p += `/${subresource}`;
  return p;
}

function listQuery(o: ListOptions | undefined, q = new URLSearchParams()): URLSearchParams {
  if (!o) return q;
  if (o.labelSelector) q.set('labelSelector', o.labelSelector);
  if (o.fieldSelector) q.set('fieldSelector', o.fieldSelector);
  if (o.limit) q.set('limit', String(o.limit));
  if (o.continue) q.set('continue', o.continue);
  if (o.resourceVersion !== undefined) q.set('resourceVersion', o.resourceVersion);
  if (o.resourceVersionMatch) q.set('resourceVersionMatch', o.resourceVersionMatch);
  return q;
}

function writeQuery(o: (WriteOptions & { force?: boolean }) | undefined): URLSearchParams {
  const q = new URLSearchParams();
  if (o?.fieldManager) q.set('fieldManager', o.fieldManager);
  if (o?.dryRun) q.set('dryRun', 'All');
  if (o?.fieldValidation) q.set('fieldValidation', o.fieldValidation);
  if (o?.force !== undefined) q.set('force', String(o.force));
  return q;
}

export class HttpClient implements Client {
  private readonly url: URL;
  private readonly agent: Agent | HttpAgent;
  /**
   * Watches hold their connection for minutes: they get their own unpooled agent, so that any
   * number of watches can neither exhaust the pool nor starve ordinary requests queued behind them.
   */
  private readonly watchAgent: Agent | HttpAgent;

  constructor(readonly config: HttpClientConfig) {
    this.url = new URL(config.server);
    const makeAgent = (pool: { keepAlive: boolean; maxSockets?: number }) =>
      this.url.protocol === 'https:'
        ? new Agent({
            ...pool,
            ca: config.caPem,
            cert: config.clientCertPem,
            key: config.clientKeyPem,
            rejectUnauthorized: !config.insecureSkipTLSVerify,
          })
        : new HttpAgent(pool);
    this.agent = makeAgent({ keepAlive: true, maxSockets: 64 });
    this.watchAgent = makeAgent({ keepAlive: false });
  }

  /** Sends one request; resolves with the response stream (status already checked by callers). */
  private send(
    method: string,
    path: string,
    query: URLSearchParams | undefined,
    body?: string,
    contentType?: string,
    agent: Agent | HttpAgent = this.agent,
  ): Promise<IncomingMessage> {
    const qs = query?.toString();
    const headers: Record<string, string> = { Accept: 'application/json', 'User-Agent': this.config.userAgent ?? 'svcnet' };
    if (this.config.token) headers.Authorization = `Bearer ${this.config.token}`;
    if (body !== undefined) {
      headers['Content-Type'] = contentType ?? 'application/json';
      headers['Content-Length'] = String(Buffer.byteLength(body));
    }
    const opts: RequestOptions = {
      method,
      host: this.url.hostname.replace(/^\[|\]$/g, ''),
      port: this.url.port || (this.url.protocol === 'https:' ? 443 : 80),
      path: `${this.url.pathname.replace(/\/$/, '')}${path}${qs ? `?${qs}` : ''}`,
      headers,
      agent,
    };
    const req = (this.url.protocol === 'https:' ? httpsRequest : httpRequest)(opts);
    return new Promise((resolve, reject) => {
      req.once('response', resolve);
      req.once('error', reject);
      req.end(body);
    });
  }

  private async call<T>(method: string, path: string, query?: URLSearchParams, body?: unknown, contentType?: string): Promise<T> {
    const raw = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const res = await this.send(method, path, query, raw, contentType);
    const chunks: Buffer[] = [];
    for await (const c of res) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    if ((res.statusCode ?? 500) >= 400) {
      const s = parsed as { kind?: string } | undefined;
      if (s?.kind === 'Status') throw StatusError.fromStatus(s as never);
      throw new StatusError(res.statusCode ?? 500, 'InternalError', text || `HTTP ${res.statusCode}`);
    }
    return parsed as T;
  }

  get<T extends KubeObject = KubeObject>(gvr: GroupVersionResource, name: string, namespace?: string): Promise<T> {
    return this.call('GET', resourcePath(gvr, namespace, name));
  }

  list<T extends KubeObject = KubeObject>(gvr: GroupVersionResource, opts?: ListOptions): Promise<KubeList<T>> {
    return this.call('GET', resourcePath(gvr, opts?.namespace), listQuery(opts));
  }

  async watch<T extends KubeObject = KubeObject>(gvr: GroupVersionResource, opts?: WatchOptions): Promise<WatchStream<T>> {
    const q = listQuery(opts);
    q.set('watch', 'true');
    if (opts?.allowWatchBookmarks) q.set('allowWatchBookmarks', 'true');
    if (opts?.timeoutSeconds) q.set('timeoutSeconds', String(opts.timeoutSeconds));
    const res = await this.send('GET', resourcePath(gvr, opts?.namespace), q, undefined, undefined, this.watchAgent);
    if ((res.statusCode ?? 500) >= 400) {
      const chunks: Buffer[] = [];
      for await (const c of res) chunks.push(c as Buffer);
      const text = Buffer.concat(chunks).toString('utf8');
      try {
        throw StatusError.fromStatus(JSON.parse(text));
      } catch (e) {
        if (e instanceof StatusError) throw e;
        throw new StatusError(res.statusCode ?? 500, 'InternalError', text);
      }
    }
    const close = () => res.destroy();
    opts?.signal?.addEventListener('abort', close, { once: true });
    async function* events(): AsyncGenerator<WatchEvent<T>> {
      let buf = '';
      try {
        for await (const chunk of res) {
          buf += (chunk as Buffer).toString('utf8');
          let nl = buf.indexOf('\n');
          while (nl >= 0) {
            const line = buf.slice(0, nl).trim();
            buf = buf.slice(nl + 1);
            if (line) yield JSON.parse(line) as WatchEvent<T>;
            nl = buf.indexOf('\n');
          }
        }
      } catch (e) {
        // A destroyed response (close()/abort) ends the stream quietly.
        if (!res.destroyed) throw e;
      }
    }
    const it = events();
    return { [Symbol.asyncIterator]: () => it, close };
  }

  create<T extends KubeObject = KubeObject>(
    gvr: GroupVersionResource,
    obj: T,
    opts?: WriteOptions & { namespace?: string; subresource?: string },
  ): Promise<T> {
    return this.call(
      'POST',
      resourcePath(gvr, opts?.namespace ?? obj.metadata.namespace, opts?.subresource && obj.metadata.name, opts?.subresource),
      writeQuery(opts),
      obj,
    );
  }

  update<T extends KubeObject = KubeObject>(
    gvr: GroupVersionResource,
    obj: T,
    opts?: WriteOptions & { namespace?: string; subresource?: string },
  ): Promise<T> {
    const path = resourcePath(gvr, opts?.namespace ?? obj.metadata.namespace, obj.metadata.name, opts?.subresource);
    return this.call('PUT', path, writeQuery(opts), obj);
  }

  patch<T extends KubeObject = KubeObject>(
    gvr: GroupVersionResource,
    name: string,
    type: PatchType,
    patch: unknown,
    opts?: WriteOptions & { namespace?: string; subresource?: string; force?: boolean },
  ): Promise<T> {
    const path = resourcePath(gvr, opts?.namespace, name, opts?.subresource);
    return this.call('PATCH', path, writeQuery(opts), patch, PATCH_CONTENT_TYPES[type]);
  }

  async delete<T extends KubeObject = KubeObject>(
    gvr: GroupVersionResource,
    name: string,
    opts?: DeleteOptions & { namespace?: string },
  ): Promise<T | undefined> {
    const body: Record<string, unknown> = {};
    if (opts?.gracePeriodSeconds !== undefined) body.gracePeriodSeconds = opts.gracePeriodSeconds;
    if (opts?.propagationPolicy) body.propagationPolicy = opts.propagationPolicy;
    if (opts?.preconditions) body.preconditions = opts.preconditions;
    if (opts?.dryRun) body.dryRun = ['All'];
    const res = await this.call<T | { kind: 'Status' }>('DELETE', resourcePath(gvr, opts?.namespace, name), undefined, body);
    return (res as { kind?: string })?.kind === 'Status' ? undefined : (res as T);
  }

  /** Raw GET of a non-resource path (discovery, /version…). */
  raw<T = unknown>(path: string): Promise<T> {
    return this.call('GET', path);
  }

  close(): void {
    this.agent.destroy();
    this.watchAgent.destroy();
  }
}
