"""Markdown report and PNG plots of a benchmark run."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure


def _fmt(x, digits=3) -> str:
    if x is None:
        return "n/a"
    if isinstance(x, float):
        return f"{x:.{digits}f}"
    return str(x)


def _save(fig: Figure, path: Path) -> str:
    FigureCanvasAgg(fig)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return path.name


def plot_pr(results: dict, out: Path) -> str:
    fig = Figure(figsize=(5.5, 4.5))
    ax = fig.add_subplot()
    for name, colour in (("fp", "tab:blue"), ("baseline", "tab:grey")):
        curve = results.get(name, {}).get("pr_curve") or []
        if curve:
            ax.plot([r for _, _, r in curve], [p for _, p, _ in curve], label=name, color=colour, lw=2)
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0, 1.02)
    ax.set_title("Precision-recall over the score ranking")
    ax.legend(loc="lower left")
    ax.grid(alpha=0.3)
    return _save(fig, out / "pr_curve.png")


def plot_recall_by_edit(results: dict, out: Path) -> str:
    fp_edits = results["fp"]["recall_by_edit"]
    base_edits = results.get("baseline", {}).get("recall_by_edit", {})
    names = sorted(fp_edits)
    y = np.arange(len(names))
    fig = Figure(figsize=(7, max(3, 0.3 * len(names) + 1)))
    ax = fig.add_subplot()
    ax.barh(y + 0.2, [fp_edits[n]["recall"] for n in names], height=0.4, label="fp", color="tab:blue")
    if base_edits:
        ax.barh(y - 0.2, [base_edits.get(n, {}).get("recall", 0) for n in names], height=0.4, label="baseline", color="tab:grey")
    ax.set_yticks(y, [f"{n} (n={fp_edits[n]['n']})" for n in names], fontsize=8)
    ax.set_xlim(0, 1)
    ax.set_xlabel("recall at the default threshold")
    ax.axvline(0.97, color="tab:red", ls="--", lw=1)
    ax.legend(loc="lower right")
    ax.set_title("Recall per edit")
    return _save(fig, out / "recall_by_edit.png")


def plot_scores(outcomes, out: Path) -> str:
    fig = Figure(figsize=(6, 4))
    ax = fig.add_subplot()
    copies = [o.score for o in outcomes if o.truth_ref and np.isfinite(o.score)]
    negatives = [o.score for o in outcomes if not o.truth_ref and np.isfinite(o.score)]
    top = max(copies + negatives + [10])
    bins = np.linspace(0, min(top, 120), 40)
    ax.hist(np.clip(copies, 0, bins[-1]), bins=bins, alpha=0.7, label=f"copies (n={len(copies)})", color="tab:blue")
    ax.hist(np.clip(negatives, 0, bins[-1]), bins=bins, alpha=0.7, label=f"unrelated (n={len(negatives)})", color="tab:orange")
    ax.set_xlabel("score = -log10(p of the best alignment)")
    ax.set_ylabel("queries")
    ax.set_title("Scores: copies vs unrelated clips (queries with no candidate omitted)")
    ax.legend()
    return _save(fig, out / "scores.png")


def plot_speed(results: dict, out: Path) -> str:
    s = results["speed"]
    labels = ["index", "match"]
    ratio = [s["index_vs_decode"] or 0, s["match_vs_decode"] or 0]
    realtime = [s["index_realtime_multiple"] or 0, s["match_realtime_multiple"] or 0]
    fig = Figure(figsize=(6, 3.5))
    ax1, ax2 = fig.subplots(1, 2)
    ax1.bar(labels, ratio, color="tab:blue")
    ax1.axhline(1.0, color="k", lw=1)
    ax1.set_title("throughput / pure decode")
    ax2.bar(labels, realtime, color="tab:green")
    ax2.set_title("x real time")
    return _save(fig, out / "throughput.png")


def negatives_table(fp: dict, base: dict | None) -> list[str]:
    """False matches per kind of unrelated footage, with the 95 % upper bound of the rate."""
    groups = fp.get("negatives_by_group") or {}
    if not groups:
        return []
    lines = ["", "## Unrelated queries: false matches (95 % upper bound, one-sided Clopper-Pearson)", "",
             "| footage | n | fp false matches | fp rate <= | baseline false matches |", "|---|---|---|---|---|"]
    for name, row in groups.items():
        b = (base or {}).get("negatives_by_group", {}).get(name, {}).get("false_matches")
        lines.append(f"| {name} | {row['n']} | {row['false_matches']} | {_fmt(row['upper95'], 4)} | {_fmt(b)} |")
    return lines


def references_table(fp: dict, titles: list[dict]) -> list[str]:
    """Recall per reference; multi-scene titles list their scenes."""
    rows = fp.get("recall_by_reference") or {}
    if not rows:
        return []
    scenes = {t["path"]: " + ".join(Path(s["source"]).stem for s in t["scenes"]) for t in titles}
    lines = ["", "## Recall per reference", "", "| reference | scenes | n | found | recall |", "|---|---|---|---|---|"]
    for name, row in rows.items():
        lines.append(f"| {name} | {scenes.get(name, '(one)')} | {row['n']} | {row['found']} | {_fmt(row['recall'])} |")
    return lines


def write_report(results: dict, outcomes, out: Path) -> Path:
    plots = [plot_pr(results, out), plot_recall_by_edit(results, out), plot_scores(outcomes, out), plot_speed(results, out)]
    fp, base, speed, lib = results["fp"], results.get("baseline"), results["speed"], results["library"]
    keys = ["queries", "copies", "negatives", "precision", "recall", "false_matches", "extra_wrong_titles", "false_match_rate",
            "false_match_rate_upper95", "short_copies", "recall_short", "average_precision",
            "recall_at_zero_false_matches", "query_span_iou", "ref_span_iou", "errors"]
    plain = results.get("fp_without_inner_check")
    extra = " fp without the inner-view check |" if plain else ""
    lines = ["# fp benchmark", "", f"truth: `{results['truth']}`  refs: `{results['refs_dir']}`  seed: {results['seed']}", "",
             "## Accuracy at the default threshold", "", f"| figure | fp |{extra} baseline |",
             "|---|---|---|" + ("---|" if plain else "")]
    for k in keys:
        mid = f" {_fmt(plain.get(k))} |" if plain else ""
        lines.append(f"| {k} | {_fmt(fp.get(k))} |{mid} {_fmt(base.get(k)) if base else ''} |")
    lines += ["", "## Recall per edit", "", f"| edit | n | fp |{extra} baseline |", "|---|---|---|---|" + ("---|" if plain else "")]
    for name, row in fp["recall_by_edit"].items():
        b = base["recall_by_edit"].get(name, {}).get("recall") if base else None
        mid = f" {_fmt(plain['recall_by_edit'].get(name, {}).get('recall'))} |" if plain else ""
        lines.append(f"| {name} | {row['n']} | {_fmt(row['recall'])} |{mid} {_fmt(b)} |")
    if "inner_check" in results:
        c = results["inner_check"]
        lines += ["", "## The inner-view check", "",
                  f"Given {c['unmatched']} queries that matched nothing ({c['unrelated_unmatched']} unrelated), it read the lines "
                  f"of {c['read']} ({c['unrelated_lines_read']} unrelated); {c['passed']} passed: "
                  f"{len(c['rescued'])} copies rescued, {len(c['unrelated_passed'])} unrelated passed, "
                  f"{len(c['wrong_title'])} copies given a wrong title. {c['seconds']} s in all "
                  f"(median {c['median_seconds']} s a line read)."]
        if "by_pixels" in c:
            lines.append(f"By the pixels (pixel_moment.py): {len(c['by_pixels'])} copies passed, "
                         f"{len(c['unrelated_by_pixels'])} unrelated (counted in the figures only where fp match gives it).")
        lines += [f"- unrelated, passed: `{q}`" for q in c["unrelated_passed"]]
        lines += [f"- wrong title: `{q}`" for q in c["wrong_title"]]
    lines += negatives_table(fp, base)
    lines += references_table(fp, results.get("titles", []))
    lines += ["", "## Speed (same files, same run)", "", "| figure | value |", "|---|---|"]
    lines += [f"| {k} | {_fmt(v)} |" for k, v in speed.items()]
    lines += ["", "## Library", "", f"{lib['videos']} videos, {lib['hours']} h, {lib['hashes']} hashes, {lib['bytes']} bytes "
              f"({_fmt(lib['bytes_per_video_hour'])} bytes per video hour), index {lib['index_type']}", ""]
    if fp["false_match_queries"]:
        lines += ["## False matches", ""] + [f"- `{q}`" for q in fp["false_match_queries"]] + [""]
    if fp["missed_queries"]:
        lines += ["## Missed copies", ""] + [f"- `{q}`" for q in fp["missed_queries"]] + [""]
    lines += ["## Plots", ""] + [f"![{p}]({p})" for p in plots] + [""]
    path = out / "report.md"
    path.write_text("\n".join(lines))
    return path
