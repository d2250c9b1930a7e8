"""The proto contract: buf lint and breaking checks, and generated code that matches the protos."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from scripts.gen_protos import DEFAULT_OUT, generate

ROOT = Path(__file__).resolve().parents[2]
BUF = ROOT / "node_modules" / ".bin" / "buf"
PROTOS = ROOT / "greet" / "protos"
BASELINE = PROTOS / "baseline.binpb"


def buf(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BUF), *args], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_protos_pass_buf_lint() -> None:
    result = buf("lint", "greet/protos")
    assert result.returncode == 0, result.stdout + result.stderr


def test_protos_are_compatible_with_the_baseline() -> None:
    result = buf("breaking", "greet/protos", "--against", str(BASELINE))
    assert result.returncode == 0, result.stdout + result.stderr


def test_breaking_check_catches_a_renamed_field(tmp_path: Path) -> None:
    copy = tmp_path / "protos"
    shutil.copytree(PROTOS, copy)
    proto = copy / "greet" / "v1" / "greet.proto"
    text = proto.read_text()
    assert "string first_name = 1;" in text
    proto.write_text(text.replace("string first_name = 1;", "string given_name = 1;"))
    result = buf("breaking", str(copy), "--against", str(BASELINE))
    assert result.returncode != 0
    assert "given_name" in result.stdout + result.stderr


def sources(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.suffix in {".py", ".pyi"}]


def test_generated_code_is_up_to_date(tmp_path: Path) -> None:
    fresh = tmp_path / "gen"
    generate(fresh)
    committed = {p.relative_to(DEFAULT_OUT): p.read_bytes() for p in sources(DEFAULT_OUT)}
    regenerated = {p.relative_to(fresh): p.read_bytes() for p in sources(fresh)}
    assert sorted(committed) == sorted(regenerated)
    stale = [str(path) for path in committed if committed[path] != regenerated[path]]
    assert not stale, f"run `python -m scripts.gen_protos`: {stale}"
