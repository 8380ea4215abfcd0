/**
 * Container logs the way the kubelet keeps and serves them.
 *
 * Files use the CRI log format, one record per line: `<RFC3339Nano time> <stdout|stderr> <F|P> <text>`
 * (`P` marks a partial line continued by the next record), so timestamps and `sinceSeconds` work
 * without a second index. {@link CriLogWriter} writes such files from process output;
 * {@link streamLogs} serves them with the `kubectl logs` options (follow, tailLines, limitBytes,
 * timestamps, sinceSeconds/sinceTime) as text/plain.
 */

import { once } from 'node:events';
import { createWriteStream, type FSWatcher, type WriteStream, watch } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Writable } from 'node:stream';

/** The `kubectl logs` query parameters (PodLogOptions). */
export interface LogOptions {
  container: string | undefined;
  follow: boolean;
  previous: boolean;
  timestamps: boolean;
  tailLines: number | undefined;
  limitBytes: number | undefined;
  sinceSeconds: number | undefined;
  sinceTime: string | undefined;
}

/** One record of a CRI log file. */
export interface LogRecord {
  time: string;
  stream: 'stdout' | 'stderr';
  partial: boolean;
  content: string;
}

/** Reads PodLogOptions from a `/log` URL. Throws a message the API server can return as 400 on bad numbers. */
export function parseLogOptions(url: string | URL): LogOptions {
  const params = (typeof url === 'string' ? new URL(url, 'http://localhost') : url).searchParams;
  const flag = (name: string) => ['true', '1'].includes((params.get(name) ?? '').toLowerCase());
  const int = (name: string, min: number) => {
    const raw = params.get(name);
    if (raw === null || raw === '') return undefined;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min) throw new Error(`${name}: Invalid value: ${raw}: must be greater than or equal to ${min}`);
    return value;
  };
  return {
    container: params.get('container') ?? undefined,
    follow: flag('follow'),
    previous: flag('previous'),
    timestamps: flag('timestamps'),
    tailLines: int('tailLines', 0),
    limitBytes: int('limitBytes', 1),
    sinceSeconds: int('sinceSeconds', 1),
    sinceTime: params.get('sinceTime') ?? undefined,
  };
}

/** Formats a time as Go's RFC3339Nano does (UTC, trailing zeros of the fraction dropped). */
export function rfc3339Nano(date: Date): string {
  return date.toISOString().replace(/\.?0+Z$/, 'Z');
}

/** Builds one CRI log line (with its newline). */
export function formatCriLine(time: Date, stream: 'stdout' | 'stderr', content: string, partial = false): string {
  return `${rfc3339Nano(time)} ${stream} ${partial ? 'P' : 'F'} ${content}\n`;
}

/** Parses one CRI log line (without its newline); anything else is passed through as a stdout line. */
export function parseCriLine(line: string): LogRecord {
  const match = /^(\S+) (stdout|stderr) ([FP]) (.*)$/s.exec(line) ?? /^(\S+) (stdout|stderr) ([FP])$/.exec(line);
  if (!match || Number.isNaN(Date.parse(match[1] as string))) return { time: '', stream: 'stdout', partial: false, content: line };
  return { time: match[1] as string, stream: match[2] as 'stdout' | 'stderr', partial: match[3] === 'P', content: match[4] ?? '' };
}

/** Chooses which records to print and how: the pure core of {@link streamLogs}. */
export class LogFormatter {
  private remainingBytes: number;
  private readonly since: number | undefined;

  constructor(
    private readonly options: Pick<LogOptions, 'timestamps' | 'limitBytes' | 'sinceSeconds' | 'sinceTime'>,
    now: Date = new Date(),
  ) {
    this.remainingBytes = options.limitBytes ?? Number.POSITIVE_INFINITY;
    if (options.sinceSeconds !== undefined) this.since = now.getTime() - options.sinceSeconds * 1000;
    else if (options.sinceTime !== undefined) this.since = Date.parse(options.sinceTime);
  }

  /** True once limitBytes has been reached: nothing more will be printed. */
  get exhausted(): boolean {
    return this.remainingBytes <= 0;
  }

  /** The text for one record (empty when filtered out), cut to what limitBytes still allows. */
  format(record: LogRecord): Buffer {
    if (this.exhausted) return Buffer.alloc(0);
    if (this.since !== undefined && record.time !== '' && Date.parse(record.time) < this.since) return Buffer.alloc(0);
    const prefix = this.options.timestamps && record.time !== '' ? `${record.time} ` : '';
    let out = Buffer.from(`${prefix}${record.content}${record.partial ? '' : '\n'}`);
    if (out.length > this.remainingBytes) out = out.subarray(0, this.remainingBytes);
    this.remainingBytes -= out.length;
    return out;
  }
}

/** The last `count` complete lines of a text (all of them when count is undefined). */
export function lastLines(lines: string[], count: number | undefined): string[] {
  if (count === undefined) return lines;
  return count === 0 ? [] : lines.slice(-count);
}

export interface StreamLogsControl {
  /** Stops following (the client went away). */
  signal?: AbortSignal;
  /** Settles when the container has stopped: following drains what is left and ends, as the kubelet does. */
  containerStopped?: Promise<unknown>;
  /** How often to look for appended data when file-change events are missed. */
  pollIntervalMs?: number;
}

/**
 * Writes a CRI log file's records to `out` per the options; with `follow`, keeps writing appended
 * records (tail -f) until the signal aborts, the container stops, or limitBytes is reached.
 * Does not end `out`.
 */
export async function streamLogs(path: string, options: LogOptions, out: Writable, control: StreamLogsControl = {}): Promise<void> {
  const formatter = new LogFormatter(options);
  const write = async (text: Buffer) => {
    if (text.length > 0 && !out.write(text)) await Promise.race([once(out, 'drain'), once(out, 'close')]);
  };
  const content = await readFile(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return Buffer.alloc(0);
    throw err;
  });
  let position = content.length;
  const lastNewline = content.lastIndexOf(0x0a);
  let pending = lastNewline < 0 ? content.toString() : content.subarray(lastNewline + 1).toString();
  const complete = lastNewline < 0 ? [] : content.subarray(0, lastNewline).toString().split('\n');
  for (const line of lastLines(complete, options.tailLines)) await write(formatter.format(parseCriLine(line)));
  if (!options.follow || formatter.exhausted || control.signal?.aborted) return;

  let stopped = false;
  let changed = false;
  let resume: () => void = () => {};
  const wake = () => {
    changed = true;
    resume();
  };
  const stop = () => {
    stopped = true;
    wake();
  };
  control.signal?.addEventListener('abort', stop, { once: true });
  void control.containerStopped?.then(stop, stop);
  out.once('close', stop);
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(path, () => wake());
    watcher.on('error', () => {});
  } catch {
    // The file may not exist yet; polling covers it.
  }
  const poll = setInterval(() => wake(), control.pollIntervalMs ?? 1000);
  try {
    for (;;) {
      const wasStopped = stopped;
      changed = false;
      const appended = await readFrom(path, position);
      position += appended.length;
      const lines = (pending + appended.toString()).split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) await write(formatter.format(parseCriLine(line)));
      if (wasStopped || formatter.exhausted || control.signal?.aborted) return;
      await new Promise<void>((resolve) => {
        resume = resolve;
        if (changed) resolve();
      });
    }
  } finally {
    clearInterval(poll);
    watcher?.close();
    control.signal?.removeEventListener('abort', stop);
    out.off('close', stop);
  }
}

async function readFrom(path: string, position: number): Promise<Buffer> {
  const handle = await open(path, 'r').catch(() => undefined);
  if (!handle) return Buffer.alloc(0);
  try {
    const { size } = await handle.stat();
    if (size <= position) return Buffer.alloc(0);
    const buffer = Buffer.alloc(size - position);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/**
 * Answers a `/log` request from a CRI log file: 200 text/plain, streamed (chunked) when following.
 * Stops following when the client disconnects or `containerStopped` settles.
 */
export async function serveLogs(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  control: Omit<StreamLogsControl, 'signal'> = {},
): Promise<void> {
  let options: LogOptions;
  try {
    options = parseLogOptions(req.url ?? '/');
  } catch (err) {
    res.writeHead(400, { 'Content-Type': 'text/plain; charset=utf-8' });
    res.end((err as Error).message);
    return;
  }
  const abort = new AbortController();
  res.on('close', () => abort.abort());
  res.writeHead(200, { 'Content-Type': 'text/plain', 'Transfer-Encoding': 'chunked' });
  try {
    await streamLogs(path, options, res, { ...control, signal: abort.signal });
  } finally {
    res.end();
  }
}

/**
 * Turns a container's stdout/stderr chunks into CRI log records in a file. Output is split into
 * lines; a line still open when the writer closes is written as a partial (`P`) record.
 */
export class CriLogWriter {
  private readonly file: WriteStream;
  private readonly open: Record<'stdout' | 'stderr', string> = { stdout: '', stderr: '' };

  constructor(
    path: string,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.file = createWriteStream(path, { flags: 'a' });
  }

  write(stream: 'stdout' | 'stderr', chunk: Buffer | string): void {
    const lines = (this.open[stream] + chunk.toString()).split('\n');
    this.open[stream] = lines.pop() ?? '';
    const time = this.now();
    for (const line of lines) this.file.write(formatCriLine(time, stream, line));
  }

  /** Flushes open lines as partial records and closes the file. */
  async close(): Promise<void> {
    const time = this.now();
    for (const stream of ['stdout', 'stderr'] as const) {
      if (this.open[stream] !== '') this.file.write(formatCriLine(time, stream, this.open[stream], true));
      this.open[stream] = '';
    }
    await new Promise<void>((resolve) => this.file.end(resolve));
  }
}
