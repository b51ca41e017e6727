//! Image thumbnails for `?thumb=WxH` (`tools/filesystem` `CreateThumb`, which uses
//! `disintegration/imaging` with the linear filter): `WxH` fills the box and crops from the
//! center, `WxHt` from the top, `WxHb` from the bottom; `WxHf` fits inside the box without
//! upscaling; `Wx0`/`0xH` resize keeping the aspect ratio. The EXIF orientation is applied
//! first, and only the first frame of an animation is used. A thumb is made once and kept as
//! `thumbs_<name>/<size>_<name>` beside the original.

use std::io::Cursor;
use std::path::Path;
use std::sync::LazyLock;

use image::codecs::gif::GifEncoder;
use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::{CompressionType, FilterType as PngFilter, PngEncoder};
use image::imageops::FilterType;
use image::{DynamicImage, ImageDecoder, ImageReader};
use serde_json::Map;
use tokio::sync::Semaphore;

use crate::core::files::storage;

/// The size every file field offers, whatever its `thumbs` list.
pub const DEFAULT_SIZES: [&str; 1] = ["100x100"];

/// The stored content types that get thumbs; others are served as they are.
pub const IMAGE_TYPES: [&str; 5] = [
    "image/png",
    "image/jpg",
    "image/jpeg",
    "image/gif",
    "image/webp",
];

/// At most this many thumbs are made at once (PocketBase: CPUs + 2).
static WORKERS: LazyLock<Semaphore> = LazyLock::new(|| {
    let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
    Semaphore::new(cpus + 2)
});

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Center,
    Top,
    Bottom,
    Fit,
}

/// A parsed thumb size (`^(\d+)x(\d+)(t|b|f)?$`, not `0x0`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size {
    width: u32,
    height: u32,
    mode: Mode,
}

impl Size {
    pub fn parse(text: &str) -> Option<Size> {
        let (dims, mode) = match text.as_bytes().last()? {
            b't' => (&text[..text.len() - 1], Mode::Top),
            b'b' => (&text[..text.len() - 1], Mode::Bottom),
            b'f' => (&text[..text.len() - 1], Mode::Fit),
            _ => (text, Mode::Center),
        };
        let (w, h) = dims.split_once('x')?;
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(w) || !digits(h) {
            return None;
        }
        let (width, height) = (w.parse().ok()?, h.parse().ok()?);
        (width > 0 || height > 0).then_some(Size {
            width,
            height,
            mode,
        })
    }
}

/// Makes the thumb of `original` at `thumb` (stored with its sidecar).
pub async fn create(original: &Path, thumb: &Path, size: Size) -> Result<(), String> {
    let _permit = WORKERS.acquire().await.map_err(|e| e.to_string())?;
    let data = tokio::fs::read(original).await.map_err(|e| e.to_string())?;
    let name = thumb
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_string();
    let (bytes, content_type) =
        tokio::task::spawn_blocking(move || render(&data, size, &name).map_err(|e| e.to_string()))
            .await
            .map_err(|e| e.to_string())??;
    let dir = thumb.parent().ok_or("thumb path without a dir")?;
    let name = thumb
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    storage::write(dir, name, &bytes, content_type, Map::new())
        .await
        .map_err(|e| e.to_string())
}

/// The encoded thumb and its content type: the format of the thumb's extension (JPEG, PNG
/// or GIF), PNG for any other, as imaging's `FormatFromFilename` with its PNG fallback.
fn render(data: &[u8], size: Size, name: &str) -> image::ImageResult<(Vec<u8>, &'static str)> {
    let mut decoder = ImageReader::new(Cursor::new(data))
        .with_guessed_format()?
        .into_decoder()?;
    let orientation = decoder.orientation()?;
    let mut img = DynamicImage::from_decoder(decoder)?;
    img.apply_orientation(orientation);
    let img = resize(&img, size);
    let extension = name.rsplit('.').next().unwrap_or_default().to_lowercase();
    let mut out = Vec::new();
    let content_type = match extension.as_str() {
        "jpg" | "jpeg" => {
            let rgb = DynamicImage::ImageRgb8(img.to_rgb8());
            rgb.write_with_encoder(JpegEncoder::new_with_quality(&mut out, 95))?;
            "image/jpeg"
        }
        "gif" => {
            GifEncoder::new(&mut out).encode_frame(image::Frame::new(img.to_rgba8()))?;
            "image/gif"
        }
        _ => {
            // Made once and served often: worth the best compression.
            let encoder =
                PngEncoder::new_with_quality(&mut out, CompressionType::Best, PngFilter::Adaptive);
            img.write_with_encoder(encoder)?;
            "image/png"
        }
    };
    Ok((out, content_type))
}

fn resize(img: &DynamicImage, size: Size) -> DynamicImage {
    let (src_w, src_h) = (img.width().max(1), img.height().max(1));
    let Size {
        width,
        height,
        mode,
    } = size;
    if width == 0 || height == 0 {
        let (w, h) = keep_aspect(src_w, src_h, width, height);
        return img.resize_exact(w, h, FilterType::Triangle);
    }
    let src_ratio = src_w as f64 / src_h as f64;
    let dst_ratio = width as f64 / height as f64;
    if mode == Mode::Fit {
        if src_w <= width && src_h <= height {
            return img.clone();
        }
        let (w, h) = if src_ratio > dst_ratio {
            (width, round_at_least_one(width as f64 / src_ratio))
        } else {
            (round_at_least_one(height as f64 * src_ratio), height)
        };
        return img.resize_exact(w, h, FilterType::Triangle);
    }
    if (src_w, src_h) == (width, height) {
        return img.clone();
    }
    let scaled = if src_ratio < dst_ratio {
        let (w, h) = keep_aspect(src_w, src_h, width, 0);
        img.resize_exact(w, h, FilterType::Triangle)
    } else {
        let (w, h) = keep_aspect(src_w, src_h, 0, height);
        img.resize_exact(w, h, FilterType::Triangle)
    };
    let x = (scaled.width().saturating_sub(width)) / 2;
    let y = match mode {
        Mode::Top => 0,
        Mode::Bottom => scaled.height().saturating_sub(height),
        _ => (scaled.height().saturating_sub(height)) / 2,
    };
    scaled.crop_imm(x, y, width, height)
}

/// imaging's `Resize` with one side 0: that side follows the aspect ratio.
fn keep_aspect(src_w: u32, src_h: u32, width: u32, height: u32) -> (u32, u32) {
    match (width, height) {
        (0, h) => (
            round_at_least_one(h as f64 * src_w as f64 / src_h as f64),
            h,
        ),
        (w, 0) => (
            w,
            round_at_least_one(w as f64 * src_h as f64 / src_w as f64),
        ),
        (w, h) => (w, h),
    }
}

fn round_at_least_one(value: f64) -> u32 {
    (value + 0.5).floor().max(1.0) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sizes() {
        let size = |w, h, mode| {
            Some(Size {
                width: w,
                height: h,
                mode,
            })
        };
        assert_eq!(Size::parse("100x100"), size(100, 100, Mode::Center));
        assert_eq!(Size::parse("20x0"), size(20, 0, Mode::Center));
        assert_eq!(Size::parse("0x30t"), size(0, 30, Mode::Top));
        assert_eq!(Size::parse("5x6b"), size(5, 6, Mode::Bottom));
        assert_eq!(Size::parse("5x6f"), size(5, 6, Mode::Fit));
        for bad in ["0x0", "x1", "1x", "1x2z", "-1x2", "axb", ""] {
            assert_eq!(Size::parse(bad), None, "{bad}");
        }
    }

    /// The dimensions PocketBase 0.40.6 produced for an 80x40 original.
    #[test]
    fn sizes_like_imaging() {
        let img = DynamicImage::new_rgb8(80, 40);
        let dims = |s: &str| {
            let out = resize(&img, Size::parse(s).unwrap());
            (out.width(), out.height())
        };
        assert_eq!(dims("100x100"), (100, 100));
        assert_eq!(dims("50x50"), (50, 50));
        assert_eq!(dims("20x0"), (20, 10));
        assert_eq!(dims("0x10"), (20, 10));
        assert_eq!(dims("40x40f"), (40, 20));
        assert_eq!(dims("100x100f"), (80, 40));
        assert_eq!(dims("10x30t"), (10, 30));
    }
}
