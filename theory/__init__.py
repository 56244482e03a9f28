"""The seeds' theory experiments: Adam's non-convergence counterexamples and their analysis.

``counterexamples`` defines the gradient sequences, ``paths`` runs them through the library's
optimizers (torch) or an independent vectorized NumPy path, ``analysis`` computes the
non-convergence map and net update factors, ``decorrelation`` measures real training.
"""
