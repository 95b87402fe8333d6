"""bench/rss.py measures a child's own peak growth, not its parent's: a child started by a
large parent (as every bench contender is) must still see the memory it allocates."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from tests_support import REPO

CHILD = textwrap.dedent(f"""
    import sys
    sys.path.insert(0, {str(REPO / "bench")!r})
    import rss
    base = rss.baseline()
    block = bytearray(48 * 2**20)  # zero-filled pages, touched below
    block[::4096] = b"x" * len(block[::4096])
    print(rss.growth(base) / 2**20)
    del block
    base = rss.baseline()
    print(rss.growth(base) / 2**20)
""")


def test_child_growth_is_its_own_not_the_parents() -> None:
    ballast = bytearray(160 * 2**20)  # the parent is far larger than the child will grow
    ballast[::4096] = b"y" * len(ballast[::4096])
    out = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True,
                         check=True, timeout=60).stdout.split()
    grown, after_reset = float(out[0]), float(out[1])
    assert 46 <= grown <= 60, out  # the 48 MiB it touched, not 0 and not the parent's 160
    assert after_reset < 4, out  # a new baseline starts from the current RSS
    assert len(ballast) == 160 * 2**20
