//! The one error type of the core. The binding turns it into a status code plus message; the TS layer
//! turns that into a typed `Error` carrying the same message.

use std::fmt;

/// What kind of failure; the numeric value is the status code seen across the WASM boundary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub enum ErrorKind {
    /// An argument is malformed: wrong length, inconsistent counts, NaN where numbers are required.
    InvalidArgument = 1,
    /// An index (item id, row id) is outside its valid range.
    OutOfRange = 2,
    /// Input text could not be parsed (the message names the line).
    Parse = 3,
    /// A bug: an invariant of the core itself failed.
    Internal = 4,
}

impl ErrorKind {
    /// The status code used by the binding (never 0, which means success).
    pub fn code(self) -> i32 {
        self as i32
    }
}

/// A core error: a kind and a human-readable message that names the offending argument or position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub kind: ErrorKind,
    pub message: String,
}

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error {
            kind,
            message: message.into(),
        }
    }
    pub fn invalid(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::InvalidArgument, message)
    }
    pub fn out_of_range(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::OutOfRange, message)
    }
    pub fn parse(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Parse, message)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;

/// Checks that a slice has exactly `expected` elements, naming the argument otherwise.
pub fn check_len<T>(name: &str, slice: &[T], expected: usize) -> Result<()> {
    if slice.len() != expected {
        return Err(Error::invalid(format!(
            "'{}' must have {} elements but has {}",
            name,
            expected,
            slice.len()
        )));
    }
    Ok(())
}
