//! macrid-wasm: the thin C ABI over `macrid-core` for `wasm32-unknown-unknown`.
//!
//! Conventions (the TS loader in `ts/wasm/raw.ts` is the only code that calls these):
//! - memory is allocated by the caller with [`abi::mv_alloc`] and freed with [`abi::mv_free`];
//! - arrays are passed as pointer + element count; outputs are caller-allocated unless a function
//!   documents an owned result buffer (see [`abi::mv_buf_ptr`]);
//! - every kernel returns an `i32` status: 0 = success, otherwise the core's `ErrorKind` code, with the
//!   message available through [`abi::mv_last_error_ptr`] / [`abi::mv_last_error_len`];
//! - no panic is expected to cross the boundary: core functions return `Result`. The release profile
//!   uses `panic = "abort"`, so a bug that panics becomes a trap, which the TS side reports as a typed
//!   error and answers by rebuilding the instance.

#![allow(clippy::too_many_arguments)]

pub mod abi;
pub mod analysis;
pub mod batch;
pub mod control;
pub mod data;
pub mod eval;
pub mod itemsim;
pub mod kernels;
pub mod nn;
pub mod sampling;
pub mod serve;
pub mod stats;
