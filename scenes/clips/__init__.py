"""Clip frame models: one module per scene, drawn by both backends; :mod:`scenes.clips.base` holds the shared
frame vocabulary and the frame-model contract."""
