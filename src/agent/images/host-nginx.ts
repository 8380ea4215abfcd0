/**
 * The `nginx` image on the node's own nginx: when the host has an nginx binary, a container of the
 * `nginx` image runs the real nginx (one process, no master, so the container's main process is
 * nginx itself) with a configuration shaped like the official image's nginx.conf and default.conf.
 * That serves the same pages, headers and access log as the image does, for a fraction of the CPU
 * a node process costs to start (the builtin server in nginx.ts remains the fallback).
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Where the node's nginx may be, in the order they are tried. */
export const HOST_NGINX_PATHS = ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/local/nginx/sbin/nginx'] as const;

/** Where the official image (and Debian's package) keep the MIME types table. */
export const NGINX_MIME_TYPES = '/etc/nginx/mime.types';

/**
 * The nginx binary the `nginx` image runs on, or undefined for the builtin server. `SVCNET_NGINX`
 * chooses: `builtin` forces the builtin server, an absolute path names the binary; unset, the
 * first of {@link HOST_NGINX_PATHS} that exists.
 */
export function findHostNginx(
  env: Readonly<Record<string, string | undefined>> = process.env,
  exists: (path: string) => boolean = existsSync,
): string | undefined {
  const choice = env.SVCNET_NGINX?.trim();
  if (choice === 'builtin') return undefined;
  if (choice?.startsWith('/')) return exists(choice) ? choice : undefined;
  return HOST_NGINX_PATHS.find((path) => exists(path));
}

export interface NginxConfigOptions {
  /** The port the default server listens on (80). */
  port: number;
  /** The document root as the container sees it. */
  root: string;
  /** A writable directory of the container's own for the pid file and request-body/proxy temp files. */
  runDir: string;
  /** The MIME types file to include; undefined writes a short table of the common types instead. */
  mimeTypes?: string;
}

/** Types for a host without nginx's mime.types (a binary installed by hand). */
const MINIMAL_TYPES = `    types {
        text/html html htm shtml;
        text/css css;
        text/plain txt;
        text/xml xml;
        application/javascript js;
        application/json json;
        image/png png;
        image/jpeg jpeg jpg;
        image/gif gif;
        image/svg+xml svg svgz;
        image/x-icon ico;
    }`;

/**
 * The configuration: the official image's nginx.conf (`main` log format to stdout, errors to
 * stderr at `notice`, sendfile, keepalive 65 s) with its default.conf inlined (root and index,
 * the 50x page), in the foreground as a single process. Every path nginx writes is in `runDir`:
 * the compiled-in temp paths (/var/lib/nginx/…) are the host's, and nginx will not start when
 * it cannot create them.
 */
export function nginxConfig(o: NginxConfigOptions): string {
  const run = (name: string) => join(o.runDir, name);
  return `daemon off;
master_process off;
worker_processes 1;
pid ${run('nginx.pid')};
error_log stderr notice;

events {
    worker_connections 1024;
}

http {
${o.mimeTypes ? `    include ${o.mimeTypes};` : MINIMAL_TYPES}
    default_type application/octet-stream;

    log_format main '$remote_addr - $remote_user [$time_local] "$request" '
                    '$status $body_bytes_sent "$http_referer" '
                    '"$http_user_agent" "$http_x_forwarded_for"';
    access_log /dev/stdout main;

    sendfile on;
    keepalive_timeout 65;

    client_body_temp_path ${run('client_body')};
    proxy_temp_path ${run('proxy')};
    fastcgi_temp_path ${run('fastcgi')};
    uwsgi_temp_path ${run('uwsgi')};
    scgi_temp_path ${run('scgi')};

    server {
        listen ${o.port};
        server_name localhost;

        location / {
            root ${o.root};
            index index.html index.htm;
        }

        error_page 500 502 503 504 /50x.html;
        location = /50x.html {
            root ${o.root};
        }
    }
}
`;
}

/**
 * Writes the container's nginx.conf into `runDir` (created) and returns the argv of its main
 * process. `-e stderr` sends the errors nginx meets before it has read the configuration to the
 * container log too. The image's own arguments (`-g 'daemon off;'` and the like) are not passed:
 * they would repeat directives the configuration sets.
 */
export function prepareHostNginx(binary: string, options: Omit<NginxConfigOptions, 'mimeTypes'>, exists = existsSync): string[] {
  mkdirSync(options.runDir, { recursive: true });
  const conf = join(options.runDir, 'nginx.conf');
  writeFileSync(conf, nginxConfig({ ...options, mimeTypes: exists(NGINX_MIME_TYPES) ? NGINX_MIME_TYPES : undefined }));
  return [binary, '-e', 'stderr', '-c', conf];
}
