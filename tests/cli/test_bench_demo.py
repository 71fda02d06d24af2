"""A tiny `fp bench` and the demo, end to end on real clips."""
import json
import shutil

from click.testing import CliRunner

from fp.cli.main import cli

from ..conftest import clip


def test_tiny_bench_produces_report_json_and_plots(tmp_path):
    refs = tmp_path / "refs"
    refs.mkdir()
    for n in ("friday.mp4", "flower.mp4", "elf.mp4"):
        shutil.copy(clip(n), refs / n)
    out = tmp_path / "out"
    r = CliRunner().invoke(cli, ["bench", "--refs", str(refs), "--out", str(out), "--edits", "mirror,letterbox",
                                 "--quick", "--workers", "2", "-q", "--json"])
    assert r.exit_code == 0, r.output
    results = json.loads(r.stdout)
    truth = json.loads((out / "data" / "truth.json").read_text())
    fp = results["fp"]
    assert fp["queries"] == len(truth["queries"]) and fp["copies"] + fp["negatives"] == fp["queries"]
    assert fp["negatives"] >= 1 and fp["copies"] >= 4
    assert set(fp["recall_by_edit"]) >= {"mirror", "letterbox"}
    assert fp["false_matches"] == 0
    assert fp["recall"] >= 0.75
    assert "baseline" in results and results["baseline"]["queries"] == fp["queries"]
    assert results["speed"]["index_vs_decode"] > 0 and results["speed"]["match_vs_decode"] > 0
    for name in ("report.md", "results.json", "pr_curve.png", "recall_by_edit.png", "scores.png", "throughput.png"):
        assert (out / name).stat().st_size > 500, name
    assert "Recall per edit" in (out / "report.md").read_text()

    # Re-running on the existing benchmark skips generation and gives the same accuracy.
    again = CliRunner().invoke(cli, ["bench", "--truth", str(out / "data" / "truth.json"), "--refs", str(refs),
                                     "--out", str(tmp_path / "again"), "--no-baseline", "-q", "--json"])
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["fp"]["recall"] == fp["recall"]


def test_demo_finds_the_disguised_copy(tmp_path):
    r = CliRunner().invoke(cli, ["demo", "--workdir", str(tmp_path), "--json"])
    assert r.exit_code == 0, r.output
    outcome = json.loads(r.stdout)
    assert outcome["found"] is True
    best = outcome["result"]["matches"][0]
    assert best["mirrored"] is True
    assert abs(best["ref_span"][0] - 20.0) < 1.0 and abs(best["ref_span"][1] - 32.0) < 1.0
    assert list((tmp_path / "evidence").glob("*.png"))
