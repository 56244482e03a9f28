"""NMT pipeline: corpus parsers on fixture files shaped like the packages, splits, and a tiny
end-to-end run (prepare -> fairseq-train -> fairseq-generate -> sacrebleu) on the real Bible."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from nmt.corpora import bible_pairs, clean_osis, dictionary_sentence_pairs, read_ztext
from nmt.prepare import split_pairs


def write_ztext(folder: Path, books: list[list[str]], corrupt_block: int | None = None) -> None:
    """A zText module: one zlib block per book (BlockType=BOOK), verse index entries per verse.

    Like the real modules, the index also has empty slots (module/book/chapter headings), and
    the NT files exist (here empty of verses).
    """
    folder.mkdir(parents=True)
    for testament, testament_books in (("ot", books), ("nt", [])):
        index, blocks, data = bytearray(), bytearray(), bytearray()
        index += struct.pack("<IIH", 0, 0, 0)  # heading slot
        for number, verses in enumerate(testament_books):
            raw = "".join(verses).encode("utf-8")
            packed = zlib.compress(raw)
            if number == corrupt_block:
                packed = b"garbage" + packed[7:]
            blocks += struct.pack("<III", len(data), len(packed), len(raw))
            data += packed
            index += struct.pack("<IIH", number, 0, 0)  # book heading slot
            offset = 0
            for verse in verses:
                size = len(verse.encode("utf-8"))
                index += struct.pack("<IIH", number, offset, size)
                offset += size
        (folder / f"{testament}.bzv").write_bytes(bytes(index))
        (folder / f"{testament}.bzs").write_bytes(bytes(blocks))
        (folder / f"{testament}.bzz").write_bytes(bytes(data))


ENGLISH = [['<w lemma="strong:H07225">In the beginning</w> God created the heaven.<note type="x">a note</note>',
            "And the earth was <transChange>without</transChange> form.", "Third verse here."],
           ["Book two, first verse.", "Book two, second verse &amp; more."]]
SPANISH = [["EN el principio crió Dios los cielos.", "Y la tierra estaba desordenada.", ""],
           ["Libro dos, primer verso.", "Libro dos, segundo verso."]]


def test_ztext_reader_cleans_osis_and_aligns_verses(tmp_path):
    write_ztext(tmp_path / "en", ENGLISH)
    write_ztext(tmp_path / "es", SPANISH)
    pairs, report = bible_pairs(tmp_path / "en", tmp_path / "es")
    assert [p[:2] for p in pairs] == [
        ("In the beginning God created the heaven.", "EN el principio crió Dios los cielos."),
        ("And the earth was without form.", "Y la tierra estaba desordenada."),
        ("Book two, first verse.", "Libro dos, primer verso."),
        ("Book two, second verse & more.", "Libro dos, segundo verso.")]
    assert pairs[0][2] != pairs[2][2]  # book ids differ
    assert report.kept == 4 and report.skipped["verse missing on one side"] == 1


def test_ztext_reader_counts_an_unreadable_block_instead_of_crashing(tmp_path):
    write_ztext(tmp_path / "en", ENGLISH, corrupt_block=1)
    write_ztext(tmp_path / "es", SPANISH)
    pairs, report = bible_pairs(tmp_path / "en", tmp_path / "es")
    assert len(pairs) == 2 and report.skipped["unreadable verse"] == 2


def test_clean_osis_drops_notes_and_titles_with_their_content():
    text = '<title type="psalm">A Psalm</title><w>Blessed</w> <w>is</w> the man<note n="a">see v. 3</note> ¶ that walketh.'
    assert clean_osis(text) == "Blessed is the man that walketh."


def test_dictionary_keeps_whole_sentences_and_counts_malformed_lines(tmp_path):
    path = tmp_path / "de-en"
    path.write_text("\n".join([
        "# Version :: test",
        "Haus {n}; Gebäude {n} | Häuser {pl} :: house; building | houses",
        "Das Haus ist alt. | Die Häuser sind alt. :: The house is old. | The houses are old.",
        "Er kommt morgen. :: He is coming tomorrow.",
        "Ich komme | Du kommst :: I come",  # sub-entry counts differ
        "kaputte Zeile ohne Trenner",  # no separator
        "ein Vorgeschmack auf etw. :: a taster of sth.",  # a phrase, not a sentence
        "Wie geht es dir? [ugs.] :: How are you doing? [coll.]",
    ]) + "\n", encoding="utf-8")
    pairs, report = dictionary_sentence_pairs(path)
    assert pairs == [("Das Haus ist alt.", "The house is old."), ("Die Häuser sind alt.", "The houses are old."),
                     ("Er kommt morgen.", "He is coming tomorrow."), ("Wie geht es dir?", "How are you doing?")]
    assert report.skipped == {"sub-entry counts differ": 1, "no single '::' separator": 1}


def test_splits_are_deterministic_disjoint_and_deduplicated():
    pairs = [(f"source {i % 900}", f"target {i}") for i in range(1000)]  # 100 duplicate sources
    a, b = split_pairs(pairs, 50, 80, seed=3), split_pairs(pairs, 50, 80, seed=3)
    assert a == b
    sources = {name: {s for s, _ in rows} for name, rows in a.items()}
    assert len(sources["test"]) == 80 and len(sources["valid"]) == 50 and len(sources["train"]) == 770
    assert not (sources["test"] & sources["train"]) and not (sources["valid"] & sources["train"])
    assert split_pairs(pairs, 50, 80, seed=4) != a
    assert len(split_pairs(pairs, 50, 80, seed=3, max_train=100)["train"]) == 100
    with pytest.raises(ValueError, match="no training data"):
        split_pairs(pairs[:10], 5, 5, seed=1)


@pytest.mark.slow
def test_tiny_end_to_end_bible_run_scores_bleu_and_logs_tensorboard(tmp_path):
    from nmt.__main__ import main

    data, runs = tmp_path / "data", tmp_path / "runs"
    main(["prepare", "--corpus", "bible-en-es", "--out", str(data), "--max-train", "400", "--valid", "40",
          "--test", "40", "--vocab-size", "600"])
    main(["sweep", "--data", str(data), "--runs", str(runs), "--optimizers", "adashift", "--seeds", "1",
          "--max-update", "24", "--max-tokens", "1024"])
    import json

    result = json.loads((runs / "adashift-s1" / "results.json").read_text())
    assert result["sentences"] == 40 and 0 <= result["bleu"] <= 100
    assert result["bleu_signature"].startswith("nrefs:1|case:mixed|eff:no|tok:13a")
    assert len(result["valid_curve"]) >= 2
    train_events = EventAccumulator(str(runs / "adashift-s1" / "tb" / "train"))
    train_events.Reload()
    assert {"loss", "lr", "gnorm", "wps"} <= set(train_events.Tags()["scalars"])
    table = (data / "sweep" / "results.md").read_text()
    assert "| adashift | 1 |" in table and (data / "sweep" / "valid_loss.png").exists()
