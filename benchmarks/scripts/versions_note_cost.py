"""What `fp index`'s note on shared footage costs (index/same_footage.versions_of).

For every video of a library: CPU seconds of versions_of (as `fp index` runs it after the add) and
of a full decode of the video's file, one thread, in one run; prints the ratio and the videos
each was found to share footage with.

    python benchmarks/scripts/versions_note_cost.py --library /work/bench-data/s9/library
"""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from fp.fingerprint.decode import decode_all
from fp.index.library import Library
from fp.index.same_footage import versions_of


def cpu(fn, *args):
    start = time.process_time()
    out = fn(*args)
    return time.process_time() - start, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--library", type=Path, required=True)
    ap.add_argument("--json", type=Path)
    a = ap.parse_args()
    rows = []
    with Library(a.library, create=False, readonly=True) as lib:
        videos = lib.videos()
        versions_of(lib, videos[0].id)  # warm: the FAISS index read
        for v in videos:
            note_s, shared = cpu(versions_of, lib, v.id)
            decode_s = cpu(decode_all, v.path)[0] if os.path.exists(v.path) else None
            rows.append({"video": v.title, "duration": v.duration, "note_cpu_s": round(note_s, 4),
                         "decode_cpu_s": None if decode_s is None else round(decode_s, 3),
                         "shares_footage_with": [lib.video(s).title for s in shared]})
            print(f"{v.title:40s} {v.duration:8.1f} s  note {note_s:.3f} s  decode {decode_s or float('nan'):.2f} s  "
                  f"shares: {', '.join(rows[-1]['shares_footage_with']) or '-'}")
        hashes = lib.hashes
    note = sum(r["note_cpu_s"] for r in rows)
    decode = sum(r["decode_cpu_s"] for r in rows if r["decode_cpu_s"] is not None)
    ratio = f" (note / decode {note / decode:.4f})" if decode else ""
    print(f"{len(rows)} videos, {hashes} hashes in FAISS: note {note:.2f} s CPU, full decode {decode:.2f} s CPU{ratio}")
    if a.json:
        a.json.write_text(json.dumps({"videos": rows, "note_cpu_s": note, "decode_cpu_s": decode, "hashes": hashes}, indent=1))


if __name__ == "__main__":
    main()
