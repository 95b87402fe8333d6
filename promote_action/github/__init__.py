"""GitHub surface of kfm-promote: events, changed datasets, API, comments, summaries.

Nothing here decides anything: decisions come from `promote_action.pipeline` and the
ledger. This package only finds what to judge (changed dataset dirs, the base branch's
policy, approvals from reviews) and shows the result where people look (PR comment, job
summary, annotations). `GITHUB_*` variables are read lazily, never at import time.
"""
