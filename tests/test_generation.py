"""The tiny model and the batch engine, on the same diffusers classes as production."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import torch
from diffusers import LTXImageToVideoPipeline

from generation.adapters import adapter_for, cogvideox, ltx, wan
from generation.engine import BatchEngine, render_requests
from generation.models import load_pipeline
from generation.tiny_model import TINY_MODEL_NAME, ensure_tiny_model
from storage.errors import ConfigError
from tests.helpers.generation import tiny_request as request


def weights_digest(model_dir) -> str:
    digest = hashlib.sha256()
    for path in sorted(model_dir.rglob("*.safetensors")):
        digest.update(path.read_bytes())
    return digest.hexdigest()


@pytest.fixture(scope="module")
def pipe(tmp_path_factory):
    return load_pipeline(TINY_MODEL_NAME, tmp_path_factory.mktemp("home"), "cpu")


def test_tiny_model_is_built_deterministically(tmp_path):
    first = weights_digest(ensure_tiny_model(tmp_path / "a"))
    assert weights_digest(ensure_tiny_model(tmp_path / "b")) == first


def test_tiny_model_loads_through_from_pretrained_as_ltx_image_to_video(pipe):
    assert isinstance(pipe, LTXImageToVideoPipeline)


def test_batch_returns_one_clip_per_request_in_order(pipe):
    requests = [request("mug", 1, (200, 0, 0)), request("shoe", 2, (0, 0, 200))]
    clips = render_requests(pipe, requests, max_batch=2)
    assert [c.request_hash for c in clips] == ["mug", "shoe"]
    assert clips[0].frames.shape == (9, 160, 96, 3) and clips[0].frames.dtype == np.uint8


def test_a_request_renders_the_same_inside_a_batch_as_alone(pipe):
    alone = render_requests(pipe, [request("lamp", 7, (0, 200, 0))], max_batch=1)[0]
    batched = render_requests(
        pipe, [request("mug", 1, (200, 0, 0)), request("lamp", 7, (0, 200, 0))], max_batch=2
    )[1]
    difference = np.abs(alone.frames.astype(int) - batched.frames.astype(int)).max() / 255
    assert difference <= 1e-3 + 1 / 255  # diffusers' tolerance, plus uint8 rounding


def test_missing_model_directory_names_the_setting(tmp_path):
    with pytest.raises(ConfigError, match=r"ADREEL_MODEL.*does not exist"):
        load_pipeline(str(tmp_path / "no-such-model"), tmp_path, "cpu")


def test_directory_without_model_index_names_the_setting(tmp_path):
    with pytest.raises(ConfigError, match=r"ADREEL_MODEL.*model_index\.json"):
        load_pipeline(str(tmp_path), tmp_path, "cpu")


class OutOfMemoryAbove:
    """Stands in for a GPU that fits at most ``limit`` requests per call (none here)."""

    def __init__(self, pipe, limit: int) -> None:
        self.pipe, self.limit, self.calls = pipe, limit, []
        self.device = pipe.device

    def __call__(self, **kwargs):
        self.calls.append(len(kwargs["prompt"]))
        if len(kwargs["prompt"]) > self.limit:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory (simulated)")
        return self.pipe(**kwargs)


def test_out_of_memory_halves_the_batch_remembers_it_and_loses_nothing(pipe):
    gpu = OutOfMemoryAbove(pipe, limit=2)
    engine = BatchEngine(gpu, max_batch=8, adapter=ltx)
    requests = [request(f"r{n}", n, (40 * n, 0, 0)) for n in range(5)]
    clips = engine.render(requests)
    assert [c.request_hash for c in clips] == [r.request_hash for r in requests]
    assert gpu.calls == [5, 2, 2, 1]  # 5 fails, halves to 2, then remembers 2
    assert engine.fitting == {requests[0].bucket_key: 2}
    alone = render_requests(pipe, [requests[3]], max_batch=1)[0]
    assert np.abs(alone.frames.astype(int) - clips[3].frames.astype(int)).max() <= 1


def test_a_single_request_that_does_not_fit_fails_loudly(pipe):
    engine = BatchEngine(OutOfMemoryAbove(pipe, limit=0), max_batch=4, adapter=ltx)
    with pytest.raises(torch.cuda.OutOfMemoryError):
        engine.render([request("big", 1, (0, 0, 0))])


@pytest.mark.parametrize(
    ("family", "width", "height", "frames", "message"),
    [
        (ltx, 100, 160, 9, r"divisible by 32; got 100x160 \(nearest: 96x160\)"),
        (ltx, 96, 160, 10, r"8k\+1 frames; got 10 \(nearest: 9\)"),
        (wan, 104, 160, 81, "divisible by 16"),
        (wan, 96, 160, 80, r"4k\+1 frames"),
        (cogvideox, 720, 480, 48, r"8k\+1 frames"),
    ],
)
def test_adapters_refuse_shapes_their_model_cannot_take(family, width, height, frames, message):
    with pytest.raises(ValueError, match=message):
        family.check_inputs(width, height, frames)


def test_every_family_accepts_its_native_shape():
    ltx.check_inputs(768, 512, 121)
    wan.check_inputs(832, 480, 81)
    cogvideox.check_inputs(720, 480, 49)


def test_unknown_pipeline_has_no_adapter():
    with pytest.raises(ValueError, match="no adapter for pipeline object"):
        adapter_for(object())


def test_a_product_image_gone_from_the_store_renders_without_it(adreel_env, tmp_path):
    from campaigns.planning import plan_renders
    from catalog.products import list_products
    from catalog.sample import write_sample_catalog
    from catalog.upload import upload_catalog
    from generation.dispatch import run_render_jobs
    from generation.jobs import get_render_jobs
    from storage.services import services
    from tests.helpers.ledger import new_merchant

    svc = services()
    with svc.db.connection() as conn:
        merchant = new_merchant(conn, "img")
    upload_catalog(svc, merchant, write_sample_catalog(tmp_path))
    with svc.db.connection() as conn:
        chosen = list_products(conn, merchant)[:3]
    svc.store.delete(chosen[1]["image_key"])
    hashes = plan_renders(svc, merchant, [p["product_id"] for p in chosen], "preview")
    run_render_jobs(hashes, svc.settings, svc.db, svc.store)  # nothing fails
    with svc.db.connection() as conn:
        jobs = {j["product_id"]: j for j in get_render_jobs(conn, hashes)}
    assert {pid: job["status"] for pid, job in jobs.items()} == dict.fromkeys(jobs, "done")
    assert jobs[chosen[1]["product_id"]]["warning"] == (
        "rendered without product image: its image "
        f"{chosen[1]['image_key']} is missing from the object store"
    )
    assert jobs[chosen[0]["product_id"]]["warning"] is None
