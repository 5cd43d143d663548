# Commit latency of a WAL writer under three checkpoint regimes, with the SQLite the node links (the system's):
# SQLite's default (checkpoint inline every 1,000 log pages), inline every 10,000 pages (what ParleyStore sets), and
# a PASSIVE checkpoint every 0.5 s from a second connection on a thread of its own. Rows shaped like outbox rows:
# a time-ordered key, a hash key (one random index page per row), a per-conversation index, 5 rows per commit and
# the previous commit's rows marked sent, synchronous = FULL. See BENCHMARKS.md, seventh pass.
#   python3 Benchmarks/checkpoint_latency.py [rounds]     (writes under $TMPDIR or /tmp)
import sqlite3, os, sys, time, threading

def remove_database(path):
    for suffix in ("", "-wal", "-shm"):
        try: os.remove(path + suffix)
        except FileNotFoundError: pass

def run(mode, n_commits=6000, rows=5, size=400, path=os.path.join(os.environ.get("TMPDIR", "/tmp"), "parley-checkpoint-latency.sqlite")):
    remove_database(path)
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL"); db.execute("PRAGMA synchronous=FULL")
    db.execute("PRAGMA wal_autocheckpoint=%d" % (1000 if mode == "inline-1000" else 10000))
    db.execute("CREATE TABLE t (seq INTEGER PRIMARY KEY, k BLOB, h BLOB, conv TEXT, body BLOB, state TEXT)")
    db.execute("CREATE UNIQUE INDEX t_k ON t (k)")          # time-ordered key: appends
    db.execute("CREATE INDEX t_h ON t (h)")                 # hash key: one random page per row
    db.execute("CREATE INDEX t_live ON t (conv, seq, state)")
    stop = threading.Event()
    def checkpointer():
        c = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        while not stop.wait(0.5):
            c.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        c.close()
    t = threading.Thread(target=checkpointer) if mode == "background" else None
    if t: t.start()
    lat = []; seq = 0; start = time.perf_counter()
    for _ in range(n_commits):
        t0 = time.perf_counter()
        db.execute("BEGIN")
        for _ in range(rows):
            seq += 1
            db.execute("INSERT INTO t (seq, k, h, conv, body, state) VALUES (?,?,?,?,?, 'pending')",
                       (seq, seq.to_bytes(8, "big") + os.urandom(8), os.urandom(32), "c%d" % (seq % 64), os.urandom(size)))
        db.execute("UPDATE t SET state='sent' WHERE seq > ? AND seq <= ?", (seq - 2 * rows, seq - rows))
        db.execute("COMMIT")
        lat.append((time.perf_counter() - t0) * 1000)
    total = time.perf_counter() - start
    stop.set()
    if t: t.join()
    db.close()
    remove_database(path)
    lat.sort(); q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))]
    print("%-12s commits/s=%6.0f p50=%.2f p99=%.2f p99.9=%.2f max=%.1f ms" % (mode, n_commits / total, q(.5), q(.99), q(.999), lat[-1]), flush=True)
for _ in range(int(sys.argv[1]) if len(sys.argv) > 1 else 2):
    for mode in ("inline-1000", "inline-10000", "background"):
        run(mode)
