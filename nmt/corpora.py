"""Readers for the packaged parallel corpora.

* SWORD zText modules (Bible KJV English, Reina-Valera 1909 Spanish): per testament a verse index
  ``.bzv`` (10 bytes per entry: block uint32, offset uint32, size uint16), a block index ``.bzs``
  (12 bytes: offset, compressed size, uncompressed size, uint32 each) and the zlib blocks ``.bzz``.
  Both modules use the KJV versification, so verse index i is the same verse in both. The text is
  OSIS markup: notes and titles are dropped with their content, other tags are stripped.
* trans-de-en (the Ding dictionary): ``DE :: EN`` lines whose sides hold ``|``-separated
  sub-entries in the same order; we keep whole sentences (both sides end in . ? ! and hold no
  ``;``-separated synonym list).

Malformed dictionary lines are skipped and counted. A SWORD block that cannot be decompressed or
decoded is an error (:class:`CorruptModule`, with counts): it means the package files are truncated
or damaged, and skipping would silently drop whole books.
"""

from __future__ import annotations

import html
import re
import struct
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

_DROP = re.compile(r"<(note|title)\b[^>]*?(/>|>.*?</\1>)", re.DOTALL)
_TAG = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")
_SPACE_BEFORE_PUNCTUATION = re.compile(r"\s+([,.;:!?)])")


class CorruptModule(ValueError):
    """A SWORD module whose blocks cannot all be read."""


@dataclass
class ParseReport:
    kept: int = 0
    skipped: Counter = field(default_factory=Counter)

    def __str__(self):
        reasons = ", ".join(f"{k}: {v}" for k, v in self.skipped.most_common()) or "none"
        return f"kept {self.kept}, skipped {sum(self.skipped.values())} ({reasons})"


def clean_osis(text: str) -> str:
    text = _DROP.sub(" ", text)
    text = _TAG.sub("", text)
    text = html.unescape(text).replace("¶", " ")
    return _SPACE_BEFORE_PUNCTUATION.sub(r"\1", _SPACE.sub(" ", text)).strip()


def read_ztext(module_dir: Path, report: ParseReport | None = None) -> list[tuple[int, str]]:
    """[(book_block_id, verse_text)] in verse-index order for OT then NT ('' where empty).

    Raises CorruptModule naming the file and the number of unreadable blocks and verses.
    """
    module_dir = Path(module_dir)
    verses = []
    for testament_number, testament in enumerate(("ot", "nt")):
        index = (module_dir / f"{testament}.bzv").read_bytes()
        blocks_index = (module_dir / f"{testament}.bzs").read_bytes()
        data = (module_dir / f"{testament}.bzz").read_bytes()
        cache: dict[int, bytes] = {}
        bad_blocks: dict[int, str] = {}
        bad_verses = 0
        for position in range(len(index) // 10):
            block, offset, size = struct.unpack_from("<IIH", index, position * 10)
            text = ""
            if size:
                try:
                    if block in bad_blocks:
                        raise zlib.error(bad_blocks[block])
                    if block not in cache:
                        start, compressed, _ = struct.unpack_from("<III", blocks_index, block * 12)
                        if start + compressed > len(data):
                            raise zlib.error(f"block ends at byte {start + compressed}, the file at {len(data)}")
                        cache[block] = zlib.decompress(data[start:start + compressed])
                    text = clean_osis(cache[block][offset:offset + size].decode("utf-8"))
                except (struct.error, zlib.error, UnicodeDecodeError) as error:
                    bad_blocks.setdefault(block, str(error))
                    bad_verses += 1
            verses.append((testament_number * 1000 + block, text))
        if bad_blocks:
            block, reason = next(iter(bad_blocks.items()))
            raise CorruptModule(
                f"{module_dir / f'{testament}.bzz'}: {len(bad_blocks)} block(s) unreadable, {bad_verses} verses "
                f"lost (first: block {block}, {reason}); the package files are truncated or damaged. Remove "
                f"the unpacked package under data/debs/ and run python -m suite_data fetch again")
    return verses


def bible_pairs(english_dir: Path, spanish_dir: Path) -> tuple[list[tuple[str, str, int]], ParseReport]:
    """(english, spanish, book) for every verse index where both texts are present."""
    report = ParseReport()
    english, spanish = read_ztext(english_dir, report), read_ztext(spanish_dir, report)
    if len(english) != len(spanish):
        raise ValueError(f"versifications differ: {len(english)} vs {len(spanish)} verse slots")
    pairs = []
    for (book, en), (_, es) in zip(english, spanish):
        if en and es:
            pairs.append((en, es, book))
        elif en or es:
            report.skipped["verse missing on one side"] += 1
    report.kept = len(pairs)
    return pairs, report


_ANNOTATION = re.compile(r"\{[^}]*\}|\[[^\]]*\]")
_SENTENCE_END = (".", "?", "!")
_ABBREVIATIONS = {"etw.", "jdm.", "jdn.", "jds.", "jd.", "sth.", "sb.", "sb's.", "usw.", "etc.", "z.B."}


def _is_sentence(text: str) -> bool:
    words = text.split()
    return (len(words) >= 3 and text.endswith(_SENTENCE_END) and text[0].isupper()
            and words[-1] not in _ABBREVIATIONS and ";" not in text)


def dictionary_sentence_pairs(path: Path) -> tuple[list[tuple[str, str]], ParseReport]:
    """(german, english) whole-sentence pairs from a Ding ``DE :: EN`` file."""
    report, pairs = ParseReport(), []
    with open(path, encoding="utf-8", errors="replace") as lines:
        for line in lines:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if line.count("::") != 1:
                report.skipped["no single '::' separator"] += 1
                continue
            german, english = (side.split("|") for side in line.split("::"))
            if len(german) != len(english):
                report.skipped["sub-entry counts differ"] += 1
                continue
            for de, en in zip(german, english):
                de, en = (_SPACE.sub(" ", _ANNOTATION.sub(" ", s)).strip() for s in (de, en))
                if _is_sentence(de) and _is_sentence(en):  # words and phrases are not errors, just not kept
                    pairs.append((de, en))
    report.kept = len(pairs)
    return pairs, report
