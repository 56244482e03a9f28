"""Our optimizers through the real timm factory and the real Hugging Face Trainer (no mocks): built
by name there, the same training as building them by hand, and a Trainer run resumed from its
checkpoint equal to an uninterrupted one. Nothing is downloaded: the models come from configs."""

from __future__ import annotations

import sys
import types

import pytest
import torch

timm = pytest.importorskip("timm", reason="timm is not installed (scripts/setup_env.sh installs it)")
transformers = pytest.importorskip("transformers", reason="transformers is not installed (scripts/setup_env.sh)")

from optim_plugins import OPTIMIZERS  # noqa: E402
from optim_plugins.integrations import huggingface as hf  # noqa: E402
from optim_plugins.integrations import timm as timm_integration  # noqa: E402

OURS = [n for n in OPTIMIZERS if n != "sgd"]


def _timm_model():
    torch.manual_seed(0)
    return timm.create_model("test_resnet", num_classes=3, pretrained=False)


def _train(model, optimizer, steps=3):
    generator = torch.Generator().manual_seed(1)
    for _ in range(steps):
        images = torch.randn(2, 3, 32, 32, generator=generator)
        labels = torch.randint(0, 3, (2,), generator=generator)
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(images), labels).backward()
        optimizer.step()
    return [p.detach().clone() for p in model.parameters()]


@pytest.mark.integration
@pytest.mark.parametrize("name", [*OURS, "adashiftw"])
def test_timm_factory_builds_ours_with_its_groups_and_trains_as_by_hand(name):
    from timm.optim import create_optimizer_v2, param_groups_weight_decay

    names = timm_integration.register()
    registered = name if name in names else timm_integration.PREFIX + name
    extras = {"keep_num": 2} if "adashift" in name else {}
    model = _timm_model()
    optimizer = create_optimizer_v2(model, registered, lr=1e-3, weight_decay=0.05, **extras)
    ours = OPTIMIZERS[name.rstrip("w") if name.endswith("w") and name != "adamw" else name]
    assert type(optimizer) is ours
    assert {g["weight_decay"] for g in optimizer.param_groups} == {0.0, 0.05}  # timm's no-decay group for biases/norms
    if name == "adashiftw":
        assert all(g["decoupled_weight_decay"] for g in optimizer.param_groups)
    via_timm = _train(model, optimizer)
    by_hand_model = _timm_model()
    groups = param_groups_weight_decay(by_hand_model, weight_decay=0.05)
    by_hand = ours(groups, lr=1e-3, **extras, **({"decoupled_weight_decay": True} if name == "adashiftw" else {}))
    for a, b in zip(via_timm, _train(by_hand_model, by_hand)):
        assert torch.equal(a, b)


@pytest.mark.integration
def test_timm_layer_decay_and_foreach_reach_our_optimizer():
    from timm.optim import create_optimizer_v2

    timm_integration.register()
    model = _timm_model()
    optimizer = create_optimizer_v2(model, "adashift", lr=1e-3, weight_decay=0.05, layer_decay=0.8, foreach=False,
                                    keep_num=1)
    scales = {g["lr_scale"] for g in optimizer.param_groups}
    assert len(scales) > 2 and max(scales) == 1.0  # one scale per layer depth, applied by timm's schedulers
    assert all(g["foreach"] is False for g in optimizer.param_groups)
    _train(model, optimizer, steps=2)


def test_timm_names_never_take_timm_s_own_unless_asked():
    from timm.optim._optim_factory import default_registry

    names = timm_integration.register()
    assert "adashift" in names and "suite-adam" in names and "suite-adopt" in names
    assert default_registry.get_optimizer_info("adam").opt_class is torch.optim.Adam  # timm's own stays
    assert default_registry.get_optimizer_info("adopt").opt_class.__module__.startswith("timm")


def test_a_timm_without_its_registry_gets_one_line_naming_the_version(monkeypatch):
    fake = types.ModuleType("timm.optim._optim_factory")  # a timm version that moved its registry
    monkeypatch.setitem(sys.modules, "timm.optim._optim_factory", fake)
    with pytest.raises(timm_integration.TimmVersionError, match=rf"timm {timm.__version__} has no "):
        timm_integration.register()


def test_trainer_optimizer_reads_training_arguments_and_lets_keywords_win(tmp_path):
    args = transformers.TrainingArguments(str(tmp_path), learning_rate=3e-4, adam_beta1=0.8, adam_beta2=0.99,
                                          adam_epsilon=1e-7, report_to=[], use_cpu=True)
    cls, kwargs = hf.trainer_optimizer("adashift", args, keep_num=5, eps=1e-10)
    assert cls is OPTIMIZERS["adashift"]
    assert kwargs == {"lr": 3e-4, "betas": (0.8, 0.99), "eps": 1e-10, "decoupled_weight_decay": True, "keep_num": 5}
    assert hf.trainer_optimizer("adamnc", args)[1] == {"lr": 3e-4, "beta1": 0.8, "eps": 1e-7}  # no decoupled option
    with pytest.raises(ValueError, match="Unknown optimizer 'lion'"):
        hf.trainer_optimizer("lion")
    with pytest.raises(ValueError, match="Unknown hyperparameter"):
        hf.trainer_optimizer("adam", keep_numm=3)


def test_a_transformers_without_the_hook_gets_one_line_naming_the_version(monkeypatch):
    class OldTrainer:
        def __init__(self, model=None, args=None, optimizers=(None, None)):
            pass

    monkeypatch.setattr(hf, "_trainer_class", lambda: OldTrainer)  # the Trainer of a version before the hook
    with pytest.raises(hf.TransformersVersionError, match=rf"transformers {transformers.__version__}: Trainer takes no"):
        hf.trainer_optimizer("adashift")


class _Data(torch.utils.data.Dataset):
    def __init__(self):
        generator = torch.Generator().manual_seed(0)
        self.ids = torch.randint(0, 40, (32, 8), generator=generator)
        self.labels = torch.randint(0, 2, (32,), generator=generator)

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        return {"input_ids": self.ids[i], "labels": self.labels[i]}


def _tiny_bert():
    torch.manual_seed(0)
    config = transformers.BertConfig(vocab_size=40, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                                     intermediate_size=32, max_position_embeddings=16, num_labels=2,
                                     hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    return transformers.BertForSequenceClassification(config)


@pytest.mark.integration
def test_the_trainer_trains_with_adashift_and_resumes_from_its_checkpoint_exactly(tmp_path):
    def trainer(out):
        args = transformers.TrainingArguments(str(out), max_steps=6, per_device_train_batch_size=4,
                                              learning_rate=1e-3, save_strategy="steps", save_steps=3,
                                              logging_steps=100, report_to=[], seed=0, use_cpu=True,
                                              disable_tqdm=True, dataloader_num_workers=0)
        return transformers.Trainer(model=_tiny_bert(), args=args, train_dataset=_Data(),
                                    optimizer_cls_and_kwargs=hf.trainer_optimizer("adashift", args, keep_num=2))

    whole = trainer(tmp_path / "whole")
    whole.train()
    assert type(whole.optimizer.optimizer if hasattr(whole.optimizer, "optimizer") else whole.optimizer) \
        is OPTIMIZERS["adashift"]
    resumed = trainer(tmp_path / "whole")  # the same run, restarted from its step-3 checkpoint
    resumed.train(resume_from_checkpoint=str(tmp_path / "whole" / "checkpoint-3"))
    moved = False
    for (name, a), b in zip(whole.model.named_parameters(), resumed.model.parameters()):
        assert torch.equal(a, b), name
        moved = moved or not torch.equal(a, _tiny_bert().state_dict()[name])
    assert moved
