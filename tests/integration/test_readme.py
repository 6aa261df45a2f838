"""The README's client example runs as written."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_client_example_runs(tmp_path: Path) -> None:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    assert len(blocks) == 1
    script = tmp_path / "example.py"
    script.write_text(blocks[0])
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                         timeout=60, stdin=subprocess.DEVNULL, cwd=README.parent)
    assert out.returncode == 0, out.stdout + out.stderr
    lines = out.stdout.splitlines()
    for expected in ("alice: CALLING", "bob: INCOMING", "bob: EARLY 180 Ringing",
                     "alice: CONFIRMED 200 OK", "bob: CONFIRMED 200 OK", "media: ACTIVE",
                     "alice: DISCONNECTED", "bob: DISCONNECTED", "refused: call.make E_BAD_ARGS"):
        assert any(line.startswith(expected) for line in lines), (expected, out.stdout)
