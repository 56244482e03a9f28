"""Translation experiments on real parallel text with fairseq, scored with sacrebleu.

Steps (``python -m nmt <step> --help``): prepare -> train -> evaluate, or ``sweep`` for all.
"""
