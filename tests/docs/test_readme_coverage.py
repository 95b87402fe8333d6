"""Every README command a user copies is run by a scenario: a ```sh/```bash block in a
section without one fails here, so new README commands cannot go untested."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

from readme_harness import SCENARIOS, commands, readme_blocks

HERE = Path(__file__).resolve().parent
# Placeholders of a usage synopsis: a user cannot paste these, so such blocks are ```text.
_SYNOPSIS = re.compile(r"\[--|\]\.\.\.|\bDIR\||\.\.\.\s*(#|$)", re.MULTILINE)


def test_every_shell_block_has_a_scenario() -> None:
    missing = sorted({f"{b.section!r} (README.md line {b.line})" for b in readme_blocks()
                      if b.is_shell and b.section not in SCENARIOS})
    assert not missing, ("README.md sections with sh/bash blocks but no scenario in "
                         "tests/docs/readme_harness.py SCENARIOS: " + ", ".join(missing))


def test_every_scenario_exists_and_its_section_still_has_shell_blocks() -> None:
    shell_sections = {b.section for b in readme_blocks() if b.is_shell}
    for section, test in SCENARIOS.items():
        assert section in shell_sections, f"no sh/bash block under {section!r} any more"
        module, _, name = test.partition("::")
        assert (HERE / module).is_file(), test
        assert callable(getattr(importlib.import_module(module[:-3]), name, None)), test


def test_shell_blocks_are_copyable_not_synopses() -> None:
    bad = [f"line {b.line}: {c.splitlines()[0]}" for b in readme_blocks() if b.is_shell
           for c in commands(b.text) if _SYNOPSIS.search(c)]
    assert not bad, "usage synopses belong in ```text blocks: " + "; ".join(bad)


def test_the_parser_sees_sections_fences_and_continuations() -> None:
    text = ("# Top\n```sh\necho a \\\n  b  # note\n# only a comment\n\necho c\n```\n"
            "## Sub `x`\n```text\nkfm-promote [--flag]\n```\n````bash\n```\n````\n")
    blocks = readme_blocks(text)
    assert [(b.section, b.lang, b.line) for b in blocks] == [
        ("Top", "sh", 2), ("Sub `x`", "text", 10), ("Sub `x`", "bash", 13)]
    assert commands(blocks[0].text) == ["echo a \\\n  b  # note", "echo c"]
    assert blocks[2].text == "```\n"
    assert _SYNOPSIS.search(blocks[1].text)
