/**
 * Streaming a full sync's text to iptables-restore / nft while it is generated: lines are joined
 * into chunks, and the chunk iterator is timed so the proxy's own CPU time stays measurable when
 * it overlaps the kernel's.
 */

/** Size of the pieces a full ruleset is streamed in: large enough that per-write costs vanish, small enough that the command starts at once. */
export const CHUNK_CHARS = 64 * 1024;

/** Joins lines (each given a trailing newline) into chunks of about {@link CHUNK_CHARS} characters. */
export function* chunkLines(lines: Iterable<string>): Generator<string> {
  let batch: string[] = [];
  let size = 0;
  for (const line of lines) {
    batch.push(line);
    size += line.length + 1;
    if (size >= CHUNK_CHARS) {
      batch.push('');
      yield batch.join('\n');
      batch = [];
      size = 0;
    }
  }
  if (batch.length) {
    batch.push('');
    yield batch.join('\n');
  }
}

/** Time spent producing a chunk stream, and how much it produced. */
export interface ChunkTiming {
  /** Milliseconds spent inside the iterator (generation), summed over all chunks. */
  ms: number;
  /** Characters produced. */
  chars: number;
}

/** Wraps `chunks` so `timing` accumulates the time spent producing them. */
export function* timedChunks(chunks: Iterable<string>, timing: ChunkTiming): Generator<string> {
  const it = chunks[Symbol.iterator]();
  for (;;) {
    const t0 = performance.now();
    const next = it.next();
    timing.ms += performance.now() - t0;
    if (next.done) return;
    timing.chars += next.value.length;
    yield next.value;
  }
}
