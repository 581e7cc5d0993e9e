"""Portraits sent by families: check what the bytes really are, strip every piece of metadata,
re-encode, and keep the result under a name nobody can guess.

``clean_portrait`` trusts nothing that came with the upload (file name, declared MIME type):
Pillow identifies the bytes, and only JPEG, PNG and WebP are accepted. The picture is decoded,
turned upright from its EXIF orientation, downscaled, converted to sRGB and encoded again from
the pixels alone, so nothing of the original file survives except the picture: no EXIF (GPS
position, camera make and serial, dates), no XMP, no IPTC, no comments, no PNG text chunks.

ICC profiles are not kept. A profile is mostly colour data, but it is an opaque blob that can
carry free text (description, copyright, device maker and model, creation date) written by
whatever software or scanner produced it. Dropping it blindly would make wide-gamut photos
(a phone's Display P3) look washed out, so the pixels are first converted from the embedded
profile to sRGB with Pillow's littlecms binding; the output is then plain sRGB, which is what
an untagged image means to browsers and the Telegram and Discord clients.

``MediaStore`` writes the cleaned files atomically under ``secrets.token_urlsafe(24)`` names.
Everything here is synchronous; call it through ``asyncio.to_thread``.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

log = logging.getLogger(__name__)

MAX_PIXELS: Final = 40_000_000
"""Largest decoded picture accepted (width × height), checked from the header before any
pixel is decoded: a small compressed file can expand to gigabytes (a decompression bomb).
Pillow's own ``Image.MAX_IMAGE_PIXELS`` guard (about 89 megapixels, error past twice that)
stays in place behind it; this module does not change that process-wide setting."""

MIN_SIDE: Final = 64
"""Smallest width and height accepted: anything smaller is an icon, not a portrait."""

DEFAULT_MAX_SIDE: Final = 2560

JPEG_QUALITY: Final = 90
WEBP_QUALITY: Final = 90

REASONS: Final = ("not_image", "unsupported_type", "too_large", "too_small", "damaged")


class PortraitRefused(Exception):
    """The upload is not accepted as a portrait.

    ``reason`` is one of ``REASONS`` (the caller maps it to a translated message);
    ``detail`` is English, for the logs only.
    """

    def __init__(self, reason: str, detail: str) -> None:
        if reason not in REASONS:
            raise ValueError(f"unknown refusal reason {reason!r}")
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class CleanPortrait:
    """A re-encoded portrait with no metadata."""

    data: bytes
    mime_type: str
    """``image/jpeg``, ``image/png`` or ``image/webp``."""
    extension: str
    """``.jpg``, ``.png`` or ``.webp``."""
    width: int
    height: int


@dataclass(frozen=True, slots=True)
class _Output:
    save_format: str
    mime_type: str
    extension: str
    modes: frozenset[str]
    """Modes the encoder takes as they are; anything else is converted first."""
    options: tuple[tuple[str, Any], ...]


_OUTPUTS: Final[dict[str, _Output]] = {
    "JPEG": _Output(
        "JPEG",
        "image/jpeg",
        ".jpg",
        frozenset({"L", "RGB"}),
        (("quality", JPEG_QUALITY), ("optimize", True)),
    ),
    "PNG": _Output(
        "PNG",
        "image/png",
        ".png",
        frozenset({"1", "L", "LA", "P", "RGB", "RGBA"}),
        (),
    ),
    "WEBP": _Output(
        "WEBP",
        "image/webp",
        ".webp",
        frozenset({"RGB", "RGBA"}),
        (("quality", WEBP_QUALITY), ("method", 4)),
    ),
}
# Cameras and phones write several pictures into one JPEG (MPO: a preview, a depth map);
# Pillow names those "MPO". The first picture is an ordinary JPEG.
_OUTPUTS["MPO"] = _OUTPUTS["JPEG"]

_TRANSPARENCY_MODES: Final = frozenset({"1", "L", "P", "RGB"})
"""Modes whose transparency lives in ``info["transparency"]`` (a PNG tRNS chunk), which is
kept: it is part of the picture, not metadata."""


def clean_portrait(
    data: bytes,
    *,
    max_bytes: int,
    max_side: int = DEFAULT_MAX_SIDE,
    max_pixels: int = MAX_PIXELS,
) -> CleanPortrait:
    """Check, clean and re-encode an uploaded portrait.

    The result has the input's format (an MPO comes out as JPEG), the EXIF orientation
    applied, its longest side at most ``max_side``, sRGB pixels and no metadata at all; an
    animated WebP or PNG keeps its first frame. Raises ``PortraitRefused`` for an upload it
    does not accept, ``ValueError`` for limits that make no sense.
    """
    if max_bytes <= 0 or max_side < MIN_SIDE or max_pixels <= 0:
        raise ValueError("max_bytes, max_side and max_pixels must be positive")
    if len(data) > max_bytes:
        raise PortraitRefused("too_large", f"{len(data)} bytes, limit {max_bytes}")
    if not data:
        raise PortraitRefused("not_image", "empty upload")

    with _open(data) as probe:
        kind = probe.format or "?"
        width, height = probe.size
    output = _OUTPUTS.get(kind)
    if output is None:
        raise PortraitRefused("unsupported_type", f"format {kind}")
    if width * height > max_pixels:
        raise PortraitRefused("too_large", f"{width}×{height} pixels, limit {max_pixels}")
    if width < MIN_SIDE or height < MIN_SIDE:
        raise PortraitRefused("too_small", f"{width}×{height}, minimum {MIN_SIDE}×{MIN_SIDE}")

    # Pillow's verify() checks what it can without decoding (PNG chunk checksums) and leaves
    # the image unusable, hence the second opening; load() then decodes the first frame and
    # fails on truncated or corrupt pixel data. Pillow raises many kinds of error (and
    # warnings, when they are turned into errors) on hostile input: all of them mean damaged.
    try:
        with _open(data) as checked:
            checked.verify()
        with _open(data) as image:
            if image.format != kind or image.size != (width, height):
                raise PortraitRefused("damaged", "the file reads differently the second time")
            if kind in ("JPEG", "MPO"):
                # Let libjpeg decode at 1/2, 1/4 or 1/8 scale when the result stays larger
                # than what is kept: much less memory for a 50-megapixel photo.
                image.draft(image.mode, (max_side, max_side))
            image.load()
            icc_profile = image.info.get("icc_profile")
            picture = _upright(image)
    except PortraitRefused:
        raise
    except Image.DecompressionBombError as error:  # a frame larger than the header said
        raise PortraitRefused("too_large", str(error)) from error
    except Exception as error:
        raise PortraitRefused("damaged", f"{kind}: {type(error).__name__}: {error}") from error

    try:
        picture = _downscaled(picture, max_side)
        picture = _in_srgb(picture, icc_profile)
        picture = _in_mode(picture, output.modes)
        picture = _without_metadata(picture, output)
        buffer = io.BytesIO()
        picture.save(buffer, format=output.save_format, **dict(output.options))
    except Exception as error:
        # Not expected for a picture that decoded; refuse rather than fail the conversation.
        log.warning("could not re-encode a %s portrait", kind, exc_info=True)
        raise PortraitRefused("damaged", f"{kind} re-encoding: {error}") from error

    return CleanPortrait(
        data=buffer.getvalue(),
        mime_type=output.mime_type,
        extension=output.extension,
        width=picture.width,
        height=picture.height,
    )


def _open(data: bytes) -> Image.Image:
    """Identify the bytes (only the header is read); refuse what Pillow cannot identify."""
    try:
        return Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise PortraitRefused("too_large", str(error)) from error
    except UnidentifiedImageError as error:
        raise PortraitRefused("not_image", "Pillow cannot identify the bytes") from error
    except Exception as error:
        # A plugin recognised the signature but not the header (Pillow reports this as a
        # warning before UnidentifiedImageError; under -W error the warning is raised).
        raise PortraitRefused("not_image", f"{type(error).__name__}: {error}") from error


def _upright(image: Image.Image) -> Image.Image:
    """The picture turned as the EXIF orientation says; unturned if that EXIF is unreadable."""
    try:
        return ImageOps.exif_transpose(image)
    except Exception:
        log.info("unreadable EXIF orientation in a portrait; kept as stored", exc_info=True)
        return image.copy()


def _downscaled(image: Image.Image, max_side: int) -> Image.Image:
    if max(image.size) <= max_side:
        return image
    if image.mode in ("1", "P") or "transparency" in image.info:
        # Resampling a palette or a transparent colour key would only pick nearest pixels.
        image = image.convert("RGBA" if image.has_transparency_data else "RGB")
    image = image.copy()
    image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    return image


def _in_srgb(image: Image.Image, icc_profile: object) -> Image.Image:
    """The pixels converted from their embedded ICC profile to sRGB (see the module notes)."""
    if not isinstance(icc_profile, bytes) or not icc_profile:
        return image
    if image.mode not in ("RGB", "RGBA", "CMYK"):
        return image
    output_mode = "RGBA" if image.mode == "RGBA" else "RGB"
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
        srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
        converted = ImageCms.profileToProfile(
            image,
            source,
            srgb,
            renderingIntent=ImageCms.Intent.PERCEPTUAL,
            outputMode=output_mode,
        )
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        log.info("unusable ICC profile in a portrait; colours taken as sRGB", exc_info=True)
        return image
    return converted if converted is not None else image


def _in_mode(image: Image.Image, modes: frozenset[str]) -> Image.Image:
    """The picture in a mode the encoder takes (a CMYK JPEG becomes RGB, and so on)."""
    if image.mode in modes:
        return image
    if "RGBA" in modes and image.has_transparency_data:
        return image.convert("RGBA")
    if image.mode in ("LA", "PA", "RGBA", "RGBa", "La") and "RGBA" not in modes:
        # JPEG has no alpha: lay the picture on white rather than on black.
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return image.convert("RGB")


def _without_metadata(image: Image.Image, output: _Output) -> Image.Image:
    """A copy holding the pixels (and palette) only.

    Encoders read some metadata from ``info`` when it is not passed to ``save``: a JPEG
    comment, a PNG ICC profile. Emptying ``info`` and passing nothing but encoder options is
    what keeps them out.
    """
    transparency = image.info.get("transparency")
    clean = image.copy()
    clean.info = {}
    if (
        output.save_format == "PNG"
        and transparency is not None
        and clean.mode in _TRANSPARENCY_MODES
    ):
        clean.info["transparency"] = transparency
    return clean


KEY_PATTERN: Final = re.compile(r"[A-Za-z0-9_-]{32}\.(?:jpg|png|webp)")
"""A store key: 24 random bytes in URL-safe base64 (32 characters) and the extension."""

_EXTENSIONS: Final = frozenset({".jpg", ".png", ".webp"})


class MediaStore:
    """Cleaned portraits on disk, one file each, under names that cannot be guessed.

    A key such as ``Qx3…Zk.jpg`` is stored as ``<root>/Qx/Qx3…Zk.jpg`` (the two-character
    folder keeps directories small). Keys are checked against ``KEY_PATTERN`` before they
    touch the file system, so no key can reach outside the root.
    """

    def __init__(self, root: Path) -> None:
        self._root = Path(root)

    @property
    def root(self) -> Path:
        return self._root

    def put(self, portrait: CleanPortrait) -> str:
        """Write the portrait atomically (mode 0644) and return its new key."""
        if portrait.extension not in _EXTENSIONS:
            raise ValueError(f"unexpected extension {portrait.extension!r}")
        key = secrets.token_urlsafe(24) + portrait.extension
        target = self.path(key)
        target.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(
            dir=target.parent, prefix=".incoming-", suffix=".part"
        )
        try:
            with os.fdopen(descriptor, "wb") as file:
                file.write(portrait.data)
                file.flush()
                os.fsync(file.fileno())
                os.fchmod(file.fileno(), 0o644)
            os.replace(temporary, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
        return key

    def path(self, key: str) -> Path:
        """Where the key's file lives; ``ValueError`` for anything that is not a key."""
        if not isinstance(key, str) or not KEY_PATTERN.fullmatch(key):
            raise ValueError("not a media key")
        return self._root / key[:2] / key

    def read(self, key: str) -> bytes:
        """The stored bytes; ``FileNotFoundError`` when the key is unknown."""
        return self.path(key).read_bytes()

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def delete(self, key: str) -> bool:
        """Remove the file; ``False`` when it was not there."""
        try:
            self.path(key).unlink()
        except FileNotFoundError:
            return False
        return True
