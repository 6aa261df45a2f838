"""proto/PROTOCOL.md cannot drift from the code: its generated block is proto.doc.tables()."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from proto import doc, limits
from proto.errors import ERROR_CODES
from proto.ops import EVENTS, OPS

PROTOCOL_MD = Path(__file__).resolve().parents[2] / "proto" / "PROTOCOL.md"
BEGIN = "<!-- BEGIN GENERATED -->"
END = "<!-- END GENERATED -->"


def _text() -> str:
    return PROTOCOL_MD.read_text(encoding="utf-8")


def _block(text: str) -> str:
    """The generated block, found independently of proto.doc's own helpers."""
    assert text.count(BEGIN) == 1 and text.count(END) == 1, "exactly one pair of markers"
    _, _, rest = text.partition(BEGIN)
    inside, _, _ = rest.partition(END)
    return inside.strip("\n") + "\n"


def test_generated_block_is_current() -> None:
    assert _block(_text()) == doc.tables(), (
        "proto/PROTOCOL.md is stale: run `python -m proto.doc --write` and review the diff")


def test_doc_module_finds_the_same_block() -> None:
    text = _text()
    assert doc.PROTOCOL_MD.resolve() == PROTOCOL_MD
    assert doc.generated_block(text) == _block(text)
    assert doc.replace_block(text, doc.tables()) == text


@pytest.mark.parametrize("name", sorted(OPS))
def test_every_op_is_documented(name: str) -> None:
    text = _text()
    assert f"#### `{name}`" in _block(text), f"op {name} has no table"
    spec = OPS[name]
    section = _block(text).split(f"#### `{name}`", 1)[1].split("#### ", 1)[0]
    for f in spec.args + spec.agent_args + spec.result:
        assert f"`{f.name}`" in section, f"field {f.name} of {name} is missing"


@pytest.mark.parametrize("name", sorted(EVENTS))
def test_every_event_is_documented(name: str) -> None:
    block = _block(_text())
    assert f"#### `{name}`" in block, f"event {name} has no table"
    section = block.split(f"#### `{name}`", 1)[1].split("#### ", 1)[0]
    for f in EVENTS[name].data:
        assert f"`{f.name}`" in section, f"field {f.name} of event {name} is missing"


@pytest.mark.parametrize("code", sorted(ERROR_CODES))
def test_every_error_code_is_documented(code: str) -> None:
    block = _block(_text())
    assert re.search(rf"^\| `{code}` \|", block, re.M), f"error code {code} is not in the table"


def test_every_limit_is_documented() -> None:
    block = _block(_text())
    for name in (n for n in vars(limits) if n.isupper()):
        assert f"| `{name}` | {getattr(limits, name)!r} |" in block, f"limit {name} is missing"


def test_prose_names_only_known_codes() -> None:
    """Every E_* code the hand-written part mentions exists (a renamed code fails here)."""
    text = _text()
    mentioned = set(re.findall(r"\bE_[A-Z_]+\b", text))
    assert mentioned <= set(ERROR_CODES), f"unknown codes in PROTOCOL.md: {mentioned - set(ERROR_CODES)}"


def test_check_mode_detects_a_stale_block(tmp_path: Path) -> None:
    stale = tmp_path / "PROTOCOL.md"
    stale.write_text(f"# t\n\n{BEGIN}\nold\n{END}\n", encoding="utf-8")
    assert doc.main(["--check", "--file", str(stale)]) == 1
    assert doc.main(["--write", "--file", str(stale)]) == 0
    assert doc.main(["--check", "--file", str(stale)]) == 0
    written = stale.read_text(encoding="utf-8")
    assert written.startswith("# t\n\n") and written.endswith(f"{END}\n")
    assert _block(written) == doc.tables()


def test_readme_step_reference_is_current() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    assert readme.count(doc.STEPS_BEGIN) == 1 and readme.count(doc.STEPS_END) == 1
    _, _, rest = readme.partition(doc.STEPS_BEGIN)
    inside, _, _ = rest.partition(doc.STEPS_END)
    assert inside.strip("\n") + "\n" == doc.steps_reference(), (
        "README.md's step reference is stale: run `python -m proto.doc --write`")
    assert "`expect_dtmf`" in inside and "`on_failure`" in inside
