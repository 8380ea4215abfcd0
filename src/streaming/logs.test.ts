import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, test } from 'node:test';
import { CriLogWriter, formatCriLine, LogFormatter, lastLines, parseCriLine, parseLogOptions, rfc3339Nano, streamLogs } from './logs.js';

describe('parseLogOptions', () => {
  test('reads PodLogOptions', () => {
    assert.deepEqual(
      parseLogOptions('/log?container=c&follow=true&tailLines=5&timestamps=true&limitBytes=10&sinceSeconds=60&previous=true'),
      {
        container: 'c',
        follow: true,
        previous: true,
        timestamps: true,
        tailLines: 5,
        limitBytes: 10,
        sinceSeconds: 60,
        sinceTime: undefined,
      },
    );
  });

  test('rejects negative tailLines', () => {
    assert.throws(() => parseLogOptions('/log?tailLines=-1'), /tailLines: Invalid value: -1/);
  });
});

describe('CRI lines', () => {
  test('format and parse round-trip', () => {
    const line = formatCriLine(new Date('2024-01-02T03:04:05.120Z'), 'stderr', 'oops: a b');
    assert.equal(line, '2024-01-02T03:04:05.12Z stderr F oops: a b\n');
    assert.deepEqual(parseCriLine(line.trimEnd()), {
      time: '2024-01-02T03:04:05.12Z',
      stream: 'stderr',
      partial: false,
      content: 'oops: a b',
    });
  });

  test('RFC3339Nano drops trailing zeros like Go', () => {
    assert.equal(rfc3339Nano(new Date('2024-01-02T03:04:05.000Z')), '2024-01-02T03:04:05Z');
  });

  test('a line not in CRI format is passed through', () => {
    assert.deepEqual(parseCriLine('plain text'), { time: '', stream: 'stdout', partial: false, content: 'plain text' });
  });
});

describe('LogFormatter', () => {
  const rec = (time: string, content: string, partial = false) => ({ time, stream: 'stdout' as const, partial, content });

  test('timestamps prefix and partial records without newline', () => {
    const f = new LogFormatter({ timestamps: true, limitBytes: undefined, sinceSeconds: undefined, sinceTime: undefined });
    assert.equal(f.format(rec('2024-01-01T00:00:00Z', 'a', true)).toString(), '2024-01-01T00:00:00Z a');
  });

  test('sinceSeconds filters older records', () => {
    const now = new Date('2024-01-01T00:01:00Z');
    const f = new LogFormatter({ timestamps: false, limitBytes: undefined, sinceSeconds: 30, sinceTime: undefined }, now);
    assert.equal(f.format(rec('2024-01-01T00:00:00Z', 'old')).toString(), '');
    assert.equal(f.format(rec('2024-01-01T00:00:45Z', 'new')).toString(), 'new\n');
  });

  test('limitBytes cuts output across records', () => {
    const f = new LogFormatter({ timestamps: false, limitBytes: 5, sinceSeconds: undefined, sinceTime: undefined });
    assert.equal(f.format(rec('', 'abc')).toString(), 'abc\n');
    assert.equal(f.format(rec('', 'def')).toString(), 'd');
    assert.equal(f.exhausted, true);
  });

  test('lastLines', () => {
    assert.deepEqual(lastLines(['a', 'b', 'c'], 2), ['b', 'c']);
    assert.deepEqual(lastLines(['a'], 0), []);
    assert.deepEqual(lastLines(['a'], undefined), ['a']);
  });
});

describe('streamLogs and CriLogWriter', () => {
  test('writer keeps lines per stream; follow sees appends and stops with the container', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'svcnet-logs-'));
    try {
      const path = join(dir, 'c.log');
      await writeFile(path, '');
      const writer = new CriLogWriter(path, () => new Date('2024-01-01T00:00:00Z'));
      writer.write('stdout', 'one\ntw');
      writer.write('stderr', 'err\n');
      writer.write('stdout', 'o\n');
      await writer.close();
      assert.equal(
        await readFile(path, 'utf8'),
        '2024-01-01T00:00:00Z stdout F one\n2024-01-01T00:00:00Z stderr F err\n2024-01-01T00:00:00Z stdout F two\n',
      );

      const out = new PassThrough();
      let text = '';
      out.on('data', (d) => (text += d));
      const read = () => text;
      let stopContainer: () => void = () => {};
      const containerStopped = new Promise<void>((resolve) => (stopContainer = resolve));
      const options = { ...parseLogOptions('/log?follow=true&tailLines=1'), follow: true };
      const done = streamLogs(path, options, out, { containerStopped, pollIntervalMs: 50 });
      while (read() !== 'two\n') await new Promise((r) => out.once('data', r));
      const more = new CriLogWriter(path);
      more.write('stdout', 'three\n');
      await more.close();
      while (read() !== 'two\nthree\n') await new Promise((r) => out.once('data', r));
      stopContainer();
      await done;
      assert.equal(text, 'two\nthree\n');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
