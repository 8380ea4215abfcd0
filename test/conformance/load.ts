/**
 * A bounded HTTP load generator for the conformance suite: runs inside the sandbox, sends
 * requests one after another (each on a new connection, so every request is a fresh pass through
 * the service proxy) until a stop file appears or the time limit passes, then prints one JSON
 * line: {"ok":N,"failed":N,"errors":{"ECONNREFUSED":N,…},"bodies":{"<body>":N,…},"final":true}.
 *
 * While running it prints the counts so far (the same JSON without `final`) every 100 requests, so
 * a test can wait for the load to be flowing, or to have reached every pod, before it goes on.
 *
 * Usage: node --import tsx test/conformance/load.ts URL STOP_FILE [MAX_SECONDS]
 */
import { existsSync } from 'node:fs';
import http from 'node:http';
import { pathToFileURL } from 'node:url';

/** What a load run counted. */
export interface LoadResult {
  ok: number;
  failed: number;
  /** Failures by error code or HTTP status. */
  errors: Record<string, number>;
  /** Successful response bodies (e.g. agnhost /hostname: which pod answered) by count. */
  bodies: Record<string, number>;
}

/** One GET on a fresh connection; resolves with the body, rejects with a code-like reason. */
function get(url: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`HTTP ${res.statusCode}`))));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
    req.on('error', reject);
  });
}

/** Sends requests until `stop()` says so; never more than one in flight. */
export async function runLoad(url: string, stop: () => boolean, onProgress?: (r: LoadResult) => void): Promise<LoadResult> {
  const result: LoadResult = { ok: 0, failed: 0, errors: {}, bodies: {} };
  while (!stop()) {
    try {
      const body = await get(url, 2000);
      result.ok++;
      result.bodies[body] = (result.bodies[body] ?? 0) + 1;
    } catch (err) {
      result.failed++;
      const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      result.errors[code] = (result.errors[code] ?? 0) + 1;
    }
    if ((result.ok + result.failed) % 100 === 0) onProgress?.(result);
  }
  return result;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [url, stopFile, maxSeconds = '120'] = process.argv.slice(2);
  if (!url || !stopFile) {
    process.stderr.write('usage: load.ts URL STOP_FILE [MAX_SECONDS]\n');
    process.exit(2);
  }
  const deadline = Date.now() + Number(maxSeconds) * 1000;
  const result = await runLoad(
    url,
    () => existsSync(stopFile) || Date.now() > deadline,
    (r) => process.stdout.write(`${JSON.stringify(r)}\n`),
  );
  process.stdout.write(`${JSON.stringify({ ...result, final: true })}\n`);
}
