"""Catalogs as linked data: JSON-LD read with pyld (offline), RDF graphs with rdflib,
the KFM profiles as SHACL shapes checked by pyshacl.

DCAT and PROV are RDF: what counts is the graph, not which context, prefix or nesting a
producer (CKAN, GeoNetwork, pyld, rdflib …) chose. Every document is expanded by a JSON-LD
processor whose document loader never touches the network, and the KFM requirements are
checked on what the document *means*.
"""
