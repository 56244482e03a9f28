"""What the experiments (nmt, gan, theory, the demo) share about their outputs.

* :mod:`suite_results.files`: atomic writes (a killed process leaves the old file or the new one).
* :mod:`suite_results.rundir`: a run directory belongs to one configuration; resuming it with
  another is refused, naming the differing keys, before anything is written.
* :mod:`suite_results.scalars`: scalars read back from TensorBoard event files.
* :mod:`suite_results.stats`: mean ± std and bootstrap intervals over seeds.
* :mod:`suite_results.tables`: Markdown tables.
* :mod:`suite_results.cli`: command-line entry points end a user's error in one line.
"""
