import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { IndexedStore, type Journal } from './indexed-store.js';
import { MvccIndex } from './mvcc.js';
import type { KeyValue, StoreEvent } from './types.js';

/*
 * Layout, after kine: one append-only log table where each write is a row whose id is its revision.
 * Compaction deletes rows that a later row at or below the compacted revision supersedes, and
 * deletion rows at or below it; the compacted revision itself lives in `meta`, so the revision counter
 * survives even when compaction removed the newest row (max(id, compact_rev) on open).
 *
 * Reads never touch SQLite: the whole cluster state (plus history since the last compaction) fits in
 * RAM, so on open the log is replayed into an MvccIndex and from then on SQLite is only the durable
 * log. That keeps a write to one prepared INSERT (in a transaction shared by all the writes of one
 * event-loop turn, see IndexedStore) and a 10k-item list to an in-memory scan.
 *
 * Durability: journal_mode=WAL with synchronous=NORMAL. A commit returns after its frames are
 * written (write(2)) to the -wal file; fsync happens only at checkpoints. Data handed to the kernel
 * survives the death of the process (kill -9, crash, OOM) because it is in the page cache, so every
 * write whose promise resolved is found again after a process crash (test/storage/crash.test.ts checks
 * this). Only a power loss or kernel crash can lose the last few commits, and never corrupts the file
 * (WAL frames are checksummed). synchronous=FULL would cover power loss at ~6x lower write throughput.
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS kine (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  created INTEGER NOT NULL,
  deleted INTEGER NOT NULL,
  create_revision INTEGER NOT NULL,
  prev_revision INTEGER NOT NULL,
  value TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS kine_name_id ON kine (name, id);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
`;

interface Row {
  id: number;
  name: string;
  deleted: number;
  create_revision: number;
  value: string;
}

/** A Store persisted in one SQLite file (kine's log layout), with reads served from memory. */
export class SqliteStore extends IndexedStore {
  /** Opens (creating if needed) the database at path and loads its state. One process per file. */
  static open(path: string): SqliteStore {
    mkdirSync(dirname(path), { recursive: true });
    const db = new Database(path);
    try {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      db.pragma('busy_timeout = 5000');
      // Checkpoints copy the WAL into the database file and fsync it: 25-30 ms that, run by the
      // committing write (SQLite's default), stalls the event loop. A worker thread with its own
      // connection runs them instead; PASSIVE checkpoints never block this connection's writes.
      db.pragma('wal_autocheckpoint = 0');
      db.exec(SCHEMA);
      return new SqliteStore(loadIndex(db), new SqliteJournal(db, path));
    } catch (err) {
      db.close();
      throw err;
    }
  }
}

function loadIndex(db: Database.Database): MvccIndex {
  const index = new MvccIndex();
  const rows = db.prepare('SELECT id, name, deleted, create_revision, value FROM kine ORDER BY id').iterate() as IterableIterator<Row>;
  for (const row of rows) {
    const kv: KeyValue = Object.freeze({ key: row.name, value: row.value, createRevision: row.create_revision, modRevision: row.id });
    const prevKv = index.current(row.name);
    const type = row.deleted ? 'delete' : 'put';
    index.apply(Object.freeze(prevKv ? { type, kv, prevKv, revision: row.id } : { type, kv, revision: row.id }));
  }
  const compacted = (db.prepare("SELECT value FROM meta WHERE name = 'compact_rev'").pluck().get() as number | undefined) ?? 0;
  index.revision = Math.max(index.revision, compacted);
  index.compact(compacted);
  return index;
}

/** How often the checkpointer copies the WAL back into the database file. */
const CHECKPOINT_INTERVAL_MS = 1000;
/** How long after opening the checkpointer starts. */
const CHECKPOINTER_DELAY_MS = 2000;

const CHECKPOINTER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.module);
const db = new Database(workerData.path);
db.pragma('busy_timeout = 5000');
const timer = setInterval(() => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch {
    // A busy or failed checkpoint is tried again next time; the WAL keeps every commit meanwhile.
  }
}, workerData.intervalMs);
parentPort.on('message', () => {
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;

/**
 * Starts the thread that checkpoints the database at `path`; post any message to stop it. If the
 * thread fails, `fallback` runs (the connection goes back to checkpointing itself).
 */
function startCheckpointer(path: string, fallback: () => void): Worker {
  const module = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(CHECKPOINTER, { eval: true, workerData: { path, module, intervalMs: CHECKPOINT_INTERVAL_MS } });
  worker.on('error', fallback);
  worker.unref();
  return worker;
}

class SqliteJournal implements Journal {
  private readonly insert: Database.Statement;
  private readonly writeTx: (events: readonly StoreEvent[]) => void;
  private readonly compactTx: (revision: number, previous: number) => void;

  private checkpointer?: Worker;
  private readonly checkpointerStart: NodeJS.Timeout;

  constructor(
    private readonly db: Database.Database,
    path: string,
  ) {
    // Started a little after opening: a thread costs tens of milliseconds of CPU, which `svcnet up`
    // should not spend before it answers; nothing needs a checkpoint that early.
    this.checkpointerStart = setTimeout(() => {
      this.checkpointer = startCheckpointer(path, () => {
        if (db.open) db.pragma('wal_autocheckpoint = 1000');
      });
    }, CHECKPOINTER_DELAY_MS);
    this.checkpointerStart.unref();
    this.insert = db.prepare(
      'INSERT INTO kine (id, name, created, deleted, create_revision, prev_revision, value) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    this.writeTx = db.transaction((events: readonly StoreEvent[]) => {
      for (const ev of events) this.append(ev);
    });
    // Rows at or below `previous` were compacted before, so only rows written since can supersede
    // anything; walking just those keeps compaction proportional to the history being dropped.
    const dropSuperseded = db.prepare(`
      DELETE FROM kine WHERE id IN (
        SELECT older.id FROM kine AS newer JOIN kine AS older ON older.name = newer.name AND older.id < newer.id
        WHERE newer.id > @previous AND newer.id <= @revision)`);
    const dropDeletions = db.prepare('DELETE FROM kine WHERE deleted = 1 AND id > @previous AND id <= @revision');
    const saveRevision = db.prepare(
      "INSERT INTO meta (name, value) VALUES ('compact_rev', @revision) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
    );
    this.compactTx = db.transaction((revision: number, previous: number) => {
      dropSuperseded.run({ revision, previous });
      dropDeletions.run({ revision, previous });
      saveRevision.run({ revision });
    });
  }

  write(events: readonly StoreEvent[]): void {
    this.writeTx(events);
  }

  private append(ev: StoreEvent): void {
    const { kv, prevKv } = ev;
    this.insert.run(
      kv.modRevision,
      kv.key,
      prevKv ? 0 : 1,
      ev.type === 'delete' ? 1 : 0,
      kv.createRevision,
      prevKv?.modRevision ?? 0,
      kv.value,
    );
  }

  compact(revision: number, previous: number): void {
    this.compactTx(revision, previous);
  }

  close(): void {
    clearTimeout(this.checkpointerStart);
    this.checkpointer?.postMessage('stop');
    this.db.close();
  }
}
