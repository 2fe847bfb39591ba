//! macrid-core: the CPU kernels of macridvae, in pure Rust with no dependencies.
//!
//! Nothing here knows about WASM: the `macrid-wasm` crate converts pointers and lengths and maps
//! [`Error`] to status codes. Every public kernel takes flat slices plus counts (one call per batch of
//! users or items), validates its arguments and returns `Result`; none panics on bad input.
//!
//! Layout conventions used throughout:
//! - dense blocks are row-major `f32`, `rows × cols`;
//! - CSR matrices are `indptr` (`rows + 1` entries, `u32`, non-decreasing, starting at 0) and
//!   `indices` (`u32` column ids), see [`csr::CsrRef`];
//! - randomness always comes from an explicit seed ([`rng`]);
//! - ties in rankings go to the lower item index.

#![allow(clippy::too_many_arguments, clippy::needless_range_loop)]

pub mod analysis;
pub mod batch;
pub mod beam;
pub mod csr;
pub mod error;
pub mod gemm;
pub mod ids;
pub mod itemsim;
pub mod kmeans;
pub mod linalg;
pub mod meta;
pub mod metrics;
pub mod mt19937;
pub mod nn;
pub mod noise;
pub mod parse;
pub mod rng;
pub mod sampling;
pub mod serve;
pub mod simd;
pub mod split;
pub mod stats;
pub mod synth;
pub mod tensorfile;
pub mod topk;
pub mod tsne;
pub mod vec4;

pub use error::{Error, ErrorKind, Result};
