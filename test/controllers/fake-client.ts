/**
 * A small in-memory Client for the workload controllers' tests: resource versions, uids,
 * generateName, generation bumps on spec changes, merge patches (strategic ones too, merging
 * ownerReferences by uid and honouring `$patch: delete`), watches and graceful deletion of pods.
 * Just enough API server to drive controllers deterministically; the real one is covered by the
 * integration tests.
 */
import { randomUUID } from 'node:crypto';
import { StatusError } from '../../src/api/errors.js';
import { matches, parseSelector } from '../../src/api/labels.js';
import type { KubeList, KubeObject, WatchEvent } from '../../src/api/meta.js';
import type {
  Client,
  DeleteOptions,
  GroupVersionResource,
  ListOptions,
  PatchType,
  WatchOptions,
  WatchStream,
} from '../../src/client/types.js';

const ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

function statusError(code: number, reason: string, message: string): StatusError {
  return StatusError.fromStatus({ apiVersion: 'v1', kind: 'Status', status: 'Failure', code, reason, message, metadata: {} } as never);
}

function mergePatch(target: unknown, patch: unknown, strategic: boolean): unknown {
  if (!patch || typeof patch !== 'object' || Array.isArray(patch)) return structuredClone(patch);
  const out: Record<string, unknown> =
    target && typeof target === 'object' && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else if (strategic && k === 'ownerReferences' && Array.isArray(v)) {
      let refs = [...((out[k] as { uid: string }[]) ?? [])];
      for (const item of v as { uid: string; $patch?: string }[]) {
        refs = refs.filter((r) => r.uid !== item.uid);
        if (item.$patch !== 'delete') refs.push(item);
      }
      out[k] = refs;
    } else out[k] = mergePatch(out[k], v, strategic);
  }
  return out;
}

type Listener = (ev: WatchEvent) => void;

export class FakeClient implements Client {
  readonly objects = new Map<string, KubeObject>();
  private rv = 1;
  private listeners = new Set<{ gvr: string; ns?: string; fn: Listener }>();
  /** Every write, for assertions: `create pods default/web-abcde`. */
  readonly actions: string[] = [];
  /** Resources whose create fails with the given error (e.g. quota). */
  failCreate = new Map<string, StatusError>();
  /** pods/binding answers 404 so the scheduler's fallback path is used. */
  bindingSupported = true;
  /** Called after every write; `until` waits on it instead of polling. */
  readonly writeListeners = new Set<() => void>();

  private gvrKey(gvr: GroupVersionResource) {
    return `${gvr.group}/${gvr.resource}`;
  }

  private key(gvr: GroupVersionResource, ns: string | undefined, name: string) {
    return `${this.gvrKey(gvr)}|${ns ?? ''}|${name}`;
  }

  /** Every event with its resource version, so a watch from a version replays what it missed. */
  private readonly log: { gvr: string; ev: WatchEvent }[] = [];

  private emit(gvr: GroupVersionResource, type: WatchEvent['type'], obj: KubeObject) {
    this.log.push({ gvr: this.gvrKey(gvr), ev: { type, object: structuredClone(obj) } });
    for (const l of this.listeners)
      if (l.gvr === this.gvrKey(gvr) && (!l.ns || l.ns === obj.metadata.namespace)) l.fn({ type, object: structuredClone(obj) });
  }

  async get<T extends KubeObject>(gvr: GroupVersionResource, name: string, namespace?: string): Promise<T> {
    const o = this.objects.get(this.key(gvr, namespace, name));
    if (!o) throw statusError(404, 'NotFound', `${gvr.resource} "${name}" not found`);
    return structuredClone(o) as T;
  }

  async list<T extends KubeObject>(gvr: GroupVersionResource, opts?: ListOptions): Promise<KubeList<T>> {
    const prefix = `${this.gvrKey(gvr)}|`;
    const sel = opts?.labelSelector ? parseSelector(opts.labelSelector) : undefined;
    const items = [...this.objects.entries()]
      .filter(
        ([k, o]) =>
          k.startsWith(prefix) &&
          (!opts?.namespace || o.metadata.namespace === opts.namespace) &&
          (!sel || matches(sel, o.metadata.labels)),
      )
      .map(([, o]) => structuredClone(o) as T);
    return { apiVersion: 'v1', kind: 'List', metadata: { resourceVersion: String(this.rv) }, items };
  }

  async watch<T extends KubeObject>(gvr: GroupVersionResource, opts?: WatchOptions): Promise<WatchStream<T>> {
    const queue: WatchEvent<T>[] = [];
    let wake: (() => void) | undefined;
    let closed = false;
    const entry = {
      gvr: this.gvrKey(gvr),
      ns: opts?.namespace,
      fn: (ev: WatchEvent) => {
        queue.push(ev as WatchEvent<T>);
        wake?.();
      },
    };
    this.listeners.add(entry);
    const from = Number(opts?.resourceVersion ?? this.rv);
    for (const { gvr: g, ev } of this.log) {
      if (
        g === entry.gvr &&
        Number(ev.object.metadata.resourceVersion) > from &&
        (!entry.ns || entry.ns === ev.object.metadata.namespace)
      ) {
        queue.push(structuredClone(ev) as WatchEvent<T>);
      }
    }
    const close = () => {
      closed = true;
      this.listeners.delete(entry);
      wake?.();
    };
    opts?.signal?.addEventListener('abort', close, { once: true });
    return {
      close,
      async *[Symbol.asyncIterator]() {
        while (!closed) {
          if (queue.length) {
            yield queue.shift() as WatchEvent<T>;
            continue;
          }
          await new Promise<void>((r) => {
            wake = r;
          });
          wake = undefined;
        }
      },
    };
  }

  async create<T extends KubeObject>(gvr: GroupVersionResource, obj: T, opts?: { namespace?: string }): Promise<T> {
    const failure = this.failCreate.get(gvr.resource);
    if (failure) throw failure;
    const o = structuredClone(obj) as KubeObject;
    const ns = opts?.namespace ?? o.metadata.namespace;
    if (gvr.resource.startsWith('pods/') && gvr.resource.endsWith('/binding')) {
      if (!this.bindingSupported) throw statusError(404, 'NotFound', 'the server could not find the requested resource');
      const podName = gvr.resource.split('/')[1];
      const pod = await this.get(R_PODS, podName, ns);
      if (pod.spec.nodeName) throw statusError(409, 'Conflict', `pod ${podName} is already assigned to node "${pod.spec.nodeName}"`);
      pod.spec.nodeName = o.target.name;
      pod.status = { ...(pod.status ?? {}), conditions: [...(pod.status?.conditions ?? []), { type: 'PodScheduled', status: 'True' }] };
      this.store(R_PODS, pod, 'MODIFIED');
      this.actions.push(`bind ${ns}/${podName} ${o.target.name}`);
      return o as T;
    }
    if (!o.metadata.name && o.metadata.generateName) {
      o.metadata.name =
        o.metadata.generateName + Array.from({ length: 5 }, () => ALPHABET[Math.floor(Math.random() * ALPHABET.length)]).join('');
    }
    const name = o.metadata.name ?? '';
    if (this.objects.has(this.key(gvr, ns, name))) throw statusError(409, 'AlreadyExists', `${gvr.resource} "${name}" already exists`);
    o.metadata.namespace = ns;
    o.metadata.uid = randomUUID();
    o.metadata.creationTimestamp = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    o.metadata.generation = 1;
    if (gvr.resource === 'pods') o.status = { phase: 'Pending', ...(o.status ?? {}) };
    if (gvr.resource === 'deployments' || gvr.resource === 'replicasets') o.spec.replicas ??= 1;
    this.actions.push(`create ${gvr.resource} ${ns}/${name}`);
    return this.store(gvr, o, 'ADDED') as T;
  }

  private store(gvr: GroupVersionResource, o: KubeObject, type: WatchEvent['type']): KubeObject {
    o.metadata.resourceVersion = String(++this.rv);
    this.objects.set(this.key(gvr, o.metadata.namespace, o.metadata.name ?? ''), structuredClone(o));
    this.emit(gvr, type, o);
    for (const l of this.writeListeners) queueMicrotask(l);
    return structuredClone(o);
  }

  private write(gvr: GroupVersionResource, next: KubeObject, old: KubeObject, subresource?: string): KubeObject {
    if (subresource === 'status') next = { ...old, status: next.status };
    else {
      next = { ...next, status: old.status };
      if (JSON.stringify(next.spec) !== JSON.stringify(old.spec)) next.metadata.generation = (old.metadata.generation ?? 1) + 1;
    }
    next.metadata = { ...next.metadata, uid: old.metadata.uid, creationTimestamp: old.metadata.creationTimestamp };
    return this.store(gvr, next, 'MODIFIED');
  }

  async update<T extends KubeObject>(gvr: GroupVersionResource, obj: T, opts?: { namespace?: string; subresource?: string }): Promise<T> {
    const ns = opts?.namespace ?? obj.metadata.namespace;
    const old = this.objects.get(this.key(gvr, ns, obj.metadata.name ?? ''));
    if (!old) throw statusError(404, 'NotFound', `${gvr.resource} "${obj.metadata.name}" not found`);
    if (obj.metadata.resourceVersion && obj.metadata.resourceVersion !== old.metadata.resourceVersion) {
      throw statusError(409, 'Conflict', 'the object has been modified; please apply your changes to the latest version and try again');
    }
    this.actions.push(`update${opts?.subresource ? `/${opts.subresource}` : ''} ${gvr.resource} ${ns}/${obj.metadata.name}`);
    return this.write(gvr, structuredClone(obj), old, opts?.subresource) as T;
  }

  async patch<T extends KubeObject>(
    gvr: GroupVersionResource,
    name: string,
    type: PatchType,
    patch: unknown,
    opts?: { namespace?: string; subresource?: string },
  ): Promise<T> {
    const old = this.objects.get(this.key(gvr, opts?.namespace, name));
    if (!old) throw statusError(404, 'NotFound', `${gvr.resource} "${name}" not found`);
    const p = patch as KubeObject;
    if (p.metadata?.uid && p.metadata.uid !== old.metadata.uid)
      throw statusError(409, 'Conflict', 'Precondition failed: UID in precondition');
    if (p.metadata?.resourceVersion && p.metadata.resourceVersion !== old.metadata.resourceVersion)
      throw statusError(409, 'Conflict', 'the object has been modified');
    const next = mergePatch(old, patch, type === 'strategic') as KubeObject;
    this.actions.push(`patch${opts?.subresource ? `/${opts.subresource}` : ''} ${gvr.resource} ${opts?.namespace ?? ''}/${name}`);
    if (opts?.subresource === 'status') return this.write(gvr, next, old, 'status') as T;
    return this.store(gvr, { ...next, metadata: { ...next.metadata, uid: old.metadata.uid } }, 'MODIFIED') as T;
  }

  async delete<T extends KubeObject>(
    gvr: GroupVersionResource,
    name: string,
    opts?: DeleteOptions & { namespace?: string },
  ): Promise<T | undefined> {
    const key = this.key(gvr, opts?.namespace, name);
    const old = this.objects.get(key);
    if (!old) throw statusError(404, 'NotFound', `${gvr.resource} "${name}" not found`);
    this.actions.push(`delete ${gvr.resource} ${opts?.namespace ?? ''}/${name}`);
    // Pods on a node terminate gracefully: the node finishes the deletion.
    const grace = opts?.gracePeriodSeconds ?? 30;
    if (gvr.resource === 'pods' && old.spec?.nodeName && grace > 0 && !old.metadata.deletionTimestamp) {
      const next = structuredClone(old);
      next.metadata.deletionTimestamp = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
      next.metadata.deletionGracePeriodSeconds = grace;
      return this.store(gvr, next, 'MODIFIED') as T;
    }
    this.objects.delete(key);
    old.metadata.resourceVersion = String(++this.rv);
    this.emit(gvr, 'DELETED', old);
    for (const l of this.writeListeners) queueMicrotask(l);
    return structuredClone(old) as T;
  }

  /** Objects of one resource, for assertions (loosely typed: tests read arbitrary fields). */
  // biome-ignore lint/suspicious/noExplicitAny: assertions read arbitrary fields
  all(gvr: GroupVersionResource, namespace = 'default'): any[] {
    const prefix = `${this.gvrKey(gvr)}|${namespace}|`;
    return [...this.objects.entries()].filter(([k]) => k.startsWith(prefix)).map(([, o]) => structuredClone(o));
  }
}

const R_PODS: GroupVersionResource = { group: '', version: 'v1', resource: 'pods' };

/** Resolves once `check` passes, re-checking after every write; rejects after `ms`. */
export function until<T>(client: FakeClient, check: () => T | undefined | false, what: string, ms = 5000): Promise<T> {
  return new Promise((resolve, reject) => {
    const listener = () => {
      let v: T | undefined | false;
      try {
        v = check();
      } catch (e) {
        return finish(() => reject(e));
      }
      if (v) finish(() => resolve(v as T));
    };
    const timer = setTimeout(() => finish(() => reject(new Error(`timed out waiting for ${what}`))), ms);
    const finish = (f: () => void) => {
      clearTimeout(timer);
      client.writeListeners.delete(listener);
      f();
    };
    client.writeListeners.add(listener);
    listener();
  });
}
