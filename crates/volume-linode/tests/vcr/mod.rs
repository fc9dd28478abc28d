//! Reads the go-vcr recordings of real Linode traffic in
//! `shared/api/linode/linodego-vcr/` (YAML written by go-yaml).
//!
//! Not a YAML parser: it reads exactly the shape go-vcr writes, which is all
//! these files hold. Each interaction has a request (`body`, `url`,
//! `method`) and a response (`body`, `code`); a body is `""` or a
//! single-quoted scalar folded over several lines (a line break is one
//! space, an empty line a newline, `''` is `'`). Anything else makes it
//! panic, so a recording of another shape cannot be skipped unnoticed.

use std::path::Path;

use volume_sim::testing::Samples;

/// One request and its answer.
#[derive(Debug, Clone)]
pub(crate) struct Interaction {
    /// The recording it comes from, for messages.
    pub(crate) file: String,
    pub(crate) method: String,
    /// The path after the API version (`/volumes/15543619`), with the query.
    pub(crate) path: String,
    pub(crate) request_body: String,
    pub(crate) code: u16,
    pub(crate) response_body: String,
}

/// Every interaction of every recording, in file and recording order.
pub(crate) fn all(samples: &Samples) -> Vec<Interaction> {
    samples
        .files("linodego-vcr", "yaml")
        .iter()
        .flat_map(|f| read(f))
        .collect()
}

#[derive(Clone, Copy, PartialEq)]
enum Side {
    None,
    Request,
    Response,
}

/// The interactions of one recording.
pub(crate) fn read(file: &Path) -> Vec<Interaction> {
    let name = file.file_name().unwrap().to_string_lossy().into_owned();
    let text = std::fs::read_to_string(file).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut current: Option<Interaction> = None;
    let mut side = Side::None;
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        if line == "- request:" {
            if let Some(done) = current.take() {
                out.push(done);
            }
            current = Some(Interaction {
                file: name.clone(),
                method: String::new(),
                path: String::new(),
                request_body: String::new(),
                code: 0,
                response_body: String::new(),
            });
            side = Side::Request;
        } else if line == "  response:" {
            side = Side::Response;
        } else if let (Some(it), Some(rest)) = (current.as_mut(), line.strip_prefix("    body: ")) {
            let (body, used) = scalar(rest, &lines[i + 1..], &name, i + 1);
            match side {
                Side::Request => it.request_body = body,
                Side::Response => it.response_body = body,
                Side::None => panic!("{name}:{}: a body outside an interaction", i + 1),
            }
            i += used;
        } else if let (Some(it), Some(rest)) = (current.as_mut(), line.strip_prefix("    url: ")) {
            let rest = rest.trim();
            let path = rest
                .strip_prefix("https://api.linode.com/v4beta")
                .or_else(|| rest.strip_prefix("https://api.linode.com/v4"))
                .unwrap_or_else(|| panic!("{name}:{}: url {rest}", i + 1));
            it.path = path.to_owned();
        } else if let (Some(it), Some(rest)) = (current.as_mut(), line.strip_prefix("    method: "))
        {
            it.method = rest.trim().to_owned();
        } else if let (Some(it), Some(rest)) = (current.as_mut(), line.strip_prefix("    code: ")) {
            it.code = rest.trim().parse().unwrap();
        }
        i += 1;
    }
    out.extend(current);
    for it in &out {
        assert!(
            !it.method.is_empty() && !it.path.is_empty() && it.code != 0,
            "{name}: an incomplete interaction {it:?}"
        );
    }
    out
}

/// A scalar starting with `first`, continued on `rest` when folded; returns
/// it and the number of extra lines it took.
fn scalar(first: &str, rest: &[&str], name: &str, at: usize) -> (String, usize) {
    if first == "\"\"" {
        return (String::new(), 0);
    }
    let Some(start) = first.strip_prefix('\'') else {
        panic!("{name}:{at}: a body that is not single-quoted: {first}");
    };
    let mut raw = String::new();
    let mut pending = start.to_owned();
    let mut used = 0;
    loop {
        if let Some(end) = closing_quote(&pending) {
            raw.push_str(&pending[..end]);
            break;
        }
        // Folded: trailing spaces go, the break is a space (or a newline
        // for an empty line).
        raw.push_str(pending.trim_end_matches(' '));
        let next = rest
            .get(used)
            .unwrap_or_else(|| panic!("{name}:{at}: an unterminated body"));
        used += 1;
        let next = next.trim_start();
        if next.is_empty() {
            raw.push('\n');
            pending = String::new();
        } else {
            if !raw.ends_with('\n') {
                raw.push(' ');
            }
            pending = next.to_owned();
        }
    }
    (raw.replace("''", "'"), used)
}

/// The index of the single quote that ends the scalar, if on this line.
fn closing_quote(s: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\'' {
            if bytes.get(i + 1) == Some(&b'\'') {
                i += 2;
                continue;
            }
            return Some(i);
        }
        i += 1;
    }
    None
}
