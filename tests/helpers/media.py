"""Reading back encoded ads the way a player would: ffmpeg's stream info and MP4 boxes."""

from __future__ import annotations

import re
import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path

import imageio_ffmpeg
import numpy as np
from PIL import Image


@dataclass(frozen=True)
class VideoInfo:
    codec: str
    profile: str
    pixel_format: str
    width: int
    height: int
    duration_s: float


def probe(path: Path) -> VideoInfo:
    """ffmpeg (shipped by imageio-ffmpeg) describes the file; fail if it cannot."""
    result = subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(path), "-f", "null", "-"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    stream = re.search(
        r"Video: (\w+) \((\w+)\).*?, (\w+)(?:\([^)]*\))?, (\d+)x(\d+)", result.stderr
    )
    duration = re.search(r"Duration: (\d+):(\d+):([\d.]+)", result.stderr)
    assert stream and duration, result.stderr
    hours, minutes, seconds = duration.groups()
    return VideoInfo(
        stream[1],
        stream[2],
        stream[3],
        int(stream[4]),
        int(stream[5]),
        int(hours) * 3600 + int(minutes) * 60 + float(seconds),
    )


def top_level_boxes(data: bytes) -> list[str]:
    boxes, offset = [], 0
    while offset + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        if size == 1:
            size = struct.unpack(">Q", data[offset + 8 : offset + 16])[0]
        boxes.append(kind.decode("latin-1"))
        if size < 8:
            break
        offset += size
    return boxes


def frame_at(video: Path, seconds: float) -> np.ndarray:
    """The frame shown at ``seconds`` as RGB, decoded by ffmpeg as a player would."""
    frame = video.with_name(f"{video.stem}-{seconds:.2f}.png")
    subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-ss", f"{seconds}", "-i", str(video),
         "-frames:v", "1", "-update", "1", "-y", str(frame)],
        check=True,
        timeout=60,
    )  # fmt: skip
    return np.asarray(Image.open(frame).convert("RGB"))


def last_frame(video: Path) -> np.ndarray:
    """The last frame of an MP4 as RGB, decoded by ffmpeg as a player would."""
    frame = video.with_suffix(".png")
    subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-sseof", "-0.1", "-i", str(video),
         "-frames:v", "1", "-update", "1", "-y", str(frame)],
        check=True,
        timeout=60,
    )  # fmt: skip
    return np.asarray(Image.open(frame).convert("RGB"))
