"""STAC extension schemas a repository has reviewed, kept offline beside a lock file.

A STAC document names its extensions by schema URL (`stac_extensions`). Fetching those
URLs while judging a pull request would make a verdict depend on a web server (and let a
PR pick the schema it is judged by), so a repository keeps the schemas it accepts in a
directory (default `schemas/stac`) with `schemas.lock.json` pinning each schema's SHA-256
under its `$id`. `lock`/`store` read that directory without any network; `fetch` is the
one place that may download (the maintainer's `kfm-promote schemas add|sync`).
"""
