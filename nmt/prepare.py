"""Data preparation: corpus -> deduplicated deterministic splits -> joint BPE -> fairseq binaries.

Splits are seeded and verse/sentence level; exact duplicate sources are removed before
splitting, so no test (or valid) source sentence occurs in training. ``--max-train`` keeps a
subset of the training split (for CPU runs); valid and test keep their size.

An output folder belongs to one set of options: ``prepare`` records them in ``.nmt-prepare.json``
first and refuses another set naming the differing ones (a finished folder is reused only for the
same options). It deletes only what it made itself: ``raw/``, ``bpe/`` and ``bin/`` of a folder
holding its own marker (an interrupted earlier run with the same options); where those folders
exist without it, it refuses and touches nothing. One process prepares a folder at a time
(``suite_results.locks.wait_hold``): two sweeps started together share one preparation, the second
waiting for the first.
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import sys
from pathlib import Path

from suite_data.debian import fetch_deb
from suite_results import locks, rundir
from suite_results.files import atomic_write_text

from .corpora import bible_pairs, dictionary_sentence_pairs

CORPORA = {"bible-en-es": ("en", "es"), "ding-de-en": ("de", "en")}
SWORD = "usr/share/sword/modules/texts/ztext"


MARKER = ".nmt-prepare.json"
MADE_HERE = ("raw", "bpe", "bin")


def load_corpus(name: str):
    """(pairs, report) for a corpus name."""
    if name == "bible-en-es":
        english = fetch_deb("sword-text-kjv") / SWORD / "engKJV2006eb"
        spanish = fetch_deb("sword-text-sparv") / SWORD / "spaRV1909eb"
        pairs, report = bible_pairs(english, spanish)
        return [(en, es) for en, es, _ in pairs], report
    if name == "ding-de-en":
        return dictionary_sentence_pairs(fetch_deb("trans-de-en") / "usr/share/trans/de-en")
    raise ValueError(f"Unknown corpus {name!r}; choose one of: {', '.join(CORPORA)}")


def _check_count(name: str, value, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"Invalid {name}: {value!r} (expected an integer >= 1"
                         f"{', or None for all' if allow_none else ''})")


def split_pairs(pairs, valid: int, test: int, seed: int, max_train: int | None = None) -> dict:
    _check_count("valid", valid)
    _check_count("test", test)
    _check_count("max_train", max_train, allow_none=True)
    unique, seen = [], set()
    for source, target in pairs:
        if source not in seen:
            seen.add(source)
            unique.append((source, target))
    order = list(range(len(unique)))
    random.Random(seed).shuffle(order)
    if valid + test >= len(order):
        raise ValueError(f"valid {valid} + test {test} leave no training data out of {len(order)} pairs")
    splits = {"test": [unique[i] for i in order[:test]],
              "valid": [unique[i] for i in order[test:test + valid]],
              "train": [unique[i] for i in order[test + valid:]]}
    if max_train is not None:
        splits["train"] = splits["train"][:max_train]
    return splits


def prepare(corpus: str, out: Path, valid: int = 500, test: int = 1000, max_train: int | None = None,
            vocab_size: int = 4000, seed: int = 1, workers: int = 2) -> dict:
    """Write raw/, spm.model, bpe/ and bin/ under ``out``; returns the counts. Reuses a finished folder
    made with the same options, refuses one made with others (see the module docstring)."""
    if corpus not in CORPORA:
        raise ValueError(f"Unknown corpus {corpus!r}; choose one of: {', '.join(CORPORA)}")
    for name, value in (("valid", valid), ("test", test), ("vocab_size", vocab_size)):
        _check_count(name, value)
    _check_count("max_train", max_train, allow_none=True)
    out = Path(out)
    _refuse_foreign(out)  # before the lock: a folder we refuse gets not even a lock file
    with locks.wait_hold(out, waiting=lambda message: print(f"nmt prepare: {message}", file=sys.stderr)):
        return _prepare(corpus, out, valid, test, max_train, vocab_size, seed, workers)


def binaries(src: str, tgt: str) -> list[str]:
    """The files fairseq-preprocess writes into bin/ that fairseq-train reads."""
    return [f"dict.{src}.txt", f"dict.{tgt}.txt"] + [f"{split}.{src}-{tgt}.{lang}.{ext}" for split in ("train", "valid", "test")
                                                     for lang in (src, tgt) for ext in ("bin", "idx")]


def _refuse_foreign(out: Path) -> None:
    """ValueError when ``out`` holds what prepare makes, without its marker (not made by prepare)."""
    if not (out / MARKER).exists():
        foreign = [str(out / f) for f in (*MADE_HERE, "prepared.json") if (out / f).exists()]
        if foreign:
            raise ValueError(f"{', '.join(foreign)} already exist and were not made by nmt prepare; nothing was "
                             f"changed. Choose an empty or new --out")


def _prepare(corpus: str, out: Path, valid: int, test: int, max_train: int | None, vocab_size: int, seed: int,
             workers: int) -> dict:
    """prepare() while this process holds ``out``."""
    options = {"corpus": corpus, "valid": valid, "test": test, "max_train": max_train,
               "vocab_size": vocab_size, "seed": seed}
    _refuse_foreign(out)  # again, now that no other process is making it
    rundir.claim(out, options, filename=MARKER)
    summary_path = out / "prepared.json"
    src, tgt = CORPORA[corpus]
    if summary_path.exists():
        missing = [name for name in binaries(src, tgt) if not (out / "bin" / name).is_file()]
        if not missing:
            return json.loads(summary_path.read_text())
        # finished once, since damaged (files removed by hand, a disk cleaner): ours, so made again
        print(f"nmt prepare: {out / 'bin'} lacks {', '.join(missing)}: preparing it again", file=sys.stderr)
        summary_path.unlink()
    pairs, report = load_corpus(corpus)
    splits = split_pairs(pairs, valid, test, seed, max_train)
    for folder in MADE_HERE:  # ours (the marker is here): left by an interrupted run with these options
        shutil.rmtree(out / folder, ignore_errors=True)
        (out / folder).mkdir(parents=True)
    for split, rows in splits.items():
        for index, lang in enumerate((src, tgt)):
            (out / "raw" / f"{split}.{lang}").write_text("".join(r[index] + "\n" for r in rows), encoding="utf-8")
    import sentencepiece as spm  # noqa: PLC0415 - here, so binaries() imports on a machine without it (the GPU image)

    training_text = [str(out / "raw" / f"train.{lang}") for lang in (src, tgt)]
    spm.SentencePieceTrainer.train(input=",".join(training_text), model_prefix=str(out / "spm"),
                                   vocab_size=vocab_size, model_type="bpe", character_coverage=1.0,
                                   num_threads=workers, minloglevel=2,
                                   hard_vocab_limit=False)
    processor = spm.SentencePieceProcessor(model_file=str(out / "spm.model"))
    for split in splits:
        for lang in (src, tgt):
            lines = (out / "raw" / f"{split}.{lang}").read_text(encoding="utf-8").splitlines()
            pieces = processor.encode(lines, out_type=str)
            (out / "bpe" / f"{split}.{lang}").write_text("".join(" ".join(p) + "\n" for p in pieces),
                                                        encoding="utf-8")
    fairseq_preprocess = Path(sys.executable).parent / "fairseq-preprocess"
    subprocess.run([str(fairseq_preprocess), "--source-lang", src, "--target-lang", tgt,
                    "--trainpref", str(out / "bpe" / "train"), "--validpref", str(out / "bpe" / "valid"),
                    "--testpref", str(out / "bpe" / "test"), "--destdir", str(out / "bin"),
                    "--joined-dictionary", "--workers", str(workers)],
                   check=True, capture_output=True, text=True)
    summary = {"corpus": corpus, "source": src, "target": tgt, "parse": str(report),
               "pairs": len(pairs), **{f"{k}_pairs": len(v) for k, v in splits.items()},
               "vocab_size": vocab_size, "seed": seed, "options": options}
    atomic_write_text(summary_path, json.dumps(summary, indent=1))
    return summary
