"""NMT pipeline: corpus parsers on fixture files shaped like the packages, splits, and a tiny
end-to-end run (prepare -> fairseq-train -> fairseq-generate -> sacrebleu) on the real Bible."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from nmt.corpora import CorruptModule, bible_pairs, clean_osis, dictionary_sentence_pairs, read_ztext
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


def test_ztext_reader_refuses_an_unreadable_block_with_counts(tmp_path):
    write_ztext(tmp_path / "en", ENGLISH, corrupt_block=1)
    write_ztext(tmp_path / "es", SPANISH)
    with pytest.raises(CorruptModule, match=r"ot.bzz: 1 block\(s\) unreadable, 2 verses lost"):
        bible_pairs(tmp_path / "en", tmp_path / "es")


def test_ztext_reader_refuses_a_truncated_module(tmp_path):
    write_ztext(tmp_path / "en", ENGLISH)
    write_ztext(tmp_path / "es", SPANISH)
    data = tmp_path / "en" / "ot.bzz"
    data.write_bytes(data.read_bytes()[: len(data.read_bytes()) // 2])
    with pytest.raises(CorruptModule, match="unreadable"):
        bible_pairs(tmp_path / "en", tmp_path / "es")


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
          "--test", "37", "--vocab-size", "600"])  # 37: not a multiple of fairseq's default batch multiple 8
    main(["sweep", "--data", str(data), "--runs", str(runs), "--optimizers", "adashift", "--seeds", "1",
          "--max-update", "24", "--max-tokens", "1024"])
    import json

    (run,) = runs.glob("adashift-s1-*")
    result = json.loads((run / "results.json").read_text())
    assert result["sentences"] == 37 and 0 <= result["bleu"] <= 100
    assert result["bleu_signature"].startswith("nrefs:1|case:mixed|eff:no|tok:13a")
    assert len(result["valid_curve"]) >= 2
    train_events = EventAccumulator(str(run / "tb" / "train"))
    train_events.Reload()
    assert {"loss", "lr", "gnorm", "wps"} <= set(train_events.Tags()["scalars"])
    table = (data / "sweep" / "results.md").read_text()
    assert "| adashift | 1 |" in table and (data / "sweep" / "valid_loss.png").exists()


# -- bad input: every case ends in one line naming the value, and nothing of the user's is lost ---

INTEGRATION = pytest.mark.integration  # runs python -m nmt in a subprocess


def nmt_cli(*args, cwd=None):
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "nmt", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, env={**__import__("os").environ, "PYTHONPATH": str(Path(__file__).parents[1])})


def assert_one_line(result, *expected):
    assert result.returncode == 2, (result.stdout[-1000:], result.stderr[-2000:])
    assert "Traceback" not in result.stderr and all(e in result.stderr for e in expected), result.stderr[-2000:]


@INTEGRATION
@pytest.mark.parametrize("args,expected", [
    (["prepare", "--max-train", "0"], "--max-train"), (["prepare", "--max-train", "-5"], "--max-train"),
    (["prepare", "--valid", "-3"], "--valid"), (["prepare", "--test", "0"], "--test"),
    (["train", "--optimizer", "adam", "--max-update", "0"], "--max-update"),
    (["train", "--optimizer", "adam", "--max-update", "-5"], "--max-update"),
    (["sweep", "--seeds", "1", "1"], "more than once"), (["sweep", "--optimizers", "adam", "adam"], "more than once"),
])
def test_cli_refuses_counts_that_were_misread(tmp_path, args, expected):
    command, *rest = args
    where = ["--out", tmp_path / "out"] if command == "prepare" else ["--data", tmp_path / "data"]
    if command == "train":
        where += ["--run", tmp_path / "run"]
    assert_one_line(nmt_cli(command, *where, *rest), expected)
    assert not any(tmp_path.iterdir())


def test_split_refuses_non_positive_counts():
    pairs = [(f"s{i}", f"t{i}") for i in range(100)]
    for kwargs in ({"max_train": 0}, {"max_train": -5}, {"valid": -3, "test": 10}):
        with pytest.raises(ValueError, match="Invalid"):
            split_pairs(pairs, **{"valid": 10, "test": 10, "seed": 1, **kwargs})


@INTEGRATION
def test_prepare_never_deletes_folders_it_did_not_make(tmp_path):
    mine = tmp_path / "out" / "raw"
    mine.mkdir(parents=True)
    (mine / "notes.txt").write_text("the user's")
    assert_one_line(nmt_cli("prepare", "--out", tmp_path / "out"), "not made by nmt prepare")
    assert (mine / "notes.txt").read_text() == "the user's"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["raw"]


@INTEGRATION
def test_prepare_refuses_other_options_on_a_prepared_folder(tmp_path):
    from nmt.prepare import MARKER

    out = tmp_path / "out"
    out.mkdir()
    options = {"corpus": "bible-en-es", "valid": 500, "test": 1000, "max_train": 2000, "vocab_size": 4000, "seed": 1}
    (out / MARKER).write_text(__import__("json").dumps(options))
    (out / "prepared.json").write_text('{"old": "summary"}')
    assert_one_line(nmt_cli("prepare", "--out", out, "--max-train", "3000"), "max_train", "2000", "3000")
    assert (out / "prepared.json").read_text() == '{"old": "summary"}'


@INTEGRATION
def test_a_prepared_folder_missing_a_binary_is_prepared_again(tmp_path, capsys):
    """A finished folder (marker and prepared.json) whose bin/ lost a file is made again, not handed
    to fairseq-train (which then found no training data: seen on the GPU checks' rehearsal)."""
    from nmt.prepare import prepare

    out = tmp_path / "out"
    first = prepare("bible-en-es", out, valid=20, test=23, max_train=300, vocab_size=300)
    (out / "bin" / "train.en-es.en.bin").unlink()
    again = prepare("bible-en-es", out, valid=20, test=23, max_train=300, vocab_size=300)
    assert again == first and (out / "bin" / "train.en-es.en.bin").stat().st_size > 0
    assert "lacks train.en-es.en.bin: preparing it again" in capsys.readouterr().err


@INTEGRATION
def test_train_refuses_a_run_directory_made_with_other_options(tmp_path):
    from nmt.experiment import run_config
    from suite_results.rundir import claim, config_key

    (tmp_path / "data" / "bin").mkdir(parents=True)
    claim(tmp_path / "run", run_config(tmp_path / "data", "adashift", "transformer-tiny", "fast", 1, 300, 2048))
    result = nmt_cli("train", "--data", tmp_path / "data", "--run", tmp_path / "run", "--optimizer", "adashift",
                     "--max-update", "500")
    assert_one_line(result, "other options", "max_update")
    assert not (tmp_path / "run" / "train.log").exists()
    keys = {config_key(run_config(tmp_path / "data", "adashift", arch, hp, 1, updates, 2048))
            for arch, hp, updates in [("transformer-tiny", "fast", 300), ("lstm-tiny", "fast", 300),
                                      ("transformer-tiny", "paper", 300), ("transformer-tiny", "fast", 301)]}
    assert len(keys) == 4  # the sweep's run directories differ whenever an option does


@INTEGRATION
def test_evaluate_without_a_checkpoint_and_unwritable_out_are_one_line(tmp_path):
    assert_one_line(nmt_cli("evaluate", "--data", tmp_path, "--run", tmp_path / "run"), "checkpoint_best.pt")
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert_one_line(nmt_cli("prepare", "--out", blocker / "out"), "error:")


def test_evaluate_refuses_to_score_a_subset(tmp_path, monkeypatch):
    import json
    import subprocess

    from nmt import experiment

    data, run = tmp_path / "data", tmp_path / "run"
    (data / "raw").mkdir(parents=True)
    (data / "raw" / "test.es").write_text("uno\ndos\ntres\n", encoding="utf-8")
    (data / "prepared.json").write_text(json.dumps({"source": "en", "target": "es"}))
    (run / "checkpoints").mkdir(parents=True)
    (run / "checkpoints" / "checkpoint_best.pt").write_bytes(b"")
    seen = {}

    def fake_generate(command, **kwargs):
        seen["command"] = command
        return subprocess.CompletedProcess(command, 0, stdout="D-0\t-0.1\tuno\nD-2\t-0.1\ttres\n", stderr="")

    monkeypatch.setattr(experiment.subprocess, "run", fake_generate)
    with pytest.raises(experiment.UserError, match="translated 2 of the 3 test sentences"):
        experiment.evaluate(data, run)
    assert "--required-batch-size-multiple" in seen["command"]
    assert seen["command"][seen["command"].index("--required-batch-size-multiple") + 1] == "1"


def write_resumed_run(run_dir: Path) -> None:
    """TensorBoard events shaped like fairseq's for a run killed after its checkpoint at update 20 and
    resumed an hour later from it: one event file per invocation, the clock jumps by 3600 s."""
    from torch.utils.tensorboard import SummaryWriter

    t0 = 1_700_000_000.0
    for segment, (steps, clock, wall0) in enumerate([((10, 20, 30), t0, 0.0), ((30, 40), t0 + 3600, 20.0)]):
        inner = SummaryWriter(str(run_dir / "tb" / "train_inner"), filename_suffix=f".{segment}")
        valid = SummaryWriter(str(run_dir / "tb" / "valid"), filename_suffix=f".{segment}")
        for i, step in enumerate(steps):
            wall = wall0 + 10.0 * (i + 1)
            inner.add_scalar("wall", wall, step, walltime=clock + wall)
            inner.add_scalar("loss", 9.0, step, walltime=clock + wall)
            if step % 20 == 0:
                valid.add_scalar("loss", 10.0 - step / 10, step, walltime=clock + wall + 1)
        inner.close()
        valid.close()


def test_time_to_an_update_is_training_time_and_excludes_a_pause(tmp_path):
    from nmt.experiment import validation_curve

    write_resumed_run(tmp_path)
    assert validation_curve(tmp_path) == [(20, 8.0), (40, 6.0)]
    # the clock from the first training log; the resumed part's after the earlier part's span (20 s)
    assert validation_curve(tmp_path, with_time=True) == [(20, 8.0, 11.0), (40, 6.0, 31.0)]  # not 3631


def test_a_resumed_run_reports_the_seconds_of_its_earlier_part(tmp_path, monkeypatch):
    import subprocess

    from nmt import experiment

    (tmp_path / "data" / "bin").mkdir(parents=True)
    run = tmp_path / "run"
    monkeypatch.setattr(experiment.subprocess, "run", lambda *a, **k: subprocess.CompletedProcess(a, 0))
    fresh = experiment.fairseq_train(tmp_path / "data", run, ["--lr", "0.1"], {"lr": 0.1})
    assert fresh["wall_s"] < 5  # nothing logged before: this invocation only
    write_resumed_run(run)  # what the earlier invocations logged: spans of 20 s and 10 s
    resumed = experiment.fairseq_train(tmp_path / "data", run, ["--lr", "0.1"], {"lr": 0.1})
    assert 30 <= resumed["wall_s"] < 35


def test_a_run_stopped_for_a_while_does_not_count_the_stop(tmp_path, monkeypatch):
    """An invocation that stood SIGSTOPped for 45 minutes (scripts/with_sweeps_paused.sh) between two
    training logs: its wall_s leaves the stop out (its clock said 3100 s; it worked 400 s)."""
    import subprocess

    from torch.utils.tensorboard import SummaryWriter

    from nmt import experiment

    (tmp_path / "data" / "bin").mkdir(parents=True)
    run = tmp_path / "run"

    def train(*args, **kwargs):  # logs every 10 s, with the 2700 s stop after update 50
        inner = SummaryWriter(str(run / "tb" / "train_inner"))
        for step in range(10, 110, 10):
            inner.add_scalar("loss", 9.0, step, walltime=1_700_000_000.0 + step + (2700 if step > 50 else 0))
        inner.close()
        clock.append(3100.0)
        return subprocess.CompletedProcess(args, 0)

    clock = [0.0]
    monkeypatch.setattr(experiment.subprocess, "run", train)
    monkeypatch.setattr(experiment.time, "perf_counter", lambda: clock[-1])
    assert experiment.fairseq_train(tmp_path / "data", run, ["--lr", "0.1"], {"lr": 0.1})["wall_s"] == 400.0


def test_a_killed_fairseq_train_names_its_signal(tmp_path, monkeypatch):
    import subprocess

    from nmt import experiment
    from suite_results.cli import UserError

    (tmp_path / "data" / "bin").mkdir(parents=True)
    monkeypatch.setattr(experiment.subprocess, "run", lambda *a, **k: subprocess.CompletedProcess(a, -9))
    with pytest.raises(UserError, match=r"killed by SIGKILL: out of memory\? \(dmesg\); rerunning resumes"):
        experiment.fairseq_train(tmp_path / "data", tmp_path / "run", ["--lr", "0.1"], {"lr": 0.1})
    monkeypatch.setattr(experiment.subprocess, "run", lambda *a, **k: subprocess.CompletedProcess(a, 3))
    with pytest.raises(UserError, match=r"failed \(exit 3\)"):
        experiment.fairseq_train(tmp_path / "data", tmp_path / "run2", ["--lr", "0.1"], {"lr": 0.1})
