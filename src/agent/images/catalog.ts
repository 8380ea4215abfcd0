/**
 * The builtin images: what an image reference runs as on a node with no container engine and no
 * registry. Pure: maps an image and a container's command/args to an argv (a builtin runner, or the
 * node's own binaries) or to an image error the pod reports.
 */
import type { Container } from '../../api/types/index.js';
import { NGINX_50X_HTML, NGINX_HTML_ROOT, NGINX_INDEX_HTML } from './nginx.js';

/** A directory the image provides writable per pod, seeded with files (e.g. nginx's html root). */
export interface ImageDir {
  path: string;
  files: Record<string, string>;
}

export interface BuiltinImage {
  /** Canonical repository, e.g. `docker.io/library/nginx`. */
  repository: string;
  /** The image's ENTRYPOINT: a builtin runner name, or undefined for none. */
  runner?: string;
  /** Names a `command[0]` may use to mean the image's own entrypoint (`nginx`, `/agnhost`). */
  entrypointNames?: string[];
  /** The image's CMD. */
  cmd: string[];
  dirs?: ImageDir[];
}

const SHELL = (shell: string, repository: string): BuiltinImage => ({ repository, cmd: [shell] });

/** Builtin images by short repository name. */
export const BUILTIN_IMAGES: Record<string, BuiltinImage> = {
  nginx: {
    repository: 'docker.io/library/nginx',
    runner: 'nginx',
    entrypointNames: ['nginx', '/docker-entrypoint.sh', '/usr/sbin/nginx'],
    cmd: [],
    dirs: [{ path: NGINX_HTML_ROOT, files: { 'index.html': NGINX_INDEX_HTML, '50x.html': NGINX_50X_HTML } }],
  },
  busybox: SHELL('sh', 'docker.io/library/busybox'),
  alpine: SHELL('/bin/sh', 'docker.io/library/alpine'),
  centos: SHELL('/bin/bash', 'docker.io/library/centos'),
  ubuntu: SHELL('/bin/bash', 'docker.io/library/ubuntu'),
  debian: SHELL('/bin/bash', 'docker.io/library/debian'),
  'curlimages/curl': { repository: 'docker.io/curlimages/curl', cmd: ['curl'] },
  'registry.k8s.io/e2e-test-images/agnhost': {
    repository: 'registry.k8s.io/e2e-test-images/agnhost',
    runner: 'agnhost',
    entrypointNames: ['/agnhost', 'agnhost'],
    cmd: ['pause'],
  },
  'hashicorp/http-echo': {
    repository: 'docker.io/hashicorp/http-echo',
    runner: 'http-echo',
    entrypointNames: ['/http-echo', 'http-echo'],
    cmd: [],
  },
  'traefik/whoami': { repository: 'docker.io/traefik/whoami', runner: 'whoami', entrypointNames: ['/whoami', 'whoami'], cmd: [] },
  'registry.k8s.io/pause': { repository: 'registry.k8s.io/pause', runner: 'pause', entrypointNames: ['/pause'], cmd: [] },
};

/** Splits `docker.io/library/nginx:1.27@sha256:…` into the short repository name and the tag. */
export function parseImage(image: string): { name: string; tag: string } {
  let ref = image.trim();
  ref = ref.replace(/@sha256:[0-9a-f]+$/, '');
  let tag = 'latest';
  const colon = ref.lastIndexOf(':');
  if (colon > ref.lastIndexOf('/')) {
    tag = ref.slice(colon + 1);
    ref = ref.slice(0, colon);
  }
  ref = ref.replace(/^(docker\.io|index\.docker\.io|registry-1\.docker\.io)\//, '').replace(/^library\//, '');
  return { name: ref, tag };
}

export type ImageResolution =
  | { ok: true; image: string; imageRef: string; builtin: boolean; argv: string[]; runner?: string; dirs: ImageDir[] }
  | { ok: false; reason: 'ErrImagePull' | 'InvalidImageName'; message: string };

/**
 * What a container runs. `runner` argv elements are returned as `[runnerName, ...args]` with
 * `runner` set; the agent prefixes its image command (`svcnet image`). Docker semantics:
 * `command` replaces the ENTRYPOINT (dropping CMD), `args` replace CMD.
 */
export function resolveImage(container: Pick<Container, 'image' | 'command' | 'args' | 'name'>): ImageResolution {
  const image = container.image ?? '';
  if (!image) return { ok: false, reason: 'InvalidImageName', message: `container ${container.name} has no image` };
  const { name, tag } = parseImage(image);
  const builtin = BUILTIN_IMAGES[name];
  const command = container.command ?? [];
  const args = container.args ?? [];
  const imageRef = `${builtin?.repository ?? name}:${tag}`;
  if (builtin) {
    const dirs = builtin.dirs ?? [];
    if (command.length > 0) {
      if (builtin.runner && builtin.entrypointNames?.includes(command[0]!)) {
        return {
          ok: true,
          image,
          imageRef,
          builtin: true,
          argv: [builtin.runner, ...command.slice(1), ...args],
          runner: builtin.runner,
          dirs,
        };
      }
      return { ok: true, image, imageRef, builtin: true, argv: [...command, ...args], dirs };
    }
    const cmd = args.length > 0 ? args : builtin.cmd;
    if (builtin.runner) return { ok: true, image, imageRef, builtin: true, argv: [builtin.runner, ...cmd], runner: builtin.runner, dirs };
    // curlimages/curl's entrypoint runs curl when the first argument is an option.
    if (name === 'curlimages/curl' && cmd[0]?.startsWith('-'))
      return { ok: true, image, imageRef, builtin: true, argv: ['curl', ...cmd], dirs };
    return { ok: true, image, imageRef, builtin: true, argv: cmd, dirs };
  }
  const argv = command.length > 0 ? [...command, ...args] : args;
  if (argv.length === 0) {
    return {
      ok: false,
      reason: 'ErrImagePull',
      message:
        `image "${image}" is not a svcnet builtin image and the container sets no command: svcnet runs containers on the node's own binaries, ` +
        `so give the container a command (e.g. command: ["sleep", "infinity"]) or use a builtin image (${Object.keys(BUILTIN_IMAGES).join(', ')})`,
    };
  }
  return { ok: true, image, imageRef, builtin: false, argv, dirs: [] };
}
