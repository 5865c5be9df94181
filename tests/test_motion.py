"""builtin:motion, the CPU clip tier: deterministic, seeded, keeps the product, moves,
takes any image a merchant uploads, and renders an ad end to end without torch."""

from __future__ import annotations

import hashlib
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from generation.clips import RenderRequest
from generation.motion import MOTION_MODEL_NAME, MotionEngine
from generation.motion.clip import FramePool
from generation.motion.cutout import product_layer
from tests.helpers.motion import as_jpeg, busy_photo, product_photo

SIZE, FRAMES = (180, 320), 24  # small clips prove the point


def request(image: Image.Image, seed: int = 7, **extra) -> RenderRequest:
    values = dict(width=SIZE[0], height=SIZE[1], num_frames=FRAMES, fps=12) | extra
    return RenderRequest(f"r{seed}", image, "", "", seed, steps=0, guidance=0.0, **values)


def render(image: Image.Image, seed: int = 7, **extra) -> np.ndarray:
    return MotionEngine().render([request(image, seed, **extra)], max_batch=1)[0].frames


@pytest.fixture(scope="module")
def photo() -> Image.Image:
    return as_jpeg(product_photo(600))


def test_the_same_request_renders_the_same_frames(photo):
    first, again = render(photo), render(photo)
    assert first.shape == (FRAMES, SIZE[1], SIZE[0], 3)
    assert hashlib.sha256(first).digest() == hashlib.sha256(again).digest()


def test_a_reused_frame_buffer_gives_the_same_clip_and_a_held_one_is_never_reused(photo):
    first = render(photo, seed=3)
    expected = hashlib.sha256(first).digest()
    view = first[::2]  # a slice of a clip keeps its buffer taken, as the clip itself does
    del first
    other = render(photo, seed=4)
    assert not np.shares_memory(view, other)
    del view, other  # both buffers free: the next clip draws over one of them
    again = render(photo, seed=3)
    assert hashlib.sha256(again).digest() == expected


def test_the_frame_pool_keeps_to_its_limit():
    pool = FramePool(limit=100)
    held = [pool.take((2, 3, 4)) for _ in range(5)]  # 24 bytes each: the fifth is unpooled
    assert len(pool.buffers) == 4 and len({id(b) for b in held}) == 5
    del held[1]
    assert pool.take((2, 3, 4)) is pool.buffers[1]  # released, so handed out again
    assert pool.take((1000,)).shape == (1000,)  # larger than the pool: never kept
    del held
    pool.take((5, 10))  # room made by dropping free buffers of another shape
    assert sum(b.nbytes for b in pool.buffers) <= 100


def test_seeds_differ_visibly(photo):
    a, b = render(photo, seed=1), render(photo, seed=2)
    assert np.abs(a.astype(int) - b.astype(int)).mean() > 12


def test_the_clip_moves(photo):
    frames = render(photo).astype(int)
    steps = [np.abs(frames[i + 1] - frames[i]).mean() for i in range(FRAMES - 1)]
    assert min(steps) > 0.05  # never frozen
    assert np.abs(frames[-1] - frames[0]).mean() > 2  # and it goes somewhere


@pytest.mark.parametrize("kind", ["white_jpeg", "transparent_png"])
def test_the_cut_out_keeps_the_product(kind):
    image = as_jpeg(product_photo(400)) if kind == "white_jpeg" else product_photo(400, alpha=True)
    layer = product_layer(image)
    assert not layer.plate
    # the product spans 14%..86% x 28%..76% of the photo: the crop keeps all of it
    assert layer.rgb.shape[1] >= 0.70 * 400 and layer.rgb.shape[0] >= 0.46 * 400
    inside = layer.alpha[
        layer.alpha.shape[0] // 2, layer.alpha.shape[1] // 4 : -layer.alpha.shape[1] // 4
    ]
    assert inside.min() > 200  # solid through the body
    corners = layer.alpha[[0, 0, -1], [0, -1, 0]]
    assert corners.max() < 40  # the backdrop is gone
    red = layer.rgb[layer.alpha > 200].astype(int)
    assert ((red[:, 0] > 150) & (red[:, 1] < 80)).mean() > 0.3  # and it is the red shoe


def test_a_busy_photo_is_a_plate_and_still_fills_the_frame():
    layer = product_layer(busy_photo())
    assert layer.plate
    frame = render(busy_photo())[FRAMES // 2]
    assert frame.std() > 10


def _bad_inputs() -> dict[str, Image.Image]:
    shoe = product_photo(240)
    sixteen = Image.fromarray((np.asarray(shoe.convert("L"), np.uint16) * 257), "I;16")
    return {
        "tiny": product_photo(40),
        "cmyk": shoe.convert("CMYK"),
        "palette": shoe.convert("P", palette=Image.Palette.ADAPTIVE),
        "palette_transparent": product_photo(240, alpha=True).convert("PA"),
        "sixteen_bit": sixteen,
        "transparent": product_photo(240, alpha=True),
        "greyscale_alpha": product_photo(240, alpha=True).convert("LA"),
        "all_transparent": Image.new("RGBA", (200, 200), (0, 0, 0, 0)),
        "all_white": Image.new("RGB", (200, 200), (255, 255, 255)),
    }


@pytest.mark.parametrize("kind", sorted(_bad_inputs()))
def test_every_image_kind_renders(kind):
    frames = render(_bad_inputs()[kind], num_frames=6)
    assert frames.shape == (6, SIZE[1], SIZE[0], 3)
    assert frames.std() > 3  # a scene, never an empty frame


def test_a_huge_photo_renders():
    huge = Image.new("RGB", (8660, 5780), (250, 250, 250))  # 50 MP
    huge.paste((200, 40, 45), (2000, 2000, 6600, 4000))
    frames = render(huge, num_frames=4)
    assert frames.std() > 3


def test_a_product_that_cannot_be_cut_out_falls_back_to_the_plate_with_a_note():
    # a white backdrop the "product" fills almost entirely: nothing trustworthy to cut
    image = Image.new("RGB", (300, 300), (255, 255, 255))
    image.paste((250, 250, 250), (3, 3, 297, 297))
    clip = MotionEngine().render([request(image, num_frames=4)], max_batch=1)[0]
    assert clip.notes and "shown as a plate" in clip.notes[0]
    assert clip.frames.std() > 3


def test_extra_images_get_scenes_of_their_own(photo):
    frames = render(photo, extra_images=(busy_photo(),), num_frames=24)
    assert np.abs(frames[3].astype(int) - frames[20].astype(int)).mean() > 10


def test_rendering_with_motion_imports_no_torch():
    code = (
        "import sys; import generation.rendering, generation.tiers;"
        "generation.tiers.check_models('builtin:motion', __import__('pathlib').Path('.'));"
        "print('torch' in sys.modules or 'diffusers' in sys.modules)"
    )
    assert (
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip()
        == "False"
    )


def test_a_profile_naming_an_unknown_model_fails_in_one_line(tmp_path, monkeypatch):
    from generation import profiles
    from generation.tiers import check_models
    from storage.errors import ConfigError

    table = {"default": {"preview": {"model": str(tmp_path / "nope")}}}
    monkeypatch.setattr(profiles, "_profiles", lambda: table)
    with pytest.raises(ConfigError) as error:
        check_models("Lightricks/LTX-Video", tmp_path)
    assert "profiles.yaml: Lightricks/LTX-Video preview model" in str(error.value)
    assert "\n" not in str(error.value)


def test_profiles_choose_the_tier_per_stage():
    from generation.metering import MOTION_TOKENS_PER_CLIP
    from generation.profiles import stage

    model, preview = stage("Lightricks/LTX-Video", "preview")
    assert model == MOTION_MODEL_NAME and preview.clip_fps == 30
    assert stage("Lightricks/LTX-Video", "final")[0] == "Lightricks/LTX-Video"
    assert stage(MOTION_MODEL_NAME, "final")[0] == MOTION_MODEL_NAME
    assert MOTION_TOKENS_PER_CLIP > 0


def test_a_motion_ad_renders_end_to_end_into_a_stored_mp4(adreel_env, tmp_path):
    from campaigns.planning import Material, plan_material_renders
    from catalog.products import list_products
    from catalog.sample import write_sample_catalog
    from catalog.upload import upload_catalog
    from generation.jobs import get_render_jobs, usage_for_renders
    from generation.metering import MOTION_TOKENS_PER_CLIP
    from generation.rendering import render_batch
    from storage.services import services
    from tests.helpers.ledger import new_merchant
    from tests.helpers.media import probe

    svc = services()
    with svc.db.connection() as conn:
        merchant = new_merchant(conn, "motion")
    upload_catalog(svc, merchant, write_sample_catalog(tmp_path))
    with svc.db.connection() as conn, conn.transaction():
        product = list_products(conn, merchant)[0]
        products = {product["product_id"]: product}
        hashes = plan_material_renders(
            conn,
            MOTION_MODEL_NAME,
            merchant,
            products,
            [Material(product["product_id"])],
            "preview",
            3.0,
        )
    result = render_batch(hashes, svc.settings, svc.db, svc.store)
    assert result.rendered == hashes
    with svc.db.connection() as conn:
        (job,) = get_render_jobs(conn, hashes)
        (usage,) = usage_for_renders(conn, hashes)
        video_key = conn.execute(
            "SELECT object_key FROM assets WHERE request_hash = %s AND kind = 'video'", (hashes[0],)
        ).fetchone()["object_key"]
    assert job["status"] == "done" and job["model"] == MOTION_MODEL_NAME
    assert usage["tokens"] == MOTION_TOKENS_PER_CLIP
    path = tmp_path / "ad.mp4"
    path.write_bytes(svc.store.read(video_key))
    info = probe(path)
    assert (info.codec, info.width, info.height) == ("h264", 720, 1280)
