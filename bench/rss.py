"""Peak-memory growth of the current process, measured from a baseline taken now.

`getrusage(RUSAGE_SELF).ru_maxrss` cannot be used in a child started by a large parent:
Linux carries the high-water mark of the pre-exec address space across `exec`, so a
fresh child's "peak" starts at its parent's (the bench driver, which held the uploaded
corpora) and a contender's own growth reads as zero. The kernel's per-address-space
`VmHWM` (in `/proc/self/status`) starts afresh at `exec`, and writing `5` to
`/proc/self/clear_refs` resets it to the current RSS, so the growth measured is exactly
what the measured code added on top of the baseline, transient import peaks excluded.
"""

from __future__ import annotations


def _status(field: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"/proc/self/status has no {field} (Linux only)")


def baseline() -> int:
    """Reset the peak to the current RSS (where the kernel allows it) and return the
    baseline in bytes: later `growth()` is relative to this moment."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        return _status("VmHWM")  # cannot reset: the peak so far is the baseline
    return _status("VmHWM")


def growth(base: int) -> int:
    """Bytes the peak RSS rose above `base` (never negative)."""
    return max(0, _status("VmHWM") - base)
