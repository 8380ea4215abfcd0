import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type CommandRunner, runWithChunks, spawnRunner } from '../../cluster/netns.js';
import { CHUNK_CHARS, chunkLines, timedChunks } from './chunks.js';

describe('streamed command input', () => {
  test('chunkLines: every line ends in a newline, chunks are about CHUNK_CHARS, nothing is lost', () => {
    const lines = Array.from({ length: 20_000 }, (_, i) => `add chain ip kube-proxy chain-${i}`);
    const chunks = [...chunkLines(lines)];
    assert.equal(chunks.join(''), `${lines.join('\n')}\n`);
    assert.ok(chunks.length > 5);
    for (const c of chunks.slice(0, -1)) assert.ok(c.length >= CHUNK_CHARS && c.length < CHUNK_CHARS + 100 && c.endsWith('\n'));
    assert.deepEqual([...chunkLines([])], []);
  });

  test('timedChunks counts the characters and the time spent producing them', () => {
    const timing = { ms: 0, chars: 0 };
    function* slow() {
      const until = performance.now() + 20;
      while (performance.now() < until);
      yield 'abc';
    }
    assert.deepEqual([...timedChunks(slow(), timing)], ['abc']);
    assert.equal(timing.chars, 3);
    assert.ok(timing.ms >= 19, `${timing.ms}`);
  });

  test('spawnRunner streams chunks to stdin as they are produced, with backpressure', async () => {
    const run = spawnRunner();
    assert.equal(run.streamsInput, true);
    let produced = 0;
    function* chunks() {
      for (let i = 0; i < 64; i++) {
        produced++;
        yield `${String(i).padStart(4, '0')}${'x'.repeat(CHUNK_CHARS)}\n`;
      }
    }
    const { stdout } = await runWithChunks(run, ['sh', '-c', 'wc -c'], chunks());
    assert.equal(produced, 64);
    assert.equal(Number(stdout.trim()), 64 * (CHUNK_CHARS + 5));
  });

  test('a generator that throws kills the command (no truncated input taken as complete) and the run rejects with its error', async () => {
    function* failing() {
      yield 'first line\n';
      throw new Error('generation failed');
    }
    // `cat > file` would exit 0 on EOF: only the kill keeps it from completing.
    await assert.rejects(spawnRunner()(['sh', '-c', 'cat >/dev/null; echo done'], { inputChunks: failing() }), /generation failed/);
  });

  test('runWithChunks joins the chunks for runners that do not stream (fakes)', async () => {
    const inputs: Array<string | undefined> = [];
    const fake: CommandRunner = async (_argv, options) => {
      inputs.push(options?.input);
      return { stdout: '', stderr: '' };
    };
    await runWithChunks(fake, ['nft', '-f', '-'], ['a\n', 'b\n']);
    assert.deepEqual(inputs, ['a\nb\n']);
  });
});
