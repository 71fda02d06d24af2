"""The 256-bit (fine) hash along each match's line: does it agree where the 64-bit hash matched?

For each suspect (a video, or a cached fingerprint .pkl) the library's matches are found as
`fp match` finds them; for each, every usable row of its view inside its query span is compared
with the reference's closest fine row within the verifier's window of the line. Prints per match
the median fine distance and the share of rows within 48 and 64 of 256 bits, beside the 64-bit
median. A copy keeps its fine hash only where its picture is whole (not cropped, tilted or
reframed); an unrelated look-alike sits near 128 of 256.

    python benchmarks/scripts/fine_on_line.py LIBRARY ITEMS.json
    # ITEMS.json: [{"video": "q.mp4", "label": "..."} or {"pkl": "q.pkl", "label": "..."}, ...]
"""
from __future__ import annotations

import json
import pickle
import sys
from pathlib import Path

import numpy as np

from fp.fingerprint.pipeline import QUERY, fingerprint_video
from fp.index.library import Library
from fp.index.matcher import Matcher
from fp.index.verify import closest_in_window


def fine_stats(matcher: Matcher, fpr, match) -> dict | None:
    ref = matcher._fine(match.video_id)
    rows = fpr.select(fpr.views == (match.view or 0))
    if rows.fine_codes is None or len(ref.times) == 0:
        return None
    fine = closest_in_window(rows.times, rows.fine_mirror_codes if match.mirrored else rows.fine_codes, ref, match.speed, match.offset)[0]
    coarse = closest_in_window(rows.times, rows.mirror_codes if match.mirrored else rows.codes,
                               matcher._video(match.video_id), match.speed, match.offset)[0]
    inside = (rows.times >= match.query_span[0]) & (rows.times <= match.query_span[1]) & (rows.quality >= matcher.config.min_quality)
    fine, coarse = fine[inside], coarse[inside]
    return {"rows": int(inside.sum()), "fine_median": float(np.median(fine)), "fine_within_48": float(np.mean(fine <= 48)),
            "fine_within_64": float(np.mean(fine <= 64)), "coarse_median": float(np.median(coarse)),
            "mean_distance": match.mean_distance, "chance": match.chance, "view": match.view}


def main() -> None:
    library, items = Path(sys.argv[1]), json.loads(Path(sys.argv[2]).read_text())
    with Library(library, create=False, readonly=True) as lib:
        matcher = Matcher(lib)
        for item in items:
            fpr = pickle.loads(Path(item["pkl"]).read_bytes()) if item.get("pkl") else fingerprint_video(item["video"], QUERY)
            for match in matcher.match_fingerprint(fpr).matches:
                print(item.get("label", ""), Path(item.get("pkl") or item["video"]).name, match.title,
                      json.dumps(fine_stats(matcher, fpr, match)), flush=True)


if __name__ == "__main__":
    main()
