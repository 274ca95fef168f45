"""Backends: the matplotlib and Manim renderers of the frame vocabulary, the point rasteriser, video encoding."""
