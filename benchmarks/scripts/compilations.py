"""Compilations: several excerpts of one title joined in one upload ("best scenes of ..."), matched.

Two sources of suspects, each scored per excerpt (found: a match of the right title whose
reference span overlaps the excerpt by half its length or more) and per upload (every excerpt
found; matches of other titles counted):

* ``--library L --refs R``: real video. For every reference of at least 20 s, uploads of 2 and 3
  excerpts of 4-7 s from different parts of it (at least 2 s apart), disguised (a random edit of
  --edits: none, 360p, 10 % crop, mirror) and re-encoded with the benchmark's writer (H.264).
* ``--film DIR``: no video. The 2 h film of `python -m fp.benchmarks.films --minutes 120 --mode
  fingerprints --out DIR` (its library and the suspect fingerprint of a disguised copy of the
  whole film): uploads of 3-5 excerpts of 20-60 s cut from the suspect fingerprint and joined.

    python benchmarks/scripts/compilations.py --library /work/bench-data/widened_s3/library \\
        --refs /work/bench-data/widened_s3/data/refs --out comp.json
    python benchmarks/scripts/compilations.py --film /work/diag/films10 --out comp_film.json
"""
from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

from fp.benchmarks import transforms as T
from fp.benchmarks.films import excerpt
from fp.benchmarks.synthetic import concat, load_fingerprint
from fp.benchmarks.videoio import EncodeSettings, iter_frames, write_video
from fp.index.library import Library
from fp.index.matcher import Matcher

EDITS = {"none": None, "crop10": T.crop(0.1, 0.3, 0.6), "mirror": T.mirror(), "small": T.scale_to_height(240)}
FPS = 30.0


def plan(rng: random.Random, duration: float, count: int, lengths: tuple[float, float], gap: float) -> list[tuple[float, float]] | None:
    """`count` excerpts (start, end) of `duration`, in a random order, `gap` s apart or more."""
    for _ in range(200):
        spans = sorted((s, s + rng.uniform(*lengths)) for s in (rng.uniform(0, duration) for _ in range(count)))
        if spans[-1][1] <= duration and all(b[0] - a[1] >= gap for a, b in zip(spans, spans[1:])):
            rng.shuffle(spans)
            return spans
    return None


def frames_of(path: Path, spans, edit):
    """(t, RGB) of the excerpts one after another, upload time counting from 0."""
    at = 0.0
    for start, end in spans:
        for t, img in iter_frames(path, start, end):
            yield at + t - start, edit(img) if edit else img
        at += end - start


def score(result, title: str, spans) -> dict:
    found = []
    for start, end in spans:
        hit = [m for m in result.matches if m.title == title
               and min(m.ref_span[1], end) - max(m.ref_span[0], start) >= 0.5 * (end - start)]
        found.append(bool(hit))
    return {"excerpts": len(spans), "found": sum(found), "all": all(found),
            "other_titles": sorted({m.title for m in result.matches if m.title != title}),
            "matches": [[m.title, float(f"{m.chance:.3g}"), [round(x, 1) for x in m.ref_span]] for m in result.matches]}


def video_uploads(args, rng: random.Random):
    with Library(args.library, create=False, readonly=True) as lib:
        matcher = Matcher(lib)
        for video in lib.videos():
            if video.duration < 20.0:
                continue
            for count in (2, 3):
                spans = plan(rng, video.duration, count, (4.0, 7.0), 2.0)
                if spans is None:
                    continue
                edit_name = rng.choice(args.edits)
                name = f"{video.title}_{count}_{edit_name}"
                suspect = args.work / f"{name}.mp4"
                if not suspect.exists():
                    total = sum(b - a for a, b in spans)
                    write_video(suspect, frames_of(Path(video.path), spans, EDITS[edit_name]), EncodeSettings(fps=FPS, duration=total))
                row = {"upload": name, "title": video.title, "spans": [[round(a, 2), round(b, 2)] for a, b in spans],
                       **score(matcher.match_file(suspect), video.title, spans)}
                yield row


def film_uploads(args, rng: random.Random):
    folder = args.film
    suspect, _ = load_fingerprint(next(folder.glob("film-*min-suspect.npz")))
    library = next(folder.glob("library-*min"))
    copied = json.loads(next(folder.glob("films-fingerprints.json")).read_text())[0]["copied"]
    with Library(library, create=False, readonly=True) as lib:
        matcher = Matcher(lib)
        title = lib.videos()[0].title
        for n in range(args.uploads):
            count = rng.choice((3, 4, 5))
            spans = plan(rng, copied[1] - copied[0], count, (20.0, 60.0), 30.0)
            parts, at = [], 0.0
            for start, end in spans:  # suspect time; the film's time is copied[0] later
                parts.append((at, excerpt(suspect, start, end)))
                at += end - start
            upload = concat(parts, f"compilation_{n}", at)
            row = {"upload": f"film_{n}", "title": title, "spans": [[round(a + copied[0], 1), round(b + copied[0], 1)] for a, b in spans],
                   **score(matcher.match_fingerprint(upload), title, [(a + copied[0], b + copied[0]) for a, b in spans])}
            yield row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--library")
    ap.add_argument("--refs", type=Path)
    ap.add_argument("--film", type=Path)
    ap.add_argument("--edits", default=",".join(EDITS))
    ap.add_argument("--uploads", type=int, default=20, help="film uploads")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--work", type=Path, default=Path("compilations"), help="folder for the upload files")
    ap.add_argument("--out", type=Path, required=True)
    a = ap.parse_args()
    a.edits = a.edits.split(",")
    a.work.mkdir(parents=True, exist_ok=True)
    rng = random.Random(a.seed)
    rows = []
    for row in (film_uploads(a, rng) if a.film else video_uploads(a, rng)):
        rows.append(row)
        print(json.dumps(row), flush=True)
    summary = {"uploads": len(rows), "excerpts": sum(r["excerpts"] for r in rows), "found": sum(r["found"] for r in rows),
               "uploads_all_found": sum(r["all"] for r in rows), "uploads_with_other_titles": sum(bool(r["other_titles"]) for r in rows)}
    a.out.write_text(json.dumps({"summary": summary, "rows": rows}, indent=1) + "\n")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
