//! CSV bytes → text. A byte-order mark names the encoding (UTF-8, UTF-16LE, UTF-16BE); without
//! one, fields are read as UTF-8 until the first field that is not ASCII decides: valid UTF-8
//! keeps UTF-8, anything else is Windows-1252 (what Excel writes for "CSV" on a Western
//! Windows). `ingest.encoding` fixes the choice. ASCII reads the same in all of these, so the
//! decision can wait for the first byte that tells them apart without re-reading anything.
//!
//! UTF-16 is transcoded to UTF-8 before parsing ([`Utf16Reader`]): its delimiters are two bytes
//! wide. Every other encoding the config accepts is ASCII-compatible, so records are split on
//! the raw bytes and each field is decoded on its own ([`FieldDecoder`]).

use std::borrow::Cow;
use std::io::Read;

use encoding_rs::{Decoder, Encoding, UTF_8, WINDOWS_1252};

use super::settings::EncodingChoice;

/// How a file's fields are decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Not decided yet: every field so far was ASCII.
    Sniff,
    /// UTF-8 (also what the UTF-16 transcoder produces); `strict_fffd`: a U+FFFD in a field
    /// is the transcoder's replacement for malformed input, not the file's own character.
    Utf8 { strict_fffd: bool },
    /// An ASCII-compatible encoding other than UTF-8.
    Single(&'static Encoding),
}

/// What a file was found to be, for the load report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Detected {
    /// The encoding.
    pub encoding: &'static Encoding,
    /// It started with a byte-order mark.
    pub bom: bool,
    /// Chosen by the config rather than detected.
    pub configured: bool,
}

impl Detected {
    /// `utf-8`, `utf-8 with BOM`, `windows-1252`, `utf-16le with BOM`, `shift_jis from
    /// `ingest.encoding``.
    pub fn describe(&self, key: &str) -> String {
        let mut out = self.encoding.name().to_ascii_lowercase();
        if self.bom {
            out.push_str(" with BOM");
        }
        if self.configured {
            out.push_str(" from `");
            out.push_str(key);
            out.push('`');
        }
        out
    }
}

/// The plan for one file, from its first bytes and the config.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// Bytes of byte-order mark to skip.
    pub skip: usize,
    /// Transcode from this UTF-16 before parsing.
    pub utf16: Option<&'static Encoding>,
    mode: Mode,
    configured: bool,
    bom: bool,
}

/// Decides how to read a file that starts with `head`. A byte-order mark that contradicts a
/// configured encoding is an error message (the file would read as garbage either way).
pub fn plan(head: &[u8], choice: EncodingChoice) -> Result<Plan, String> {
    let bom = Encoding::for_bom(head);
    let (encoding, configured) = match (choice, bom) {
        (EncodingChoice::Auto, None) => {
            return Ok(Plan {
                skip: 0,
                utf16: None,
                mode: Mode::Sniff,
                configured: false,
                bom: false,
            });
        }
        (EncodingChoice::Auto, Some((e, _))) => (e, false),
        (EncodingChoice::Fixed(e), Some((b, _))) if b != e => {
            return Err(format!(
                "the file starts with a {} byte-order mark, but the config says it is {}",
                b.name(),
                e.name()
            ));
        }
        (EncodingChoice::Fixed(e), _) => (e, true),
    };
    let skip = bom.map_or(0, |(_, n)| n);
    let utf16 = (encoding == encoding_rs::UTF_16LE || encoding == encoding_rs::UTF_16BE)
        .then_some(encoding);
    let mode = if utf16.is_some() {
        Mode::Utf8 { strict_fffd: true }
    } else if encoding == UTF_8 {
        Mode::Utf8 { strict_fffd: false }
    } else {
        Mode::Single(encoding)
    };
    Ok(Plan {
        skip,
        utf16,
        mode,
        configured,
        bom: skip > 0,
    })
}

/// Decodes the fields of one file, deciding between UTF-8 and Windows-1252 on the first field
/// that tells them apart.
#[derive(Debug, Clone)]
pub struct FieldDecoder {
    mode: Mode,
    plan: Plan,
}

/// One decoded field and whether decoding had to replace anything.
pub struct Decoded<'a> {
    /// The text.
    pub text: Cow<'a, str>,
    /// Bytes that are not valid in the file's encoding became U+FFFD.
    pub malformed: bool,
}

impl FieldDecoder {
    /// A decoder following `plan`.
    pub fn new(plan: Plan) -> FieldDecoder {
        FieldDecoder {
            mode: plan.mode,
            plan,
        }
    }

    /// Decodes one field.
    pub fn decode<'a>(&mut self, field: &'a [u8]) -> Decoded<'a> {
        match self.mode {
            Mode::Sniff => {
                if let Ok(s) = std::str::from_utf8(field) {
                    if !s.is_ascii() {
                        self.mode = Mode::Utf8 { strict_fffd: false };
                    }
                    return clean(Cow::Borrowed(s));
                }
                self.mode = Mode::Single(WINDOWS_1252);
                self.decode(field)
            }
            Mode::Utf8 { strict_fffd } => match std::str::from_utf8(field) {
                Ok(s) => Decoded {
                    malformed: strict_fffd && s.contains('\u{FFFD}'),
                    text: Cow::Borrowed(s),
                },
                Err(_) => Decoded {
                    text: String::from_utf8_lossy(field),
                    malformed: true,
                },
            },
            Mode::Single(enc) => {
                if field.is_ascii() {
                    // ASCII is the same text in every encoding accepted here.
                    return clean(String::from_utf8_lossy(field));
                }
                let (text, malformed) = enc.decode_without_bom_handling(field);
                Decoded { text, malformed }
            }
        }
    }

    /// What the file turned out to be (so far: a file of pure ASCII reads as UTF-8).
    pub fn detected(&self) -> Detected {
        let encoding = match (self.plan.utf16, self.mode) {
            (Some(e), _) | (None, Mode::Single(e)) => e,
            _ => UTF_8,
        };
        Detected {
            encoding,
            bom: self.plan.bom,
            configured: self.plan.configured,
        }
    }
}

fn clean(text: Cow<'_, str>) -> Decoded<'_> {
    Decoded {
        text,
        malformed: false,
    }
}

/// A reader that turns UTF-16 into UTF-8 as it is read; malformed input becomes U+FFFD (which
/// [`FieldDecoder`] then reports).
pub struct Utf16Reader<R> {
    inner: R,
    decoder: Decoder,
    input: Vec<u8>,
    output: Vec<u8>,
    pos: usize,
    done: bool,
}

const CHUNK: usize = 64 * 1024;

impl<R: Read> Utf16Reader<R> {
    /// Reads `inner` (with its byte-order mark already skipped) as `encoding`.
    pub fn new(inner: R, encoding: &'static Encoding) -> Utf16Reader<R> {
        Utf16Reader {
            inner,
            decoder: encoding.new_decoder_without_bom_handling(),
            input: vec![0; CHUNK],
            output: Vec::new(),
            pos: 0,
            done: false,
        }
    }

    fn refill(&mut self) -> std::io::Result<()> {
        let n = self.inner.read(&mut self.input)?;
        let last = n == 0;
        let cap = self
            .decoder
            .max_utf8_buffer_length(n)
            .unwrap_or(4 * CHUNK + 16);
        self.output.clear();
        self.output.resize(cap, 0);
        // With room for the worst case the decoder consumes the whole chunk in one call.
        let (_, _, written, _) =
            self.decoder
                .decode_to_utf8(&self.input[..n], &mut self.output, last);
        self.output.truncate(written);
        self.pos = 0;
        self.done = last;
        Ok(())
    }
}

impl<R: Read> Read for Utf16Reader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.pos >= self.output.len() {
            if self.done {
                return Ok(0);
            }
            self.refill()?;
        }
        let n = buf.len().min(self.output.len() - self.pos);
        buf[..n].copy_from_slice(&self.output[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(head: &[u8], choice: EncodingChoice, fields: &[&[u8]]) -> (Vec<String>, String) {
        let mut d = FieldDecoder::new(plan(head, choice).unwrap());
        let out = fields
            .iter()
            .map(|f| {
                let x = d.decode(f);
                format!("{}{}", x.text, if x.malformed { "!" } else { "" })
            })
            .collect();
        (out, d.detected().describe("ingest.encoding"))
    }

    #[test]
    fn the_first_non_ascii_field_decides() {
        // "Société" in Windows-1252 after plain ASCII: the whole file is Windows-1252.
        let (got, enc) = decode_all(
            b"a,b",
            EncodingChoice::Auto,
            &[b"abc", b"Soci\xE9t\xE9", b"\x80"],
        );
        assert_eq!(got, ["abc", "Société", "€"]);
        assert_eq!(enc, "windows-1252");
        // Valid UTF-8 first: later bytes that are not UTF-8 are replaced and flagged.
        let (got, enc) = decode_all(
            b"a",
            EncodingChoice::Auto,
            &["Société".as_bytes(), b"caf\xE9"],
        );
        assert_eq!(got, ["Société", "caf\u{FFFD}!"]);
        assert_eq!(enc, "utf-8");
        // Pure ASCII is UTF-8.
        assert_eq!(decode_all(b"a", EncodingChoice::Auto, &[b"x"]).1, "utf-8");
    }

    #[test]
    fn byte_order_marks_and_configured_encodings() {
        let p = plan(b"\xEF\xBB\xBFa,b", EncodingChoice::Auto).unwrap();
        assert_eq!((p.skip, p.utf16), (3, None));
        let p = plan(b"\xFF\xFEa\0", EncodingChoice::Auto).unwrap();
        assert_eq!((p.skip, p.utf16), (2, Some(encoding_rs::UTF_16LE)));
        let p = plan(b"\xFE\xFF\0a", EncodingChoice::Auto).unwrap();
        assert_eq!((p.skip, p.utf16), (2, Some(encoding_rs::UTF_16BE)));
        let latin = EncodingChoice::Fixed(WINDOWS_1252);
        let (got, enc) = decode_all(b"a", latin, &["é".as_bytes()]);
        assert_eq!(got, ["Ã©"], "a configured encoding is never second-guessed");
        assert_eq!(enc, "windows-1252 from `ingest.encoding`");
        let err = plan(b"\xFF\xFEa\0", latin).unwrap_err();
        assert!(err.contains("UTF-16LE byte-order mark"), "{err}");
    }

    #[test]
    fn utf16_is_transcoded_in_chunks_and_bad_input_flagged() {
        let text = "Serial,Account\nSN1,Société Générale\n".repeat(5000);
        let mut le: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
        let mut out = String::new();
        Utf16Reader::new(&le[..], encoding_rs::UTF_16LE)
            .read_to_string(&mut out)
            .unwrap();
        assert_eq!(out, text);
        // An unpaired surrogate becomes U+FFFD, which the field decoder reports.
        le.extend_from_slice(&[0x00, 0xD8, b'x', 0]);
        let mut out = Vec::new();
        Utf16Reader::new(&le[..], encoding_rs::UTF_16LE)
            .read_to_end(&mut out)
            .unwrap();
        let tail = &out[out.len() - 4..];
        let mut d = FieldDecoder::new(plan(b"\xFF\xFE", EncodingChoice::Auto).unwrap());
        let x = d.decode(tail);
        assert_eq!((x.text.as_ref(), x.malformed), ("\u{FFFD}x", true));
        assert_eq!(d.detected().describe("k"), "utf-16le with BOM");
    }
}
