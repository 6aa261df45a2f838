"""`python bench/X.py` puts bench/ first on sys.path: a bench script named like one of the
project's packages would hide it from every other bench script."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_no_bench_script_shadows_a_package() -> None:
    packages = {p.name for p in ROOT.iterdir() if (p / "__init__.py").exists()}
    assert {"agent", "coordinator", "proto"} <= packages
    scripts = {p.stem for p in (ROOT / "bench").glob("*.py")}
    assert not scripts & packages, scripts & packages
