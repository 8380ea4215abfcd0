/**
 * klog-style log lines, as kube-proxy prints them, so its familiar messages read the same here:
 *
 *     I0307 04:29:30.050701       1 proxier.go:294] "Adding new service port" portName="default/db-service:3306" servicePort="10.103.132.104:3306/TCP"
 *
 * The header is `Lmmdd hh:mm:ss.uuuuuu threadid file:line]`; structured key/values follow the quoted
 * message. Output goes through an injected writer so tests can capture it.
 */

/** Severity letters klog prints. */
export type Severity = 'I' | 'W' | 'E';

/** A value in a structured log line. */
export type LogValue = string | number | boolean | null | undefined | { toString(): string };

/** The logger the proxy core calls. */
export interface ProxyLogger {
  info(msg: string, kv?: Record<string, LogValue>, source?: string): void;
  warning(msg: string, kv?: Record<string, LogValue>, source?: string): void;
  error(msg: string, kv?: Record<string, LogValue>, source?: string): void;
}

/** Options for {@link createKlog}. */
export interface KlogOptions {
  /** Receives each finished line (with its newline). Default: process.stderr. */
  write?: (line: string) => void;
  /** Clock for the header. Default: Date.now. */
  now?: () => number;
  /** Printed as klog's thread id. Default: process.pid. */
  pid?: number;
  /** `file:line` shown when a call gives none. */
  defaultSource?: string;
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** klog's header for a severity and time (local time, like klog). */
export function klogHeader(severity: Severity, ms: number, pid: number, source: string): string {
  const d = new Date(ms);
  const micros = pad(d.getMilliseconds(), 3) + '000';
  const time = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${micros}`;
  return `${severity}${pad(d.getMonth() + 1)}${pad(d.getDate())} ${time} ${String(pid).padStart(7)} ${source}]`;
}

function formatValue(v: LogValue): string {
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (v === null || v === undefined) return '<nil>';
  return JSON.stringify(String(v));
}

/** One structured klog line, without the trailing newline. */
export function formatKlog(
  severity: Severity,
  ms: number,
  pid: number,
  source: string,
  msg: string,
  kv: Record<string, LogValue> = {},
): string {
  const pairs = Object.entries(kv)
    .map(([k, v]) => ` ${k}=${formatValue(v)}`)
    .join('');
  return `${klogHeader(severity, ms, pid, source)} ${JSON.stringify(msg)}${pairs}`;
}

/** A {@link ProxyLogger} that prints klog lines. */
export function createKlog(options: KlogOptions = {}): ProxyLogger {
  const write = options.write ?? ((line: string) => process.stderr.write(line));
  const now = options.now ?? Date.now;
  const pid = options.pid ?? process.pid;
  const fallback = options.defaultSource ?? 'proxier.go:1';
  const emit = (sev: Severity) => (msg: string, kv?: Record<string, LogValue>, source?: string) =>
    write(`${formatKlog(sev, now(), pid, source ?? fallback, msg, kv)}\n`);
  return { info: emit('I'), warning: emit('W'), error: emit('E') };
}

/** A logger that drops everything (the default for pure cores and tests). */
export const silentLogger: ProxyLogger = { info() {}, warning() {}, error() {} };
