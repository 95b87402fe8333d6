"""`kfm-promote init`: scaffold a new dataset directory from templates/dataset/.

The scaffold is deliberately incomplete: placeholder values are schema-valid, so
`validate` runs on it and lists, gate by gate, what the contributor still has to fill in
(instead of stopping at a parse error). Output is a pure function of the slug and the
version label, and the directory appears all at once or not at all.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from promote_action.cli.common import emit

TEMPLATE_DIR = "dataset"
DEFAULT_LABEL = "draft"


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("init", help="scaffold a new dataset directory to fill in",
                       description="Create DIR with a placeholder spec, source entry, "
                                   "catalog and receipt skeletons and a README. DIR must "
                                   "not exist or be empty.")
    p.add_argument("--dataset-slug", required=True,
                   help="dataset id: ^[a-z][a-z0-9_]{2,63}$ (ASCII)")
    p.add_argument("--version-label", default=DEFAULT_LABEL,
                   help="first version label (default: %(default)s)")
    p.add_argument("dir", type=Path, metavar="DIR", help="directory to create")
    p.set_defaults(func=run)


def render(slug: str, version_label: str = DEFAULT_LABEL) -> dict[str, bytes]:
    """Every scaffold file, relative path -> bytes; raises UsageError on a bad slug/label."""
    from string import Template

    from promote_action.errors import UsageError
    from promote_action.resources import data_root
    from promote_action.spec import SLUG_RE, VERSION_LABEL_RE

    if not slug.isascii() or not SLUG_RE.match(slug):
        raise UsageError(f"{slug!r} is not a valid slug: use ^[a-z][a-z0-9_]{{2,63}}$ "
                         "(ASCII lower case, digits, underscore)", field="--dataset-slug")
    if not version_label.isascii() or not VERSION_LABEL_RE.match(version_label):
        raise UsageError(f"{version_label!r} is not a valid version label: use "
                         "^[0-9A-Za-z][0-9A-Za-z._-]{0,31}$", field="--version-label")
    root = data_root("templates") / TEMPLATE_DIR
    out: dict[str, bytes] = {}
    for path in sorted(root.rglob("*")):
        if not path.is_file():
            continue
        rel = path.relative_to(root).as_posix()
        text = path.read_text(encoding="utf-8")
        out[rel] = Template(text).substitute(dataset_slug=slug,
                                             version_label=version_label).encode()
    return out


def write_scaffold(dest: Path, files: dict[str, bytes]) -> None:
    """Write into a sibling temp dir, then rename it into place (atomic, all or nothing)."""
    import shutil
    import tempfile

    from promote_action.errors import UsageError

    if dest.is_symlink() or (dest.exists() and not dest.is_dir()):
        raise UsageError("exists and is not a directory", file=str(dest))
    if dest.is_dir() and any(dest.iterdir()):
        raise UsageError("directory is not empty; init only writes into a new or empty "
                         "directory", file=str(dest))
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}.init-"))
    try:
        for rel, data in files.items():
            target = tmp / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        tmp.chmod(0o755)
        tmp.rename(dest)  # replaces an empty directory; fails if one appeared meanwhile
    except OSError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        raise UsageError(f"cannot create the dataset directory: {e.strerror or e}",
                         file=str(dest)) from e


def run(args: argparse.Namespace) -> int:
    files = render(args.dataset_slug, args.version_label)
    write_scaffold(args.dir, files)
    lines = [f"created {args.dir}/ for dataset {args.dataset_slug}:"]
    lines += [f"  {rel}" for rel in files]
    lines.append(f"next: fill in the placeholders (see {args.dir}/README.md), then run "
                 f"kfm-promote validate --spec {args.dir}")
    emit("\n".join(lines) + "\n")
    return 0
