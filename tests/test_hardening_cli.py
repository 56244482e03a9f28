"""Third hardening round, the command lines (issue "Hardening, third round"): each refusal is one line
naming the bad value, exit status 2, and nothing is written for an invalid command."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent


def cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True, cwd=cwd or ROOT,
                          timeout=300)


def one_line_error(result, *words):
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    for word in words:
        assert word in last, last
    return last


@pytest.mark.parametrize("device", ["nosuch", "cuda:99" if torch.cuda.is_available() else "cuda"])
def test_gan_train_refuses_a_device_it_cannot_use_in_one_line(tmp_path, device):
    out = tmp_path / "run"
    result = cli("gan.train", "--dataset", "8gaussians", "--iterations", "2", "--device", device, "--out", str(out))
    last = one_line_error(result, "device", device.split(":")[0])
    assert last.startswith("python -m gan.train: error:")  # the program's own name, not train.py
    assert not out.exists()


@pytest.mark.parametrize("content", [b"not a checkpoint", b"PK\x03\x04truncated"])
@pytest.mark.parametrize("step", ["step-size", "step-scale"])
def test_nmt_step_size_and_scale_refuse_an_unreadable_file_in_one_line(tmp_path, step, content):
    bad = tmp_path / "checkpoint_last.pt"
    bad.write_bytes(content)
    one_line_error(cli("nmt", step, str(bad)), str(bad), "not a readable checkpoint")
    one_line_error(cli("nmt", step, str(tmp_path)), "a directory, not a checkpoint file")


@pytest.mark.parametrize("bad", [["--keep-num", "0"], ["--betas", "1.0", "0.9"], ["--reduce", "bogus"]])
def test_vision_train_refuses_a_bad_optimizer_option_before_writing_anything(tmp_path, bad):
    out = tmp_path / "run"
    args = ["vision", "train", "--optimizer", "adashift", "--epochs", "1", "--train-limit", "64", "--valid", "32",
            "--out", str(out)]
    one_line_error(cli(*args, *bad), "Invalid")
    assert not out.exists()


@pytest.mark.parametrize("limit", ["-5", "0"])
def test_vision_train_refuses_a_train_limit_below_one(tmp_path, limit):
    out = tmp_path / "run"
    one_line_error(cli("vision", "train", "--train-limit", limit, "--out", str(out)), "train_limit", limit)
    assert not out.exists()


def test_theory_run_with_an_unusable_runs_folder_leaves_no_out_folder(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")  # --runs below a file: it cannot be made (root ignores read-only modes)
    out = tmp_path / "out"
    one_line_error(cli("theory.run", "--scale", "tiny", "--only", "sequential", "--out", str(out),
                       "--runs", str(blocker / "tb")), str(blocker))
    assert not out.exists()


LONG_OUT = {
    "gan.train": ["gan.train", "--dataset", "8gaussians", "--iterations", "2", "--out"],
    "vision train": ["vision", "train", "--epochs", "1", "--train-limit", "64", "--valid", "32", "--out"],
    "theory.run": ["theory.run", "--scale", "tiny", "--only", "sequential", "--runs", "{tmp}/tb", "--out"],
}


@pytest.mark.parametrize("command", list(LONG_OUT))
def test_a_too_long_out_is_one_line_and_leaves_nothing(tmp_path, command):
    out = tmp_path / ("x" * 4060)
    result = cli(*[a.replace("{tmp}", str(tmp_path)) for a in LONG_OUT[command]], str(out))
    one_line_error(result, "name too long")
    assert list(tmp_path.iterdir()) == []
