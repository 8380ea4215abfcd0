/**
 * Generic REST storage for one resource over the revisioned store, as kube-apiserver's
 * genericregistry.Store: metadata handling, optimistic concurrency, selectors, pagination,
 * watch, graceful deletion and finalizers. Per-resource behaviour comes from a Strategy.
 */
import { randomUUID } from 'node:crypto';
import {
  alreadyExists,
  badRequest,
  CONFLICT_MODIFIED,
  conflict,
  type FieldError,
  gone,
  invalid,
  notFound,
  StatusError,
} from '../../api/errors.js';
import type { KubeList, KubeObject, WatchEvent } from '../../api/meta.js';
import type { KeyValue, Store, StoreEvent } from '../../storage/types.js';
import { CompactedError, KeyExistsError, KeyNotFoundError, RevisionMismatchError } from '../../storage/types.js';
import type { Strategy, StrategyContext, WriteTransaction } from './strategy.js';

/** What the generic storage needs to know about its resource. */
export interface ResourceDef {
  group: string;
  version: string;
  kind: string;
  /** Plural resource name, e.g. "services". */
  resource: string;
  namespaced: boolean;
  listKind: string;
  /** Value of a field-selector field for an object (undefined = unsupported field). */
  fieldValue(obj: KubeObject, field: string): string | undefined;
}

/** Selector matching, parsed once per request. */
export interface ObjectFilter {
  matches(obj: KubeObject): boolean;
}

export const MATCH_ALL: ObjectFilter = { matches: () => true };

/**
 * On watch events that can serialize themselves: a function returning the event's JSON line
 * (without the newline). The HTTP front writes that instead of `JSON.stringify(event)`.
 */
export const SERIALIZED_EVENT = Symbol('serialized watch event');

export interface ListParams {
  filter?: ObjectFilter;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
  resourceVersionMatch?: string;
}

export interface WatchParams {
  filter?: ObjectFilter;
  resourceVersion?: string;
  allowWatchBookmarks?: boolean;
  timeoutSeconds?: number;
  sendInitialEvents?: boolean;
  /** Interval between bookmarks (tests shorten it). */
  bookmarkIntervalMs?: number;
}

export interface WriteParams {
  dryRun?: boolean;
  subresource?: string;
  user?: string;
  /**
   * Writes the mutated object as it is, without the strategy, defaulting or validation: for
   * server-internal subresources such as pods/binding, as kube's binding REST does.
   */
  raw?: boolean;
  /** Called with the final object before it is stored (managed fields bookkeeping). */
  finalize?(obj: KubeObject, old: KubeObject | undefined): void;
}

export interface DeleteParams {
  gracePeriodSeconds?: number;
  propagationPolicy?: 'Orphan' | 'Background' | 'Foreground';
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun?: boolean;
}

/** Validation of one kind (kube's ValidateX / ValidateXUpdate), injected by the registry. */
export type KindValidator = (obj: KubeObject, old: KubeObject | undefined) => FieldError[];
export type KindDefaulter = (obj: KubeObject) => void;

const NAME_SUFFIX_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

export function rfc3339(d = new Date()): string {
  return d.toISOString().replace(/\.\d+Z$/, 'Z');
}

/** kube's generateName suffix: 5 characters from an alphabet without vowels or confusable digits. */
export function generateNameSuffix(n = 5): string {
  let s = '';
  for (let i = 0; i < n; i++) s += NAME_SUFFIX_ALPHABET[Math.floor(Math.random() * NAME_SUFFIX_ALPHABET.length)];
  return s;
}

interface ContinueToken {
  rv: number;
  start: string;
}

function encodeContinue(t: ContinueToken): string {
  return Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv: t.rv, start: t.start })).toString('base64url');
}

function decodeContinue(s: string): ContinueToken {
  try {
    const o = JSON.parse(Buffer.from(s, 'base64url').toString('utf8'));
    if (typeof o.rv === 'number' && typeof o.start === 'string') return { rv: o.rv, start: o.start };
  } catch {
    // fall through
  }
  throw badRequest('continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
}

function parseResourceVersion(rv: string | undefined): number | undefined {
  if (rv === undefined || rv === '') return undefined;
  const n = Number(rv);
  if (!Number.isInteger(n) || n < 0) throw badRequest(`invalid resource version: ${JSON.stringify(rv)}`);
  return n;
}

function deepEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Everything but metadata and status: a change to it bumps generation. */
function specPart(obj: KubeObject): Record<string, unknown> {
  const { metadata: _m, status: _s, apiVersion: _a, kind: _k, ...rest } = obj;
  return rest;
}

/**
 * A resource served as a view of another one's stored objects (events.k8s.io/v1 Events are stored
 * as core/v1 Events): where they live, and the conversions each way.
 */
export interface StoredAs {
  prefixRoot: string;
  toStored(obj: KubeObject): KubeObject;
  fromStored(obj: KubeObject): KubeObject;
}

export class GenericStorage {
  readonly prefixRoot: string;
  /** How every value this storage writes begins (see {@link encode}). */
  private readonly storedHead: string;
  /**
   * Watch lines of unfiltered put events, shared by every HTTP watcher of this resource: built once
   * from the stored string (as kube's watch cache serializes an event once for all its watchers).
   */
  private readonly sharedLines = new WeakMap<StoreEvent, string>();

  constructor(
    readonly def: ResourceDef,
    readonly store: Store,
    readonly strategy: Strategy,
    private readonly validateKind: KindValidator,
    private readonly defaultKind: KindDefaulter,
    private readonly storedAs?: StoredAs,
  ) {
    this.prefixRoot = storedAs?.prefixRoot ?? `/registry/${def.group || 'core'}/${def.resource}/`;
    // A converted view never matches the stored head, so its items take the decoding path.
    this.storedHead = `{"apiVersion":${JSON.stringify(this.apiVersion)},"kind":${JSON.stringify(def.kind)},"metadata":{`;
  }

  get ref() {
    return { group: this.def.group, resource: this.def.resource };
  }

  get apiVersion(): string {
    return this.def.group ? `${this.def.group}/${this.def.version}` : this.def.version;
  }

  key(namespace: string | undefined, name: string): string {
    return this.def.namespaced ? `${this.prefixRoot}${namespace}/${name}` : `${this.prefixRoot}${name}`;
  }

  prefix(namespace?: string): string {
    return this.def.namespaced && namespace ? `${this.prefixRoot}${namespace}/` : this.prefixRoot;
  }

  /** Turns a stored value into an object, with resourceVersion from the store. */
  decode(kv: KeyValue): KubeObject {
    const stored = JSON.parse(kv.value) as KubeObject;
    const obj = this.storedAs ? this.storedAs.fromStored(stored) : stored;
    obj.metadata.resourceVersion = String(kv.modRevision);
    return obj;
  }

  /**
   * Stores apiVersion, kind and metadata first, always in that order, so that {@link itemJson} can
   * splice resourceVersion in right after `"metadata":{` without parsing.
   */
  private encode(obj: KubeObject): string {
    const { apiVersion, kind, metadata, ...rest } = this.storedAs ? this.storedAs.toStored(obj) : obj;
    const { resourceVersion: _rv, ...meta } = metadata;
    return JSON.stringify({ apiVersion, kind, metadata: meta, ...rest });
  }

  // ------------------------------------------------------------------------------------------
  // reads

  async get(namespace: string | undefined, name: string): Promise<KubeObject> {
    const kv = await this.store.get(this.key(namespace, name));
    if (!kv) throw notFound(this.ref, name);
    return this.decode(kv);
  }

  async tryGet(namespace: string | undefined, name: string): Promise<KubeObject | undefined> {
    const kv = await this.store.get(this.key(namespace, name));
    return kv && this.decode(kv);
  }

  async list(namespace: string | undefined, p: ListParams = {}): Promise<KubeList> {
    const filter = p.filter ?? MATCH_ALL;
    const { items, metadata } = await this.collect(namespace, p, (kv) => {
      const obj = this.decode(kv);
      if (!filter.matches(obj)) return undefined;
      obj.apiVersion = this.apiVersion;
      obj.kind = this.def.kind;
      return obj;
    });
    return { apiVersion: this.apiVersion, kind: this.def.listKind, metadata, items };
  }

  /**
   * The same list as {@link list}, already serialized as JSON. Items are spliced together from
   * their stored strings, so an unfiltered list parses and stringifies no object (as kube's
   * caching serializer avoids re-encoding); a selector still parses each object to match it.
   */
  async listJson(namespace: string | undefined, p: ListParams = {}): Promise<string> {
    const filter = p.filter;
    const { items, metadata } = await this.collect(namespace, p, (kv) => {
      if (filter && !filter.matches(this.decode(kv))) return undefined;
      return this.itemJson(kv);
    });
    return `{"apiVersion":${JSON.stringify(this.apiVersion)},"kind":${JSON.stringify(this.def.listKind)},"metadata":${JSON.stringify(metadata)},"items":[${items.join(',')}]}`;
  }

  /** One stored value as served JSON: resourceVersion spliced into the canonical stored shape. */
  private itemJson(kv: KeyValue): string {
    const value = kv.value;
    const head = this.storedHead;
    if (!value.startsWith(head)) {
      // Written before values were stored in canonical key order: take the slow road.
      const obj = this.decode(kv);
      obj.apiVersion = this.apiVersion;
      obj.kind = this.def.kind;
      return JSON.stringify(obj);
    }
    const rest = value.slice(head.length);
    const rv = `"resourceVersion":"${kv.modRevision}"`;
    return rest.startsWith('}') ? head + rv + rest : `${head}${rv},${rest}`;
  }

  /** Reads the list's key-values (pages, continue tokens, limits) and converts the ones kept. */
  private async collect<T>(
    namespace: string | undefined,
    p: ListParams,
    convert: (kv: KeyValue) => T | undefined,
  ): Promise<{ items: T[]; metadata: KubeList['metadata'] }> {
    let revision: number | undefined;
    let startAfter: string | undefined;
    if (p.continue) {
      const t = decodeContinue(p.continue);
      revision = t.rv;
      startAfter = this.prefix(namespace) + t.start;
    } else if (p.resourceVersionMatch === 'Exact') {
      revision = parseResourceVersion(p.resourceVersion);
    } else {
      parseResourceVersion(p.resourceVersion); // validate; any version not older than it = current
    }
    const limit = p.limit && p.limit > 0 ? p.limit : undefined;
    const items: T[] = [];
    let readRevision = 0;
    let lastKey: string | undefined;
    let more = false;
    let remaining: number | undefined;
    // With a filter, keep reading pages until `limit` matches are found (as the apiserver does).
    for (;;) {
      let res: Awaited<ReturnType<Store['list']>>;
      try {
        res = await this.store.list(this.prefix(namespace), {
          revision,
          limit: limit ? limit - items.length : undefined,
          startAfter,
        });
      } catch (e) {
        if (e instanceof CompactedError) {
          throw gone(
            p.continue
              ? 'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.'
              : `too old resource version: ${revision} (${e.compacted})`,
          );
        }
        throw e;
      }
      readRevision = res.revision;
      revision = res.revision;
      for (const kv of res.items) {
        lastKey = kv.key;
        const item = convert(kv);
        if (item !== undefined) items.push(item);
      }
      more = res.more;
      remaining = res.remaining;
      if (!limit || !more || items.length >= limit) break;
      startAfter = lastKey;
    }
    const metadata: KubeList['metadata'] = { resourceVersion: String(readRevision) };
    if (more && lastKey) {
      metadata.continue = encodeContinue({ rv: readRevision, start: lastKey.slice(this.prefix(namespace).length) });
      if (p.filter === undefined && remaining !== undefined) metadata.remainingItemCount = remaining;
    }
    return { items, metadata };
  }

  // ------------------------------------------------------------------------------------------
  // watch

  /**
   * Watches the resource. With no resourceVersion (or "0"), first sends a synthetic ADDED per
   * existing object, as kubectl relies on. Events are filtered per selector, with transitions
   * in and out of the selection reported as ADDED / DELETED.
   */
  watch(namespace: string | undefined, p: WatchParams = {}): { events: AsyncIterable<WatchEvent<KubeObject>>; close(): void } {
    const filter = p.filter ?? MATCH_ALL;
    const queue: WatchEvent<KubeObject>[] = [];
    let wake: (() => void) | undefined;
    let closed = false;
    const timers: NodeJS.Timeout[] = [];
    let lastRevision = 0;
    let watcher: { close(): void } | undefined;

    const push = (ev: WatchEvent<KubeObject>) => {
      queue.push(ev);
      wake?.();
    };
    const close = () => {
      if (closed) return;
      closed = true;
      watcher?.close();
      for (const t of timers) clearTimeout(t);
      wake?.();
    };
    const withKind = (obj: KubeObject) => {
      obj.apiVersion = this.apiVersion;
      obj.kind = this.def.kind;
      return obj;
    };

    const onStoreEvent = (ev: StoreEvent) => {
      lastRevision = ev.revision;
      if (filter === MATCH_ALL && ev.type === 'put') {
        // Nothing to match: the object is decoded only if this watcher's consumer reads it (an
        // in-process informer, a Table); an HTTP watcher gets the shared line built from the
        // stored string, with no JSON.parse or JSON.stringify per watcher.
        const type = ev.prevKv ? 'MODIFIED' : 'ADDED';
        let object: KubeObject | undefined;
        const event = { type } as WatchEvent<KubeObject>;
        Object.defineProperty(event, 'object', {
          enumerable: true,
          get: () => {
            object ??= withKind(this.decode(ev.kv));
            return object;
          },
          set: (v: KubeObject) => {
            object = v;
          },
        });
        Object.defineProperty(event, SERIALIZED_EVENT, {
          value: () => {
            let line = this.sharedLines.get(ev);
            if (line === undefined) {
              line = `{"type":"${type}","object":${this.itemJson(ev.kv)}}`;
              this.sharedLines.set(ev, line);
            }
            return line;
          },
        });
        push(event);
        return;
      }
      const cur = ev.type === 'put' ? this.decode(ev.kv) : undefined;
      // Without a selector the previous object is only needed for a DELETED event's body, so
      // most events decode one object, not two.
      const needPrev = ev.prevKv !== undefined && (filter !== MATCH_ALL || ev.type === 'delete');
      const prev = needPrev && ev.prevKv ? this.decode(ev.prevKv) : undefined;
      const curMatch = cur ? filter.matches(cur) : false;
      const prevMatch = filter === MATCH_ALL ? ev.prevKv !== undefined : prev ? filter.matches(prev) : false;
      if (ev.type === 'delete') {
        if (prevMatch && prev) {
          prev.metadata.resourceVersion = String(ev.revision);
          push({ type: 'DELETED', object: withKind(prev) });
        }
        return;
      }
      if (!cur) return;
      if (curMatch && prevMatch) push({ type: 'MODIFIED', object: withKind(cur) });
      else if (curMatch) push({ type: 'ADDED', object: withKind(cur) });
      else if (prevMatch) push({ type: 'DELETED', object: withKind(cur) });
    };

    const start = async () => {
      let from = parseResourceVersion(p.resourceVersion);
      const initial = from === undefined || from === 0 || p.sendInitialEvents === true;
      if (initial) {
        const list = await this.list(namespace, { filter });
        for (const item of list.items) push({ type: 'ADDED', object: item });
        from = Number(list.metadata.resourceVersion);
      }
      if (closed) return;
      lastRevision = from ?? 0;
      const compacted = await this.store.compactedRevision();
      if (from !== undefined && from < compacted) {
        push(this.expiredEvent(from, compacted));
        close();
        return;
      }
      watcher = this.store.watch(this.prefix(namespace), {
        fromRevision: from ?? 0,
        onEvent: onStoreEvent,
        onError: (err) => {
          if (err instanceof CompactedError) push(this.expiredEvent(err.requested, err.compacted));
          else push(this.errorEvent(500, 'InternalError', err.message));
          close();
        },
      });
      if (p.allowWatchBookmarks) {
        const every = p.bookmarkIntervalMs ?? 60_000;
        const bookmark = () => {
          if (closed) return;
          push({
            type: 'BOOKMARK',
            object: { apiVersion: this.apiVersion, kind: this.def.kind, metadata: { resourceVersion: String(lastRevision) } },
          });
        };
        const tick = () => {
          bookmark();
          if (!closed) timers.push(setTimeout(tick, every).unref());
        };
        timers.push(setTimeout(tick, every).unref());
        // As kube-apiserver's cacher does: one bookmark 2 s before the watch's deadline too, so a
        // client resuming after timeoutSeconds starts from a fresh resourceVersion.
        if (p.timeoutSeconds && p.timeoutSeconds > 0) {
          const preTimeout = startedAt + p.timeoutSeconds * 1000 - 2000 - Date.now();
          if (preTimeout >= 0 && preTimeout < every) timers.push(setTimeout(bookmark, preTimeout).unref());
        }
      }
    };

    const startedAt = Date.now();
    if (p.timeoutSeconds && p.timeoutSeconds > 0) timers.push(setTimeout(close, p.timeoutSeconds * 1000).unref());
    const started = start().catch((e) => {
      if (e instanceof StatusError) push({ type: 'ERROR', object: e.toStatus() as unknown as KubeObject });
      else push(this.errorEvent(500, 'InternalError', String(e)));
      close();
    });

    const events: AsyncIterable<WatchEvent<KubeObject>> = {
      [Symbol.asyncIterator]: async function* () {
        await started;
        for (;;) {
          while (queue.length) yield queue.shift()!;
          if (closed) return;
          await new Promise<void>((r) => {
            wake = r;
          });
          wake = undefined;
        }
      },
    };
    return { events, close };
  }

  private expiredEvent(requested: number, compacted: number): WatchEvent<KubeObject> {
    return this.errorEvent(410, 'Expired', `too old resource version: ${requested} (${compacted})`);
  }

  private errorEvent(code: number, reason: string, message: string): WatchEvent<KubeObject> {
    return {
      type: 'ERROR',
      object: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code } as unknown as KubeObject,
    };
  }

  // ------------------------------------------------------------------------------------------
  // writes

  private ctx(namespace: string | undefined, p: WriteParams): StrategyContext {
    return { namespace, subresource: p.subresource, dryRun: !!p.dryRun, user: p.user };
  }

  private checkValid(obj: KubeObject, old: KubeObject | undefined, ctx: StrategyContext): void {
    const errs = [...this.validateKind(obj, old), ...(this.strategy.validate?.(obj, old, ctx) ?? [])];
    if (errs.length) throw invalid(this.def.kind, obj.metadata.name ?? '', errs, this.def.group);
  }

  async create(namespace: string | undefined, obj: KubeObject, p: WriteParams = {}): Promise<KubeObject> {
    const ctx = this.ctx(namespace, p);
    const meta = obj.metadata ?? {};
    obj.metadata = meta;
    if (this.def.namespaced) {
      if (meta.namespace && namespace && meta.namespace !== namespace) {
        throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
      }
      meta.namespace = namespace ?? meta.namespace;
    } else {
      delete meta.namespace;
    }
    if (!meta.name && meta.generateName) meta.name = meta.generateName + generateNameSuffix();
    obj.apiVersion = this.apiVersion;
    obj.kind = this.def.kind;
    meta.uid = randomUUID();
    meta.creationTimestamp = rfc3339();
    delete meta.resourceVersion;
    delete meta.deletionTimestamp;
    delete meta.deletionGracePeriodSeconds;
    if (this.strategy.tracksGeneration) meta.generation = 1;
    else delete meta.generation;
    this.strategy.prepareForCreate?.(obj, ctx);
    this.defaultKind(obj);
    this.checkValid(obj, undefined, ctx);
    const tx = await this.strategy.beforeWrite?.(obj, undefined, ctx);
    p.finalize?.(obj, undefined);
    if (ctx.dryRun) {
      tx?.revert();
      return obj;
    }
    return this.commitWrite(tx, async () => {
      try {
        return this.written(obj, await this.store.create(this.key(meta.namespace, meta.name!), this.encode(obj)));
      } catch (e) {
        if (e instanceof KeyExistsError) throw alreadyExists(this.ref, meta.name!);
        throw e;
      }
    });
  }

  /**
   * The object just stored, as a read would return it, without parsing the stored text again:
   * `obj` is this request's own (decoded from its body or built by the registry), so it can be
   * handed out; the store's text is what watchers and later reads see.
   */
  private written(obj: KubeObject, kv: KeyValue): KubeObject {
    obj.metadata.resourceVersion = String(kv.modRevision);
    return obj;
  }

  private async commitWrite(tx: WriteTransaction | undefined, write: () => Promise<KubeObject>): Promise<KubeObject> {
    let out: KubeObject;
    try {
      out = await write();
    } catch (e) {
      tx?.revert();
      throw e;
    }
    tx?.commit();
    return out;
  }

  /**
   * Replaces an object (PUT, and the last step of PATCH). `mutate` returns the desired object; it
   * may call `current()` for a copy of the stored one of its own to change (a PUT, which replaces
   * the object, never does and so costs no decode). It runs again if the store reports a concurrent
   * write (only when the caller did not pin a resourceVersion), as kube's GuaranteedUpdate does.
   */
  async update(
    namespace: string | undefined,
    name: string,
    mutate: (current: () => KubeObject) => KubeObject | Promise<KubeObject>,
    p: WriteParams & { createIfMissing?: (ctxNamespace: string | undefined) => Promise<KubeObject> } = {},
  ): Promise<{ object: KubeObject; created: boolean }> {
    const ctx = this.ctx(namespace, p);
    for (let attempt = 0; ; attempt++) {
      const kv = await this.store.get(this.key(namespace, name));
      if (!kv) {
        if (p.createIfMissing) return { object: await p.createIfMissing(namespace), created: true };
        throw notFound(this.ref, name);
      }
      // Decoded again for a mutate that wants a copy (cheaper than cloning): `old` is the strategies' to read.
      const old = this.decode(kv);
      const obj = await mutate(() => this.decode(kv));
      const requestedRV = obj.metadata?.resourceVersion;
      if (requestedRV && requestedRV !== old.metadata.resourceVersion) {
        throw conflict(this.ref, name, CONFLICT_MODIFIED);
      }
      if (!p.raw) {
        this.prepareUpdate(obj, old, ctx, () => this.decode(kv));
        this.checkValid(obj, old, ctx);
      }
      const tx = p.raw ? undefined : await this.strategy.beforeWrite?.(obj, old, ctx);
      p.finalize?.(obj, old);
      if (ctx.dryRun) {
        tx?.revert();
        obj.metadata.resourceVersion = old.metadata.resourceVersion;
        return { object: obj, created: false };
      }
      // The stored text is the encoding of `old`, so equal text means nothing changed (kube-apiserver
      // compares the encoded bytes the same way); managedFields count, resourceVersion does not.
      const encoded = this.encode(obj);
      if (encoded === kv.value) {
        tx?.revert();
        return { object: this.decode(kv), created: false }; // no-op: no new revision, as kube-apiserver
      }
      // An object being deleted whose last finalizer was removed goes away now.
      if (obj.metadata.deletionTimestamp && !this.hasFinalizers(obj) && !this.awaitingGrace(obj)) {
        tx?.revert();
        const deleted = await this.deleteNow(kv, obj);
        return { object: deleted, created: false };
      }
      try {
        const out = await this.commitWrite(tx, async () => this.written(obj, await this.store.update(kv.key, encoded, kv.modRevision)));
        return { object: out, created: false };
      } catch (e) {
        if (e instanceof RevisionMismatchError) {
          if (requestedRV || attempt > 20) throw conflict(this.ref, name, CONFLICT_MODIFIED);
          continue;
        }
        if (e instanceof KeyNotFoundError) throw notFound(this.ref, name);
        throw e;
      }
    }
  }

  private hasFinalizers(obj: KubeObject): boolean {
    return !!obj.metadata.finalizers?.length || !!this.strategy.blockingFinalizers?.(obj).length;
  }

  /** A pod with a grace period still running keeps its deletionTimestamp until the agent confirms. */
  private awaitingGrace(obj: KubeObject): boolean {
    return (obj.metadata.deletionGracePeriodSeconds ?? 0) > 0;
  }

  /** `fresh` gives a new copy of the whole stored object (parsing the stored text beats cloning `old`). */
  private prepareUpdate(obj: KubeObject, old: KubeObject, ctx: StrategyContext, fresh: () => KubeObject): void {
    obj.apiVersion = this.apiVersion;
    obj.kind = this.def.kind;
    const meta = obj.metadata ?? {};
    obj.metadata = meta;
    // An update without a resourceVersion is unconditional (AllowUnconditionalUpdate, as for every built-in kind).
    meta.resourceVersion ||= old.metadata.resourceVersion;
    // Server-owned metadata is carried over from the stored object.
    meta.name = old.metadata.name;
    if (this.def.namespaced) meta.namespace = old.metadata.namespace;
    meta.uid = old.metadata.uid;
    meta.creationTimestamp = old.metadata.creationTimestamp;
    meta.deletionTimestamp = old.metadata.deletionTimestamp;
    meta.deletionGracePeriodSeconds = old.metadata.deletionGracePeriodSeconds;
    if (meta.deletionTimestamp === undefined) delete meta.deletionTimestamp;
    if (meta.deletionGracePeriodSeconds === undefined) delete meta.deletionGracePeriodSeconds;
    meta.generation = old.metadata.generation;
    if (meta.generation === undefined) delete meta.generation;
    if (ctx.subresource === 'status') {
      // Status writes change status only (kube's status strategies reset spec and metadata).
      const status = obj.status;
      for (const k of Object.keys(obj)) delete obj[k];
      Object.assign(obj, fresh());
      if (status === undefined) delete obj.status;
      else obj.status = status;
    } else if ('status' in old) {
      obj.status = structuredClone(old.status); // only the status: no need to parse the whole object
    }
    this.strategy.prepareForUpdate?.(obj, old, ctx);
    this.defaultKind(obj);
    if (this.strategy.tracksGeneration && !deepEqual(specPart(obj), specPart(old))) {
      obj.metadata.generation = (old.metadata.generation ?? 0) + 1;
    }
  }

  // ------------------------------------------------------------------------------------------
  // delete

  async delete(namespace: string | undefined, name: string, p: DeleteParams = {}): Promise<KubeObject> {
    for (let attempt = 0; ; attempt++) {
      const kv = await this.store.get(this.key(namespace, name));
      if (!kv) throw notFound(this.ref, name);
      const cur = this.decode(kv);
      const pre = p.preconditions;
      if (pre?.uid && pre.uid !== cur.metadata.uid) {
        throw conflict(this.ref, name, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${cur.metadata.uid}`);
      }
      if (pre?.resourceVersion && pre.resourceVersion !== cur.metadata.resourceVersion) {
        throw conflict(
          this.ref,
          name,
          `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${cur.metadata.resourceVersion}`,
        );
      }
      const next = structuredClone(cur);
      const finalizers = new Set(next.metadata.finalizers ?? []);
      const blocking = this.strategy.blockingFinalizers?.(cur).length ?? 0;
      if (p.propagationPolicy === 'Orphan') finalizers.add('orphan');
      if (p.propagationPolicy === 'Foreground') finalizers.add('foregroundDeletion');
      const grace = this.strategy.gracePeriod?.(cur, p.gracePeriodSeconds) ?? 0;
      const alreadyDeleting = !!cur.metadata.deletionTimestamp;
      if (finalizers.size === 0 && blocking === 0 && grace === 0) {
        if (p.dryRun) return cur;
        try {
          return await this.deleteNow(kv, cur);
        } catch (e) {
          if (e instanceof RevisionMismatchError && attempt < 20) continue;
          throw e;
        }
      }
      // Graceful or finalized deletion: mark and keep the object.
      if (alreadyDeleting) {
        const curGrace = cur.metadata.deletionGracePeriodSeconds ?? 0;
        // A shorter grace period may be requested for an object already terminating.
        if (grace >= curGrace && finalizers.size === (cur.metadata.finalizers?.length ?? 0)) return cur;
      }
      if (finalizers.size) next.metadata.finalizers = [...finalizers];
      this.strategy.onDeleteMarked?.(next);
      next.metadata.deletionTimestamp = alreadyDeleting ? next.metadata.deletionTimestamp : rfc3339(new Date(Date.now() + grace * 1000));
      next.metadata.deletionGracePeriodSeconds = grace;
      if (grace === 0) next.metadata.deletionTimestamp = next.metadata.deletionTimestamp ?? rfc3339();
      if (p.dryRun) return next;
      try {
        return this.decode(await this.store.update(kv.key, this.encode(next), kv.modRevision));
      } catch (e) {
        if (e instanceof RevisionMismatchError && attempt < 20) continue;
        throw e;
      }
    }
  }

  private async deleteNow(kv: KeyValue, cur: KubeObject): Promise<KubeObject> {
    try {
      const deleted = await this.store.delete(kv.key, kv.modRevision);
      const obj = this.decode(deleted);
      obj.metadata = { ...cur.metadata, resourceVersion: String(deleted.modRevision) };
      this.strategy.afterDelete?.(obj);
      return obj;
    } catch (e) {
      if (e instanceof KeyNotFoundError) throw notFound(this.ref, cur.metadata.name ?? '');
      throw e;
    }
  }

  async deleteCollection(namespace: string | undefined, filter: ObjectFilter, p: DeleteParams = {}): Promise<KubeList> {
    const list = await this.list(namespace, { filter });
    const items: KubeObject[] = [];
    for (const item of list.items) {
      try {
        items.push(await this.delete(item.metadata.namespace, item.metadata.name!, p));
      } catch (e) {
        if (!(e instanceof StatusError && e.code === 404)) throw e;
      }
    }
    return { ...list, items };
  }
}
