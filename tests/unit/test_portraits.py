"""Portraits: what ``bot.media.clean_portrait`` accepts, refuses and strips, and the
``MediaStore`` that keeps the result. Every picture is built in memory with Pillow."""

from __future__ import annotations

import io
import os
import random
import stat
import struct
import warnings
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image, ImageCms, PngImagePlugin

from bot.media import (
    KEY_PATTERN,
    MIN_SIDE,
    CleanPortrait,
    MediaStore,
    PortraitRefused,
    clean_portrait,
)

LIMIT = 10_000_000
GPS_IFD = 0x8825
EXIF_IFD = 0x8769
MAKE, MODEL, ORIENTATION = 0x010F, 0x0110, 0x0112
XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/">Ivanov family, 12 Lenin street</x:xmpmeta>'
SECRETS = (b"Ivanov", b"Lenin street", b"SecretCam", b"Model X9", b"grandson")


def noise(size: tuple[int, int], mode: str = "RGB") -> Image.Image:
    """Random pixels: they compress badly, so the file is long enough to cut in half."""
    bands = len(Image.new(mode, (1, 1)).getbands())
    seeded = random.Random(f"{size}{mode}")
    return Image.frombytes(mode, size, seeded.randbytes(size[0] * size[1] * bands))


def personal_exif(orientation: int | None = None) -> Image.Exif:
    exif = Image.Exif()
    exif[MAKE] = "SecretCam"
    exif[MODEL] = "Model X9"
    if orientation is not None:
        exif[ORIENTATION] = orientation
    gps = exif.get_ifd(GPS_IFD)
    gps[1] = "N"  # GPSLatitudeRef
    gps[2] = (55.0, 45.0, 21.0)  # GPSLatitude
    gps[3] = "E"
    gps[4] = (37.0, 37.0, 4.0)
    exif.get_ifd(EXIF_IFD)[0x9286] = "photo sent by the grandson"  # UserComment
    return exif


def encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def reopen(portrait: CleanPortrait) -> Image.Image:
    image = Image.open(io.BytesIO(portrait.data))
    image.load()
    return image


def refusal(data: bytes, **options: int) -> str:
    options.setdefault("max_bytes", LIMIT)
    with pytest.raises(PortraitRefused) as caught:
        clean_portrait(data, **options)
    assert caught.value.detail
    return caught.value.reason


def assert_no_metadata(portrait: CleanPortrait) -> None:
    image = reopen(portrait)
    assert not image.getexif()
    assert not image.getexif().get_ifd(GPS_IFD)
    assert not {"exif", "xmp", "XML:com.adobe.xmp", "icc_profile", "comment"} & image.info.keys()
    for secret in SECRETS:
        assert secret not in portrait.data
    for marker in (b"Exif\x00\x00", b"http://ns.adobe.com/xap/1.0/", b"<x:xmpmeta", b"ICC_PROFILE"):
        assert marker not in portrait.data


# --- what comes out ---------------------------------------------------------------------


def test_a_jpeg_loses_its_exif_gps_xmp_and_comment() -> None:
    data = encode(
        noise((320, 240)),
        "JPEG",
        exif=personal_exif(),
        xmp=XMP,
        comment=b"Ivanov, taken by the grandson",
    )
    original = Image.open(io.BytesIO(data))
    assert original.getexif().get_ifd(GPS_IFD)  # the fixture does carry a location
    assert {"xmp", "comment"} <= original.info.keys()

    portrait = clean_portrait(data, max_bytes=LIMIT)

    assert (portrait.mime_type, portrait.extension) == ("image/jpeg", ".jpg")
    assert (portrait.width, portrait.height) == (320, 240)
    assert reopen(portrait).format == "JPEG"
    assert_no_metadata(portrait)


def test_a_png_loses_its_text_chunks_exif_and_icc_profile() -> None:
    text = PngImagePlugin.PngInfo()
    text.add_text("Author", "Ivanov")
    text.add_text("Comment", "12 Lenin street", zip=True)
    text.add_itxt("Description", "photo sent by the grandson", lang="en")
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = encode(noise((200, 150)), "PNG", pnginfo=text, exif=personal_exif(), icc_profile=srgb)
    assert b"tEXt" in data and b"eXIf" in data and b"iCCP" in data

    portrait = clean_portrait(data, max_bytes=LIMIT)

    assert (portrait.mime_type, portrait.extension) == ("image/png", ".png")
    for chunk in (b"tEXt", b"zTXt", b"iTXt", b"eXIf", b"iCCP", b"tIME"):
        assert chunk not in portrait.data
    image = reopen(portrait)
    assert not {"Author", "Comment", "Description"} & image.info.keys()
    assert_no_metadata(portrait)


def test_a_webp_is_accepted_without_its_metadata() -> None:
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = encode(
        noise((300, 200)), "WEBP", exif=personal_exif(), xmp=XMP, icc_profile=srgb, quality=90
    )
    portrait = clean_portrait(data, max_bytes=LIMIT)
    assert (portrait.mime_type, portrait.extension) == ("image/webp", ".webp")
    assert reopen(portrait).format == "WEBP"
    assert (portrait.width, portrait.height) == (300, 200)
    for chunk in (b"EXIF", b"XMP ", b"ICCP"):
        assert chunk not in portrait.data
    assert_no_metadata(portrait)


def test_an_icc_profile_is_applied_then_dropped() -> None:
    """The pixels are converted to sRGB; with an sRGB profile they stay (nearly) the same."""
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = encode(Image.new("RGB", (100, 100), (200, 120, 40)), "PNG", icc_profile=srgb)
    image = reopen(clean_portrait(data, max_bytes=LIMIT))
    assert "icc_profile" not in image.info
    pixel = image.convert("RGB").getpixel((50, 50))
    assert isinstance(pixel, tuple)
    assert all(abs(a - b) <= 3 for a, b in zip(pixel, (200, 120, 40), strict=True))


def test_a_broken_icc_profile_does_not_refuse_the_photo() -> None:
    data = encode(noise((100, 100)), "JPEG", icc_profile=b"not a profile at all" * 10)
    assert_no_metadata(clean_portrait(data, max_bytes=LIMIT))


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_the_exif_orientation_is_applied(fmt: str) -> None:
    """Orientation 6: the camera was turned; the stored 100×200 picture is shown 200×100."""
    image = Image.new("RGB", (100, 200), "white")
    image.paste((255, 0, 0), (0, 0, 100, 20))  # a red band along the stored top
    data = encode(image, fmt, exif=personal_exif(orientation=6))

    portrait = clean_portrait(data, max_bytes=LIMIT)

    assert (portrait.width, portrait.height) == (200, 100)
    upright = reopen(portrait).convert("RGB")
    assert upright.size == (200, 100)
    # rotated 90° clockwise for display: the stored top becomes the right-hand side
    right, left = upright.getpixel((195, 50)), upright.getpixel((5, 50))
    assert isinstance(right, tuple) and isinstance(left, tuple)
    assert right[0] > 200 and right[1] < 60
    assert min(left) > 200
    assert_no_metadata(portrait)


def test_a_large_photo_is_downscaled_to_the_longest_side() -> None:
    data = encode(Image.new("RGB", (3000, 1500), "gray"), "JPEG")
    portrait = clean_portrait(data, max_bytes=LIMIT)
    assert (portrait.width, portrait.height) == (2560, 1280)
    assert reopen(portrait).size == (2560, 1280)

    smaller = clean_portrait(data, max_bytes=LIMIT, max_side=600)
    assert (smaller.width, smaller.height) == (600, 300)


def test_a_small_enough_photo_keeps_its_size() -> None:
    portrait = clean_portrait(encode(noise((640, 480)), "PNG"), max_bytes=LIMIT)
    assert (portrait.width, portrait.height) == (640, 480)
    assert reopen(portrait).size == (640, 480)


def test_a_cmyk_jpeg_becomes_rgb() -> None:
    data = encode(Image.new("CMYK", (120, 90), (0, 255, 255, 0)), "JPEG")
    image = reopen(clean_portrait(data, max_bytes=LIMIT))
    assert image.mode == "RGB"
    pixel = image.getpixel((60, 45))
    assert isinstance(pixel, tuple)
    assert pixel[0] > 200 and pixel[1] < 60 and pixel[2] < 60


def test_a_grayscale_jpeg_stays_grayscale() -> None:
    image = reopen(clean_portrait(encode(noise((100, 100), "L"), "JPEG"), max_bytes=LIMIT))
    assert image.mode == "L"


@pytest.mark.parametrize("downscale", [False, True])
def test_a_palette_png_with_transparency_is_kept_transparent(downscale: bool) -> None:
    image = Image.new("P", (200, 100), 1)
    image.putpalette([0, 0, 0, 255, 0, 0, 0, 0, 255])
    image.paste(2, (0, 0, 100, 100))
    data = encode(image, "PNG", transparency=2)

    portrait = clean_portrait(data, max_bytes=LIMIT, max_side=100 if downscale else 2560)

    out = reopen(portrait)
    assert out.has_transparency_data
    rgba = out.convert("RGBA")
    left, right = rgba.getpixel((rgba.width // 4, 10)), rgba.getpixel((rgba.width * 3 // 4, 10))
    assert isinstance(left, tuple) and isinstance(right, tuple)
    assert left[3] == 0
    assert right[:4] == (255, 0, 0, 255)
    if not downscale:
        assert out.mode == "P"


def test_an_rgba_webp_keeps_its_alpha() -> None:
    image = Image.new("RGBA", (100, 100), (10, 200, 10, 0))
    image.paste((10, 200, 10, 255), (50, 0, 100, 100))
    out = reopen(clean_portrait(encode(image, "WEBP", lossless=True), max_bytes=LIMIT))
    assert out.mode == "RGBA"
    clear, solid = out.getpixel((10, 10)), out.getpixel((90, 10))
    assert isinstance(clear, tuple) and isinstance(solid, tuple)
    assert clear[3] == 0
    assert solid[3] == 255
    assert all(abs(a - b) <= 3 for a, b in zip(solid[:3], (10, 200, 10), strict=True))


def test_a_16_bit_png_is_accepted() -> None:
    image = Image.new("I;16", (100, 100), 40000)
    portrait = clean_portrait(encode(image, "PNG"), max_bytes=LIMIT)
    assert reopen(portrait).mode in {"L", "RGB"}


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
def test_an_animation_keeps_its_first_frame(fmt: str) -> None:
    frames = [Image.new("RGB", (100, 100), colour) for colour in ("red", "lime", "blue")]
    data = encode(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100)
    assert getattr(Image.open(io.BytesIO(data)), "n_frames", 1) == 3

    portrait = clean_portrait(data, max_bytes=LIMIT)

    out = reopen(portrait)
    assert getattr(out, "n_frames", 1) == 1
    assert not getattr(out, "is_animated", False)
    pixel = out.convert("RGB").getpixel((50, 50))
    assert isinstance(pixel, tuple)
    assert pixel[0] > 200 and pixel[1] < 60 and pixel[2] < 60
    assert b"acTL" not in portrait.data  # APNG animation control
    assert b"ANIM" not in portrait.data  # WebP animation


def test_a_multi_picture_jpeg_comes_out_as_a_plain_jpeg() -> None:
    """Phones and cameras write MPO files (a JPEG with more pictures after it)."""
    first, second = noise((200, 100)), Image.new("RGB", (200, 100), "black")
    data = encode(first, "MPO", save_all=True, append_images=[second], exif=personal_exif())
    assert Image.open(io.BytesIO(data)).format == "MPO"

    portrait = clean_portrait(data, max_bytes=LIMIT)

    out = reopen(portrait)
    assert (out.format, portrait.mime_type, portrait.extension) == ("JPEG", "image/jpeg", ".jpg")
    assert getattr(out, "n_frames", 1) == 1
    assert_no_metadata(portrait)


def test_a_big_jpeg_is_decoded_at_a_reduced_scale_and_downscaled() -> None:
    data = encode(Image.new("RGB", (6000, 4000), "olive"), "JPEG")
    portrait = clean_portrait(data, max_bytes=LIMIT)
    assert (portrait.width, portrait.height) == (2560, 1707)


def test_the_smallest_accepted_size() -> None:
    portrait = clean_portrait(encode(noise((MIN_SIDE, MIN_SIDE)), "PNG"), max_bytes=LIMIT)
    assert (portrait.width, portrait.height) == (MIN_SIDE, MIN_SIDE)


# --- what is refused --------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n%%EOF\n",
        "Dear bot, here is grandfather's photo. Вечная память.".encode(),
        b"",
        b"\x00" * 4096,
        b"\xff\xd8\xff",  # a JPEG signature and nothing else
    ],
    ids=["pdf", "text", "empty", "zeros", "jpeg-signature-only"],
)
def test_what_is_not_an_image(data: bytes) -> None:
    """Whatever the upload was called (``portrait.jpg``), the bytes decide."""
    assert refusal(data) == "not_image"


@pytest.mark.parametrize("fmt", ["GIF", "BMP", "TIFF", "ICO", "PPM"])
def test_other_image_formats_are_unsupported(fmt: str) -> None:
    assert refusal(encode(Image.new("RGB", (100, 100), "navy"), fmt)) == "unsupported_type"


def test_a_truncated_jpeg_is_damaged() -> None:
    data = encode(noise((400, 300)), "JPEG", quality=95)
    assert refusal(data[: len(data) // 2]) == "damaged"


def test_a_png_with_a_corrupt_chunk_is_damaged() -> None:
    data = bytearray(encode(noise((200, 200)), "PNG"))
    data[len(data) // 2] ^= 0xFF
    assert refusal(bytes(data)) == "damaged"


def test_a_truncated_png_is_damaged() -> None:
    data = encode(noise((200, 200)), "PNG")
    assert refusal(data[: len(data) * 2 // 3]) == "damaged"


def test_too_many_bytes_are_refused_before_decoding() -> None:
    data = encode(noise((200, 200)), "PNG")
    assert refusal(data, max_bytes=len(data) - 1) == "too_large"
    assert clean_portrait(data, max_bytes=len(data)).width == 200
    # not even looked at: garbage over the limit is "too large", not "not an image"
    assert refusal(b"x" * 101, max_bytes=100) == "too_large"


@pytest.mark.parametrize("size", [(MIN_SIDE - 1, 500), (500, MIN_SIDE - 1), (16, 16)])
def test_tiny_pictures_are_refused(size: tuple[int, int]) -> None:
    assert refusal(encode(noise(size), "PNG")) == "too_small"


def with_ihdr_size(png: bytes, width: int, height: int) -> bytes:
    """The PNG with other dimensions written in its header (the pixels stay small)."""
    assert png[12:16] == b"IHDR"
    body = struct.pack(">II", width, height) + png[24:29]
    crc = struct.pack(">I", zlib.crc32(b"IHDR" + body))
    return png[:16] + body + crc + png[33:]


@pytest.mark.parametrize(
    "size",
    [(30_000, 30_000), (10_000, 9_500), (8_000, 6_000)],
    ids=["past-pillow-error", "past-pillow-warning", "past-our-limit"],
)
def test_a_decompression_bomb_is_refused_from_its_header(size: tuple[int, int]) -> None:
    """A few hundred bytes that claim up to 900 megapixels: refused before decoding."""
    bomb = with_ihdr_size(encode(Image.new("L", (100, 100)), "PNG"), *size)
    assert len(bomb) < 1000
    assert refusal(bomb) == "too_large"


def test_a_bomb_is_refused_when_pillow_warnings_are_not_errors() -> None:
    """In production Pillow's DecompressionBombWarning is only a warning; our limit holds."""
    bomb = with_ihdr_size(encode(Image.new("L", (100, 100)), "PNG"), 10_000, 9_500)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        assert refusal(bomb) == "too_large"


def test_a_real_picture_over_the_pixel_limit_is_refused() -> None:
    data = encode(Image.new("1", (1000, 600)), "PNG")
    assert refusal(data, max_pixels=500_000) == "too_large"
    assert clean_portrait(data, max_bytes=LIMIT, max_pixels=600_000).width == 1000


def test_refusal_reasons_are_checked() -> None:
    with pytest.raises(ValueError):
        PortraitRefused("too_ugly", "no")
    error = PortraitRefused("damaged", "truncated")
    assert (error.reason, error.detail) == ("damaged", "truncated")


# --- the store --------------------------------------------------------------------------


@pytest.fixture
def store(tmp_path: Path) -> MediaStore:
    return MediaStore(tmp_path / "media")


@pytest.fixture
def portrait() -> CleanPortrait:
    return clean_portrait(encode(noise((100, 100)), "JPEG"), max_bytes=LIMIT)


@pytest.fixture
def strict_umask() -> Iterator[None]:
    previous = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(previous)


def test_keys_cannot_be_guessed(store: MediaStore, portrait: CleanPortrait) -> None:
    keys = {store.put(portrait) for _ in range(20)}
    assert len(keys) == 20
    for key in keys:
        token, extension = key.rsplit(".", 1)
        assert extension == "jpg"
        assert len(token) == 32  # 24 random bytes, 192 bits
        assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        assert KEY_PATTERN.fullmatch(key)


def test_the_extension_follows_the_format(store: MediaStore) -> None:
    png = clean_portrait(encode(noise((100, 100)), "PNG"), max_bytes=LIMIT)
    assert store.put(png).endswith(".png")


@pytest.mark.usefixtures("strict_umask")
def test_files_are_written_whole_and_world_readable(
    store: MediaStore, portrait: CleanPortrait
) -> None:
    key = store.put(portrait)
    path = store.path(key)
    assert path.is_file()
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert path.is_relative_to(store.root)
    assert [p.name for p in path.parent.iterdir()] == [key]  # no temporary file left behind


def test_read_and_delete(store: MediaStore, portrait: CleanPortrait) -> None:
    key = store.put(portrait)
    assert store.exists(key)
    assert store.read(key) == portrait.data
    assert store.delete(key) is True
    assert not store.exists(key)
    assert store.delete(key) is False
    with pytest.raises(FileNotFoundError):
        store.read(key)


def test_an_unknown_key_is_simply_absent(store: MediaStore) -> None:
    key = "A" * 32 + ".png"
    assert not store.exists(key)
    assert store.delete(key) is False


@pytest.mark.parametrize(
    "key",
    [
        "../../etc/passwd",
        "/etc/passwd",
        "..",
        "",
        "AA/" + "A" * 32 + ".jpg",
        "../" + "A" * 30 + ".jpg",
        "A" * 32 + ".jpg/../../x",
        "A" * 32 + ".gif",
        "A" * 32 + ".JPG",
        "A" * 31 + ".jpg",
        "A" * 33 + ".jpg",
        "A" * 32 + ".jpg\n",
        "A" * 31 + "/.jpg",
        "A" * 31 + ".." + ".jpg",
        "A" * 32 + ".jpg\x00",
    ],
)
def test_keys_that_are_not_keys_are_refused(store: MediaStore, key: str) -> None:
    with pytest.raises(ValueError):
        store.path(key)
    with pytest.raises(ValueError):
        store.read(key)
    with pytest.raises(ValueError):
        store.exists(key)
    with pytest.raises(ValueError):
        store.delete(key)
