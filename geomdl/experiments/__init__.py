"""Experiments: each turns a config into a recorded :class:`geomdl.trace.Trace`."""
