//! Files of signed envelopes, for `covenant keys grant --out`, `covenant emit --envelope` and
//! `covenant demo generate`.
//!
//! The binary form is a sequence of records, each a big-endian u32 length followed by that many
//! envelope bytes. The text form is one base64-encoded envelope per line (what `covenant keys`
//! prints when no output file is given); blank lines and lines starting with `#` are skipped.

use crate::EmitError;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use covenant_core::MAX_ENVELOPE_BYTES;
use std::io::{Read, Write};

/// Append one length-prefixed envelope.
pub fn write_record(out: &mut impl Write, envelope: &[u8]) -> std::io::Result<()> {
    let length = u32::try_from(envelope.len())
        .map_err(|_| std::io::Error::other("envelope longer than 4 GiB"))?;
    out.write_all(&length.to_be_bytes())?;
    out.write_all(envelope)
}

/// Reads length-prefixed envelopes one at a time, so files of millions fit in little memory.
pub struct RecordReader<R> {
    input: R,
    index: usize,
}

impl<R: Read> RecordReader<R> {
    pub fn new(input: R) -> Self {
        Self { input, index: 0 }
    }
}

impl<R: Read> Iterator for RecordReader<R> {
    type Item = Result<Vec<u8>, EmitError>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut length = [0u8; 4];
        match read_exact_or_eof(&mut self.input, &mut length) {
            Ok(false) => return None,
            Ok(true) => {}
            Err(error) => return Some(Err(error)),
        }
        self.index += 1;
        let length = u32::from_be_bytes(length) as usize;
        if length > MAX_ENVELOPE_BYTES {
            return Some(Err(EmitError::EnvelopeFile(format!(
                "record {}: length {length} is over the {MAX_ENVELOPE_BYTES}-byte envelope limit (is this a length-prefixed envelope file?)",
                self.index
            ))));
        }
        let mut envelope = vec![0; length];
        if let Err(error) = self.input.read_exact(&mut envelope) {
            return Some(Err(EmitError::EnvelopeFile(format!(
                "record {}: {length} bytes announced, file ends early: {error}",
                self.index
            ))));
        }
        Some(Ok(envelope))
    }
}

/// Fill `buffer`, or return `Ok(false)` at a clean end of input.
fn read_exact_or_eof(input: &mut impl Read, buffer: &mut [u8]) -> Result<bool, EmitError> {
    let mut filled = 0;
    while filled < buffer.len() {
        match input.read(&mut buffer[filled..]) {
            Ok(0) if filled == 0 => return Ok(false),
            Ok(0) => {
                return Err(EmitError::EnvelopeFile(
                    "file ends inside a length prefix".into(),
                ));
            }
            Ok(read) => filled += read,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
            Err(error) => return Err(EmitError::EnvelopeFile(error.to_string())),
        }
    }
    Ok(true)
}

/// An envelope as one base64 line.
pub fn to_base64_line(envelope: &[u8]) -> String {
    BASE64.encode(envelope)
}

/// Every envelope in a file's contents, in either form.
pub fn parse(contents: &[u8]) -> Result<Vec<Vec<u8>>, EmitError> {
    if is_base64_text(contents) {
        parse_base64_lines(contents)
    } else {
        RecordReader::new(contents).collect()
    }
}

fn is_base64_text(contents: &[u8]) -> bool {
    // A binary file starts with a length prefix whose first byte is 0 (envelopes are under
    // 64 KiB), and 0 is never part of a text file.
    contents.first().is_some_and(|&first| first != 0)
        && contents
            .iter()
            .all(|b| b.is_ascii_graphic() || b.is_ascii_whitespace())
}

fn parse_base64_lines(contents: &[u8]) -> Result<Vec<Vec<u8>>, EmitError> {
    let text = std::str::from_utf8(contents)
        .map_err(|_| EmitError::EnvelopeFile("text file is not UTF-8".into()))?;
    let mut envelopes = vec![];
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let envelope = BASE64.decode(line).map_err(|error| {
            EmitError::EnvelopeFile(format!("line {}: not base64: {error}", number + 1))
        })?;
        envelopes.push(envelope);
    }
    Ok(envelopes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip() {
        let envelopes = vec![vec![1, 2, 3], vec![], vec![9; 300]];
        let mut file = vec![];
        for envelope in &envelopes {
            write_record(&mut file, envelope).unwrap();
        }
        assert_eq!(parse(&file).unwrap(), envelopes);
        let streamed: Vec<_> = RecordReader::new(file.as_slice())
            .map(Result::unwrap)
            .collect();
        assert_eq!(streamed, envelopes);
    }

    #[test]
    fn base64_lines_round_trip() {
        let envelopes = vec![vec![10, 20, 30], vec![0xff; 40]];
        let text: String = envelopes
            .iter()
            .map(|e| format!("{}\n", to_base64_line(e)))
            .collect();
        let text = format!("# grant for dcms\n\n{text}");
        assert_eq!(parse(text.as_bytes()).unwrap(), envelopes);
    }

    #[test]
    fn truncated_and_oversized_records_are_named() {
        let mut file = vec![];
        write_record(&mut file, &[5; 10]).unwrap();
        file.truncate(8);
        let error = parse(&file).unwrap_err().to_string();
        assert!(
            error.contains("record 1") && error.contains("ends early"),
            "{error}"
        );
        let error = parse(&[0, 0, 1]).unwrap_err().to_string();
        assert!(error.contains("inside a length prefix"), "{error}");
        let error = parse(&[0, 0xff, 0xff, 0xff, 1]).unwrap_err().to_string();
        assert!(error.contains("over the"), "{error}");
        let error = parse(b"not base64 !!\n").unwrap_err().to_string();
        assert!(error.contains("line 1"), "{error}");
    }
}
