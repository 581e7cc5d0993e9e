"""Media sent by users: for now the portraits families send for the Immortal Regiment.

``clean_portrait`` identifies the uploaded bytes with Pillow, refuses what is not a JPEG, PNG
or WebP photo of sensible size (``PortraitRefused.reason`` says why), and re-encodes it upright,
downscaled and without any metadata (no EXIF/GPS, XMP, IPTC, comments or text chunks).
``MediaStore`` keeps the cleaned files on disk under unguessable keys. Both are synchronous and
platform-neutral: adapters download the bytes, the core calls these through
``asyncio.to_thread``.
"""

from bot.media.portraits import (
    KEY_PATTERN,
    MAX_PIXELS,
    MIN_SIDE,
    REASONS,
    CleanPortrait,
    MediaStore,
    PortraitRefused,
    clean_portrait,
)

__all__ = [
    "KEY_PATTERN",
    "MAX_PIXELS",
    "MIN_SIDE",
    "REASONS",
    "CleanPortrait",
    "MediaStore",
    "PortraitRefused",
    "clean_portrait",
]
