/**
 * The mount namespace a container gets: the host's filesystem with the pod's files bind-mounted
 * where the spec says (volumes, /etc/resolv.conf, /etc/hosts, /etc/hostname, the image's own
 * writable directories), made inside `unshare --mount --propagation private` so the host never
 * sees them.
 *
 * A mount point that does not exist on the host is made without touching the host: the nearest
 * existing directory above it is covered with an overlay whose upper layer is the container's own,
 * and the missing directories are created in that layer. Only a path whose nearest existing parent
 * is `/` itself (e.g. `/data`) cannot be overlaid and is created on the host as an empty directory.
 */
import { dirname } from 'node:path';

/** One bind mount: `source` (a file or directory the agent prepared) at `target` in the container. */
export interface BindMount {
  source: string;
  target: string;
  /** Whether source is a directory (true) or a file. */
  directory: boolean;
  readOnly?: boolean;
}

/** What exists on the host at a path. */
export type PathKind = 'dir' | 'file' | undefined;

/** An overlay to put over an existing host directory so missing mount points can be created in it. */
export interface OverlayPlan {
  lower: string;
  upper: string;
  work: string;
}

export interface MountPlan {
  overlays: OverlayPlan[];
  /** Directories (in the overlays, or on the host for top-level paths) to create before binding. */
  mkdirs: string[];
  /** Files to create (empty) as mount points for file binds. */
  touches: string[];
  binds: BindMount[];
}

/**
 * Plans the mounts: which overlays to lay, what to create, what to bind, in that order.
 * `scratch(n)` names the container's n-th overlay scratch directory (upper and work go inside).
 */
export function planMounts(binds: readonly BindMount[], exists: (path: string) => PathKind, scratch: (n: number) => string): MountPlan {
  const overlays = new Map<string, OverlayPlan>();
  const mkdirs: string[] = [];
  const touches: string[] = [];
  // Shallow targets first, so a volume at /a is bound before one at /a/b is placed inside it.
  const ordered = [...binds].sort((a, b) => a.target.split('/').length - b.target.split('/').length || a.target.localeCompare(b.target));
  const created = new Set<string>();
  for (const bind of ordered) {
    const kind = exists(bind.target);
    if (kind !== undefined || created.has(bind.target)) continue;
    let ancestor = dirname(bind.target);
    while (ancestor !== '/' && exists(ancestor) === undefined && !created.has(ancestor)) ancestor = dirname(ancestor);
    if (ancestor !== '/' && exists(ancestor) === 'dir' && !overlays.has(ancestor)) {
      const dir = scratch(overlays.size);
      overlays.set(ancestor, { lower: ancestor, upper: `${dir}/upper`, work: `${dir}/work` });
    }
    const parent = bind.directory ? bind.target : dirname(bind.target);
    if (parent !== '/' && !created.has(parent)) mkdirs.push(parent);
    for (let p = parent; p !== '/'; p = dirname(p)) created.add(p);
    if (!bind.directory) {
      touches.push(bind.target);
      created.add(bind.target);
    }
  }
  return { overlays: [...overlays.values()], mkdirs, touches, binds: ordered };
}

/** Shell-quotes one word. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * The script run as the container's first process inside its new mount and UTS namespaces:
 * lay the overlays, create mount points, bind, set the hostname, enter workingDir, report on fd 3,
 * make stdout a pipe when asked, then `exec "$@"` so the container's process keeps the PID the agent knows.
 */
export function containerInitScript(plan: MountPlan, options: { hostname: string; workingDir?: string; stdoutPipe?: string }): string {
  const q = shellQuote;
  const lines = ['set -e'];
  for (const o of plan.overlays)
    lines.push(`mount -t overlay svcnet-overlay -o lowerdir=${q(o.lower)},upperdir=${q(o.upper)},workdir=${q(o.work)} ${q(o.lower)}`);
  if (plan.mkdirs.length > 0) lines.push(`mkdir -p ${plan.mkdirs.map(q).join(' ')}`);
  for (const file of plan.touches) lines.push(`[ -e ${q(file)} ] || : > ${q(file)}`);
  for (const b of plan.binds) {
    lines.push(`mount --bind ${q(b.source)} ${q(b.target)}`);
    if (b.readOnly) lines.push(`mount -o remount,bind,ro ${q(b.target)}`);
  }
  lines.push(`hostname ${q(options.hostname)}`);
  if (options.workingDir) lines.push(`cd ${q(options.workingDir)}`);
  // Tell the agent the namespaces are ready (fd 3), so the container counts as running only now.
  lines.push('printf started >&3', 'exec 3>&-');
  if (options.stdoutPipe) {
    // The runtime's stdout is a socket, which open("/dev/stdout") refuses (ENXIO): programs that
    // log there (nginx's access_log) get a pipe instead, relayed by a `cat` in the container.
    const fifo = q(options.stdoutPipe);
    lines.push(`[ -p ${fifo} ] || mkfifo ${fifo}`, `cat ${fifo} &`, `exec >${fifo}`);
  }
  lines.push('exec "$@"');
  return lines.join('\n');
}
