//! Content sniffing: the MIME type of an upload from its first bytes, as PocketBase gets it
//! from `gabriel-vasile/mimetype` (the type checked against a field's `mimeTypes`, stored
//! in the `.attrs` sidecar and served as `Content-Type`, and the extension given to a name
//! that has none). The client's `Content-Type` is never trusted.
//!
//! This is the subset of mimetype's tree that people upload (images, audio, video,
//! documents, archives, text formats), with its exact type strings and extensions, checked
//! against PocketBase 0.40.6 sample by sample. Anything else is `application/octet-stream`
//! (binary) or `text/plain` (text), as mimetype answers for what it does not recognise.

mod text;

/// mimetype reads at most this many bytes (its default `ReadLimit`).
const READ_LIMIT: usize = 3072;

/// A detected type: the full type string (with parameters, as stored) and its extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mime {
    pub name: &'static str,
    /// With the leading dot; empty when the type has none.
    pub extension: &'static str,
    aliases: &'static [&'static str],
}

const fn mime(name: &'static str, extension: &'static str) -> Mime {
    Mime {
        name,
        extension,
        aliases: &[],
    }
}

impl Mime {
    /// mimetype's `Is`: the type without parameters, or one of its aliases, equals
    /// `expected` (case-insensitively, parameters ignored).
    pub fn is(&self, expected: &str) -> bool {
        let bare = |t: &str| {
            t.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_lowercase()
        };
        let expected = bare(expected);
        bare(self.name) == expected || self.aliases.iter().any(|a| *a == expected)
    }
}

pub const OCTET_STREAM: Mime = mime("application/octet-stream", "");
const UTF8_TEXT: Mime = mime("text/plain; charset=utf-8", ".txt");

/// The type of `data` (only its first 3 KiB are looked at).
pub fn detect(data: &[u8]) -> Mime {
    let head = &data[..data.len().min(READ_LIMIT)];
    let truncated = data.len() > READ_LIMIT;
    binary(head)
        .or_else(|| text::text(head, truncated))
        .unwrap_or(OCTET_STREAM)
}

/// Magic-number formats, in mimetype's order where two could overlap.
fn binary(b: &[u8]) -> Option<Mime> {
    let at = |offset: usize, magic: &[u8]| b.get(offset..offset + magic.len()) == Some(magic);
    let found = if at(0, b"7z\xBC\xAF\x27\x1C") {
        mime("application/x-7z-compressed", ".7z")
    } else if at(0, b"PK\x03\x04") || at(0, b"PK\x05\x06") || at(0, b"PK\x07\x08") {
        zip(b)
    } else if at(0, b"%PDF-") {
        Mime {
            aliases: &["application/x-pdf"],
            ..mime("application/pdf", ".pdf")
        }
    } else if at(0, b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1") {
        mime("application/x-ole-storage", "")
    } else if at(0, b"%!PS-Adobe-") {
        mime("application/postscript", ".ps")
    } else if at(0, b"8BPS") {
        mime("image/vnd.adobe.photoshop", ".psd")
    } else if at(0, b"OggS") {
        ogg(b)
    } else if at(0, b"\x89PNG\r\n\x1A\n") {
        mime("image/png", ".png")
    } else if at(0, b"\xFF\xD8\xFF") {
        mime("image/jpeg", ".jpg")
    } else if at(0, b"GIF87a") || at(0, b"GIF89a") {
        mime("image/gif", ".gif")
    } else if at(0, b"RIFF") && at(8, b"WEBP") {
        mime("image/webp", ".webp")
    } else if at(0, b"MZ") {
        mime("application/vnd.microsoft.portable-executable", ".exe")
    } else if at(0, b"\x7FELF") {
        mime("application/x-elf", "")
    } else if is_tar(b) {
        mime("application/x-tar", ".tar")
    } else if at(0, b"BZh") {
        mime("application/x-bzip2", ".bz2")
    } else if at(0, b"II*\x00") || at(0, b"MM\x00*") {
        mime("image/tiff", ".tiff")
    } else if is_bmp(b) {
        Mime {
            aliases: &["image/x-bmp", "image/x-ms-bmp"],
            ..mime("image/bmp", ".bmp")
        }
    } else if at(0, b"\x00\x00\x01\x00") || at(0, b"\x00\x00\x02\x00") {
        mime("image/x-icon", ".ico")
    } else if at(0, b"ID3") || is_mp3_frame(b) {
        Mime {
            aliases: &["audio/x-mpeg", "audio/mp3"],
            ..mime("audio/mpeg", ".mp3")
        }
    } else if at(0, b"fLaC") {
        mime("audio/flac", ".flac")
    } else if at(0, b"MThd") {
        mime("audio/midi", ".midi")
    } else if at(0, b"RIFF") && at(8, b"WAVE") {
        Mime {
            aliases: &["audio/x-wav", "audio/vnd.wave", "audio/wave"],
            ..mime("audio/wav", ".wav")
        }
    } else if at(0, b"FORM") && at(8, b"AIFF") {
        mime("audio/aiff", ".aiff")
    } else if at(0, b"\x00\x00\x01\xBA") || at(0, b"\x00\x00\x01\xB3") {
        mime("video/mpeg", ".mpeg")
    } else if at(4, b"ftyp") {
        return ftyp(b);
    } else if at(0, b"\x1A\x45\xDF\xA3") {
        return matroska(b);
    } else if at(0, b"RIFF") && at(8, b"AVI ") {
        mime("video/x-msvideo", ".avi")
    } else if at(0, b"FLV") {
        mime("video/x-flv", ".flv")
    } else if at(0, b"\x30\x26\xB2\x75\x8E\x66\xCF\x11") {
        mime("video/x-ms-asf", ".asf")
    } else if at(0, b"\xFF\xF1") || at(0, b"\xFF\xF9") {
        mime("audio/aac", ".aac")
    } else if at(0, b"\xFF\xFE\x00\x00") {
        mime("text/plain; charset=utf-32le", ".txt")
    } else if at(0, b"\x00\x00\xFE\xFF") {
        mime("text/plain; charset=utf-32be", ".txt")
    } else if at(0, b"\xFF\xFE") {
        mime("text/plain; charset=utf-16le", ".txt")
    } else if at(0, b"\xFE\xFF") {
        mime("text/plain; charset=utf-16be", ".txt")
    } else if at(0, b"\x1F\x8B") {
        mime("application/gzip", ".gz")
    } else if at(0, b"wOFF") {
        mime("font/woff", ".woff")
    } else if at(0, b"wOF2") {
        mime("font/woff2", ".woff2")
    } else if at(0, b"\x00asm") {
        mime("application/wasm", ".wasm")
    } else if at(0, b"Rar!\x1A\x07") {
        mime("application/vnd.rar", ".rar")
    } else if at(0, b"SQLite format 3\x00") {
        mime("application/vnd.sqlite3", ".sqlite")
    } else if at(0, b"\x28\xB5\x2F\xFD") {
        mime("application/zstd", ".zst")
    } else if at(0, b"\xFD7zXZ\x00") {
        mime("application/x-xz", ".xz")
    } else {
        return None;
    };
    Some(found)
}

/// A zip, or one of the formats that are zips (office documents, epub, jar).
fn zip(b: &[u8]) -> Mime {
    // OpenDocument and epub store their type uncompressed as the first entry, `mimetype`.
    if b.get(30..38) == Some(b"mimetype") {
        let declared = &b[38..b.len().min(38 + 60)];
        for (prefix, found) in [
            (
                &b"application/epub+zip"[..],
                mime("application/epub+zip", ".epub"),
            ),
            (
                b"application/vnd.oasis.opendocument.text",
                mime("application/vnd.oasis.opendocument.text", ".odt"),
            ),
            (
                b"application/vnd.oasis.opendocument.spreadsheet",
                mime("application/vnd.oasis.opendocument.spreadsheet", ".ods"),
            ),
            (
                b"application/vnd.oasis.opendocument.presentation",
                mime("application/vnd.oasis.opendocument.presentation", ".odp"),
            ),
        ] {
            if declared.starts_with(prefix) {
                return found;
            }
        }
    }
    let names = zip_entry_names(b);
    let has = |prefix: &str| names.iter().any(|n| n.starts_with(prefix.as_bytes()));
    if has("word/") {
        mime(
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            ".docx",
        )
    } else if has("xl/") {
        mime(
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            ".xlsx",
        )
    } else if has("ppt/") {
        mime(
            "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            ".pptx",
        )
    } else if has("META-INF/MANIFEST.MF") {
        mime("application/java-archive", ".jar")
    } else {
        Mime {
            aliases: &["application/x-zip", "application/x-zip-compressed"],
            ..mime("application/zip", ".zip")
        }
    }
}

/// The names of the local file headers within the sniffed bytes.
fn zip_entry_names(b: &[u8]) -> Vec<&[u8]> {
    let mut names = Vec::new();
    let mut at = 0;
    while b.get(at..at + 4) == Some(b"PK\x03\x04") {
        let u16_at = |o: usize| {
            b.get(at + o..at + o + 2)
                .map(|s| u16::from_le_bytes([s[0], s[1]]) as usize)
        };
        let u32_at = |o: usize| {
            b.get(at + o..at + o + 4)
                .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]) as usize)
        };
        let (Some(size), Some(name_len), Some(extra_len)) = (u32_at(18), u16_at(26), u16_at(28))
        else {
            break;
        };
        let Some(name) = b.get(at + 30..at + 30 + name_len) else {
            break;
        };
        names.push(name);
        at += 30 + name_len + extra_len + size;
    }
    names
}

fn ogg(b: &[u8]) -> Mime {
    let at = |offset: usize, magic: &[u8]| b.get(offset..offset + magic.len()) == Some(magic);
    if at(28, b"\x01vorbis") || at(28, b"OpusHead") || at(28, b"Speex   ") || at(28, b"\x7FFLAC") {
        mime("audio/ogg", ".oga")
    } else if at(28, b"\x80theora") || at(28, b"fishead\x00") || at(28, b"\x01video\x00\x00\x00") {
        mime("video/ogg", ".ogv")
    } else {
        Mime {
            aliases: &["application/x-ogg"],
            ..mime("application/ogg", ".ogg")
        }
    }
}

/// A tar header: `ustar` or a valid header checksum.
fn is_tar(b: &[u8]) -> bool {
    let Some(header) = b.get(..512) else {
        return false;
    };
    let stored = std::str::from_utf8(&header[148..156])
        .ok()
        .map(|s| s.trim_matches(|c: char| c == '\0' || c == ' '))
        .and_then(|s| u32::from_str_radix(s, 8).ok());
    let sum: u32 = header
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            if (148..156).contains(&i) {
                32
            } else {
                c as u32
            }
        })
        .sum();
    stored == Some(sum)
}

fn is_bmp(b: &[u8]) -> bool {
    b.starts_with(b"BM")
        && b.get(14..18).is_some_and(|s| {
            matches!(
                u32::from_le_bytes([s[0], s[1], s[2], s[3]]),
                12 | 40 | 52 | 56 | 64 | 108 | 124
            )
        })
}

/// An MPEG audio frame header (layer III) at the start.
fn is_mp3_frame(b: &[u8]) -> bool {
    match b {
        [0xFF, second, third, ..] => {
            let version = (second >> 3) & 0b11;
            let layer = (second >> 1) & 0b11;
            let bitrate = third >> 4;
            let rate = (third >> 2) & 0b11;
            second & 0xE0 == 0xE0 && version != 1 && layer == 1 && bitrate != 15 && rate != 3
        }
        _ => false,
    }
}

/// ISO base media files, by major brand.
fn ftyp(b: &[u8]) -> Option<Mime> {
    let brand = b.get(8..12)?;
    let found = match brand {
        b"avif" | b"avis" => mime("image/avif", ".avif"),
        b"heic" | b"heix" => mime("image/heic", ".heic"),
        b"hevc" | b"hevx" => mime("image/heic-sequence", ".heic"),
        b"mif1" | b"heim" | b"heis" | b"avic" => mime("image/heif", ".heif"),
        b"msf1" | b"hevm" | b"hevs" | b"avcs" => mime("image/heif-sequence", ".heif"),
        b"qt  " => mime("video/quicktime", ".mov"),
        b"M4A " => mime("audio/x-m4a", ".m4a"),
        b"M4V " | b"M4VH" | b"M4VP" => mime("video/x-m4v", ".m4v"),
        b"3gp1" | b"3gp2" | b"3gp3" | b"3gp4" | b"3gp5" | b"3gp6" | b"3gp7" | b"3gs7" | b"3ge6"
        | b"3ge7" | b"3gg6" => Mime {
            aliases: &["video/3gp", "audio/3gpp"],
            ..mime("video/3gpp", ".3gp")
        },
        b"3g24" | b"3g25" | b"3g26" | b"3g2a" | b"3g2b" | b"3g2c" | b"KDDI" => Mime {
            aliases: &["video/3g2", "audio/3gpp2"],
            ..mime("video/3gpp2", ".3g2")
        },
        _ => mime("video/mp4", ".mp4"),
    };
    Some(found)
}

/// EBML: WebM or Matroska, by the document type.
fn matroska(b: &[u8]) -> Option<Mime> {
    let window = &b[..b.len().min(4096)];
    let contains = |needle: &[u8]| window.windows(needle.len()).any(|w| w == needle);
    if contains(b"webm") {
        Some(Mime {
            aliases: &["audio/webm"],
            ..mime("video/webm", ".webm")
        })
    } else if contains(b"matroska") {
        Some(mime("video/matroska", ".mkv"))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each sample's type as PocketBase 0.40.6 stored it (`.attrs` `user.content_type`).
    #[test]
    fn detects_like_pocketbase() {
        let zip = |names: &[&str]| {
            let mut out = Vec::new();
            for name in names {
                out.extend_from_slice(b"PK\x03\x04");
                out.extend_from_slice(&[0; 14]);
                out.extend_from_slice(&1u32.to_le_bytes());
                out.extend_from_slice(&1u32.to_le_bytes());
                out.extend_from_slice(&(name.len() as u16).to_le_bytes());
                out.extend_from_slice(&0u16.to_le_bytes());
                out.extend_from_slice(name.as_bytes());
                out.push(b'x');
            }
            out
        };
        let cases: Vec<(Vec<u8>, &str, &str)> = vec![
            (b"\x89PNG\r\n\x1a\n0000".to_vec(), "image/png", ".png"),
            (b"GIF89a\x01\x00".to_vec(), "image/gif", ".gif"),
            (
                b"\xff\xd8\xff\xe0\x00\x10JFIF".to_vec(),
                "image/jpeg",
                ".jpg",
            ),
            (
                b"RIFF\x10\x00\x00\x00WEBPVP8 ".to_vec(),
                "image/webp",
                ".webp",
            ),
            (b"%PDF-1.4\n".to_vec(), "application/pdf", ".pdf"),
            (b"\x00\x00\x00\x18ftypavif".to_vec(), "image/avif", ".avif"),
            (b"\x00\x00\x00\x18ftypisom".to_vec(), "video/mp4", ".mp4"),
            (
                b"\x00\x00\x00\x14ftypqt  ".to_vec(),
                "video/quicktime",
                ".mov",
            ),
            (
                zip(&["[Content_Types].xml", "word/document.xml"]),
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                ".docx",
            ),
            (zip(&["a.txt"]), "application/zip", ".zip"),
            (
                b"hello world\n".to_vec(),
                "text/plain; charset=utf-8",
                ".txt",
            ),
            (
                b"caf\xe9".to_vec(),
                "text/plain; charset=iso-8859-1",
                ".txt",
            ),
            (b"{\"a\": [1, 2]}".to_vec(), "application/json", ".json"),
            (b"\"abc\"".to_vec(), "text/plain; charset=utf-8", ".txt"),
            (b"{\"a\":1} x".to_vec(), "text/plain; charset=utf-8", ".txt"),
            (b"a,b,c\n1,2,3\n".to_vec(), "text/csv", ".csv"),
            (b"#x\na,b\n\n1,2\n".to_vec(), "text/csv", ".csv"),
            (
                b"\"a,1\",b\n\"x \"\"y\"\"\",z\n".to_vec(),
                "text/csv",
                ".csv",
            ),
            (
                b"a,b\n1,2,3\n".to_vec(),
                "text/plain; charset=utf-8",
                ".txt",
            ),
            (b"a,b,c\n".to_vec(), "text/plain; charset=utf-8", ".txt"),
            (
                b"a\tb\n1\t2\n".to_vec(),
                "text/tab-separated-values",
                ".tsv",
            ),
            (
                b"  <!doctype html><html>".to_vec(),
                "text/html; charset=utf-8",
                ".html",
            ),
            (b"<b>bold</b>".to_vec(), "text/html; charset=utf-8", ".html"),
            (
                b"<pre>x</pre>".to_vec(),
                "text/plain; charset=utf-8",
                ".txt",
            ),
            (
                b"<?xml version=\"1.0\"?><svg/>".to_vec(),
                "image/svg+xml",
                ".svg",
            ),
            (
                b"hello <svg> world".to_vec(),
                "text/plain; charset=utf-8",
                ".txt",
            ),
            (
                b"<?xml version=\"1.0\"?><a/>".to_vec(),
                "text/xml; charset=utf-8",
                ".xml",
            ),
            (
                b"<?xml version=\"1.0\"?><rss/>".to_vec(),
                "application/rss+xml",
                ".rss",
            ),
            (
                b"{\"a\":1}\n{\"a\":2}\n".to_vec(),
                "application/x-ndjson",
                ".ndjson",
            ),
            (b"#!/usr/bin/env python\n".to_vec(), "text/x-python", ".py"),
            (b"hello\x01".to_vec(), "application/octet-stream", ""),
            (b"\x00\x01\x02".to_vec(), "application/octet-stream", ""),
            (
                b"\xff\xfeh\x00i\x00".to_vec(),
                "text/plain; charset=utf-16le",
                ".txt",
            ),
            (b"\xff\xfb\x90\x64\x00".to_vec(), "audio/mpeg", ".mp3"),
            (b"Rar!\x1a\x07\x00".to_vec(), "application/vnd.rar", ".rar"),
        ];
        for (data, name, extension) in cases {
            let found = detect(&data);
            assert_eq!(
                (found.name, found.extension),
                (name, extension),
                "{:?}",
                String::from_utf8_lossy(&data)
            );
        }
    }

    #[test]
    fn is_ignores_parameters_and_knows_aliases() {
        assert!(detect(b"hello").is("text/plain"));
        assert!(detect(b"hello").is("TEXT/PLAIN; charset=x"));
        assert!(!detect(b"{\"a\":1}").is("text/plain"));
        assert!(detect(b"%PDF-1.7").is("application/x-pdf"));
    }
}
