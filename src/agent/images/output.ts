/**
 * What the builtin images print, written straight to fd 1 and 2. A container's output goes to the
 * agent through pipes, and `process.stdout` / `process.stderr` on a pipe each build a socket
 * stream on first use: ~5 ms of a container's start-up CPU apiece, for writes that Node makes
 * synchronously on Linux pipes anyway.
 */
import { writeSync } from 'node:fs';

function write(fd: 1 | 2, text: string): void {
  try {
    writeSync(fd, text);
  } catch (err) {
    // A non-blocking descriptor that is full (not the agent's pipes): let the stream queue it.
    if ((err as NodeJS.ErrnoException).code === 'EAGAIN') (fd === 1 ? process.stdout : process.stderr).write(text);
    // Otherwise the reader is gone (EPIPE): the line is lost, as it would be for nginx.
  }
}

/** Prints to the container's stdout. */
export function printOut(text: string): void {
  write(1, text);
}

/** Prints to the container's stderr. */
export function printErr(text: string): void {
  write(2, text);
}
