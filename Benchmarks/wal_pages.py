#!/usr/bin/env python3
# Which B-trees a node's write-ahead log is made of: reads the `-wal` file of a store while `parley bench` runs and
# charges every frame of the log's current generation to the table or index that owns its page (SQLite's `dbstat`
# of the database after the run). Shows what the store writes per message where `disk_write_kb_per_msg` only
# shows how much. See BENCHMARKS.md, thirteenth pass.
#
#   parley bench --duration 8 --rate 2000 --size 1024 --work-dir /tmp/wd &   # keeps the nodes' stores
#   sleep 13; for n in whatsapp messenger; do cp /tmp/wd/$n/node/parley.sqlite-wal /tmp/$n.wal; done; wait
#   python3 Benchmarks/wal_pages.py /tmp/whatsapp.wal /tmp/wd/whatsapp/node/parley.sqlite
#
# Copy the log during the saturation phase: when the node stops, SQLite checkpoints and deletes it. The copy may end
# in a frame being written; reading stops at the first frame whose salt is not the log header's.
import collections
import sqlite3
import struct
import sys


def frames(path):
    """(page number, is-commit) of each frame of the log's current generation, in order."""
    data = open(path, "rb").read()
    if len(data) < 32:
        return [], 0
    _magic, _version, page_size, _seq, salt1, salt2, _c1, _c2 = struct.unpack(">8I", data[:32])
    found, offset = [], 32
    while offset + 24 + page_size <= len(data):
        page, commit_size, s1, s2 = struct.unpack(">4I", data[offset:offset + 16])
        if (s1, s2) != (salt1, salt2):
            break
        found.append((page, commit_size != 0))
        offset += 24 + page_size
    return found, page_size


def main(wal, database):
    log, page_size = frames(wal)
    if not log:
        sys.exit(f"{wal}: no frames in the log's current generation")
    owner = dict(sqlite3.connect(f"file:{database}?mode=ro", uri=True).execute("SELECT pageno, name FROM dbstat"))
    commits = [i for i, (_, commit) in enumerate(log) if commit]
    print(f"{wal}: {len(log)} frames of {page_size} B, {len(commits)} commits, "
          f"{len(log) / max(1, len(commits)):.1f} frames per commit")
    by_tree = collections.Counter(owner.get(page, "(page added after the run's last checkpoint)") for page, _ in log)
    for name, count in by_tree.most_common():
        print(f"  {name:40s} {count:7d} {100 * count / len(log):5.1f} %")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: wal_pages.py STORE.sqlite-wal STORE.sqlite")
    main(sys.argv[1], sys.argv[2])
