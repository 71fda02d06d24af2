"""fp bench: generate (or load) a benchmark, run fp and the baseline, report with plots;
calibrate fp's modelled chance on unrelated pairs of real footage."""
from __future__ import annotations

from pathlib import Path

import click

from fp.benchmarks.calibrate import CalibrationConfig, run_calibration, write_calibration
from fp.benchmarks.demo import SAMPLE_CLIPS
from fp.benchmarks.generate import WIDENED, find_clips, known_sets, make_benchmark, read_clips_json
from fp.benchmarks.harness import run_benchmark
from fp.benchmarks.truth import resolve_refs_dir, load_truth
from fp.fingerprint.errors import InputError

from .output import Progress, emit_json, json_option

QUICK_EDITS = ["crop", "mirror", "letterbox", "logo", "pip", "speed"]


def _scale_options(fn):
    """Options of `fp bench --scale HOURS` (benchmarks/scale.py)."""
    for option in reversed([
        click.option("--scale", type=click.FloatRange(min=0, min_open=True), metavar="HOURS", default=None,
                     help="Instead: measure a library of HOURS (real references plus synthetic films) "
                          "and matching against it; see benchmarks/SCALE.md."),
        click.option("--film-minutes", type=click.FloatRange(min=1), default=90.0, show_default=True,
                     help="With --scale: length of each synthetic film."),
        click.option("--suspect-seconds", type=click.FloatRange(min=1), default=60.0, show_default=True,
                     help="With --scale: suspects are padded with unrelated footage to this length."),
        click.option("--copies", type=click.IntRange(min=1), default=6, show_default=True,
                     help="With --scale: disguised copies of references to match."),
        click.option("--unrelated", type=click.IntRange(min=0), default=3, show_default=True,
                     help="With --scale: unrelated suspects to match."),
        click.option("--reuse-library", is_flag=True, help="With --scale: match against the library an "
                     "earlier run of the same size left in --out (no build)."),
    ]):
        fn = option(fn)
    return fn


def _generate(refs: Path, out: Path, seed: int, edits, quick: bool, widened: bool, workers, progress) -> Path:
    meta = read_clips_json(refs / "clips.json") if (refs / "clips.json").exists() else None
    names = [e.strip() for e in edits.split(",")] if edits else (QUICK_EDITS if quick else None)
    extra = {}
    if widened:
        extra = dict(WIDENED, sets=known_sets(find_clips(refs), meta), unused=meta.unused if meta else ())
    truth = out / "data" / "truth.json"
    make_benchmark(refs, truth.parent, seed=seed, edits=names, combos=not quick,
                   groups=meta.groups if meta else None, variants=meta.variants if meta else None,
                   preset="superfast", workers=workers, overwrite=True,
                   progress=lambda d, t, label="": progress("generating", d, t), **extra)
    return truth


@click.command()
@click.option("--refs", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="Reference clips (default: the shipped data/sample_clips).")
@click.option("--queries", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="Existing benchmark queries folder (with --truth).")
@click.option("--truth", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Existing truth.json (see benchmarks/TRUTH_FORMAT.md); skips generation.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("fp-bench"), show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--edits", help="Comma-separated edit names to generate (default: all).")
@click.option("--quick", is_flag=True, help="A small benchmark: a few edits, no combinations (minutes).")
@click.option("--widened", is_flag=True,
              help="The widened benchmark: multi-scene titles, 320 unrelated queries of every kind, 2-3 s copies, "
                   "every edit twice per reference; runs the calibration too.")
@click.option("--calibrate", is_flag=True,
              help="Calibrate the modelled chance on unrelated pairs of real footage from --refs (alone, or after "
                   "the benchmark given by --truth).")
@click.option("--calibration-windows", type=click.IntRange(min=10), default=CalibrationConfig().windows, show_default=True,
              help="Suspect windows per fold (each matched against two libraries).")
@click.option("--no-baseline", is_flag=True, help="Skip the naive baseline.")
@click.option("--inner-check/--no-inner-check", default=None,
              help="Match with the inner-view check (fp match's default) or without; with it, the figures "
                   "without it come from the same run.")
@click.option("--workers", type=click.IntRange(min=1), default=None, help="Processes (default: all cores).")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
@_scale_options
@json_option
def bench(refs, queries, truth, out, seed, edits, quick, widened, calibrate, calibration_windows, no_baseline,
          inner_check, workers, quiet, as_json, **scale_options):
    """Measure match accuracy and speed on disguised copies and unrelated clips."""
    if scale_options["scale"] is not None:
        return _bench_scale(refs, out, seed, quiet, as_json, **scale_options)
    bar = Progress(1.0, "bench", quiet=quiet)

    def progress(label, done, total):
        bar.update(done / total if total else 0, label)

    run_bench = not calibrate or truth is not None or widened
    results, cal_paths = None, None
    try:
        if run_bench and truth is None:
            if queries is not None:
                raise InputError("--queries needs --truth")
            refs = refs or SAMPLE_CLIPS
            truth = _generate(refs, out, seed, edits, quick, widened, workers, progress)
            refs = resolve_refs_dir(truth, load_truth(truth)) or refs
        elif run_bench:
            spec = load_truth(truth)
            refs = refs or resolve_refs_dir(truth, spec)
            if refs is None:
                raise InputError(f"{truth}: no refs_dir recorded; pass --refs")
        if run_bench:
            results = run_benchmark(truth, refs, out, workers=workers, baseline=not no_baseline, progress=progress,
                                    inner_check=inner_check)
        if calibrate or widened:
            cal = run_calibration(refs or SAMPLE_CLIPS, CalibrationConfig(windows=calibration_windows, seed=seed),
                                  workers=workers, progress=progress)
            cal_paths = write_calibration(cal, out)
    finally:
        bar.close()
    if as_json:
        summary = cal.to_dict(with_pairs=False) if cal_paths else None
        emit_json(results if summary is None else summary if results is None else {**results, "calibration": summary})
        return
    if results is not None:
        click.echo((out / "report.md").read_text())
        click.echo(f"\nreport: {out / 'report.md'}  results: {out / 'results.json'}  plots: {out}/*.png")
    if cal_paths:
        click.echo(cal_paths["markdown"].read_text())
        click.echo(f"calibration: {cal_paths['json']}  {cal_paths['plot']}")


def _bench_scale(refs, out, seed, quiet, as_json, scale, film_minutes, suspect_seconds, copies, unrelated, reuse_library):
    from fp.benchmarks.scale import ScaleConfig, run_scale, summary_line

    config = ScaleConfig(hours=scale, out=out, refs=refs or SAMPLE_CLIPS, seed=seed, film_minutes=film_minutes,
                         suspect_seconds=suspect_seconds, copies=copies, unrelated=unrelated, reuse_library=reuse_library)
    bar = Progress(1.0, "scale", quiet=quiet)
    try:
        result = run_scale(config, progress=lambda stage, done, total: bar.update(done / total if total else 0, stage))
    finally:
        bar.close()
    if as_json:
        emit_json(result)
        return
    click.echo(summary_line(result))
    click.echo(f"results: {config.result_path}")
