//! Exports of the data pipeline: the streaming ratings parser, the MultVAE split, the synthetic
//! generator and item metadata. Stateful objects live in per-thread registries and are addressed by a
//! `u32` handle; each has a `*_free`. Variable-size results are owned buffers (`abi::put_buffer`):
//! UTF-8 text, or `u32` arrays as little-endian bytes.

use crate::abi::{put_buffer, set_error, slice, status};
use macrid_core::meta::{parse_item_meta, MetaFormat};
use macrid_core::parse::{ParseOptions, RatingsParser};
use macrid_core::split::{prepare, CsrParts, Prepared, SplitOptions};
use macrid_core::synth::{Synth, SynthOptions};
use macrid_core::{Error, Result};
use std::cell::RefCell;
use std::thread::LocalKey;

type Registry<T> = RefCell<Vec<Option<T>>>;

thread_local! {
    static PARSERS: Registry<RatingsParser> = const { RefCell::new(Vec::new()) };
    static PREPARED: Registry<Prepared> = const { RefCell::new(Vec::new()) };
    static SYNTHS: Registry<Synth> = const { RefCell::new(Vec::new()) };
}

fn insert<T: 'static>(reg: &'static LocalKey<Registry<T>>, value: T) -> u32 {
    reg.with(|r| {
        let mut r = r.borrow_mut();
        if let Some(i) = r.iter().position(|x| x.is_none()) {
            r[i] = Some(value);
            i as u32
        } else {
            r.push(Some(value));
            (r.len() - 1) as u32
        }
    })
}

fn with<T: 'static, R>(
    reg: &'static LocalKey<Registry<T>>,
    what: &str,
    h: u32,
    f: impl FnOnce(&mut T) -> Result<R>,
) -> Result<R> {
    reg.with(|r| {
        let mut r = r.borrow_mut();
        match r.get_mut(h as usize).and_then(|x| x.as_mut()) {
            Some(v) => f(v),
            None => Err(Error::invalid(format!(
                "no live {} with handle {}",
                what, h
            ))),
        }
    })
}

fn remove<T: 'static>(reg: &'static LocalKey<Registry<T>>, h: u32) {
    reg.with(|r| {
        if let Some(slot) = r.borrow_mut().get_mut(h as usize) {
            *slot = None;
        }
    })
}

unsafe fn text<'a>(ptr: *const u8, len: usize) -> Result<&'a str> {
    std::str::from_utf8(slice(ptr, len)).map_err(|_| Error::invalid("options are not UTF-8"))
}

fn u32_bytes(v: Vec<u32>) -> Vec<u8> {
    let mut out = Vec::with_capacity(v.len() * 4);
    for x in v {
        out.extend_from_slice(&x.to_le_bytes());
    }
    out
}

/// Writes `value` to `out` (a caller-allocated `u32`).
unsafe fn write_out(out: *mut u32, value: u32) -> Result<()> {
    if out.is_null() {
        return Err(Error::invalid("null output pointer"));
    }
    *out = value;
    Ok(())
}

/// Creates a ratings parser from `key=value` option lines (see `ParseOptions::from_text`).
///
/// # Safety
/// `opts` must point to `opts_len` bytes; `out_handle` to a writable `u32`.
#[no_mangle]
pub unsafe extern "C" fn mv_ratings_new(
    opts: *const u8,
    opts_len: usize,
    out_handle: *mut u32,
) -> i32 {
    status((|| {
        let o = ParseOptions::from_text(text(opts, opts_len)?)?;
        write_out(out_handle, insert(&PARSERS, RatingsParser::new(o)))
    })())
}

/// Feeds a chunk of bytes (any size; a partial last line is kept for the next chunk).
///
/// # Safety
/// `ptr` must point to `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn mv_ratings_feed(h: u32, ptr: *const u8, len: usize) -> i32 {
    let chunk = slice(ptr, len);
    status(with(&PARSERS, "ratings parser", h, |p| p.feed(chunk)))
}

/// Ends the current file (parses an unterminated last line, resets per-file state).
#[no_mangle]
pub extern "C" fn mv_ratings_end_file(h: u32) -> i32 {
    status(with(&PARSERS, "ratings parser", h, |p| p.end_file()))
}

/// The parser's counts and detected layout as a JSON buffer.
///
/// # Safety
/// `out_buf` must point to a writable `u32`.
#[no_mangle]
pub unsafe extern "C" fn mv_ratings_stats(h: u32, out_buf: *mut u32) -> i32 {
    status((|| {
        let s = with(&PARSERS, "ratings parser", h, |p| Ok(p.stats_json()))?;
        write_out(out_buf, put_buffer(s.into_bytes()))
    })())
}

/// The kept rows: user and item indices (`u32` LE) into the id tables of [`mv_ratings_ids`].
///
/// # Safety
/// `out_users` and `out_items` must point to writable `u32`s.
#[no_mangle]
pub unsafe extern "C" fn mv_ratings_rows(h: u32, out_users: *mut u32, out_items: *mut u32) -> i32 {
    status((|| {
        let (u, i) = with(&PARSERS, "ratings parser", h, |p| {
            Ok((
                u32_bytes(p.row_users.clone()),
                u32_bytes(p.row_items.clone()),
            ))
        })?;
        write_out(out_users, put_buffer(u))?;
        write_out(out_items, put_buffer(i))
    })())
}

/// The raw ids of the parser's users (`which` = 0) or items (1), one per line, in index order.
///
/// # Safety
/// `out_buf` must point to a writable `u32`.
#[no_mangle]
pub unsafe extern "C" fn mv_ratings_ids(h: u32, which: u32, out_buf: *mut u32) -> i32 {
    status((|| {
        let b = with(&PARSERS, "ratings parser", h, |p| {
            let t = if which == 0 { p.users() } else { p.items() };
            let mut out = Vec::new();
            for id in 0..t.len() {
                t.write_key(id, &mut out);
                out.push(b'\n');
            }
            Ok(out)
        })?;
        write_out(out_buf, put_buffer(b))
    })())
}

#[no_mangle]
pub extern "C" fn mv_ratings_free(h: u32) {
    remove(&PARSERS, h)
}

/// Runs the split on the parser's rows (which it takes: the parser is left empty) with `key=value`
/// options (see `SplitOptions::from_text`); the result is a new prepared-dataset handle.
///
/// # Safety
/// `opts` must point to `opts_len` bytes; `out_handle` to a writable `u32`.
#[no_mangle]
pub unsafe extern "C" fn mv_prepare(
    h: u32,
    opts: *const u8,
    opts_len: usize,
    out_handle: *mut u32,
) -> i32 {
    status((|| {
        let o = SplitOptions::from_text(text(opts, opts_len)?)?;
        let (u, i, ut, it) = with(&PARSERS, "ratings parser", h, |p| Ok(p.take()))?;
        let prepared = prepare(&u, &i, &ut, &it, &o)?;
        write_out(out_handle, insert(&PREPARED, prepared))
    })())
}

/// Moves one part of a prepared dataset into an owned buffer (a second take of a part is empty).
/// Parts: 0 stats JSON, 1 user ids, 2 item ids (text, one per line); then for matrix `m` (0 train,
/// 1 validation fold-in, 2 validation target, 3 test fold-in, 4 test target) `3 + 4m + k` with `k` =
/// 0 indptr, 1 indices, 2 order, 3 row users (`u32` LE).
///
/// # Safety
/// `out_buf` must point to a writable `u32`.
#[no_mangle]
pub unsafe extern "C" fn mv_prepared_part(h: u32, part: u32, out_buf: *mut u32) -> i32 {
    status((|| {
        let bytes = with(&PREPARED, "prepared dataset", h, |p| {
            Ok(match part {
                0 => p.stats_json().into_bytes(),
                1 => std::mem::take(&mut p.user_ids),
                2 => std::mem::take(&mut p.item_ids),
                3..=22 => {
                    let k = (part - 3) as usize;
                    let m: &mut CsrParts = match k / 4 {
                        0 => &mut p.train,
                        1 => &mut p.validation_fold_in,
                        2 => &mut p.validation_target,
                        3 => &mut p.test_fold_in,
                        _ => &mut p.test_target,
                    };
                    u32_bytes(match k % 4 {
                        0 => std::mem::take(&mut m.indptr),
                        1 => std::mem::take(&mut m.indices),
                        2 => std::mem::take(&mut m.order),
                        _ => std::mem::take(&mut m.rows),
                    })
                }
                _ => return Err(Error::invalid(format!("no prepared part {}", part))),
            })
        })?;
        write_out(out_buf, put_buffer(bytes))
    })())
}

#[no_mangle]
pub extern "C" fn mv_prepared_free(h: u32) {
    remove(&PREPARED, h)
}

fn synth_options(t: &str) -> Result<SynthOptions> {
    let mut preset = None;
    let mut seed = 0u64;
    let mut overrides: Vec<(&str, &str)> = Vec::new();
    for line in t.lines().filter(|l| !l.is_empty()) {
        let (k, v) = line
            .split_once('=')
            .ok_or_else(|| Error::invalid(format!("option line '{}' is not key=value", line)))?;
        match k {
            "preset" => preset = Some(v),
            "seed" => {
                seed = v
                    .parse()
                    .map_err(|_| Error::invalid(format!("bad seed '{}'", v)))?
            }
            _ => overrides.push((k, v)),
        }
    }
    let mut o = SynthOptions::preset(preset.unwrap_or("tiny"), seed)?;
    for (k, v) in overrides {
        let n: u64 = v.parse().map_err(|_| {
            Error::invalid(format!("option '{}' must be a count but got '{}'", k, v))
        })?;
        match k {
            "users" => o.users = n as usize,
            "items" => o.items = n as usize,
            "ratings" => o.ratings = n,
            "concepts" => o.concepts = n as usize,
            "min_user_ratings" => o.min_user_ratings = n as usize,
            _ => return Err(Error::invalid(format!("unknown option '{}'", k))),
        }
    }
    Ok(o)
}

/// Creates a synthetic generator: `preset=NAME`, `seed=S`, optional `users`/`items`/`ratings`/
/// `concepts`/`min_user_ratings` overrides.
///
/// # Safety
/// `opts` must point to `opts_len` bytes; `out_handle` to a writable `u32`.
#[no_mangle]
pub unsafe extern "C" fn mv_synth_new(
    opts: *const u8,
    opts_len: usize,
    out_handle: *mut u32,
) -> i32 {
    status((|| {
        let s = Synth::new(synth_options(text(opts, opts_len)?)?)?;
        write_out(out_handle, insert(&SYNTHS, s))
    })())
}

/// Generates the next `max_users` users: `ratings.csv` lines and `userId,concepts,weights` lines as
/// two buffers (both empty once every user is written).
///
/// # Safety
/// `out_ratings` and `out_intentions` must point to writable `u32`s.
#[no_mangle]
pub unsafe extern "C" fn mv_synth_next(
    h: u32,
    max_users: u32,
    out_ratings: *mut u32,
    out_intentions: *mut u32,
) -> i32 {
    status((|| {
        let (r, i) = with(&SYNTHS, "synthetic generator", h, |s| {
            let (mut r, mut i) = (Vec::new(), Vec::new());
            s.next_batch(max_users as usize, &mut r, &mut i)?;
            Ok((r, i))
        })?;
        write_out(out_ratings, put_buffer(r))?;
        write_out(out_intentions, put_buffer(i))
    })())
}

/// A generator output: 0 `item_concepts.csv`, 1 `movies.csv`, 2 summary JSON.
///
/// # Safety
/// `out_buf` must point to a writable `u32`.
#[no_mangle]
pub unsafe extern "C" fn mv_synth_part(h: u32, part: u32, out_buf: *mut u32) -> i32 {
    status((|| {
        let b = with(&SYNTHS, "synthetic generator", h, |s| {
            Ok(match part {
                0 => s.item_concepts_csv(),
                1 => s.movies_csv(),
                2 => s.summary_json().into_bytes(),
                _ => return Err(Error::invalid(format!("no generator part {}", part))),
            })
        })?;
        write_out(out_buf, put_buffer(b))
    })())
}

#[no_mangle]
pub extern "C" fn mv_synth_free(h: u32) {
    remove(&SYNTHS, h)
}

/// Parses item metadata (see `macrid_core::meta`); `format` is its name (`auto`, `movies-csv`, …);
/// `genres` the optional bytes of `u.genre` (length 0: none).
///
/// # Safety
/// Each pointer must point to its length in bytes; `out_buf` to a writable `u32`.
#[no_mangle]
pub unsafe extern "C" fn mv_item_meta(
    data: *const u8,
    data_len: usize,
    format: *const u8,
    format_len: usize,
    genres: *const u8,
    genres_len: usize,
    out_buf: *mut u32,
) -> i32 {
    let r = (|| {
        let f = MetaFormat::from_name(text(format, format_len)?)?;
        let g = if genres_len == 0 {
            None
        } else {
            Some(slice(genres, genres_len))
        };
        let out = parse_item_meta(slice(data, data_len), f, g)?;
        write_out(out_buf, put_buffer(out))
    })();
    match r {
        Ok(()) => 0,
        Err(e) => set_error(e),
    }
}
