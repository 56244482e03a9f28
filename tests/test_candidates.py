"""Candidates as data (suite_results/candidates.toml): the built-ins render to exactly the settings their
checked-in rows were keyed with, and a user's candidate is checked before anything runs."""

from __future__ import annotations

import pytest

from suite_results import candidates

AUTHORS_ADAM = ["--adam-betas", "(0.0, 0.9)"]
# the NMT and vision candidates as they were written before they became data: every checked-in row's key holds these
NMT_BEFORE = {
    "adam": (["--optimizer", "plugin_adam", "--adam-betas", "(0.9, 0.98)"], [3e-4, 1e-3, 3e-3]),
    "amsgrad": (["--optimizer", "amsgrad", "--adam-betas", "(0.9, 0.98)"], [3e-4, 1e-3, 3e-3]),
    "adamal": (["--optimizer", "adamal", "--adam-betas", "(0.9, 0.98)"], [3e-4, 1e-3, 3e-3]),
    "adopt": (["--optimizer", "adopt"], [3e-4, 1e-3, 3e-3]),
    "adashift-paper": (["--optimizer", "adashift", "--adam-betas", "(0.0, 0.9)", "--keep-num", "40",
                        "--reduce", "max"], [3e-3, 1e-2, 3e-2]),
    "adashift-transformer": (["--optimizer", "adashift", "--adam-betas", "(0.0, 0.999)", "--keep-num", "1",
                              "--reduce", "max"], [3e-4, 1e-3, 3e-3]),
    "sgd": (["--optimizer", "sgd", "--momentum", "0.9"], [0.03, 0.1, 0.3]),
    "fairseq-adam": (["--optimizer", "adam", "--adam-betas", "(0.9, 0.98)"], []),
    "adashift-elementwise": (["--optimizer", "adashift", "--adam-betas", "(0.0, 0.999)", "--keep-num", "1",
                              "--reduce", "none"], [3e-4, 1e-3, 3e-3]),
    "adam-authors": (["--optimizer", "plugin_adam", *AUTHORS_ADAM], []),
    "amsgrad-authors": (["--optimizer", "amsgrad", *AUTHORS_ADAM], []),
    "adashift-authors": (["--optimizer", "adashift", "--adam-betas", "(0.0, 0.9)", "--keep-num", "40",
                          "--reduce", "max"], []),
}
VISION_BEFORE = {
    "sgd": ({"optimizer": "sgd", "momentum": 0.9}, [0.03, 0.1, 0.3]),
    "adam": ({"optimizer": "adam"}, [3e-4, 1e-3, 3e-3]),
    "amsgrad": ({"optimizer": "amsgrad"}, [3e-4, 1e-3, 3e-3]),
    "adamal": ({"optimizer": "adamal"}, [3e-4, 1e-3, 3e-3]),
    "adopt": ({"optimizer": "adopt"}, [3e-4, 1e-3, 3e-3]),
    "adashift-authors": ({"optimizer": "adashift", "keep_num": 10, "reduce": "max", "betas": (0.9, 0.999)},
                         [3e-3, 1e-2, 3e-2]),
    "adashift-elementwise": ({"optimizer": "adashift", "keep_num": 1, "reduce": "none", "betas": (0.0, 0.999)},
                             [3e-4, 1e-3, 3e-3]),
}


def test_the_built_ins_render_to_the_settings_their_rows_were_keyed_with():
    from nmt import benchmark as nmt
    from vision import benchmark as vision

    assert nmt.CANDIDATES == NMT_BEFORE and list(vision.CANDIDATES) == list(VISION_BEFORE)
    assert vision.CANDIDATES == VISION_BEFORE
    assert nmt.FIXED_LR == {"fairseq-adam": 3e-3, "adam-authors": 1e-4, "amsgrad-authors": 1e-4, "adashift-authors": 1e-2}
    assert nmt.SAME_RUNS == {"adashift-authors": "adashift-paper"}


def test_an_outside_optimizer_renders_to_the_generic_fairseq_optimizer_and_vision_options():
    from nmt import benchmark as nmt
    from vision import benchmark as vision

    c = candidates.user_candidate("torch.optim:NAdam", settings={"momentum_decay": 0.004, "betas": (0.9, 0.98)})
    assert c.name == "nadam" and c.lr_grid == (pytest.approx(2e-3 / 3), 2e-3, 6e-3)  # NAdam's default lr 2e-3
    assert nmt.flags_of(c) == ["--optimizer", "torch", "--optimizer-class", "torch.optim.NAdam", "--optimizer-kwargs",
                               '{"momentum_decay": 0.004}', "--adam-betas", "(0.9, 0.98)"]
    assert vision.settings_of(c) == {"optimizer": "torch.optim:NAdam", "betas": (0.9, 0.98),
                                     "optimizer_options": {"momentum_decay": 0.004}}


def test_bad_candidates_are_one_line_errors(tmp_path):
    with pytest.raises(ValueError, match="does not take momentum"):
        candidates.user_candidate("torch.optim:NAdam", settings={"momentum": 0.9})
    with pytest.raises(ValueError, match="cannot import"):
        candidates.user_candidate("nosuch.module:Opt")
    bad = tmp_path / "mine.toml"
    bad.write_text('[mine]\noptimizer = "adam"\nlr_grid = [1e-3]\nfixed_lr = 1e-3\n')
    with pytest.raises(ValueError, match="either an lr_grid"):
        candidates.load(bad)
    bad.write_text('[mine]\noptimizer = "adam"\nlr_grid = [1e-3]\nbetaz = 1\n')
    with pytest.raises(ValueError, match="unknown field"):
        candidates.load(bad)
    bad.write_text('[mine]\noptimizer = "adam"\nlr_grid = [1e-3, -1e-3]\n')
    with pytest.raises(ValueError, match=r"mine.toml: candidate 'mine': lr -0.001 \(expected a positive number\)"):
        candidates.load(bad)
    for grid, said in (([-1.0], "lr -1.0"), ([float("nan")], "lr nan"), ([0.0], "lr 0.0"),
                       ([1e-3, 1e-3], "lr 0.001 given more than once")):  # --lr-grid: refused before anything runs
        with pytest.raises(ValueError, match=f"--lr-grid: {said}"):
            candidates.user_candidate("torch.optim:NAdam", lr_grid=grid)
    assert candidates.parse_settings(["betas=0.9,0.99", "foreach=false", "name=x"]) == \
        {"betas": (0.9, 0.99), "foreach": False, "name": "x"}


@pytest.mark.parametrize("name", ["../../evil", "a/b", "", ".hidden", "-x", "two words", ".."])
def test_a_name_that_is_not_a_plain_folder_name_is_refused(tmp_path, name):
    # the name becomes results/settle/<name> and run folders: nothing may escape them
    with pytest.raises(ValueError, match="candidate name"):
        candidates.user_candidate("torch.optim:NAdam", name=name)
    bad = tmp_path / "mine.toml"
    bad.write_text(f'["{name}"]\noptimizer = "adam"\nlr_grid = [1e-3]\n')
    with pytest.raises(ValueError, match="candidate name"):
        candidates.load(bad)


def test_every_built_in_name_is_a_plain_folder_name():
    assert candidates.user_candidate("torch.optim:NAdam", name="nadam-v2.1_a").name == "nadam-v2.1_a"
    for family in ("nmt", "vision"):
        assert candidates.builtin(family)  # loading checks each name


def test_a_fixed_lr_or_a_value_the_class_refuses_is_one_line_before_anything_runs():
    with pytest.raises(ValueError, match="lr is what the protocol tunes"):
        candidates.user_candidate("torch.optim:NAdam", settings={"lr": 0.1})
    with pytest.raises(ValueError, match=r"refuses \{'betas': \(0.9, 1.5\)\}: Invalid beta parameter"):
        candidates.user_candidate("torch.optim:NAdam", settings={"betas": (0.9, 1.5)})
    with pytest.raises(ValueError, match="refuses .*'momentum_decay': 'abc'"):
        candidates.user_candidate("torch.optim:NAdam", settings={"momentum_decay": "abc"})
    for family in ("nmt", "vision"):  # every built-in candidate passes the same checks
        for c in candidates.builtin(family).values():
            candidates.check(c)
