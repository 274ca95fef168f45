"""Static figures (PNG + PDF) of the experiments, saved by :func:`scenes.figures.figure_io.save_figure`."""
