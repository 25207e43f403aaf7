"""Code systems, extension URLs, wire-format constants and shipped terminology tables.

Shared by ``ingest`` (which reads them) and ``synth`` (which writes them); owned by
neither, so that neither imports the other.
"""
