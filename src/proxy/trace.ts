/**
 * A packet tracer for generated iptables-restore text: walks the nat and filter tables the way
 * netfilter would for one new connection and says where it ends up (which endpoint it is DNATed to,
 * or that it is rejected/dropped/accepted untouched), and whether it is masqueraded.
 *
 * Randomness is an input: `-m statistic --mode random --probability p` consumes a value r in [0,1).
 * With one fixed r, rules are read as kube-proxy's chained probabilities are meant (r < p matches,
 * otherwise r is rescaled to (r - p) / (1 - p) for the next rule), so endpoint i of n is reached
 * exactly for r in [i/n, (i+1)/n). `-m recent` state (session affinity) is a map the caller keeps
 * across traces. Unknown matches or targets throw, so the tracer never silently misreads a rule.
 */
import { cidrContains } from './ipv4.js';
import type { Protocol } from './model.js';

/** The first packet of a connection. */
export interface TracePacket {
  src: string;
  dst: string;
  dport: number;
  protocol?: Protocol;
  /** Sent by a process on this node (the nat/filter OUTPUT path) rather than arriving from outside or a pod. */
  local?: boolean;
}

export interface TraceOptions {
  /** This node's addresses (`addrtype LOCAL`); 127.0.0.0/8 is always local. */
  nodeIPs?: readonly string[];
  /** The random value(s) `statistic` rules consume: a fixed r in [0,1), or a generator. Default 0. */
  random?: number | (() => number);
  /** `recent` lists (session affinity): list name → source addresses. Updated by `--set`. */
  recent?: Map<string, Set<string>>;
}

export interface TraceResult {
  verdict: 'DNAT' | 'ACCEPT' | 'REJECT' | 'DROP';
  /** `ip:port` the connection is DNATed to. */
  endpoint?: string;
  /** Whether POSTROUTING masquerades it. */
  masquerade: boolean;
  /** Chains entered, in order (for failure messages). */
  chains: string[];
}

/** Parsed restore text: table → chain → rules (argv of each `-A`, without `-A CHAIN`). */
export type ParsedTables = Map<string, Map<string, string[][]>>;

/** Splits one rule line like a shell would for iptables-restore (double quotes group words). */
export function tokenize(line: string): string[] {
  const out: string[] = [];
  const re = /"([^"]*)"|(\S+)/g;
  for (let m = re.exec(line); m; m = re.exec(line)) out.push(m[1] ?? m[2]!);
  return out;
}

/** Parses iptables-restore / iptables-save text. */
export function parseIptables(text: string): ParsedTables {
  const tables: ParsedTables = new Map();
  let current: Map<string, string[][]> | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line === 'COMMIT') continue;
    if (line.startsWith('*')) {
      const name = line.slice(1);
      current = tables.get(name) ?? new Map();
      tables.set(name, current);
    } else if (line.startsWith(':')) {
      const chain = line.slice(1).split(' ')[0]!;
      current?.set(chain, []);
    } else if (line.startsWith('-A ')) {
      const [, chain, ...args] = tokenize(line);
      if (!current?.has(chain!)) throw new Error(`rule for undeclared chain: ${line}`);
      current.get(chain!)!.push(args);
    } else if (line.startsWith('-X ')) {
      current?.delete(line.slice(3).trim());
    } else {
      throw new Error(`cannot parse restore line: ${line}`);
    }
  }
  return tables;
}

interface Ctx {
  packet: Required<Omit<TracePacket, 'local'>> & { local: boolean };
  dst: string;
  dport: number;
  mark: number;
  nodeIPs: readonly string[];
  nextRandom: () => number;
  rescale: (p: number, matched: boolean) => void;
  recent: Map<string, Set<string>>;
  chains: string[];
}

type Outcome = { kind: 'continue' } | { kind: 'return' } | { kind: 'final'; target: string; to?: string };

function isLocal(ip: string, nodeIPs: readonly string[]): boolean {
  return cidrContains('127.0.0.0/8', ip) || nodeIPs.includes(ip);
}

function parseMark(v: string): [number, number] {
  const [value, mask] = v.split('/');
  return [Number(value), mask === undefined ? 0xffffffff : Number(mask)];
}

/** Evaluates one rule's matches; returns false at the first that fails (as the kernel does). */
function matches(args: string[], ctx: Ctx): boolean {
  let negate = false;
  for (let i = 0; i < args.length; i++) {
    const tok = args[i]!;
    const val = () => args[++i]!;
    const check = (ok: boolean) => {
      const res = negate ? !ok : ok;
      negate = false;
      return res;
    };
    switch (tok) {
      case '!':
        negate = true;
        break;
      case '-m':
        i++; // module names carry no condition of their own
        break;
      case '--comment':
        i++;
        break;
      case '-j':
      case '-g':
        return true;
      case '-s':
        if (!check(cidrContains(val(), ctx.packet.src))) return false;
        break;
      case '-d':
        if (!check(cidrContains(val(), ctx.dst))) return false;
        break;
      case '-p':
        if (!check(val().toUpperCase() === ctx.packet.protocol)) return false;
        break;
      case '--dport':
        if (!check(Number(val()) === ctx.dport)) return false;
        break;
      case '--dst-type':
        if (!check(val() === 'LOCAL' && isLocal(ctx.dst, ctx.nodeIPs))) return false;
        break;
      case '--src-type':
        if (!check(val() === 'LOCAL' && (ctx.packet.local || isLocal(ctx.packet.src, ctx.nodeIPs)))) return false;
        break;
      case '--ctstate':
        if (!check(val().split(',').includes('NEW'))) return false;
        break;
      case '--mark': {
        const [value, mask] = parseMark(val());
        if (!check((ctx.mark & mask) >>> 0 === value)) return false;
        break;
      }
      case '--mode':
        if (val() !== 'random') throw new Error(`unsupported statistic mode in: ${args.join(' ')}`);
        break;
      case '--probability': {
        const p = Number(val());
        const r = ctx.nextRandom();
        const hit = r < p;
        ctx.rescale(p, hit);
        if (!check(hit)) return false;
        break;
      }
      case '--name': {
        const name = val();
        const mode = args[i + 1];
        if (mode === '--rcheck') {
          i++;
          if (!check(ctx.recent.get(name)?.has(ctx.packet.src) ?? false)) return false;
        } else if (mode === '--set') {
          i++;
          let set = ctx.recent.get(name);
          if (!set) {
            set = new Set();
            ctx.recent.set(name, set);
          }
          set.add(ctx.packet.src);
        } else throw new Error(`unsupported recent mode in: ${args.join(' ')}`);
        break;
      }
      case '--seconds':
        i++;
        break;
      case '--reap':
        break;
      default:
        throw new Error(`unsupported match ${tok} in: ${args.join(' ')}`);
    }
  }
  return true;
}

function targetOf(args: string[]): { target?: string; opts: Map<string, string> } {
  const j = args.indexOf('-j');
  if (j < 0) return { opts: new Map() };
  const opts = new Map<string, string>();
  for (let i = j + 2; i < args.length; i++) {
    const next = args[i + 1];
    if (next !== undefined && !next.startsWith('--')) {
      opts.set(args[i]!, next);
      i++;
    } else opts.set(args[i]!, '');
  }
  return { target: args[j + 1]!, opts };
}

function walk(table: Map<string, string[][]>, chain: string, ctx: Ctx, depth = 0): Outcome {
  if (depth > 64) throw new Error(`jump depth exceeded at ${chain}`);
  const rules = table.get(chain);
  if (!rules) throw new Error(`jump to missing chain ${chain}`);
  ctx.chains.push(chain);
  for (const args of rules) {
    if (!matches(args, ctx)) continue;
    const { target, opts } = targetOf(args);
    if (target === undefined) continue;
    switch (target) {
      case 'RETURN':
        return { kind: 'return' };
      case 'ACCEPT':
      case 'DROP':
      case 'REJECT':
      case 'MASQUERADE':
        return { kind: 'final', target };
      case 'DNAT':
        return { kind: 'final', target, to: opts.get('--to-destination')! };
      case 'MARK': {
        if (opts.has('--or-mark')) ctx.mark = (ctx.mark | Number(opts.get('--or-mark'))) >>> 0;
        else if (opts.has('--xor-mark')) ctx.mark = (ctx.mark ^ Number(opts.get('--xor-mark'))) >>> 0;
        else if (opts.has('--set-xmark')) {
          const [v, m] = parseMark(opts.get('--set-xmark')!);
          ctx.mark = ((ctx.mark & ~m) ^ v) >>> 0;
        } else throw new Error(`unsupported MARK in: ${args.join(' ')}`);
        break;
      }
      default: {
        const sub = walk(table, target, ctx, depth + 1);
        if (sub.kind === 'final') return sub;
      }
    }
  }
  return { kind: depth === 0 ? 'continue' : 'return' };
}

/** Traces one new connection through parsed (or raw) iptables-restore text. */
export function traceIptables(rules: string | ParsedTables, packet: TracePacket, options: TraceOptions = {}): TraceResult {
  const tables = typeof rules === 'string' ? parseIptables(rules) : rules;
  let r = typeof options.random === 'number' ? options.random : 0;
  const gen = typeof options.random === 'function' ? options.random : undefined;
  const ctx: Ctx = {
    packet: { protocol: 'TCP', ...packet, local: packet.local ?? false },
    dst: packet.dst,
    dport: packet.dport,
    mark: 0,
    nodeIPs: options.nodeIPs ?? [],
    nextRandom: () => (gen ? gen() : r),
    rescale: (p, hit) => {
      if (!gen && !hit) r = p >= 1 ? 0 : (r - p) / (1 - p);
      else if (!gen && hit) r = p > 0 ? r / p : 0;
    },
    recent: options.recent ?? new Map(),
    chains: [],
  };
  const nat = tables.get('nat') ?? new Map();
  const filter = tables.get('filter') ?? new Map();
  const builtin = (t: Map<string, string[][]>, c: string) => (t.has(c) ? walk(t, c, ctx) : ({ kind: 'continue' } as Outcome));

  const natOut = builtin(nat, ctx.packet.local ? 'OUTPUT' : 'PREROUTING');
  let endpoint: string | undefined;
  if (natOut.kind === 'final') {
    if (natOut.target !== 'DNAT') throw new Error(`unexpected nat verdict ${natOut.target}`);
    endpoint = natOut.to!;
    const [ip, port] = endpoint.split(':');
    ctx.dst = ip!;
    if (port) ctx.dport = Number(port);
  }
  const filterChain = ctx.packet.local ? 'OUTPUT' : isLocal(ctx.dst, ctx.nodeIPs) ? 'INPUT' : 'FORWARD';
  const filterOut = builtin(filter, filterChain);
  if (filterOut.kind === 'final' && (filterOut.target === 'DROP' || filterOut.target === 'REJECT')) {
    return { verdict: filterOut.target, masquerade: false, chains: ctx.chains };
  }
  const post = builtin(nat, 'POSTROUTING');
  const masquerade = post.kind === 'final' && post.target === 'MASQUERADE';
  return endpoint ? { verdict: 'DNAT', endpoint, masquerade, chains: ctx.chains } : { verdict: 'ACCEPT', masquerade, chains: ctx.chains };
}
