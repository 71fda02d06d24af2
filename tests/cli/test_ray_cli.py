"""`--ray` without Ray installed, the single-machine path without Ray, and --ray's address check."""
import json
import subprocess
import sys

from click.testing import CliRunner

from fp.cli.main import cli

from ..conftest import clip

NO_RAY = "import sys; sys.modules['ray'] = None  # as if Ray were not installed\n"


def _python(code: str, tmp_path):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=tmp_path)


def test_ray_flag_without_ray_says_how_to_install_it(tmp_path):
    for command in (["index", str(clip("stream-of-water.mp4")), "--ray"], ["match", str(clip("friday.mp4")), "--ray", "auto"]):
        code = NO_RAY + f"from fp.cli.main import main; main({command + ['--library', str(tmp_path / 'lib')]!r})"
        out = _python(code, tmp_path)
        assert out.returncode == 2, out.stderr
        assert out.stderr.strip().count("\n") == 0, out.stderr  # one line
        assert "pip install" in out.stderr and "[ray]" in out.stderr


def test_the_single_machine_path_imports_no_ray(tmp_path):
    lib = str(tmp_path / "lib")
    code = NO_RAY + (
        "from fp.cli.main import cli\n"
        f"for args in (['index', {str(clip('friday.mp4'))!r}, {str(clip('flower.mp4'))!r}, '--library', {lib!r}, '--json'],\n"
        f"             ['match', {str(clip('friday.mp4'))!r}, '--library', {lib!r}, '--json', '--workers', '2'],\n"
        f"             ['library', 'shard', '--shards', '2', '--library', {lib!r}],\n"
        f"             ['match', {str(clip('friday.mp4'))!r}, '--library', {lib!r}, '--json', '--triage']):\n"
        "    cli.main(args, standalone_mode=False)\n"
        "assert sys.modules.get('ray') is None\n")
    out = _python(code, tmp_path)
    assert out.returncode == 0, out.stderr
    results = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    assert [r["verdict"] for r in results if "verdict" in r] == ["match", "match"]


def test_ray_takes_an_address_not_a_path(tmp_path):
    out = CliRunner().invoke(cli, ["match", "--ray", str(clip("friday.mp4")), "--library", str(tmp_path / "lib")])
    assert out.exit_code == 2
    assert "not a Ray address" in out.output and "--ray=ADDRESS" in out.output
