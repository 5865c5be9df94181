"""Encoding with the ffmpeg from imageio-ffmpeg: H.264 High, yuv420p, the index at the
front (+faststart) so players start before the download ends, and AAC audio when the
merchant gives a soundtrack (looped to length and faded out, with moviepy).

Frames arrive as yuv420p planes on ffmpeg's stdin (moviepy's writer takes only RGB,
which costs ffmpeg a colour conversion per frame on the cores x264 needs). ffmpeg reads
ahead on its own thread, so composing the next frame overlaps encoding the last.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from queue import Queue
from threading import Thread

import imageio_ffmpeg
from moviepy import AudioFileClip, afx

from composer.yuv import Planes

# x264's `superfast` keeps CABAC and 8x8 transforms (so the stream is High profile) in
# about two thirds of `veryfast`'s time on 1080x1920. CRF 23, x264's default, keeps more
# of the picture than `veryfast` at CRF 21 did (SSIM 0.9988 against 0.9983 on the
# bench's ad).
PRESET = "superfast"
CRF = "23"
FFMPEG_PARAMS = ["-profile:v", "high", "-crf", CRF, "-movflags", "+faststart"]
# What the frames are: BT.601 limited range (see yuv.py), tagged so players agree.
COLOUR_TAGS = ["-colorspace", "smpte170m", "-color_range", "tv"]
AUDIO_FADE_S = 1.0
QUEUED_FRAMES = 8  # 25 MB at 1080x1920
PIPE_BYTES = 1024 * 1024


class EncodeError(RuntimeError):
    pass


def threads() -> int:
    return os.cpu_count() or 2


def video_options() -> list[str]:
    """The codec settings, shared with the benchmark's baseline."""
    return [
        "-c:v", "libx264", "-preset", PRESET, "-threads", str(threads()),
        "-pix_fmt", "yuv420p", *FFMPEG_PARAMS,
    ]  # fmt: skip


def write_video(
    render: Callable[[int, Planes], None],
    count: int,
    path: Path,
    size: tuple[int, int],
    fps: int,
    duration_s: float,
    soundtrack: Path | None = None,
) -> None:
    with tempfile.TemporaryDirectory(prefix="adreel-encode-", dir=path.parent) as scratch:
        audio = []
        if soundtrack is not None:
            audio_path = Path(scratch) / "audio.m4a"
            _soundtrack(soundtrack, duration_s).write_audiofile(
                str(audio_path), fps=44100, codec="aac", logger=None
            )
            audio = ["-i", str(audio_path), "-map", "0:v", "-map", "1:a", "-c:a", "copy"]
        command = [
            imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
            "-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", f"{size[0]}x{size[1]}",
            "-framerate", str(fps), "-i", "-", *audio,
            *video_options(), *COLOUR_TAGS, "-t", f"{duration_s:.3f}", str(path),
        ]  # fmt: skip
        with (Path(scratch) / "ffmpeg.log").open("w+b") as log:
            process = subprocess.Popen(command, stdin=subprocess.PIPE, stderr=log)
            widen_pipe(process.stdin)
            try:
                _feed(render, count, size, process.stdin)
            finally:
                process.stdin.close()
                code = process.wait()
            if code != 0:
                log.seek(0)
                lines = log.read().decode(errors="replace").strip().splitlines()
                raise EncodeError(f"ffmpeg could not encode {path.name}: "
                                  f"{lines[-1] if lines else f'exit {code}'}")  # fmt: skip


def _feed(render: Callable[[int, Planes], None], count: int, size, pipe) -> None:
    """Render frames into a few recycled buffers and write them from a thread, up to
    QUEUED_FRAMES ahead: composing (this thread) and encoding (ffmpeg's) each run in
    bursts, and the queue lets one go on while the other catches up. Writing releases
    the GIL; recycling spares the kernel mapping fresh pages for every frame."""
    free: Queue[Planes] = Queue()
    for _ in range(QUEUED_FRAMES + 2):
        free.put(Planes.empty(size))
    written: Queue[Planes | None] = Queue(maxsize=QUEUED_FRAMES)
    failed: list[BaseException] = []

    def write() -> None:
        while (frame := written.get()) is not None:
            if not failed:
                try:
                    pipe.write(frame.buffer.data)
                except BrokenPipeError as exc:  # ffmpeg stopped early; its log says why
                    failed.append(exc)
            free.put(frame)

    writer = Thread(target=write, name="adreel-encode-writer", daemon=True)
    writer.start()
    try:
        for index in range(count):
            if failed:
                break
            frame = free.get()
            render(index, frame)
            written.put(frame)
    finally:
        written.put(None)
        writer.join()


def widen_pipe(stream) -> None:
    """Let a pipe hold a megabyte rather than 64 KB: a frame then crosses it in a few
    writes, not fifty wake-ups of the process on the other end. Best effort."""
    with contextlib.suppress(AttributeError, OSError):  # not Linux, or over the limit
        fcntl.fcntl(stream.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)


def _soundtrack(path: Path, duration_s: float) -> AudioFileClip:
    """The merchant's music, looped to the ad's length and faded out at its end."""
    audio = AudioFileClip(str(path))
    if audio.duration < duration_s:
        audio = audio.with_effects([afx.AudioLoop(duration=duration_s)])
    else:
        audio = audio.subclipped(0, duration_s)
    return audio.with_effects([afx.AudioFadeOut(AUDIO_FADE_S)])
