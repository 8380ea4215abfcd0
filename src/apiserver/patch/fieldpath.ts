/**
 * Sets of field paths as structured-merge-diff keeps them, and their `fieldsV1` encoding in
 * `metadata.managedFields` (`f:<field>`, `k:{"port":80,"protocol":"TCP"}`, `v:<value>`,
 * `i:<index>`, and `.` for "this node itself").
 */
import { isObject, type Json, sortedJson } from './json.js';

/** One step of a path, in its fieldsV1 spelling: `f:name`, `k:{...}`, `v:<json>` or `i:<n>`. */
export type PathElement = string;
export type FieldPath = PathElement[];

export const fieldElement = (name: string): PathElement => `f:${name}`;
/** A keyed list item; keys are sorted by name, as structured-merge-diff requires. */
export const keyElement = (keys: Record<string, Json>): PathElement => `k:${sortedJson(keys)}`;
export const valueElement = (value: Json): PathElement => `v:${sortedJson(value)}`;

const categoryOrder: Record<string, number> = { f: 0, k: 1, v: 2, i: 3 };

function typeRank(v: Json): number {
  if (typeof v === 'number') return 0;
  if (typeof v === 'string') return 1;
  if (typeof v === 'boolean') return 2;
  if (v === null) return 3;
  return Array.isArray(v) ? 4 : 5;
}

function compareValues(a: Json, b: Json): number {
  const ra = typeRank(a);
  const rb = typeRank(b);
  if (ra !== rb) return ra - rb;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  if (typeof a === 'boolean' && typeof b === 'boolean') return Number(a) - Number(b);
  const sa = sortedJson(a);
  const sb = sortedJson(b);
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}

/** structured-merge-diff's PathElement ordering: fields, then keys, then values, then indexes. */
export function comparePathElements(a: PathElement, b: PathElement): number {
  const ca = categoryOrder[a[0]] ?? 9;
  const cb = categoryOrder[b[0]] ?? 9;
  if (ca !== cb) return ca - cb;
  const ra = a.slice(2);
  const rb = b.slice(2);
  switch (a[0]) {
    case 'f':
      return ra < rb ? -1 : ra > rb ? 1 : 0;
    case 'k': {
      const ka = Object.entries(JSON.parse(ra) as Record<string, Json>);
      const kb = Object.entries(JSON.parse(rb) as Record<string, Json>);
      for (let i = 0; i < Math.min(ka.length, kb.length); i++) {
        if (ka[i][0] !== kb[i][0]) return ka[i][0] < kb[i][0] ? -1 : 1;
        const c = compareValues(ka[i][1], kb[i][1]);
        if (c !== 0) return c;
      }
      return ka.length - kb.length;
    }
    case 'v':
      return compareValues(JSON.parse(ra) as Json, JSON.parse(rb) as Json);
    case 'i':
      return Number(ra) - Number(rb);
    default:
      return a < b ? -1 : a > b ? 1 : 0;
  }
}

function valueToString(v: Json): string {
  return typeof v === 'number' || typeof v === 'boolean' ? String(v) : sortedJson(v);
}

/** A path as kube prints it in conflicts: `.spec.ports[port=80,protocol="TCP"].targetPort`. */
export function pathString(path: FieldPath): string {
  return path
    .map((pe) => {
      const rest = pe.slice(2);
      switch (pe[0]) {
        case 'f':
          return `.${rest}`;
        case 'k': {
          const keys = Object.entries(JSON.parse(rest) as Record<string, Json>);
          return `[${keys.map(([k, v]) => `${k}=${valueToString(v)}`).join(',')}]`;
        }
        case 'v':
          return `[=${valueToString(JSON.parse(rest) as Json)}]`;
        case 'i':
          return `[${rest}]`;
        default:
          return pe;
      }
    })
    .join('');
}

/** An immutable-by-convention tree of paths: `members` end a path here, `children` continue it. */
export class FieldSet {
  readonly members = new Set<PathElement>();
  readonly children = new Map<PathElement, FieldSet>();

  static of(...paths: FieldPath[]): FieldSet {
    const s = new FieldSet();
    for (const p of paths) s.insert(p);
    return s;
  }

  insert(path: FieldPath): void {
    if (path.length === 0) return;
    let node: FieldSet = this;
    for (const pe of path.slice(0, -1)) {
      let next = node.children.get(pe);
      if (!next) {
        next = new FieldSet();
        node.children.set(pe, next);
      }
      node = next;
    }
    node.members.add(path[path.length - 1]);
  }

  has(path: FieldPath): boolean {
    let node: FieldSet | undefined = this;
    for (const pe of path.slice(0, -1)) {
      node = node.children.get(pe);
      if (!node) return false;
    }
    return path.length > 0 && node.members.has(path[path.length - 1]);
  }

  isEmpty(): boolean {
    if (this.members.size > 0) return false;
    for (const c of this.children.values()) if (!c.isEmpty()) return false;
    return true;
  }

  union(other: FieldSet): FieldSet {
    const out = new FieldSet();
    for (const m of [...this.members, ...other.members]) out.members.add(m);
    for (const pe of new Set([...this.children.keys(), ...other.children.keys()])) {
      const a = this.children.get(pe);
      const b = other.children.get(pe);
      const merged = a && b ? a.union(b) : (a ?? b)!.union(new FieldSet());
      if (!merged.isEmpty()) out.children.set(pe, merged);
    }
    return out;
  }

  difference(other: FieldSet): FieldSet {
    const out = new FieldSet();
    for (const m of this.members) if (!other.members.has(m)) out.members.add(m);
    for (const [pe, child] of this.children) {
      const o = other.children.get(pe);
      const d = o ? child.difference(o) : child.union(new FieldSet());
      if (!d.isEmpty()) out.children.set(pe, d);
    }
    return out;
  }

  intersection(other: FieldSet): FieldSet {
    const out = new FieldSet();
    for (const m of this.members) if (other.members.has(m)) out.members.add(m);
    for (const [pe, child] of this.children) {
      const o = other.children.get(pe);
      if (!o) continue;
      const i = child.intersection(o);
      if (!i.isEmpty()) out.children.set(pe, i);
    }
    return out;
  }

  /** Every member path, members of a node before its children's, each group in kube's order. */
  paths(prefix: FieldPath = []): FieldPath[] {
    const out: FieldPath[] = [];
    for (const m of [...this.members].sort(comparePathElements)) out.push([...prefix, m]);
    for (const pe of [...this.children.keys()].sort(comparePathElements)) {
      out.push(...this.children.get(pe)!.paths([...prefix, pe]));
    }
    return out;
  }

  /** The `fieldsV1` object stored in managedFields. */
  toFieldsV1(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    const elements = [...new Set([...this.members, ...this.children.keys()])].sort(comparePathElements);
    for (const pe of elements) {
      const child = this.children.get(pe);
      const node: Record<string, unknown> = {};
      if (this.members.has(pe) && child && !child.isEmpty()) node['.'] = {};
      if (child) Object.assign(node, child.toFieldsV1());
      if (this.members.has(pe) || Object.keys(node).length > 0) out[pe] = node;
    }
    return out;
  }

  static fromFieldsV1(fields: unknown): FieldSet {
    const out = new FieldSet();
    if (!isObject(fields)) return out;
    for (const [pe, node] of Object.entries(fields)) {
      if (pe === '.') continue;
      const entries = isObject(node) ? Object.keys(node) : [];
      if (entries.length === 0 || entries.includes('.')) out.members.add(pe);
      const child = FieldSet.fromFieldsV1(node);
      if (!child.isEmpty()) out.children.set(pe, child);
    }
    return out;
  }
}
