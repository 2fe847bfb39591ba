//! Streaming readers of ratings files: bytes go in by chunks of any size (a partial line is carried to
//! the next chunk), rows come out as dense user/item indices. Nothing ever needs the whole file.
//!
//! Formats (one parser handles one or more files of the same dataset; see [`RatingsParser::end_file`]):
//! - **MovieLens**: `u.data` (`user \t item \t rating \t timestamp`), `ratings.dat`
//!   (`user::item::rating::timestamp`), `ratings.csv` (`userId,movieId,rating,timestamp` with a header).
//!   Exactly 4 fields; integer ids.
//! - **Netflix Prize**: `combined_data_*.txt` and `training_set/mv_*.txt`: a `MovieID:` line, then
//!   `CustomerID,Rating,Date` lines for that movie. Integer ids.
//! - **Generic CSV/TSV**: separator `,` `\t` `;` `::` (detected from the first line unless given), header
//!   detected (a first line without any numeric field) unless given, columns by name or index, RFC 4180
//!   quoted fields (`"a,b"`, `""` for a quote; a quoted field cannot span lines), CRLF, a UTF-8 BOM, spaces
//!   around fields trimmed. Ids are arbitrary byte strings. Without a rating column (`implicit`), every row
//!   is an interaction.
//!
//! Only rows whose rating is **strictly greater** than `min_rating` are kept (the MultVAE protocol keeps
//! `rating > 3.5`); implicit rows are always kept. Blank lines are skipped. A malformed line fails with its
//! line number and text, or, with `skip_invalid`, is counted (the first [`MAX_EXAMPLES`] are kept as
//! examples). Duplicate (user, item) pairs are kept here and resolved by the split (see `split`).
//!
//! Auto detection (first non-blank line of the first file): `digits:` → Netflix; four numeric fields
//! separated by `::`, tab or `,` (or the MovieLens `userId,movieId,rating,timestamp` header) → MovieLens;
//! anything else → generic CSV.

use crate::error::{Error, Result};
use crate::ids::{IdKind, IdTable};

/// How many invalid lines are kept as examples with `skip_invalid`.
pub const MAX_EXAMPLES: usize = 10;
/// Default longest accepted line, in bytes (a longer one is an error: probably not a text file).
pub const DEFAULT_MAX_LINE: usize = 1 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Auto,
    MovieLens,
    Netflix,
    Csv,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderMode {
    Auto,
    Yes,
    No,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Column {
    Index(usize),
    Name(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sep {
    Byte(u8),
    DoubleColon,
}

impl Sep {
    fn name(&self) -> String {
        match self {
            Sep::Byte(b'\t') => "\\t".to_string(),
            Sep::Byte(b) => (*b as char).to_string(),
            Sep::DoubleColon => "::".to_string(),
        }
    }
}

/// Reader options. Text form (for the WASM binding): one `key=value` per line, see [`ParseOptions::from_text`].
#[derive(Debug, Clone)]
pub struct ParseOptions {
    pub format: Format,
    pub sep: Option<Sep>,
    pub header: HeaderMode,
    pub user: Option<Column>,
    pub item: Option<Column>,
    pub rating: Option<Column>,
    pub timestamp: Option<Column>,
    /// No rating column: every row is an interaction.
    pub implicit: bool,
    /// Keep rows with `rating > min_rating`.
    pub min_rating: f64,
    pub skip_invalid: bool,
    pub max_line: usize,
}

impl Default for ParseOptions {
    fn default() -> ParseOptions {
        ParseOptions {
            format: Format::Auto,
            sep: None,
            header: HeaderMode::Auto,
            user: None,
            item: None,
            rating: None,
            timestamp: None,
            implicit: false,
            min_rating: 3.5,
            skip_invalid: false,
            max_line: DEFAULT_MAX_LINE,
        }
    }
}

fn parse_column(key: &str, v: &str) -> Result<Column> {
    if let Some(i) = v.strip_prefix("i:") {
        i.parse::<usize>()
            .map(Column::Index)
            .map_err(|_| Error::invalid(format!("option '{}': bad column index '{}'", key, i)))
    } else if let Some(n) = v.strip_prefix("n:") {
        Ok(Column::Name(n.to_string()))
    } else {
        Err(Error::invalid(format!(
            "option '{}' must be 'i:INDEX' or 'n:NAME' but got '{}'",
            key, v
        )))
    }
}

fn parse_flag(key: &str, v: &str) -> Result<bool> {
    match v {
        "1" | "true" => Ok(true),
        "0" | "false" => Ok(false),
        _ => Err(Error::invalid(format!(
            "option '{}' must be 0 or 1 but got '{}'",
            key, v
        ))),
    }
}

impl ParseOptions {
    /// Options from `key=value` lines: `format` (auto|movielens|netflix|csv), `sep` (a character, `tab`
    /// or `::`), `header` (auto|yes|no), `user`/`item`/`rating`/`timestamp` (`i:INDEX` or `n:NAME`),
    /// `implicit` (0|1), `min_rating` (number), `skip_invalid` (0|1), `max_line` (bytes).
    pub fn from_text(text: &str) -> Result<ParseOptions> {
        let mut o = ParseOptions::default();
        for line in text.lines() {
            if line.is_empty() {
                continue;
            }
            let (k, v) = match line.split_once('=') {
                Some(kv) => kv,
                None => {
                    return Err(Error::invalid(format!(
                        "option line '{}' is not key=value",
                        line
                    )))
                }
            };
            match k {
                "format" => {
                    o.format = match v {
                        "auto" => Format::Auto,
                        "movielens" => Format::MovieLens,
                        "netflix" => Format::Netflix,
                        "csv" => Format::Csv,
                        _ => {
                            return Err(Error::invalid(format!(
                                "option 'format' must be auto, movielens, netflix or csv but got '{}'",
                                v
                            )))
                        }
                    }
                }
                "sep" => {
                    o.sep = Some(match v {
                        "tab" | "\t" => Sep::Byte(b'\t'),
                        "::" => Sep::DoubleColon,
                        _ if v.len() == 1 && v.as_bytes()[0] != b'"' => Sep::Byte(v.as_bytes()[0]),
                        _ => {
                            return Err(Error::invalid(format!(
                                "option 'sep' must be one ASCII character (not a quote), 'tab' or '::' but got '{}'",
                                v
                            )))
                        }
                    })
                }
                "header" => {
                    o.header = match v {
                        "auto" => HeaderMode::Auto,
                        "yes" => HeaderMode::Yes,
                        "no" => HeaderMode::No,
                        _ => {
                            return Err(Error::invalid(format!(
                                "option 'header' must be auto, yes or no but got '{}'",
                                v
                            )))
                        }
                    }
                }
                "user" => o.user = Some(parse_column(k, v)?),
                "item" => o.item = Some(parse_column(k, v)?),
                "rating" => o.rating = Some(parse_column(k, v)?),
                "timestamp" => o.timestamp = Some(parse_column(k, v)?),
                "implicit" => o.implicit = parse_flag(k, v)?,
                "skip_invalid" => o.skip_invalid = parse_flag(k, v)?,
                "min_rating" => {
                    o.min_rating = match v.parse::<f64>() {
                        Ok(x) if !x.is_nan() => x,
                        _ => {
                            return Err(Error::invalid(format!(
                                "option 'min_rating' must be a number but got '{}'",
                                v
                            )))
                        }
                    }
                }
                "max_line" => {
                    o.max_line = match v.parse::<usize>() {
                        Ok(x) if x > 0 => x,
                        _ => {
                            return Err(Error::invalid(format!(
                                "option 'max_line' must be a positive integer but got '{}'",
                                v
                            )))
                        }
                    }
                }
                _ => return Err(Error::invalid(format!("unknown option '{}'", k))),
            }
        }
        if o.implicit && o.rating.is_some() {
            return Err(Error::invalid(
                "options 'implicit' and 'rating' exclude each other",
            ));
        }
        Ok(o)
    }
}

// ---------------------------------------------------------------------------------------------
// Numbers

/// A non-negative decimal integer (digits only, at most 19 of them... or what fits u64).
#[inline]
pub fn parse_u64(b: &[u8]) -> Option<u64> {
    if b.is_empty() || b.len() > 20 {
        return None;
    }
    let mut v: u64 = 0;
    if b.len() < 20 {
        for &c in b {
            let d = c.wrapping_sub(b'0');
            if d > 9 {
                return None;
            }
            v = v * 10 + d as u64;
        }
        Some(v)
    } else {
        for &c in b {
            let d = c.wrapping_sub(b'0');
            if d > 9 {
                return None;
            }
            v = v.checked_mul(10)?.checked_add(d as u64)?;
        }
        Some(v)
    }
}

const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// A finite decimal number, correctly rounded (a fast exact path for plain decimals with up to 15
/// significant digits, `str::parse` otherwise). `nan`/`inf` are rejected.
#[inline]
pub fn parse_f64(b: &[u8]) -> Option<f64> {
    if b.is_empty() {
        return None;
    }
    let (neg, digits) = match b[0] {
        b'-' => (true, &b[1..]),
        b'+' => (false, &b[1..]),
        _ => (false, b),
    };
    let mut mant: u64 = 0;
    let mut n_digits = 0usize;
    let mut frac = 0usize;
    let mut seen_dot = false;
    let mut ok = !digits.is_empty();
    for &c in digits {
        if c == b'.' && !seen_dot {
            seen_dot = true;
        } else if c.is_ascii_digit() {
            if n_digits < 15 {
                mant = mant * 10 + (c - b'0') as u64;
                if mant != 0 {
                    n_digits += 1;
                }
                if seen_dot {
                    frac += 1;
                }
            } else {
                ok = false;
                break;
            }
        } else {
            ok = false;
            break;
        }
    }
    if ok && !(digits.len() == 1 && seen_dot) && frac < POW10.len() {
        let v = mant as f64 / POW10[frac];
        return Some(if neg { -v } else { v });
    }
    let s = std::str::from_utf8(b).ok()?;
    match s.parse::<f64>() {
        Ok(v)
            if v.is_finite()
                && s.bytes()
                    .all(|c| !c.is_ascii_alphabetic() || c == b'e' || c == b'E') =>
        {
            Some(v)
        }
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// Line splitting

#[inline]
fn find_byte(hay: &[u8], b: u8) -> Option<usize> {
    hay.iter().position(|&c| c == b)
}

fn trim_spaces(mut s: &[u8]) -> &[u8] {
    while let Some((&c, rest)) = s.split_first() {
        if c == b' ' {
            s = rest;
        } else {
            break;
        }
    }
    while let Some((&c, rest)) = s.split_last() {
        if c == b' ' {
            s = rest;
        } else {
            break;
        }
    }
    s
}

/// Splits an unquoted line into field spans.
fn split_plain(line: &[u8], sep: &Sep, spans: &mut Vec<(usize, usize)>) {
    spans.clear();
    let mut start = 0;
    match sep {
        Sep::Byte(s) => {
            let s = *s;
            for (i, &c) in line.iter().enumerate() {
                if c == s {
                    spans.push((start, i));
                    start = i + 1;
                }
            }
        }
        Sep::DoubleColon => {
            let mut i = 0;
            while i + 1 < line.len() {
                if line[i] == b':' && line[i + 1] == b':' {
                    spans.push((start, i));
                    i += 2;
                    start = i;
                } else {
                    i += 1;
                }
            }
        }
    }
    spans.push((start, line.len()));
}

/// Splits a line with RFC 4180 quoting into `scratch` (unquoted field bytes back to back) and spans into
/// it. Errors on an unterminated quote or text after a closing quote.
fn split_quoted(
    line: &[u8],
    sep: &Sep,
    scratch: &mut Vec<u8>,
    spans: &mut Vec<(usize, usize)>,
) -> std::result::Result<(), String> {
    scratch.clear();
    spans.clear();
    let sep_at = |i: usize| -> usize {
        match sep {
            Sep::Byte(s) => usize::from(line[i] == *s),
            Sep::DoubleColon => {
                if line[i] == b':' && i + 1 < line.len() && line[i + 1] == b':' {
                    2
                } else {
                    0
                }
            }
        }
    };
    let mut i = 0;
    loop {
        // skip leading spaces of the field
        while i < line.len() && line[i] == b' ' && sep != &Sep::Byte(b' ') {
            i += 1;
        }
        let start = scratch.len();
        if i < line.len() && line[i] == b'"' {
            i += 1;
            loop {
                if i >= line.len() {
                    return Err("unterminated quoted field".to_string());
                }
                if line[i] == b'"' {
                    if i + 1 < line.len() && line[i + 1] == b'"' {
                        scratch.push(b'"');
                        i += 2;
                    } else {
                        i += 1;
                        break;
                    }
                } else {
                    scratch.push(line[i]);
                    i += 1;
                }
            }
            while i < line.len() && line[i] == b' ' && sep != &Sep::Byte(b' ') {
                i += 1;
            }
            spans.push((start, scratch.len()));
            if i >= line.len() {
                return Ok(());
            }
            let w = sep_at(i);
            if w == 0 {
                return Err(format!(
                    "unexpected text after a closing quote at byte {}",
                    i + 1
                ));
            }
            i += w;
        } else {
            let mut end = i;
            loop {
                if end >= line.len() {
                    scratch.extend_from_slice(&line[i..end]);
                    let f = trim_spaces(&scratch[start..]).len();
                    scratch.truncate(start + f);
                    spans.push((start, scratch.len()));
                    return Ok(());
                }
                let w = sep_at(end);
                if w > 0 {
                    scratch.extend_from_slice(&line[i..end]);
                    let f = trim_spaces(&scratch[start..]).len();
                    scratch.truncate(start + f);
                    spans.push((start, scratch.len()));
                    i = end + w;
                    break;
                }
                end += 1;
            }
        }
    }
}

/// Splits `line` into `spans`; returns whether the spans index `scratch` (quoted line) rather than `line`.
/// With `quotes` (generic CSV), quoting is honoured and spaces around fields are trimmed.
fn split_fields(
    line: &[u8],
    sep: &Sep,
    quotes: bool,
    scratch: &mut Vec<u8>,
    spans: &mut Vec<(usize, usize)>,
) -> std::result::Result<bool, String> {
    if quotes && find_byte(line, b'"').is_some() {
        split_quoted(line, sep, scratch, spans)?;
        return Ok(true);
    }
    split_plain(line, sep, spans);
    if quotes && *sep != Sep::Byte(b' ') {
        for s in spans.iter_mut() {
            while s.0 < s.1 && line[s.0] == b' ' {
                s.0 += 1;
            }
            while s.1 > s.0 && line[s.1 - 1] == b' ' {
                s.1 -= 1;
            }
        }
    }
    Ok(false)
}

/// Splits a line honouring quotes (see the module doc) into owned UTF-8 fields (lossy).
pub fn split_fields_pub(
    line: &[u8],
    sep: &Sep,
    scratch: &mut Vec<u8>,
    spans: &mut Vec<(usize, usize)>,
) -> std::result::Result<Vec<String>, String> {
    let quoted = split_fields(line, sep, true, scratch, spans)?;
    let src: &[u8] = if quoted { scratch } else { line };
    Ok(spans
        .iter()
        .map(|&(a, b)| String::from_utf8_lossy(&src[a..b]).into_owned())
        .collect())
}

fn show(line: &[u8]) -> String {
    let cut = &line[..line.len().min(200)];
    let mut s = String::from_utf8_lossy(cut).into_owned();
    if line.len() > 200 {
        s.push('…');
    }
    s
}

fn detect_sep(line: &[u8]) -> Option<Sep> {
    if line.windows(2).any(|w| w == b"::") {
        Some(Sep::DoubleColon)
    } else if find_byte(line, b'\t').is_some() {
        Some(Sep::Byte(b'\t'))
    } else if find_byte(line, b',').is_some() {
        Some(Sep::Byte(b','))
    } else if find_byte(line, b';').is_some() {
        Some(Sep::Byte(b';'))
    } else {
        None
    }
}

fn norm_name(b: &[u8]) -> String {
    String::from_utf8_lossy(b)
        .chars()
        .filter(|c| *c != '_' && *c != ' ' && *c != '-')
        .flat_map(|c| c.to_lowercase())
        .collect()
}

const USER_NAMES: &[&str] = &[
    "user",
    "userid",
    "uid",
    "customer",
    "customerid",
    "reviewerid",
    "visitorid",
    "member",
];
const ITEM_NAMES: &[&str] = &[
    "item",
    "itemid",
    "movie",
    "movieid",
    "sid",
    "product",
    "productid",
    "asin",
    "song",
    "track",
];
const RATING_NAMES: &[&str] = &["rating", "score", "stars", "overall", "value"];
const TIME_NAMES: &[&str] = &["timestamp", "time", "date", "ts", "datetime"];

// ---------------------------------------------------------------------------------------------
// The parser

#[derive(Debug, Clone)]
struct Delimited {
    sep: Sep,
    user: usize,
    item: usize,
    rating: Option<usize>,
    timestamp: Option<usize>,
    /// Fields a row must have at least.
    need: usize,
    /// Fields a row must have exactly (MovieLens).
    exact: Option<usize>,
    int_ids: bool,
    /// Whether quoting is honoured (generic CSV only).
    quotes: bool,
}

#[derive(Debug, Clone)]
enum Mode {
    Undecided,
    Netflix { movie: Option<(u64, u32)> },
    Delimited(Delimited),
}

/// Counts of one parse, and examples of skipped lines.
#[derive(Debug, Clone, Default)]
pub struct ParseStats {
    pub lines: u64,
    pub blank: u64,
    pub headers: u64,
    /// Valid data rows (any rating).
    pub rows: u64,
    /// Rows kept (rating above the threshold, or implicit).
    pub kept: u64,
    pub invalid: u64,
    /// `(file index, line, message)` of the first skipped lines.
    pub examples: Vec<(u32, u64, String)>,
    pub files: u32,
}

enum LineError {
    Bad(String),
    Fatal(Error),
}

impl From<Error> for LineError {
    fn from(e: Error) -> LineError {
        LineError::Fatal(e)
    }
}

/// A stateful streaming parser: [`feed`](RatingsParser::feed) chunks, [`end_file`](RatingsParser::end_file)
/// after each file, then take the rows.
#[derive(Debug)]
pub struct RatingsParser {
    opts: ParseOptions,
    mode: Mode,
    format_name: &'static str,
    partial: Vec<u8>,
    line_no: u64,
    file_index: u32,
    at_file_start: bool,
    /// No data or header line seen yet in the current file.
    first_line: bool,
    users: IdTable,
    items: IdTable,
    /// User index of each kept row, in file order.
    pub row_users: Vec<u32>,
    /// Item index of each kept row, in file order.
    pub row_items: Vec<u32>,
    pub stats: ParseStats,
    scratch: Vec<u8>,
    spans: Vec<(usize, usize)>,
    header_names: Vec<String>,
}

impl RatingsParser {
    pub fn new(opts: ParseOptions) -> RatingsParser {
        RatingsParser {
            opts,
            mode: Mode::Undecided,
            format_name: "undecided",
            partial: Vec::new(),
            line_no: 0,
            file_index: 0,
            at_file_start: true,
            first_line: true,
            users: IdTable::new(IdKind::Int),
            items: IdTable::new(IdKind::Int),
            row_users: Vec::new(),
            row_items: Vec::new(),
            stats: ParseStats::default(),
            scratch: Vec::new(),
            spans: Vec::new(),
            header_names: Vec::new(),
        }
    }

    pub fn users(&self) -> &IdTable {
        &self.users
    }
    pub fn items(&self) -> &IdTable {
        &self.items
    }
    /// The detected format: `movielens`, `netflix`, `csv` (or `undecided` before the first line).
    pub fn format_name(&self) -> &'static str {
        self.format_name
    }

    /// Gives up the rows and id tables (the parser is left empty).
    pub fn take(&mut self) -> (Vec<u32>, Vec<u32>, IdTable, IdTable) {
        (
            std::mem::take(&mut self.row_users),
            std::mem::take(&mut self.row_items),
            std::mem::replace(&mut self.users, IdTable::new(IdKind::Int)),
            std::mem::replace(&mut self.items, IdTable::new(IdKind::Int)),
        )
    }

    /// Parses the complete lines of `chunk`; an unfinished last line waits for the next chunk.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<()> {
        let mut start = 0;
        if !self.partial.is_empty() {
            match find_byte(chunk, b'\n') {
                Some(nl) => {
                    self.partial.extend_from_slice(&chunk[..nl]);
                    self.check_len(self.partial.len())?;
                    let line = std::mem::take(&mut self.partial);
                    let r = self.line(&line);
                    self.partial = line;
                    self.partial.clear();
                    r?;
                    start = nl + 1;
                }
                None => {
                    self.partial.extend_from_slice(chunk);
                    return self.check_len(self.partial.len());
                }
            }
        }
        while let Some(off) = find_byte(&chunk[start..], b'\n') {
            self.check_len(off)?;
            self.line(&chunk[start..start + off])?;
            start += off + 1;
        }
        self.check_len(chunk.len() - start)?;
        self.partial.extend_from_slice(&chunk[start..]);
        Ok(())
    }

    fn check_len(&self, len: usize) -> Result<()> {
        if len > self.opts.max_line {
            return Err(Error::parse(format!(
                "line {}: longer than {} bytes (is this a text ratings file?)",
                self.line_no + 1,
                self.opts.max_line
            )));
        }
        Ok(())
    }

    /// Ends the current file: parses an unterminated last line and resets per-file state (line numbers,
    /// header, BOM, the Netflix movie).
    pub fn end_file(&mut self) -> Result<()> {
        if !self.partial.is_empty() {
            let line = std::mem::take(&mut self.partial);
            let r = self.line(&line);
            self.partial = line;
            self.partial.clear();
            r?;
        }
        self.file_index += 1;
        self.stats.files += 1;
        self.line_no = 0;
        self.at_file_start = true;
        self.first_line = true;
        if let Mode::Netflix { movie } = &mut self.mode {
            *movie = None;
        }
        Ok(())
    }

    fn line(&mut self, raw: &[u8]) -> Result<()> {
        self.line_no += 1;
        self.stats.lines += 1;
        let mut line = raw;
        if let Some((&b'\r', rest)) = line.split_last() {
            line = rest;
        }
        if self.at_file_start {
            self.at_file_start = false;
            if line.starts_with(&[0xef, 0xbb, 0xbf]) {
                line = &line[3..];
            }
        }
        if line.is_empty()
            || ((line[0] == b' ' || line[0] == b'\t')
                && line.iter().all(|&c| c == b' ' || c == b'\t'))
        {
            self.stats.blank += 1;
            return Ok(());
        }
        match self.data_line(line) {
            Ok(()) => Ok(()),
            Err(LineError::Fatal(e)) => Err(e),
            Err(LineError::Bad(msg)) => {
                let msg = format!("line {}: {}: '{}'", self.line_no, msg, show(line));
                if self.opts.skip_invalid {
                    self.stats.invalid += 1;
                    if self.stats.examples.len() < MAX_EXAMPLES {
                        self.stats
                            .examples
                            .push((self.file_index, self.line_no, msg));
                    }
                    Ok(())
                } else {
                    Err(Error::parse(msg))
                }
            }
        }
    }

    fn data_line(&mut self, line: &[u8]) -> std::result::Result<(), LineError> {
        if let Mode::Undecided = self.mode {
            self.decide(line)?;
        }
        let first = self.first_line;
        self.first_line = false;
        match &self.mode {
            Mode::Netflix { .. } => self.netflix_line(line),
            Mode::Delimited(d) => {
                let d = d.clone();
                if first && self.is_header(&d, line) {
                    self.stats.headers += 1;
                    return Ok(());
                }
                self.delimited_line(&d, line)
            }
            Mode::Undecided => Err(LineError::Fatal(Error::new(
                crate::ErrorKind::Internal,
                "parser format undecided",
            ))),
        }
    }

    /// The fields of `line` as owned byte strings (for the first line of a file only).
    fn owned_fields(
        &mut self,
        d: &Delimited,
        line: &[u8],
    ) -> std::result::Result<Vec<Vec<u8>>, LineError> {
        let quoted = split_fields(line, &d.sep, d.quotes, &mut self.scratch, &mut self.spans)
            .map_err(LineError::Bad)?;
        let src: &[u8] = if quoted { &self.scratch } else { line };
        Ok(self
            .spans
            .iter()
            .map(|&(a, b)| src[a..b].to_vec())
            .collect())
    }

    fn is_header(&mut self, d: &Delimited, line: &[u8]) -> bool {
        match self.opts.header {
            HeaderMode::Yes => true,
            HeaderMode::No => false,
            HeaderMode::Auto => match self.owned_fields(d, line) {
                Ok(f) => f.iter().all(|x| parse_f64(x).is_none()),
                Err(_) => false,
            },
        }
    }

    /// Chooses the format, separator and columns from the first non-blank line of the first file.
    fn decide(&mut self, line: &[u8]) -> std::result::Result<(), LineError> {
        let netflix_head = line.len() > 1
            && line[line.len() - 1] == b':'
            && line[..line.len() - 1].iter().all(|c| c.is_ascii_digit());
        let format = match self.opts.format {
            Format::Auto => {
                if netflix_head {
                    Format::Netflix
                } else if self.looks_movielens(line) {
                    Format::MovieLens
                } else {
                    Format::Csv
                }
            }
            f => f,
        };
        match format {
            Format::Netflix => {
                self.mode = Mode::Netflix { movie: None };
                self.format_name = "netflix";
                self.users = IdTable::new(IdKind::Int);
                self.items = IdTable::new(IdKind::Int);
            }
            Format::MovieLens => {
                let sep = match &self.opts.sep {
                    Some(s) => s.clone(),
                    None => match detect_sep(line) {
                        Some(s) => s,
                        None => {
                            return Err(LineError::Bad(
                                "no MovieLens separator ('::', tab or ',') on the first line"
                                    .to_string(),
                            ))
                        }
                    },
                };
                self.mode = Mode::Delimited(Delimited {
                    sep,
                    user: 0,
                    item: 1,
                    rating: if self.opts.implicit { None } else { Some(2) },
                    timestamp: Some(3),
                    need: 4,
                    exact: Some(4),
                    int_ids: true,
                    quotes: false,
                });
                self.format_name = "movielens";
                self.users = IdTable::new(IdKind::Int);
                self.items = IdTable::new(IdKind::Int);
            }
            Format::Csv | Format::Auto => {
                let d = self.decide_csv(line)?;
                self.mode = Mode::Delimited(d);
                self.format_name = "csv";
                self.users = IdTable::new(IdKind::Bytes);
                self.items = IdTable::new(IdKind::Bytes);
            }
        }
        Ok(())
    }

    fn looks_movielens(&self, line: &[u8]) -> bool {
        let sep = match &self.opts.sep {
            Some(s) => s.clone(),
            None => match detect_sep(line) {
                Some(s) => s,
                None => return false,
            },
        };
        if sep == Sep::Byte(b';') {
            return false;
        }
        let mut spans = Vec::new();
        split_plain(line, &sep, &mut spans);
        if spans.len() != 4 {
            return false;
        }
        let f: Vec<&[u8]> = spans.iter().map(|&(a, b)| &line[a..b]).collect();
        let names: Vec<String> = f.iter().map(|x| norm_name(x)).collect();
        if names == ["userid", "movieid", "rating", "timestamp"] {
            return true;
        }
        parse_u64(f[0]).is_some()
            && parse_u64(f[1]).is_some()
            && parse_f64(f[2]).is_some()
            && parse_u64(f[3]).is_some()
    }

    fn decide_csv(&mut self, line: &[u8]) -> std::result::Result<Delimited, LineError> {
        let sep = match &self.opts.sep {
            Some(s) => s.clone(),
            None => match detect_sep(line) {
                Some(s) => s,
                None => {
                    return Err(LineError::Fatal(Error::parse(format!(
                        "line {}: cannot find a separator (',', tab, ';' or '::') in the first line '{}'; give one",
                        self.line_no,
                        show(line)
                    ))))
                }
            },
        };
        let mut d = Delimited {
            sep,
            user: 0,
            item: 1,
            rating: None,
            timestamp: None,
            need: 2,
            exact: None,
            int_ids: false,
            quotes: true,
        };
        let fields = self.owned_fields(&d, line)?;
        let header = match self.opts.header {
            HeaderMode::Yes => true,
            HeaderMode::No => false,
            HeaderMode::Auto => fields.iter().all(|x| parse_f64(x).is_none()),
        };
        self.header_names = if header {
            fields.iter().map(|f| norm_name(f)).collect()
        } else {
            Vec::new()
        };
        let opts = self.opts.clone();
        let resolve = |what: &str,
                       spec: &Option<Column>,
                       aliases: &[&str],
                       default: Option<usize>|
         -> std::result::Result<Option<usize>, LineError> {
            match spec {
                Some(Column::Index(i)) => Ok(Some(*i)),
                Some(Column::Name(n)) => {
                    if !header {
                        return Err(LineError::Fatal(Error::invalid(format!(
                            "the {} column is given by name ('{}') but the file has no header line",
                            what, n
                        ))));
                    }
                    let want = norm_name(n.as_bytes());
                    match self.header_names.iter().position(|h| *h == want) {
                        Some(i) => Ok(Some(i)),
                        None => Err(LineError::Fatal(Error::invalid(format!(
                            "no column named '{}' in the header '{}'",
                            n,
                            show(line)
                        )))),
                    }
                }
                None => {
                    if header {
                        Ok(self
                            .header_names
                            .iter()
                            .position(|h| aliases.contains(&h.as_str())))
                    } else {
                        Ok(default)
                    }
                }
            }
        };
        let user = resolve("user", &opts.user, USER_NAMES, Some(0))?;
        let item = resolve("item", &opts.item, ITEM_NAMES, Some(1))?;
        let (user, item) = match (user, item) {
            (Some(u), Some(i)) => (u, i),
            _ => {
                return Err(LineError::Fatal(Error::invalid(format!(
                    "cannot tell the user and item columns from the header '{}'; give them (--columns user,item[,rating])",
                    show(line)
                ))))
            }
        };
        let rating = if opts.implicit {
            None
        } else {
            let default = if fields.len() >= 3 && !header {
                Some(2)
            } else {
                None
            };
            resolve("rating", &opts.rating, RATING_NAMES, default)?
        };
        let timestamp = resolve("timestamp", &opts.timestamp, TIME_NAMES, None)?;
        if user == item {
            return Err(LineError::Fatal(Error::invalid(format!(
                "the user and item columns are the same (column {})",
                user
            ))));
        }
        d.user = user;
        d.item = item;
        d.rating = rating;
        d.timestamp = timestamp;
        d.need = 1 + [Some(user), Some(item), rating, timestamp]
            .iter()
            .flatten()
            .copied()
            .max()
            .unwrap_or(1);
        Ok(d)
    }

    fn netflix_line(&mut self, line: &[u8]) -> std::result::Result<(), LineError> {
        if line[line.len() - 1] == b':' {
            let id = match parse_u64(&line[..line.len() - 1]) {
                Some(v) => v,
                None => return Err(LineError::Bad("bad 'MovieID:' line".to_string())),
            };
            self.stats.headers += 1;
            if let Mode::Netflix { movie } = &mut self.mode {
                *movie = Some((id, u32::MAX));
            }
            return Ok(());
        }
        let movie = match &self.mode {
            Mode::Netflix { movie: Some(m) } => *m,
            _ => {
                return Err(LineError::Bad(
                    "a rating line before any 'MovieID:' line".to_string(),
                ))
            }
        };
        let c1 = match find_byte(line, b',') {
            Some(c) => c,
            None => {
                return Err(LineError::Bad(
                    "expected 'CustomerID,Rating,Date'".to_string(),
                ))
            }
        };
        let rest = &line[c1 + 1..];
        let c2 = find_byte(rest, b',').unwrap_or(rest.len());
        let user = match parse_u64(&line[..c1]) {
            Some(v) => v,
            None => return Err(LineError::Bad("bad customer id".to_string())),
        };
        let rating = match parse_f64(&rest[..c2]) {
            Some(v) => v,
            None => return Err(LineError::Bad("bad rating".to_string())),
        };
        if c2 == rest.len() || find_byte(&rest[c2 + 1..], b',').is_some() {
            return Err(LineError::Bad(
                "expected 'CustomerID,Rating,Date'".to_string(),
            ));
        }
        self.stats.rows += 1;
        if self.opts.implicit || rating > self.opts.min_rating {
            let item = if movie.1 == u32::MAX {
                let id = self.items.intern_int(movie.0)?;
                if let Mode::Netflix { movie: m } = &mut self.mode {
                    *m = Some((movie.0, id));
                }
                id
            } else {
                movie.1
            };
            let u = self.users.intern_int(user)?;
            self.row_users.push(u);
            self.row_items.push(item);
            self.stats.kept += 1;
        }
        Ok(())
    }

    fn delimited_line(&mut self, d: &Delimited, line: &[u8]) -> std::result::Result<(), LineError> {
        let mut scratch = std::mem::take(&mut self.scratch);
        let mut spans = std::mem::take(&mut self.spans);
        let r = self.delimited_fields(d, line, &mut scratch, &mut spans);
        self.scratch = scratch;
        self.spans = spans;
        r
    }

    fn delimited_fields(
        &mut self,
        d: &Delimited,
        line: &[u8],
        scratch: &mut Vec<u8>,
        spans: &mut Vec<(usize, usize)>,
    ) -> std::result::Result<(), LineError> {
        let quoted =
            split_fields(line, &d.sep, d.quotes, scratch, spans).map_err(LineError::Bad)?;
        let src: &[u8] = if quoted { scratch } else { line };
        let field = |i: usize| -> &[u8] { &src[spans[i].0..spans[i].1] };
        let n = spans.len();
        if let Some(e) = d.exact {
            if n != e {
                return Err(LineError::Bad(format!(
                    "expected {} fields separated by '{}' but found {}",
                    e,
                    d.sep.name(),
                    n
                )));
            }
        } else if n < d.need {
            return Err(LineError::Bad(format!(
                "expected at least {} fields separated by '{}' but found {}",
                d.need,
                d.sep.name(),
                n
            )));
        }
        let keep = match d.rating {
            Some(c) => match parse_f64(field(c)) {
                Some(r) => self.opts.implicit || r > self.opts.min_rating,
                None => {
                    return Err(LineError::Bad(format!(
                        "rating '{}' is not a number",
                        show(field(c))
                    )))
                }
            },
            None => true,
        };
        if let Some(c) = d.timestamp {
            if d.int_ids && parse_u64(field(c)).is_none() {
                return Err(LineError::Bad(format!(
                    "timestamp '{}' is not a non-negative integer",
                    show(field(c))
                )));
            }
        }
        let (uf, itf) = (field(d.user), field(d.item));
        if d.int_ids {
            let u = match parse_u64(uf) {
                Some(v) => v,
                None => {
                    return Err(LineError::Bad(format!(
                        "user id '{}' is not a non-negative integer",
                        show(uf)
                    )))
                }
            };
            let i = match parse_u64(itf) {
                Some(v) => v,
                None => {
                    return Err(LineError::Bad(format!(
                        "item id '{}' is not a non-negative integer",
                        show(itf)
                    )))
                }
            };
            self.stats.rows += 1;
            if keep {
                let u = self.users.intern_int(u)?;
                let i = self.items.intern_int(i)?;
                self.row_users.push(u);
                self.row_items.push(i);
                self.stats.kept += 1;
            }
        } else {
            if uf.is_empty() {
                return Err(LineError::Bad("empty user id".to_string()));
            }
            if itf.is_empty() {
                return Err(LineError::Bad("empty item id".to_string()));
            }
            self.stats.rows += 1;
            if keep {
                let u = self.users.intern_bytes(uf)?;
                let i = self.items.intern_bytes(itf)?;
                self.row_users.push(u);
                self.row_items.push(i);
                self.stats.kept += 1;
            }
        }
        Ok(())
    }

    /// The detected layout and the counts as a JSON object (for the binding and the CLI).
    pub fn stats_json(&self) -> String {
        let s = &self.stats;
        let mut o = String::new();
        o.push('{');
        o.push_str(&format!(
            "\"format\":\"{}\",\"files\":{},\"lines\":{},\"blank\":{},\"headers\":{},\"rows\":{},\"kept\":{},\"invalid\":{},\"users\":{},\"items\":{}",
            self.format_name, s.files, s.lines, s.blank, s.headers, s.rows, s.kept, s.invalid,
            self.users.len(), self.items.len()
        ));
        if let Mode::Delimited(d) = &self.mode {
            o.push_str(",\"separator\":");
            json_str(&mut o, &d.sep.name());
            let col = |c: Option<usize>| {
                c.map(|v| v.to_string())
                    .unwrap_or_else(|| "null".to_string())
            };
            o.push_str(&format!(
                ",\"columns\":{{\"user\":{},\"item\":{},\"rating\":{},\"timestamp\":{}}}",
                d.user,
                d.item,
                col(d.rating),
                col(d.timestamp)
            ));
            o.push_str(&format!(",\"implicit\":{}", d.rating.is_none()));
        } else {
            o.push_str(&format!(",\"implicit\":{}", self.opts.implicit));
        }
        o.push_str(",\"examples\":[");
        for (k, (f, l, m)) in s.examples.iter().enumerate() {
            if k > 0 {
                o.push(',');
            }
            o.push_str(&format!("{{\"file\":{},\"line\":{},\"message\":", f, l));
            json_str(&mut o, m);
            o.push('}');
        }
        o.push_str("]}");
        o
    }
}

/// Appends `s` as a JSON string literal.
pub fn json_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(text: &str) -> ParseOptions {
        ParseOptions::from_text(text).unwrap()
    }

    /// Parses `data` fed in pieces of `piece` bytes; returns (rows as raw-id strings, parser).
    fn run(
        data: &[u8],
        o: &ParseOptions,
        piece: usize,
    ) -> Result<(Vec<(String, String)>, RatingsParser)> {
        let mut p = RatingsParser::new(o.clone());
        for c in data.chunks(piece.max(1)) {
            p.feed(c)?;
        }
        p.end_file()?;
        let mut rows = Vec::new();
        for t in 0..p.row_users.len() {
            let (mut a, mut b) = (Vec::new(), Vec::new());
            p.users().write_key(p.row_users[t] as usize, &mut a);
            p.items().write_key(p.row_items[t] as usize, &mut b);
            rows.push((String::from_utf8(a).unwrap(), String::from_utf8(b).unwrap()));
        }
        Ok((rows, p))
    }

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn movielens_three_layouts_any_chunking() {
        let csv = b"userId,movieId,rating,timestamp\n1,31,2.5,1260759144\n1,1029,3.0,1260759179\n2,10,4.0,835355493\n7,31,5.0,1\n";
        let dat = b"1::31::2::978300760\n1::1029::4::978302109\n2::10::5::978301968\n";
        let tab = b"196\t242\t3\t881250949\n186\t302\t4\t891717742\n22\t377\t5\t878887116";
        for piece in 1..40 {
            let (r, p) = run(csv, &ParseOptions::default(), piece).unwrap();
            assert_eq!(r, pairs(&[("2", "10"), ("7", "31")]));
            assert_eq!((p.stats.rows, p.stats.kept, p.stats.headers), (4, 2, 1));
            assert_eq!(p.format_name(), "movielens");
            let (r, _) = run(dat, &ParseOptions::default(), piece).unwrap();
            assert_eq!(r, pairs(&[("1", "1029"), ("2", "10")]));
            let (r, p) = run(tab, &ParseOptions::default(), piece).unwrap();
            assert_eq!(r, pairs(&[("186", "302"), ("22", "377")]));
            assert_eq!(p.stats.rows, 3);
        }
    }

    #[test]
    fn crlf_bom_blank_lines_and_threshold() {
        let d = b"\xef\xbb\xbfuserId,movieId,rating,timestamp\r\n1,2,3.5,1\r\n\r\n1,3,3.6,1\r\n";
        let (r, p) = run(d, &ParseOptions::default(), 5).unwrap();
        assert_eq!(r, pairs(&[("1", "3")]));
        assert_eq!((p.stats.blank, p.stats.rows), (1, 2));
        let (r, _) = run(d, &opts("min_rating=3"), 5).unwrap();
        assert_eq!(r.len(), 2);
    }

    #[test]
    fn netflix_combined_data() {
        let d = b"1:\n1488844,3,2005-09-06\n822109,5,2005-05-13\n2:\n2059652,4,2005-09-05\n1488844,4,2005-05-13\n";
        for piece in [1, 3, 1000] {
            let (r, p) = run(d, &ParseOptions::default(), piece).unwrap();
            assert_eq!(
                r,
                pairs(&[("822109", "1"), ("2059652", "2"), ("1488844", "2")])
            );
            assert_eq!(p.format_name(), "netflix");
            assert_eq!((p.stats.rows, p.stats.headers), (4, 2));
        }
        let e = run(b"1488844,3,2005-09-06\n", &opts("format=netflix"), 10).unwrap_err();
        assert_eq!(
            e.message,
            "line 1: a rating line before any 'MovieID:' line: '1488844,3,2005-09-06'"
        );
        // A new file starts without a movie.
        let mut p = RatingsParser::new(ParseOptions::default());
        p.feed(b"5:\n1,5,2005-01-01\n").unwrap();
        p.end_file().unwrap();
        let e = p.feed(b"2,5,2005-01-01\n").unwrap_err();
        assert!(
            e.message.starts_with("line 1: a rating line before"),
            "{}",
            e.message
        );
    }

    #[test]
    fn generic_csv_header_names_quotes_and_implicit() {
        let d = b"rating;item;user\n5;\"a;b\";u1\n 2 ; x ; u2\n4;\"say \"\"hi\"\"\";u1\n";
        let (r, p) = run(d, &ParseOptions::default(), 4).unwrap();
        assert_eq!(r, pairs(&[("u1", "a;b"), ("u1", "say \"hi\"")]));
        assert_eq!(p.format_name(), "csv");
        let d = b"who,what\nalice,book\nbob,book\nalice,pen\n";
        let (r, p) = run(d, &opts("user=n:who\nitem=n:what"), 3).unwrap();
        assert_eq!(r.len(), 3);
        assert_eq!(p.stats.headers, 1);
        assert!(p.stats_json().contains("\"implicit\":true"));
        // Index columns, no header.
        let d = b"x\t10\t20\t1.0\ny\t11\t21\t5.0\n";
        let (r, _) = run(d, &opts("format=csv\nuser=i:2\nitem=i:1\nrating=i:3"), 2).unwrap();
        assert_eq!(r, pairs(&[("21", "11")]));
        let e = run(
            b"a,b\n1,2\n",
            &opts("format=csv\nuser=n:nope\nheader=yes"),
            9,
        )
        .unwrap_err();
        assert!(
            e.message.contains("no column named 'nope'"),
            "{}",
            e.message
        );
    }

    #[test]
    fn bad_lines_fail_with_line_and_text_or_are_counted() {
        let d = b"userId,movieId,rating,timestamp\n1,2,4,5\n1,x,4,5\n1,2,4\n3,4,five,5\n2,2,5,5\n";
        let e = run(d, &ParseOptions::default(), 7).unwrap_err();
        assert_eq!(e.kind, crate::ErrorKind::Parse);
        assert_eq!(
            e.message,
            "line 3: item id 'x' is not a non-negative integer: '1,x,4,5'"
        );
        let (r, p) = run(d, &opts("skip_invalid=1"), 7).unwrap();
        assert_eq!(r, pairs(&[("1", "2"), ("2", "2")]));
        assert_eq!(p.stats.invalid, 3);
        assert_eq!(p.stats.examples.len(), 3);
        assert_eq!(p.stats.examples[1].1, 4);
        assert!(p.stats.examples[1]
            .2
            .contains("expected 4 fields separated by ',' but found 3"));
        assert!(p.stats.examples[2]
            .2
            .contains("rating 'five' is not a number"));
        let e = run(b"a,\"b\n", &opts("format=csv"), 3).unwrap_err();
        assert!(
            e.message.contains("unterminated quoted field"),
            "{}",
            e.message
        );
        let e = run(&vec![b'1'; 300], &opts("max_line=100"), 64).unwrap_err();
        assert!(e.message.contains("longer than 100 bytes"), "{}", e.message);
    }

    #[test]
    fn options_text_is_checked() {
        assert!(ParseOptions::from_text("format=xml").is_err());
        assert!(ParseOptions::from_text("min_rating=abc").is_err());
        assert!(ParseOptions::from_text("nope=1").is_err());
        assert!(ParseOptions::from_text("implicit=1\nrating=i:2").is_err());
        let o = opts("sep=tab\nheader=no\nuser=i:1\nitem=n:x\nmin_rating=4");
        assert_eq!(o.sep, Some(Sep::Byte(b'\t')));
        assert_eq!(o.item, Some(Column::Name("x".to_string())));
    }

    #[test]
    fn numbers() {
        assert_eq!(parse_f64(b"3.5"), Some(3.5));
        assert_eq!(parse_f64(b"-0.25"), Some(-0.25));
        assert_eq!(parse_f64(b"4."), Some(4.0));
        assert_eq!(parse_f64(b".5"), Some(0.5));
        assert_eq!(parse_f64(b"1e2"), Some(100.0));
        assert_eq!(parse_f64(b"0.1"), Some(0.1));
        assert_eq!(parse_f64(b"123456789012345678"), Some(123456789012345678.0));
        for bad in [
            &b""[..],
            b".",
            b"-",
            b"nan",
            b"inf",
            b"1.2.3",
            b"4 ",
            b"0x10",
        ] {
            assert_eq!(parse_f64(bad), None, "{:?}", bad);
        }
        assert_eq!(parse_u64(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_u64(b"18446744073709551616"), None);
        assert_eq!(parse_u64(b"+1"), None);
    }
}
