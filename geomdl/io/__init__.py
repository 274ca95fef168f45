"""Trace IO: the trace file, the snapshot recorder that fills it, the PCA of projected traces, atomic writes
(docs/trace.md)."""
