"""Catalog documents a dataset publishes: DCAT (JSON-LD), STAC, PROV, and their links.

Each module reads one kind of document into what gate D needs and reports problems as
data (pointer + message); nothing here fetches anything (no remote JSON-LD contexts, no
schemas over HTTP), so a verdict depends only on the files in the dataset directory.
"""
