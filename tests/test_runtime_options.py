"""How a pipeline runs on its device: decided by one function, tested without a GPU."""

from __future__ import annotations

import logging

import pytest
import torch

from generation.models import load_pipeline
from generation.runtime import RuntimeOptions, apply_runtime_options, runtime_options
from generation.tiny_model import TINY_MODEL_NAME


def test_cpu_runs_float32_without_tiling_or_compile():
    options = runtime_options(torch.device("cpu"))
    assert options == RuntimeOptions(torch.float32, vae_tiling=False, compile_transformer=False)


def test_compile_asked_for_on_cpu_is_ignored_and_says_why():
    options = runtime_options(torch.device("cpu"), compile_requested=True)
    assert not options.compile_transformer
    assert options.notes == (
        "ADREEL_TORCH_COMPILE ignored on cpu: the transformer is compiled only on CUDA",
    )


@pytest.mark.parametrize("compile_requested", [False, True])
def test_cuda_runs_bf16_with_vae_tiling_and_compiles_only_when_asked(compile_requested):
    options = runtime_options(torch.device("cuda", 1), compile_requested)
    assert (options.dtype, options.vae_tiling) == (torch.bfloat16, True)
    assert options.compile_transformer is compile_requested and options.notes == ()


class Notes(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def test_the_loaded_cpu_pipeline_is_float32_untiled(tmp_path):
    pipe = load_pipeline(TINY_MODEL_NAME, tmp_path, "cpu")
    assert pipe.transformer.dtype == torch.float32 and pipe.vae.dtype == torch.float32
    assert not pipe.vae.use_tiling


def test_applying_cpu_options_with_compile_asked_logs_the_note_and_compiles_nothing(tmp_path):
    pipe = load_pipeline(TINY_MODEL_NAME, tmp_path, "cpu")
    notes = Notes()
    logging.getLogger("generation.runtime").addHandler(notes)
    try:
        apply_runtime_options(pipe, runtime_options(torch.device("cpu"), compile_requested=True))
    finally:
        logging.getLogger("generation.runtime").removeHandler(notes)
    assert notes.lines == [
        "ADREEL_TORCH_COMPILE ignored on cpu: the transformer is compiled only on CUDA"
    ]
    assert type(pipe.transformer).__name__ == "LTXVideoTransformer3DModel"
    assert pipe.transformer._compiled_call_impl is None  # nn.Module.compile() sets it


def test_applying_cuda_options_tiles_the_vae(tmp_path):
    # Tiling is a VAE switch, the same on any device: the tiny VAE shows it is set.
    pipe = load_pipeline(TINY_MODEL_NAME, tmp_path, "cpu")
    apply_runtime_options(pipe, RuntimeOptions(torch.float32, True, False))
    try:
        assert pipe.vae.use_tiling
    finally:
        pipe.vae.disable_tiling()  # the pipeline is cached for the rest of the session
