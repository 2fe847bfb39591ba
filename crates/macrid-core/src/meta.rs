//! Item metadata: titles and genres (or categories) keyed by raw item id.
//!
//! Formats (detected from the first line unless given):
//! - MovieLens `movies.csv` (`movieId,title,genres`, header, quoted titles, genres `|`-separated);
//! - MovieLens `movies.dat` (`MovieID::Title::Genres`);
//! - MovieLens 100K `u.item` (`id|title|release|video release|URL|19 genre flags`), genre names from
//!   `u.genre` when given, else the published list;
//! - Netflix Prize `movie_titles.txt` (`MovieID,YearOfRelease,Title`, the title may contain commas and
//!   the year may be `NULL`): title `Title (Year)`, no genres;
//! - a generic item → category file: `item<sep>category` (`,` tab or `;`, optional header), categories
//!   `|`-separated, several rows per item allowed (categories accumulate, in order, without repeats).
//!
//! Encoding: the whole file is decoded as UTF-8 when it is valid UTF-8, else as Latin-1 (`u.item` and
//! `movies.dat` are ISO-8859-1). `(no genres listed)` means no genre.
//!
//! Output: UTF-8 records `id \t title \t genre|genre \n` (tabs and line breaks inside a title become
//! spaces; the title is empty for a category file).

use crate::error::{Error, Result};
use crate::parse::{split_fields_pub, Sep};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetaFormat {
    Auto,
    MoviesCsv,
    MoviesDat,
    UItem,
    NetflixTitles,
    Categories,
}

impl MetaFormat {
    pub fn from_name(s: &str) -> Result<MetaFormat> {
        Ok(match s {
            "auto" => MetaFormat::Auto,
            "movies-csv" => MetaFormat::MoviesCsv,
            "movies-dat" => MetaFormat::MoviesDat,
            "u-item" => MetaFormat::UItem,
            "netflix-titles" => MetaFormat::NetflixTitles,
            "categories" => MetaFormat::Categories,
            _ => {
                return Err(Error::invalid(format!(
                    "item metadata format must be auto, movies-csv, movies-dat, u-item, netflix-titles or categories but got '{}'",
                    s
                )))
            }
        })
    }
}

/// The genres of `u.item`'s 19 flags, in order (`u.genre`).
pub const U_GENRES: [&str; 19] = [
    "unknown",
    "Action",
    "Adventure",
    "Animation",
    "Children's",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Fantasy",
    "Film-Noir",
    "Horror",
    "Musical",
    "Mystery",
    "Romance",
    "Sci-Fi",
    "Thriller",
    "War",
    "Western",
];

/// UTF-8 when valid, else Latin-1 (every byte is the code point of the same value).
pub fn decode_text(b: &[u8]) -> String {
    match std::str::from_utf8(b) {
        Ok(s) => s.to_string(),
        Err(_) => b.iter().map(|&c| c as char).collect(),
    }
}

fn clean(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c == '\t' || c == '\n' || c == '\r' {
                ' '
            } else {
                c
            }
        })
        .collect::<String>()
        .trim()
        .to_string()
}

struct Record {
    id: String,
    title: String,
    genres: Vec<String>,
}

fn genres_of(s: &str) -> Vec<String> {
    if s.trim() == "(no genres listed)" {
        return Vec::new();
    }
    s.split('|').map(clean).filter(|g| !g.is_empty()).collect()
}

/// Parses `u.genre` (`name|index` lines) into names by index.
pub fn parse_u_genre(b: &[u8]) -> Vec<String> {
    let text = decode_text(b);
    let mut v: Vec<(usize, String)> = text
        .lines()
        .filter_map(|l| {
            let (name, idx) = l.trim_end_matches('\r').rsplit_once('|')?;
            Some((idx.trim().parse().ok()?, name.to_string()))
        })
        .collect();
    v.sort();
    v.into_iter().map(|(_, n)| n).collect()
}

/// Parses item metadata; see the module doc for the formats and the output layout.
pub fn parse_item_meta(data: &[u8], format: MetaFormat, u_genre: Option<&[u8]>) -> Result<Vec<u8>> {
    let text = decode_text(data);
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let format = match format {
        MetaFormat::Auto => {
            let f = first.trim_end_matches('\r').to_ascii_lowercase();
            if f.starts_with("movieid,title,genres") {
                MetaFormat::MoviesCsv
            } else if first.contains("::") {
                MetaFormat::MoviesDat
            } else if first.split('|').count() >= 24 {
                MetaFormat::UItem
            } else {
                MetaFormat::Categories
            }
        }
        f => f,
    };
    let genre_names: Vec<String> = match u_genre {
        Some(b) => parse_u_genre(b),
        None => U_GENRES.iter().map(|s| s.to_string()).collect(),
    };
    let mut records: Vec<Record> = Vec::new();
    let mut index: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut scratch = Vec::new();
    let mut spans = Vec::new();
    let mut cat_sep: Option<Sep> = None;
    for (ln, raw) in text.lines().enumerate() {
        let line = raw.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let bad = |what: &str| -> Error {
            let shown: String = line.chars().take(200).collect();
            Error::parse(format!("line {}: {}: '{}'", ln + 1, what, shown))
        };
        let rec = match format {
            MetaFormat::MoviesCsv => {
                if records.is_empty() && line.to_ascii_lowercase().starts_with("movieid,") {
                    continue;
                }
                let f =
                    split_fields_pub(line.as_bytes(), &Sep::Byte(b','), &mut scratch, &mut spans)
                        .map_err(|e| bad(&e))?;
                if f.len() != 3 {
                    return Err(bad(&format!(
                        "expected 3 fields (movieId,title,genres) but found {}",
                        f.len()
                    )));
                }
                Record {
                    id: clean(&f[0]),
                    title: clean(&f[1]),
                    genres: genres_of(&f[2]),
                }
            }
            MetaFormat::MoviesDat => {
                let f: Vec<&str> = line.split("::").collect();
                if f.len() != 3 {
                    return Err(bad(&format!(
                        "expected 3 fields (MovieID::Title::Genres) but found {}",
                        f.len()
                    )));
                }
                Record {
                    id: clean(f[0]),
                    title: clean(f[1]),
                    genres: genres_of(f[2]),
                }
            }
            MetaFormat::UItem => {
                let f: Vec<&str> = line.split('|').collect();
                if f.len() < 5 + genre_names.len() {
                    return Err(bad(&format!(
                        "expected {} '|'-separated fields but found {}",
                        5 + genre_names.len(),
                        f.len()
                    )));
                }
                let mut genres = Vec::new();
                for (k, name) in genre_names.iter().enumerate() {
                    match f[5 + k].trim() {
                        "1" => genres.push(name.clone()),
                        "0" => {}
                        _ => return Err(bad(&format!("genre flag {} is not 0 or 1", k))),
                    }
                }
                Record {
                    id: clean(f[0]),
                    title: clean(f[1]),
                    genres,
                }
            }
            MetaFormat::NetflixTitles => {
                let f: Vec<&str> = line.splitn(3, ',').collect();
                if f.len() != 3 {
                    return Err(bad("expected 'MovieID,YearOfRelease,Title'"));
                }
                let year = f[1].trim();
                Record {
                    id: clean(f[0]),
                    title: if year.is_empty() || year == "NULL" {
                        clean(f[2])
                    } else {
                        format!("{} ({})", clean(f[2]), year)
                    },
                    genres: Vec::new(),
                }
            }
            MetaFormat::Categories | MetaFormat::Auto => {
                let sep = match &cat_sep {
                    Some(s) => s.clone(),
                    None => {
                        let s = if line.contains('\t') {
                            Sep::Byte(b'\t')
                        } else if line.contains(',') {
                            Sep::Byte(b',')
                        } else if line.contains(';') {
                            Sep::Byte(b';')
                        } else {
                            return Err(bad("expected 'item,category' (',', tab or ';')"));
                        };
                        cat_sep = Some(s.clone());
                        let low = line.to_ascii_lowercase();
                        if records.is_empty()
                            && (low.starts_with("item")
                                || low.starts_with("movieid")
                                || low.starts_with("id"))
                            && (low.contains("categor")
                                || low.contains("concept")
                                || low.contains("genre"))
                        {
                            continue;
                        }
                        s
                    }
                };
                let f = split_fields_pub(line.as_bytes(), &sep, &mut scratch, &mut spans)
                    .map_err(|e| bad(&e))?;
                if f.len() != 2 {
                    return Err(bad(&format!(
                        "expected 2 fields (item, category) but found {}",
                        f.len()
                    )));
                }
                Record {
                    id: clean(&f[0]),
                    title: String::new(),
                    genres: genres_of(&f[1]),
                }
            }
        };
        if rec.id.is_empty() {
            return Err(bad("empty item id"));
        }
        match index.get(&rec.id) {
            Some(&k) => {
                if format == MetaFormat::Categories || format == MetaFormat::Auto {
                    for g in rec.genres {
                        if !records[k].genres.contains(&g) {
                            records[k].genres.push(g);
                        }
                    }
                } else {
                    return Err(bad(&format!("item id '{}' is listed twice", rec.id)));
                }
            }
            None => {
                index.insert(rec.id.clone(), records.len());
                records.push(rec);
            }
        }
    }
    let mut out = Vec::new();
    for r in &records {
        out.extend_from_slice(r.id.as_bytes());
        out.push(b'\t');
        out.extend_from_slice(r.title.as_bytes());
        out.push(b'\t');
        out.extend_from_slice(r.genres.join("|").as_bytes());
        out.push(b'\n');
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(data: &[u8], f: MetaFormat) -> String {
        String::from_utf8(parse_item_meta(data, f, None).unwrap()).unwrap()
    }

    #[test]
    fn movies_csv_with_quotes_and_utf8() {
        let d = "movieId,title,genres\r\n1,Toy Story (1995),Adventure|Animation\r\n11,\"American President, The (1995)\",Comedy|Drama|Romance\r\n12,Amélie (2001),(no genres listed)\r\n";
        assert_eq!(
            run(d.as_bytes(), MetaFormat::Auto),
            "1\tToy Story (1995)\tAdventure|Animation\n11\tAmerican President, The (1995)\tComedy|Drama|Romance\n12\tAmélie (2001)\t\n"
        );
    }

    #[test]
    fn latin1_movies_dat_and_u_item() {
        let mut dat = b"1::Toy Story (1995)::Animation|Children's\n2::Caf".to_vec();
        dat.push(0xe9); // é in Latin-1
        dat.extend_from_slice(b" (1990)::Drama\n");
        assert_eq!(
            run(&dat, MetaFormat::Auto),
            "1\tToy Story (1995)\tAnimation|Children's\n2\tCafé (1990)\tDrama\n"
        );
        let mut item =
            b"1|Toy Story (1995)|01-Jan-1995||http://x|0|0|0|1|1|1|0|0|0|0|0|0|0|0|0|0|0|0|0\n"
                .to_vec();
        item.extend_from_slice(b"2|Se");
        item.push(0xf1);
        item.extend_from_slice(
            b"or (1996)|01-Jan-1996||http://y|0|1|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|1\n",
        );
        assert_eq!(
            run(&item, MetaFormat::Auto),
            "1\tToy Story (1995)\tAnimation|Children's|Comedy\n2\tSeñor (1996)\tAction|Western\n"
        );
    }

    #[test]
    fn netflix_titles() {
        let d = b"1,2003,Dinosaur Planet\r\n2,NULL,Isle of Man TT 2004 Review, Part 2\n";
        assert_eq!(
            run(d, MetaFormat::NetflixTitles),
            "1\tDinosaur Planet (2003)\t\n2\tIsle of Man TT 2004 Review, Part 2\t\n"
        );
    }

    #[test]
    fn categories_accumulate_and_errors_name_the_line() {
        let d = b"item,category\na,x|y\nb,z\na,y\na,w\n";
        assert_eq!(run(d, MetaFormat::Auto), "a\t\tx|y|w\nb\t\tz\n");
        let e = parse_item_meta(
            b"movieId,title,genres\n1,\"Unterminated,Drama\n",
            MetaFormat::Auto,
            None,
        )
        .unwrap_err();
        assert!(
            e.message.starts_with("line 2: unterminated quoted field"),
            "{}",
            e.message
        );
        let e = parse_item_meta(b"1::A::B\n1::C::D\n", MetaFormat::Auto, None).unwrap_err();
        assert!(
            e.message.contains("line 2: item id '1' is listed twice"),
            "{}",
            e.message
        );
    }
}
