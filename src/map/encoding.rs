//! A rendered tile with its content digest and its compressed forms, made once and served many times.

use std::io::Write;

use bytes::Bytes;
use sha2::{Digest, Sha256};

/// A content coding a client accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Encoding {
    Identity,
    Gzip,
    Brotli,
}

impl Encoding {
    /// The `Content-Encoding` value; `None` for identity.
    pub fn header(self) -> Option<&'static str> {
        match self {
            Encoding::Identity => None,
            Encoding::Gzip => Some("gzip"),
            Encoding::Brotli => Some("br"),
        }
    }

    /// The encoding to answer with for an `Accept-Encoding` header: brotli, then gzip, then none; a
    /// coding with `q=0` is refused.
    pub fn negotiate(accept: Option<&str>) -> Encoding {
        let Some(accept) = accept else { return Encoding::Identity };
        let mut best = Encoding::Identity;
        for item in accept.split(',') {
            let mut parts = item.split(';');
            let name = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let refused = parts.any(|p| {
                let p = p.trim();
                p.strip_prefix("q=").and_then(|q| q.trim().parse::<f32>().ok()).is_some_and(|q| q <= 0.0)
            });
            if refused {
                continue;
            }
            match name.as_str() {
                "br" => best = Encoding::Brotli,
                "gzip" | "x-gzip" if best == Encoding::Identity => best = Encoding::Gzip,
                _ => {}
            }
        }
        best
    }

    fn suffix(self) -> &'static str {
        match self {
            Encoding::Identity => "",
            Encoding::Gzip => "-gz",
            Encoding::Brotli => "-br",
        }
    }
}

/// A tile: its MVT bytes, a digest of them, and the compressed forms made so far.
#[derive(Debug, Clone)]
pub struct Tile {
    raw: Bytes,
    digest: [u8; 16],
    gzip: Option<Bytes>,
    brotli: Option<Bytes>,
}

impl Tile {
    pub fn new(raw: Bytes) -> Self {
        let full = Sha256::digest(&raw);
        let mut digest = [0u8; 16];
        digest.copy_from_slice(&full[..16]);
        Self { raw, digest, gzip: None, brotli: None }
    }

    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// The uncompressed MVT.
    pub fn raw(&self) -> &Bytes {
        &self.raw
    }

    /// The body in `encoding`, if it has been made.
    pub fn body(&self, encoding: Encoding) -> Option<&Bytes> {
        if self.raw.is_empty() {
            return Some(&self.raw);
        }
        match encoding {
            Encoding::Identity => Some(&self.raw),
            Encoding::Gzip => self.gzip.as_ref(),
            Encoding::Brotli => self.brotli.as_ref(),
        }
    }

    /// The same tile with its body in `encoding` made too (an empty tile has no body to compress).
    pub fn with(&self, encoding: Encoding) -> Tile {
        let mut t = self.clone();
        if self.raw.is_empty() {
            return t;
        }
        match encoding {
            Encoding::Identity => {}
            Encoding::Gzip => t.gzip = Some(gzip(&self.raw)),
            Encoding::Brotli => t.brotli = Some(brotli(&self.raw)),
        }
        t
    }

    /// The strong entity tag of the body in `encoding`: a digest of the uncompressed tile and the coding,
    /// so equal tiles have equal tags across restarts and processes.
    pub fn etag(&self, encoding: Encoding) -> String {
        let mut tag = String::with_capacity(40);
        tag.push('"');
        for b in self.digest {
            tag.push(char::from_digit(u32::from(b >> 4), 16).unwrap_or('0'));
            tag.push(char::from_digit(u32::from(b & 15), 16).unwrap_or('0'));
        }
        tag.push_str(encoding.suffix());
        tag.push('"');
        tag
    }

    /// What the tile costs the cache, bytes.
    pub fn weight(&self) -> u32 {
        let bodies =
            self.raw.len() + self.gzip.as_ref().map_or(0, Bytes::len) + self.brotli.as_ref().map_or(0, Bytes::len);
        u32::try_from(bodies + 160).unwrap_or(u32::MAX)
    }
}

/// Whether an `If-None-Match` header names `etag` (weak comparison, as RFC 9110 asks for GET).
pub fn matches(if_none_match: &str, etag: &str) -> bool {
    if_none_match.trim() == "*" || if_none_match.split(',').any(|t| t.trim().trim_start_matches("W/") == etag)
}

/// Gzip at level 1: a tile is compressed once, on the request that builds it (then kept compressed), so
/// the level is paid on the cold path. On the densest z15 tiles (17 KB at 100,000 houses) level 1 took
/// 0.51 ms against level 6's 0.88 ms for a body 41 % of the tile's size against 38 % (docs/BENCHMARKS.md).
fn gzip(raw: &[u8]) -> Bytes {
    let mut out = flate2::write::GzEncoder::new(Vec::with_capacity(raw.len() / 2 + 64), flate2::Compression::fast());
    // Writing to a Vec cannot fail.
    let _ = out.write_all(raw);
    Bytes::from(out.finish().unwrap_or_default())
}

fn brotli(raw: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(raw.len() / 2 + 64);
    {
        let mut w = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
        let _ = w.write_all(raw);
    }
    Bytes::from(out)
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    #[test]
    fn clients_get_the_best_coding_they_accept() {
        assert_eq!(Encoding::negotiate(None), Encoding::Identity);
        assert_eq!(Encoding::negotiate(Some("gzip, deflate")), Encoding::Gzip);
        assert_eq!(Encoding::negotiate(Some("gzip, deflate, br")), Encoding::Brotli);
        assert_eq!(Encoding::negotiate(Some("br;q=0, gzip;q=0.5")), Encoding::Gzip);
        assert_eq!(Encoding::negotiate(Some("identity")), Encoding::Identity);
    }

    #[test]
    fn compressed_bodies_read_back_and_tags_differ_by_coding() {
        let raw = Bytes::from(vec![42u8; 5000]);
        let tile = Tile::new(raw.clone()).with(Encoding::Gzip).with(Encoding::Brotli);
        let mut unzipped = Vec::new();
        flate2::read::GzDecoder::new(&tile.body(Encoding::Gzip).unwrap()[..]).read_to_end(&mut unzipped).unwrap();
        assert_eq!(unzipped, raw);
        let mut unbrotli = Vec::new();
        brotli::Decompressor::new(&tile.body(Encoding::Brotli).unwrap()[..], 4096).read_to_end(&mut unbrotli).unwrap();
        assert_eq!(unbrotli, raw);
        assert_ne!(tile.etag(Encoding::Gzip), tile.etag(Encoding::Identity));
        assert_eq!(tile.etag(Encoding::Gzip), Tile::new(raw).etag(Encoding::Gzip));
    }

    #[test]
    fn if_none_match_names_a_tag_in_a_list_or_weakly() {
        assert!(matches("\"a\", \"b\"", "\"b\""));
        assert!(matches("W/\"b\"", "\"b\""));
        assert!(matches("*", "\"b\""));
        assert!(!matches("\"a\"", "\"b\""));
    }
}
