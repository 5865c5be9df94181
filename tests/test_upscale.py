"""The final profile's upscale pass: LTX's latent upsampler, a tiny one built in code."""

from __future__ import annotations

import numpy as np
import pytest

from generation.adapters import cogvideox, wan
from generation.engine import RenderRequest, render_requests
from generation.models import check_upscale_family, load_pipeline, load_upsamplers
from generation.profiles import UpscaleStage, render_profile
from generation.tiny_model import TINY_MODEL_NAME, TINY_UPSAMPLER_NAME
from storage.errors import ConfigError
from tests.helpers.generation import tiny_request


def request(name: str, seed: int, color: tuple[int, int, int]) -> RenderRequest:
    return tiny_request(name, seed, color, upscale=TINY_UPSAMPLER_NAME)


@pytest.fixture(scope="module")
def pipe(tmp_path_factory):
    return load_pipeline(TINY_MODEL_NAME, tmp_path_factory.mktemp("home"), "cpu")


def test_the_final_profile_upscales_and_the_preview_does_not():
    final = render_profile(TINY_MODEL_NAME, "final")
    assert final.upscale == UpscaleStage(model=TINY_UPSAMPLER_NAME, factor=2)
    assert final.as_dict()["upscale"] == {"model": TINY_UPSAMPLER_NAME, "factor": 2}
    # No stage, no key: the hashes of jobs planned before upscaling existed still hold.
    assert "upscale" not in render_profile(TINY_MODEL_NAME, "preview").as_dict()


@pytest.fixture(scope="module")
def lamp_alone(pipe):
    return render_requests(pipe, [request("lamp", 7, (0, 200, 0))], max_batch=1)[0]


def test_an_upscaled_clip_has_twice_the_width_and_height(lamp_alone):
    assert lamp_alone.frames.shape == (9, 320, 192, 3) and lamp_alone.frames.dtype == np.uint8
    assert lamp_alone.frames.std() > 0  # decoded frames, not a blank


def test_an_upscaled_request_renders_the_same_inside_a_batch_as_alone(pipe, lamp_alone):
    batched = render_requests(
        pipe, [request("mug", 1, (200, 0, 0)), request("lamp", 7, (0, 200, 0))], max_batch=2
    )[1]
    difference = np.abs(lamp_alone.frames.astype(int) - batched.frames.astype(int)).max() / 255
    assert difference <= 1e-3 + 1 / 255  # diffusers' tolerance, plus uint8 rounding


def test_upscaled_and_plain_requests_are_different_buckets():
    upscaled = request("cup", 3, (0, 0, 200))
    plain = RenderRequest(**{**upscaled.__dict__, "upscale": None})
    assert upscaled.bucket_key != plain.bucket_key  # so they never share a pipeline call


def test_a_factor_the_upsampler_does_not_have_fails_in_one_line(pipe, tmp_path):
    stages = {"final": UpscaleStage(TINY_UPSAMPLER_NAME, 3)}
    with pytest.raises(ConfigError) as error:
        load_upsamplers(pipe, stages, tmp_path, "profiles.yaml: builtin:tiny")
    assert str(error.value) == (
        "profiles.yaml: builtin:tiny final upscale: factor 3, but 'builtin:tiny-upsampler' "
        "upscales by 2"
    )


def test_a_missing_upsampler_directory_names_the_profile(pipe, tmp_path):
    stages = {"final": UpscaleStage(str(tmp_path / "no-upsampler"), 2)}
    with pytest.raises(ConfigError, match=r"^profiles.yaml: m final upscale: model directory"):
        load_upsamplers(pipe, stages, tmp_path, "profiles.yaml: m")


@pytest.mark.parametrize("family", [wan, cogvideox])
def test_a_family_without_a_latent_upsampler_refuses_an_upscale_stage(family):
    with pytest.raises(ConfigError, match="has no latent upsampler in diffusers; remove"):
        check_upscale_family(family, "profiles.yaml: some/wan final upscale")


def test_an_upsampler_no_profile_names_is_a_clear_error(pipe):
    stray = RenderRequest(**{**request("cup", 3, (0, 0, 200)).__dict__, "upscale": "other/up"})
    with pytest.raises(ValueError, match="upsampler 'other/up' was not loaded with this model"):
        render_requests(pipe, [stray], max_batch=1)
