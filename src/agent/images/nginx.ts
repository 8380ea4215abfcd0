/**
 * The builtin `nginx` image: a static file server with nginx's default pages, `Server` header and
 * access-log lines, serving the pod's writable /usr/share/nginx/html on port 80.
 */
import { createReadStream, readFile, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { extname, join, normalize } from 'node:path';
import { printOut } from './output.js';

export const NGINX_VERSION = '1.27.3';

/** The image's document root, writable per pod. */
export const NGINX_HTML_ROOT = '/usr/share/nginx/html';

/** nginx's default index.html, as `curl <pod>` shows it. */
export const NGINX_INDEX_HTML = `<!DOCTYPE html>
<html>
<head>
<title>Welcome to nginx!</title>
<style>
html { color-scheme: light dark; }
body { width: 35em; margin: 0 auto;
font-family: Tahoma, Verdana, Arial, sans-serif; }
</style>
</head>
<body>
<h1>Welcome to nginx!</h1>
<p>If you see this page, the nginx web server is successfully installed and
working. Further configuration is required.</p>

<p>For online documentation and support please refer to
<a href="http://nginx.org/">nginx.org</a>.<br/>
Commercial support is available at
<a href="http://nginx.com/">nginx.com</a>.</p>

<p><em>Thank you for using nginx.</em></p>
</body>
</html>
`;

export const NGINX_50X_HTML = `<!DOCTYPE html>
<html>
<head>
<title>Error</title>
<style>
html { color-scheme: light dark; }
body { width: 35em; margin: 0 auto;
font-family: Tahoma, Verdana, Arial, sans-serif; }
</style>
</head>
<body>
<h1>An error occurred.</h1>
<p>Sorry, the page you are looking for is currently unavailable.<br/>
Please try again later.</p>
<p>If you are the system administrator of this resource then you should check
the error log for details.</p>
<p><em>Faithfully yours, nginx.</em></p>
</body>
</html>
`;

const MIME: Record<string, string> = {
  '.html': 'text/html',
  '.htm': 'text/html',
  '.css': 'text/css',
  '.js': 'application/javascript',
  '.json': 'application/json',
  '.txt': 'text/plain',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.svg': 'image/svg+xml',
};

/** Files up to this size are read whole rather than streamed. */
const SMALL_FILE_BYTES = 1 << 20;

/** nginx's own error page body for a status. */
export function nginxErrorPage(status: number, text: string): string {
  return `<html>\r\n<head><title>${status} ${text}</title></head>\r\n<body>\r\n<center><h1>${status} ${text}</h1></center>\r\n<hr><center>nginx/${NGINX_VERSION}</center>\r\n</body>\r\n</html>\r\n`;
}

// nginx's month names are fixed English ones; a table spares each container the start-up of ICU
// date formatting (Intl), which cost ~25 ms of CPU on its first request.
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** The `combined` access-log line nginx prints for a request. */
export function accessLogLine(req: IncomingMessage, status: number, bytes: number, now: Date): string {
  const d = now;
  const month = MONTHS[d.getUTCMonth()];
  const pad = (n: number) => String(n).padStart(2, '0');
  const time = `${pad(d.getUTCDate())}/${month}/${d.getUTCFullYear()}:${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
  const addr = (req.socket.remoteAddress ?? '-').replace(/^::ffff:/, '');
  const header = (name: string) => (req.headers[name] as string | undefined) ?? '-';
  return `${addr} - - [${time}] "${req.method} ${req.url} HTTP/${req.httpVersion}" ${status} ${bytes} "${header('referer')}" "${header('user-agent')}" "${header('x-forwarded-for')}"`;
}

/** Starts the server; resolves once listening. */
export function startNginx(options: { root?: string; port?: number; log?: (line: string) => void } = {}): Promise<Server> {
  const root = options.root ?? NGINX_HTML_ROOT;
  const log = options.log ?? ((line) => printOut(`${line}\n`));
  const server = createServer((req, res) => serve(req, res, root, log));
  server.keepAliveTimeout = 65_000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 80, () => resolve(server));
  });
}

/** Answers one request; returns whether it was a success (2xx). */
function serve(req: IncomingMessage, res: ServerResponse, root: string, log: (line: string) => void): boolean {
  const send = (status: number, body: string | undefined, headers: Record<string, string | number> = {}) => {
    res.writeHead(status, { Server: `nginx/${NGINX_VERSION}`, Date: new Date().toUTCString(), ...headers });
    res.end(req.method === 'HEAD' ? undefined : body);
    log(accessLogLine(req, status, req.method === 'HEAD' ? 0 : Buffer.byteLength(body ?? ''), new Date()));
    return status < 300;
  };
  const error = (status: number, text: string) => send(status, nginxErrorPage(status, text), { 'Content-Type': 'text/html' });
  if (req.method !== 'GET' && req.method !== 'HEAD') return error(405, 'Not Allowed');
  let path: string;
  try {
    path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname));
  } catch {
    return error(400, 'Bad Request');
  }
  if (path.includes('\0')) return error(400, 'Bad Request');
  let file = join(root, path);
  try {
    let stat = statSync(file);
    if (stat.isDirectory()) {
      if (!path.endsWith('/'))
        return send(301, nginxErrorPage(301, 'Moved Permanently'), { Location: `${path}/`, 'Content-Type': 'text/html' });
      file = join(file, 'index.html');
      try {
        stat = statSync(file);
      } catch {
        return error(403, 'Forbidden');
      }
    }
    res.writeHead(200, {
      Server: `nginx/${NGINX_VERSION}`,
      Date: new Date().toUTCString(),
      'Content-Type': MIME[extname(file)] ?? 'application/octet-stream',
      'Content-Length': stat.size,
      'Last-Modified': stat.mtime.toUTCString(),
      ETag: `"${Math.floor(stat.mtimeMs / 1000).toString(16)}-${stat.size.toString(16)}"`,
      'Accept-Ranges': 'bytes',
    });
    // nginx logs the body bytes it sent: none for HEAD.
    log(accessLogLine(req, 200, req.method === 'HEAD' ? 0 : stat.size, new Date()));
    if (req.method === 'HEAD') res.end();
    // A page is sent in one piece: a read stream and its pipe machinery cost a container ~5 ms of
    // CPU to load on its first request. Large files are streamed.
    else if (stat.size <= SMALL_FILE_BYTES) readFile(file, (err, data) => (err ? res.destroy(err) : res.end(data)));
    else createReadStream(file).pipe(res);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EACCES') return error(403, 'Forbidden');
    return error(404, 'Not Found');
  }
}
