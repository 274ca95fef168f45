"""Data: the synthetic geometries (a)-(d) and MNIST, seeded, ``X: (N, M)``, ``labels: (N,)``."""
