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
    # the backdrop changes every other frame, and an eased move starts from rest, so the
    # change is measured over two frames (a 15th of a second at 30 fps)
    steps = [np.abs(frames[i + 2] - frames[i]).mean() for i in range(FRAMES - 2)]
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


def test_frames_do_not_depend_on_how_many_threads_draw_them(photo, monkeypatch):
    """Runs of frames share a backdrop; whichever thread draws a run, the clip is the same
    (two scenes: runs inside a scene and runs across the crossfade)."""
    from generation.motion import clip

    clips = []
    for workers in (1, 3):
        monkeypatch.setattr(clip, "WORKERS", workers)
        frames = render(photo, seed=5, num_frames=25, extra_images=(busy_photo(),))
        clips.append(hashlib.sha256(frames).digest())
    assert clips[0] == clips[1]


def _frame_at(video, seconds: float) -> np.ndarray:
    import imageio_ffmpeg

    frame = video.with_name(f"{video.stem}-{seconds}.png")
    subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-ss", str(seconds), "-i", str(video),
         "-frames:v", "1", "-y", str(frame)],
        check=True,
        timeout=60,
    )  # fmt: skip
    return np.asarray(Image.open(frame).convert("RGB")).astype(int)


def test_a_catalog_products_additional_images_become_scenes_of_its_clip(adreel_env, tmp_path):
    """From a catalog row to the stored ad: the additional images are fetched into the
    object store at upload, carried on the job, and the clip's second scene shows them."""
    import json

    from campaigns.planning import Material, plan_material_renders
    from catalog.products import list_products
    from catalog.sample import draw_product_image
    from catalog.upload import upload_catalog
    from generation.jobs import get_render_jobs
    from generation.rendering import render_batch
    from storage.services import services
    from tests.helpers.ledger import new_merchant

    images = tmp_path / "images"
    images.mkdir()
    draw_product_image("shoe", "#d62828").save(images / "main.png")
    draw_product_image("bag", "#1d4ed8").save(images / "side.png")
    draw_product_image("bottle", "#15803d").save(images / "back.png")
    row = {
        "id": "MULTI-1", "title": "Trail Shoe", "description": "A shoe.",
        "link": "https://shop.example.com/multi-1", "image_link": "images/main.png",
        "additional_image_link": ["images/side.png", "images/back.png", "images/gone.png"],
        "price": "80.00 USD", "brand": "Northpeak", "availability": "in stock",
        "condition": "new",
    }  # fmt: skip
    catalog = tmp_path / "products.jsonl"
    catalog.write_text(json.dumps(row) + "\n", encoding="utf-8")
    svc = services()
    with svc.db.connection() as conn:
        merchant = new_merchant(conn, "motion-multi")
    upload_catalog(svc, merchant, catalog)
    with svc.db.connection() as conn, conn.transaction():
        (product,) = list_products(conn, merchant)
        assert len(product["additional_image_keys"]) == 2  # the first two links, fetched
        hashes = plan_material_renders(
            conn, MOTION_MODEL_NAME, merchant, {"MULTI-1": product},
            [Material("MULTI-1")], "preview", 3.0,
        )  # fmt: skip
        (job,) = get_render_jobs(conn, hashes)
    assert job["spec"]["extra_image_keys"] == product["additional_image_keys"]
    assert render_batch(hashes, svc.settings, svc.db, svc.store).rendered == hashes
    with svc.db.connection() as conn:
        video_key = conn.execute(
            "SELECT object_key FROM assets WHERE request_hash = %s AND kind = 'video'", (hashes[0],)
        ).fetchone()["object_key"]
    video = tmp_path / "ad.mp4"
    video.write_bytes(svc.store.read(video_key))
    # a 3 s ad shows 1.5 s of clip before its end card: three scenes of half a second
    scenes = [_frame_at(video, seconds) for seconds in (0.3, 0.85, 1.35)]
    height, width = scenes[0].shape[:2]
    around = (slice(height // 5, height // 2), slice(width // 5, 4 * width // 5))
    mean = [f[around].reshape(-1, 3).mean(axis=0) for f in scenes]  # R, G, B
    assert mean[0][0] - mean[0][2] > mean[1][0] - mean[1][2] + 20  # the red shoe, the blue bag
    assert mean[2][1] - mean[2][0] > mean[0][1] - mean[0][0] + 20  # then the green bottle


def _hue_distance(pixels: np.ndarray, hue: float) -> float:
    import colorsys

    r, g, b = pixels.reshape(-1, 3).mean(axis=0) / 255
    return abs((colorsys.rgb_to_hsv(r, g, b)[0] - hue + 0.5) % 1.0 - 0.5)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_brand_kit_pulls_the_backdrop_towards_its_colour(photo, seed):
    """The red and blue shoe on a green kit: the set's hue moves towards green, for every
    seed (the seed still picks the scheme); the product is the same."""
    green = (30, 160, 60)
    plain = render(photo, seed=seed, num_frames=4)[2].astype(int)
    kit = render(photo, seed=seed, num_frames=4, brand_colour=green)[2].astype(int)
    backdrop = (slice(0, SIZE[1] // 6), slice(None))  # above the product
    assert _hue_distance(kit[backdrop], 0.36) < _hue_distance(plain[backdrop], 0.36) - 0.05
    a_grey_kit = render(photo, seed=seed, num_frames=4, brand_colour=(128, 128, 128))
    assert np.array_equal(a_grey_kit[2], plain)  # no hue to give: the set is the product's


def test_a_contract_says_what_a_motion_render_costs(adreel_env, tmp_path):
    """Tokens: the wallet is charged the contract's tokens per motion clip (not the
    default); RaaS: a final the motion tier rendered is charged the contract's share."""
    from datetime import UTC, date, datetime
    from decimal import Decimal

    from billing.charges import charge_accepted_material
    from billing.contracts import DEFAULT_MOTION_TOKENS, contract_from_dict, create_version
    from billing.tokens import buy_pack
    from campaigns.budget import render_within_budget
    from campaigns.planning import Material, plan_material_renders
    from catalog.products import list_products
    from catalog.sample import write_sample_catalog
    from catalog.upload import upload_catalog
    from generation.metering import MOTION_TOKENS_PER_CLIP
    from storage.services import services
    from tests.helpers.ledger import new_merchant

    assert DEFAULT_MOTION_TOKENS == MOTION_TOKENS_PER_CLIP  # one default, two packages
    terms = {
        "effective_from": "2026-01-01", "currency": "USD", "modes": ["tokens", "raas"],
        "tokens": {"price_per_1000": "2.50"},
        "raas": [{"format": "9x16", "duration_s": 6, "price": "4.05"}],
        "motion": {"tokens_per_clip": 300, "raas_share": "0.5"},
    }  # fmt: skip
    svc = services()
    with svc.db.connection() as conn:
        merchant = new_merchant(conn, "motion-price")
        create_version(conn, merchant, contract_from_dict(terms))
        buy_pack(conn, merchant, 1000, Decimal("2.50"), "USD", "pack-1", date(2026, 1, 2))
    upload_catalog(svc, merchant, write_sample_catalog(tmp_path))
    with svc.db.connection() as conn, conn.transaction():
        product = list_products(conn, merchant)[0]
        hashes = plan_material_renders(
            conn, MOTION_MODEL_NAME, merchant, {product["product_id"]: product},
            [Material(product["product_id"])], "preview", 3.0,
        )  # fmt: skip
    run = render_within_budget(svc, merchant, hashes, None, bill_tokens=True)
    assert run.as_dict()["tokens"] == 300
    with svc.db.connection() as conn:
        asset_id = conn.execute(
            "SELECT asset_id FROM assets WHERE request_hash = %s AND kind = 'video'", (hashes[0],)
        ).fetchone()["asset_id"]
        today = datetime.now(UTC).date()
        posted = charge_accepted_material(conn, merchant, asset_id, "9x16", 6, today, True)
        charged = conn.execute(
            "SELECT amount FROM ledger_postings WHERE txn_id = %s AND side = 'D'",
            (posted.txn_id,),
        ).fetchone()["amount"]
    assert charged == Decimal("2.02")  # half of 4.05, rounded half-even once
    with pytest.raises(Exception, match="raas_share"):
        contract_from_dict({**terms, "motion": {"raas_share": "1.5"}})


@pytest.mark.parametrize(("ad_format", "aspect"), [("9x16", 9 / 16), ("1x1", 1.0), ("16x9", 0.92)])
def test_the_motion_clip_takes_the_shape_of_the_templates_clip_box(ad_format, aspect):
    """A square ad gets a square clip, a 16:9 showcase a clip the shape of its left half:
    it fills the box instead of a portrait clip letterboxed in it; same pixel budget."""
    from campaigns.planning import Material, render_job
    from generation.profiles import stage
    from generation.rendering import motion_clip_size

    model, profile = stage(MOTION_MODEL_NAME, "final")
    product = {
        "product_id": "P1", "title": "Shoe", "product_category": None, "brand": None,
        "content_hash": "h", "image_key": None,
    }  # fmt: skip
    material = Material("P1", template="showcase", ad_format=ad_format)
    job = render_job(model, profile, product, "m", material, 6.0, None, ("tiktok", "feed"))
    width, height = motion_clip_size(job)
    assert width / height == pytest.approx(aspect, rel=0.01)
    assert width % 2 == height % 2 == 0
    assert width * height == pytest.approx(profile.width * profile.height, rel=0.01)


def test_the_merchants_stored_brand_kit_colours_its_motion_ads(adreel_env, tmp_path):
    """Through the real path: a merchant's stored kit (green) reaches the motion tier, and
    the set behind its orange shoe is green-ish (the pull leaves at most 0.15 of hue)."""
    from campaigns.planning import Material, plan_material_renders
    from catalog.products import list_products
    from catalog.sample import write_sample_catalog
    from catalog.upload import upload_catalog
    from composer.kits import set_brand_kit
    from generation.rendering import render_batch
    from storage.services import services
    from tests.helpers.ledger import new_merchant

    svc = services()
    with svc.db.connection() as conn:
        merchant = new_merchant(conn, "motion-kit")
    upload_catalog(svc, merchant, write_sample_catalog(tmp_path))
    kit = tmp_path / "brand.yaml"
    kit.write_text('name: Greenline\nprimary: "#1EA03C"\nsecondary: "#111114"\n')
    set_brand_kit(svc, merchant, kit)
    with svc.db.connection() as conn, conn.transaction():
        (shoe,) = list_products(conn, merchant, ["SKU-1001"])  # orange-red
        hashes = plan_material_renders(
            conn, MOTION_MODEL_NAME, merchant, {"SKU-1001": shoe},
            [Material("SKU-1001")], "final", 3.0,
        )  # fmt: skip
    assert render_batch(hashes, svc.settings, svc.db, svc.store).rendered == hashes
    with svc.db.connection() as conn:
        video_key = conn.execute(
            "SELECT object_key FROM assets WHERE request_hash = %s AND kind = 'video'", (hashes[0],)
        ).fetchone()["object_key"]
    video = tmp_path / "kit.mp4"
    video.write_bytes(svc.store.read(video_key))
    frame = _frame_at(video, 0.5)
    above_the_product = frame[: frame.shape[0] // 10]
    assert _hue_distance(above_the_product, 0.37) < 0.16  # #1EA03C: hue 0.37


def test_deferred_images_bring_their_additional_images_too(adreel_env, tmp_path):
    """``--images defer``, then ``catalog fetch-images``: the additional images are
    fetched with the main one (the first two; a missing one is left out)."""
    import json

    from catalog.products import list_products
    from catalog.sample import draw_product_image
    from catalog.upload import fetch_pending_images, upload_catalog
    from storage.services import services
    from tests.helpers.ledger import new_merchant

    for name, colour in (("main", "#d62828"), ("side", "#1d4ed8")):
        draw_product_image("shoe", colour).save(tmp_path / f"{name}.png")
    row = {
        "id": "DEFER-1", "title": "Shoe", "link": "https://shop.example.com/d",
        "image_link": "main.png", "additional_image_link": ["gone.png", "side.png"],
        "price": "10.00 USD", "availability": "in stock", "condition": "new",
    }  # fmt: skip
    catalog = tmp_path / "products.jsonl"
    catalog.write_text(json.dumps(row) + "\n", encoding="utf-8")
    svc = services()
    with svc.db.connection() as conn:
        merchant = new_merchant(conn, "motion-defer")
    upload_catalog(svc, merchant, catalog, images="defer")
    with svc.db.connection() as conn:
        assert list_products(conn, merchant)[0]["additional_image_keys"] == []
    assert fetch_pending_images(svc, merchant, tmp_path) == {"ready": 1, "failed": 0}
    with svc.db.connection() as conn:
        (product,) = list_products(conn, merchant)
    (key,) = product["additional_image_keys"]
    assert svc.store.read(key)[:8] == b"\x89PNG\r\n\x1a\n" and key != product["image_key"]
