"""Deep crops at clip level: how many 20-30 % crops, by where they lie, fp finds.

Draws `--draws` crops (fraction 0.20-0.30 of the side, window anywhere, 3-8 s excerpts) of the
videos under `--refs`, encodes them (H.264 CRF 23), indexes the references into `--out/library`
and matches each copy with the hashes alone (MatchConfig without `inner_check`), with `search_zooms` and with
`inner_check` (the default since the twenty-second pass). Printed: found /
drawn by place (corner: both offsets within 0.2 of an end; edge: one; centre: neither) and by
depth, and each miss with its nearest rejected alignment. The copies and the library are kept in
`--out`, so a second run only matches. With `--hold-out`, the named references are left out of
the library and their copies (and the files) count as unrelated: how many are matched.

    python benchmarks/scripts/deep_crops.py --refs data/sample_clips --out /tmp/deep-crops --draws 60
"""
from __future__ import annotations

import argparse
import hashlib
import json
import random
from dataclasses import replace
from pathlib import Path

from fp.benchmarks.transforms import crop
from fp.benchmarks.videoio import EncodeSettings, iter_frames, probe_clip, write_video
from fp.index.indexer import index_paths
from fp.index.library import Library
from fp.index.matcher import MatchConfig, Matcher


def place(x: float, y: float) -> str:
    near = sum(min(v, 1 - v) < 0.2 for v in (x, y))
    return ("centre", "edge", "corner")[near]


def draw(refs: list[tuple[Path, float, float]], n: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        path, duration, fps = refs[rng.randrange(len(refs))]
        length = min(rng.uniform(3.0, 8.0), duration - 0.1)
        start = rng.uniform(0.0, max(0.0, duration - length))
        out.append({"name": f"crop_{i:03d}.mp4", "ref": str(path), "start": round(start, 2), "length": round(length, 2),
                    "fps": fps, "frac": round(rng.uniform(0.20, 0.30), 3), "x": round(rng.random(), 3),
                    "y": round(rng.random(), 3)})
    return out


def make(copy: dict, folder: Path) -> Path:
    path = folder / copy["name"]
    if not path.exists():
        edit = crop(copy["frac"], copy["x"], copy["y"])
        frames = ((t - copy["start"], edit(rgb))
                  for t, rgb in iter_frames(copy["ref"], copy["start"], copy["start"] + copy["length"], 720))
        write_video(path, frames, EncodeSettings(fps=copy["fps"], duration=copy["length"]))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--refs", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--draws", type=int, default=60)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--hold-out", default="", help="comma-separated file names of references left out of the library: "
                        "their copies, and the files themselves, are matched as unrelated suspects")
    args = parser.parse_args()
    held = set(filter(None, args.hold_out.split(",")))
    files = [p for p in sorted(args.refs.rglob("*")) if p.is_file()]
    refs = [(p, i.duration, i.fps) for p, i in zip(files, map(probe_clip, files)) if i is not None and i.duration >= 3.5]
    copies_dir = args.out / "copies"
    copies_dir.mkdir(parents=True, exist_ok=True)
    copies = draw(refs, args.draws, args.seed)
    paths = [make(c, copies_dir) for c in copies]
    (args.out / "copies.json").write_text(json.dumps(copies, indent=1))
    unrelated = [p for c, p in zip(copies, paths) if Path(c["ref"]).name in held] + [r[0] for r in refs if r[0].name in held]
    copies, paths = zip(*[(c, p) for c, p in zip(copies, paths) if Path(c["ref"]).name not in held])
    name = "library" + (f"-without-{hashlib.sha1(','.join(sorted(held)).encode()).hexdigest()[:8]}" if held else "")
    with Library(args.out / name) as lib:
        if not lib.videos():
            index_paths(lib, [r[0] for r in refs if r[0].name not in held])
        hashes = replace(MatchConfig(), inner_check=False)  # the hashes alone (the default until the 22nd pass)
        for label, config in (("hashes", hashes), ("search_zooms", replace(hashes, search_zooms=True)),
                              ("inner_check", replace(hashes, inner_check=True))):
            matcher = Matcher(lib, config)
            by_place: dict[str, list[int]] = {}
            by_depth: dict[str, list[int]] = {}
            misses = []
            for copy, path in zip(copies, paths):
                result = matcher.match_file(path)
                ok = any(Path(m.ref_path).name == Path(copy["ref"]).name for m in result.matches)
                wrong = [m.title for m in result.matches if Path(m.ref_path).name != Path(copy["ref"]).name]
                key = place(copy["x"], copy["y"])
                depth = f"{int(copy['frac'] * 100) // 5 * 5}-{int(copy['frac'] * 100) // 5 * 5 + 5} %"
                for table, k in ((by_place, key), (by_depth, depth)):
                    table.setdefault(k, [0, 0])
                    table[k][0] += ok
                    table[k][1] += 1
                if not ok or wrong:
                    nearest = result.nearest or {}
                    misses.append(f"  {copy['name']} {Path(copy['ref']).name} frac {copy['frac']} at ({copy['x']}, {copy['y']})"
                                  f" {copy['length']} s: {'wrong ' + str(wrong) if wrong else 'miss'};"
                                  f" nearest {Path(str(nearest.get('ref_path', '-'))).name} chance {nearest.get('chance', '-')}")
            found = sum(v[0] for v in by_place.values())
            false = [(p.name, [m.title for m in r.matches]) for p in unrelated for r in [matcher.match_file(p)] if r.matches]
            print(f"{label}: {found}/{len(copies)} found" + (f"; unrelated matched {len(false)}/{len(unrelated)} {false}" if held else ""))
            for table in (by_place, by_depth):
                print("  " + ", ".join(f"{k} {v[0]}/{v[1]}" for k, v in sorted(table.items())))
            print("\n".join(misses))


if __name__ == "__main__":
    main()
