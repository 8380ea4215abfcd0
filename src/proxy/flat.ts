/**
 * Flat strings for what the proxy keeps. V8 keeps a string built by concatenation (a template
 * literal) as a rope: a tree of its pieces. Joining or writing one copies the characters out but
 * leaves the rope, and comparing two ropes with the same text walks both. The proxy builds ~10⁵
 * strings per full sync (rules, chain names, map keys) and keeps most of them until the next one:
 * kept as ropes, every piece survived into the old generation (a third of a full sync's time went
 * to GC) and every map lookup by an equal key compared ropes.
 */

/** Written by {@link flattenString}, so the conversion cannot be optimized away. */
let _flattenSink = 0;

/**
 * Makes `text` flat where it stands, so its pieces die young and comparisons read one buffer.
 * Converting a string to a number flattens it first (the trick of the `flatstr` package); the
 * number itself (NaN for all our text) is discarded.
 */
export function flattenString(text: string): void {
  _flattenSink ^= (text as unknown as number) | 0;
}

/** {@link flattenString} on each of `lines`. */
export function flattenLines(lines: readonly string[]): void {
  for (const line of lines) flattenString(line);
}
