"""Encoding with moviepy and the ffmpeg from imageio-ffmpeg: H.264 High, yuv420p, the
index at the front (+faststart) so players start before the download ends, and AAC
audio when the merchant gives a soundtrack (looped to length, faded out)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
from moviepy import AudioFileClip, VideoClip, afx

# x264's `veryfast` keeps CABAC and 8x8 transforms (so the stream is High profile) at a
# fraction of `medium`'s time; ads are short and re-encoded by every platform anyway.
PRESET = "veryfast"
CRF = "21"
FFMPEG_PARAMS = ["-profile:v", "high", "-crf", CRF, "-movflags", "+faststart"]
AUDIO_FADE_S = 1.0


def threads() -> int:
    return os.cpu_count() or 2


def write_video(
    frame_at: Callable[[float], np.ndarray],
    path: Path,
    duration_s: float,
    fps: int,
    soundtrack: Path | None = None,
) -> None:
    clip = VideoClip(frame_function=frame_at, duration=duration_s)
    if soundtrack is not None:
        clip = clip.with_audio(_soundtrack(soundtrack, duration_s))
    clip.write_videofile(
        str(path),
        fps=fps,
        codec="libx264",
        audio=soundtrack is not None,
        audio_codec="aac",
        preset=PRESET,
        threads=threads(),
        pixel_format="yuv420p",
        ffmpeg_params=FFMPEG_PARAMS,
        temp_audiofile_path=str(path.parent),
        logger=None,
    )


def _soundtrack(path: Path, duration_s: float) -> AudioFileClip:
    """The merchant's music, looped to the ad's length and faded out at its end."""
    audio = AudioFileClip(str(path))
    if audio.duration < duration_s:
        audio = audio.with_effects([afx.AudioLoop(duration=duration_s)])
    else:
        audio = audio.subclipped(0, duration_s)
    return audio.with_effects([afx.AudioFadeOut(AUDIO_FADE_S)])
