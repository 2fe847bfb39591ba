//! Reader of the tensor file (`*.mvt`) that `macridvae train` writes for a model's weights, so Rust code
//! (e.g. serving) can load a trained model without TensorFlow.js or a JSON parser. Layout (all integers
//! `u32` little-endian; strings are a `u32` byte length, UTF-8 bytes, zero padding to a multiple of 4):
//!
//! ```text
//! "MVTENSOR"  version (1)
//! meta_count  { key string, value string } × meta_count
//! tensor_count { name string, dtype (1 = f32), ndim, dims × ndim, data f32 LE × Π dims } × tensor_count
//! "MVTEND\0\0"
//! ```
//!
//! The full description, with the names each model uses, is `docs/model-format.md`.

use crate::error::{Error, Result};

pub const MAGIC: &[u8; 8] = b"MVTENSOR";
pub const END: &[u8; 8] = b"MVTEND\0\0";
pub const VERSION: u32 = 1;
pub const DTYPE_F32: u32 = 1;

/// One named tensor (row-major).
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    pub name: String,
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

/// A parsed tensor file: string metadata and tensors, in file order.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorFile {
    pub meta: Vec<(String, String)>,
    pub tensors: Vec<Tensor>,
}

impl TensorFile {
    /// The metadata value of `key` (e.g. `model.kind`, `model.concepts`, `items`).
    pub fn meta(&self, key: &str) -> Option<&str> {
        self.meta
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The tensor named `name`.
    pub fn tensor(&self, name: &str) -> Option<&Tensor> {
        self.tensors.iter().find(|t| t.name == name)
    }
}

struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn fail(&self, msg: &str) -> Error {
        Error::parse(format!("tensor file: {} at byte {}", msg, self.pos))
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if self.buf.len() - self.pos < n {
            return Err(self.fail(&format!(
                "truncated file (needs {} more bytes, {} left)",
                n,
                self.buf.len() - self.pos
            )));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }
    fn u32(&mut self) -> Result<u32> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn string(&mut self) -> Result<String> {
        let n = self.u32()? as usize;
        let pad = (4 - n % 4) % 4;
        let bytes = self.take(n)?;
        let s = std::str::from_utf8(bytes)
            .map_err(|_| self.fail("invalid UTF-8 in a string"))?
            .to_string();
        self.take(pad)?;
        Ok(s)
    }
}

/// Parses a tensor file from its bytes; errors name the byte offset.
pub fn parse(buf: &[u8]) -> Result<TensorFile> {
    let mut c = Cursor { buf, pos: 0 };
    if c.take(8)? != MAGIC {
        c.pos = 0;
        return Err(c.fail("not a macridvae tensor file (bad magic)"));
    }
    let version = c.u32()?;
    if version != VERSION {
        return Err(c.fail(&format!("unsupported format version {}", version)));
    }
    let n_meta = c.u32()? as usize;
    let mut meta = Vec::new();
    for _ in 0..n_meta {
        let k = c.string()?;
        let v = c.string()?;
        meta.push((k, v));
    }
    let n_tensors = c.u32()? as usize;
    let mut tensors = Vec::new();
    for _ in 0..n_tensors {
        let name = c.string()?;
        let dtype = c.u32()?;
        if dtype != DTYPE_F32 {
            return Err(c.fail(&format!("tensor '{}' has unknown dtype {}", name, dtype)));
        }
        let ndim = c.u32()? as usize;
        let mut shape = Vec::with_capacity(ndim.min(16));
        let mut n: usize = 1;
        for _ in 0..ndim {
            let s = c.u32()? as usize;
            n = n
                .checked_mul(s)
                .ok_or_else(|| c.fail(&format!("tensor '{}' is too large", name)))?;
            shape.push(s);
        }
        let bytes = c.take(n.checked_mul(4).ok_or_else(|| c.fail("tensor too large"))?)?;
        let data = bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        tensors.push(Tensor { name, shape, data });
    }
    if c.take(8)? != END {
        c.pos -= 8;
        return Err(c.fail("missing end marker"));
    }
    if c.pos != buf.len() {
        return Err(c.fail(&format!(
            "{} unexpected bytes after the end marker",
            buf.len() - c.pos
        )));
    }
    Ok(TensorFile { meta, tensors })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fixture is written by the TS writer (`test/unit/model-format.test.ts` checks that the writer
    /// still produces exactly these bytes), so this test pins the two implementations together.
    #[test]
    fn reads_the_fixture_written_by_the_ts_writer() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../test/fixtures/tiny.mvt");
        let buf = std::fs::read(path).unwrap();
        let f = parse(&buf).unwrap();
        assert_eq!(f.meta("format"), Some("macridvae-weights"));
        assert_eq!(f.meta("model.kind"), Some("macridvae"));
        assert_eq!(f.meta("model.hidden"), Some("3,2"));
        assert_eq!(f.meta("items"), Some("3"));
        let items = f.tensor("items").unwrap();
        assert_eq!(items.shape, vec![3, 2]);
        assert_eq!(items.data, vec![1.0, -2.5, 3.25, 0.0, 1e-3, -7.0]);
        let b = f.tensor("context_bias").unwrap();
        assert_eq!(b.shape, vec![2]);
        assert_eq!(b.data, vec![0.5, 0.125]);
        assert_eq!(f.tensors.len(), 2);
        assert_eq!(f.tensors[0].name, "items");
    }

    #[test]
    fn bad_files_are_parse_errors_with_offsets() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../test/fixtures/tiny.mvt");
        let buf = std::fs::read(path).unwrap();
        let e = parse(&buf[..buf.len() - 3]).unwrap_err();
        assert!(e.message.contains("truncated"), "{}", e.message);
        let mut bad = buf.clone();
        bad[0] = b'X';
        assert!(parse(&bad).unwrap_err().message.contains("bad magic"));
        let mut extra = buf.clone();
        extra.push(0);
        assert!(parse(&extra)
            .unwrap_err()
            .message
            .contains("unexpected bytes"));
    }
}
