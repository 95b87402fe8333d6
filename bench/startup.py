"""Start-up time of `kfm-promote --version` and `--help` (target < 0.3 s each).

CI logs and pre-commit hooks pay this on every call, so subcommand modules keep heavy
imports inside `run()`. Each command is run as a fresh `python -m promote_action`
subprocess many times and the median wall time is reported; on a miss the slowest
imports (from `python -X importtime`) are listed to show where the time goes.

    python bench/startup.py            # 21 runs per command
    python bench/startup.py --smoke    # 3 runs, table only (no target)
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TARGET = 0.30
COMMANDS = (["--version"], ["--help"])


def wall(argv: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "promote_action", *argv], cwd=REPO,
                   capture_output=True, check=True)
    return time.perf_counter() - t0


def heaviest_imports(argv: list[str], top: int = 12) -> list[tuple[int, str]]:
    """Cumulative import time per top-level-ish module, slowest first (microseconds)."""
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "promote_action", *argv],
                          cwd=REPO, capture_output=True, text=True, check=True)
    rows = []
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cumulative, name = (part.strip() for part in line[len("import time:"):].split("|"))
        rows.append((int(cumulative), name))
    return sorted(rows, reverse=True)[:top]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=21)
    ap.add_argument("--smoke", action="store_true", help="3 runs, no target")
    args = ap.parse_args(argv)
    runs = 3 if args.smoke else args.runs
    wall(["--version"])  # warm the filesystem cache and .pyc files
    base = statistics.median(
        _time([sys.executable, "-c", "pass"]) for _ in range(runs))
    print(f"python {sys.version.split()[0]}; median of {runs} runs; bare interpreter "
          f"{base:.3f} s")
    print(f"{'command':<28} {'median s':>9} {'min s':>7} {'target':>7}")
    misses = []
    for cmd in COMMANDS:
        times = [wall(cmd) for _ in range(runs)]
        med = statistics.median(times)
        miss = med >= TARGET and not args.smoke
        print(f"{'kfm-promote ' + ' '.join(cmd):<28} {med:9.3f} {min(times):7.3f} "
              f"{TARGET:7.2f}{' MISS' if miss else ''}")
        if miss:
            misses.append(cmd)
    for cmd in misses:
        print(f"\nslowest imports for {' '.join(cmd)} (cumulative):", file=sys.stderr)
        for us, name in heaviest_imports(cmd):
            print(f"  {us / 1000:8.1f} ms  {name}", file=sys.stderr)
    return 1 if misses else 0


def _time(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, capture_output=True, check=True)
    return time.perf_counter() - t0


if __name__ == "__main__":
    sys.exit(main())
