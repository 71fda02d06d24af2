"""`pip install .` (not editable) into a fresh virtualenv, then `fp demo` from outside the checkout."""
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
IMPORT_NAMES = {"opencv-python-headless": "cv2", "faiss-cpu": "faiss"}


def _run(cmd, **kw):
    out = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=300, **kw)
    assert out.returncode == 0, f"{cmd}: exit {out.returncode}\n{out.stdout[-2000:]}\n{out.stderr[-4000:]}"
    return out


def test_installed_package_runs_the_demo_from_outside_the_checkout(tmp_path):
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    # Build from a copy, so the build leaves nothing in the checkout.
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    for folder in sorted({d.split("/")[0] for d in project["tool"]["setuptools"]["package-dir"].values()}):
        shutil.copytree(REPO / folder, src / folder, ignore=shutil.ignore_patterns("__pycache__", "results", "*.egg-info"))

    # A fresh virtualenv. Dependencies come from this interpreter's site folders (no download);
    # the venv's own site-packages comes first, so `fp` is the installed copy.
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", venv])
    python = venv / "bin" / "python"
    site = Path(_run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip())
    deps = [re.split(r"[<>=!~ ;\[]", d)[0] for d in project["project"]["dependencies"]]
    specs = [importlib.util.find_spec(IMPORT_NAMES.get(d, d).replace("-", "_")) for d in deps]
    dirs = {str(Path(spec.origin).parents[1]) for spec in specs if spec and spec.origin}
    assert dirs
    (site / "fp_test_deps.pth").write_text("\n".join(sorted(dirs)) + "\n")
    _run([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--quiet", src])

    installed = site / "fp"
    assert (installed / "sample_clips" / "bbb_first60s.mp4").exists()
    assert (installed / "sample_clips" / "LICENSES.md").exists()
    assert not (installed / "benchmarks" / "decode_compare.py").exists()  # measurement scripts stay out
    assert not (installed / "benchmarks" / "scripts").exists()

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env.update(HOME=str(elsewhere), MPLCONFIGDIR=str(elsewhere))
    where = _run([python, "-c", "import fp.cli.main, fp.benchmarks.demo as d; print(fp.cli.main.__file__); print(d.SAMPLE_CLIPS)"],
                 cwd=elsewhere, env=env).stdout.split()
    assert all(Path(p).is_relative_to(site) for p in where), where

    out = _run([venv / "bin" / "fp", "demo", "--json", "--workdir", tmp_path / "demo"], cwd=elsewhere, env=env)
    outcome = json.loads(out.stdout)
    assert outcome["found"] is True
    indexed = outcome["indexed"]["files"]
    assert len(indexed) >= 5 and all(Path(f["path"]).is_relative_to(installed / "sample_clips") for f in indexed)
