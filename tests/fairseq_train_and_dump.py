"""Runs ``fairseq-train`` unchanged, but every rank also writes its parameters and optimizer state.

fairseq saves checkpoints on rank 0 only; to show that data-parallel workers end identical, this
wrapper makes ``checkpoint_utils.save_checkpoint`` also dump ``rank<R>_state.pt`` into --save-dir.
Usage: python fairseq_train_and_dump.py <fairseq-train arguments>
"""

import os

import torch
from fairseq import checkpoint_utils
from fairseq_cli.train import cli_main

_save_checkpoint = checkpoint_utils.save_checkpoint


def save_checkpoint_and_dump(cfg, trainer, epoch_itr, val_loss):
    result = _save_checkpoint(cfg, trainer, epoch_itr, val_loss)
    os.makedirs(cfg.save_dir, exist_ok=True)
    state = {"model": trainer.model.state_dict(), "optimizer": trainer.optimizer.state_dict()}
    torch.save(state, os.path.join(cfg.save_dir, f"rank{trainer.data_parallel_rank}_state.pt"))
    return result


checkpoint_utils.save_checkpoint = save_checkpoint_and_dump

if __name__ == "__main__":
    cli_main()
