//! Building request URLs, and printing them without secrets.
//!
//! Every path segment a caller gives is percent-encoded on its own, so an id
//! such as `../x?y#z` is sent as exactly one segment (`..%2Fx%3Fy%23z`) and
//! can never change the path or the query it is sent to. Query keys and
//! values are percent-encoded the same way (a space is `%20`, never `+`).
//!
//! A segment that is only `.` or `..` cannot be sent as one segment: the URL
//! standard (and the `url` crate reqwest is built on) treats `..`, `.%2E`,
//! `%2E%2E` and every other spelling of it as "go up one level" and removes
//! it. Such a segment is refused with [`Error::InvalidInput`] before any
//! request is made, and the finished path is checked against what was asked
//! for, so no other normalisation can slip through either.
//!
//! Two more kinds of target exist. An *action suffix* (`:attach` in
//! `/block-storage/{id}:attach`) is sent literally after the last segment,
//! so it is restricted to a charset that needs no encoding and cannot form a
//! dot segment. A *link* (an absolute `next` or action URL from an answer)
//! is sent as given, but only to the same scheme, host and port as the
//! endpoint in force, so credentials never leave that host.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use url::Url;

use crate::error::{Error, Result};

/// What is percent-encoded in a path segment, a query key and a query value:
/// everything except the unreserved characters of RFC 3986.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// One path segment, percent-encoded.
pub(crate) fn encode_component(value: &str) -> String {
    utf8_percent_encode(value, COMPONENT).to_string()
}

/// Refuses segments that cannot be sent as one segment.
pub(crate) fn check_segment(segment: &str) -> Result<()> {
    if segment.is_empty() {
        return Err(Error::invalid_input(
            "path segment",
            "must not be empty (an empty id cannot name a resource)",
        ));
    }
    if segment == "." || segment == ".." {
        return Err(Error::invalid_input(
            "path segment",
            format!("{segment:?} cannot be sent as a path segment: URL normalisation removes it"),
        ));
    }
    Ok(())
}

/// Checks that `base` can be a base URL: http(s), a host, no credentials,
/// no query and no fragment.
pub(crate) fn check_base_url(base: &Url) -> Result<()> {
    let reason = if !matches!(base.scheme(), "http" | "https") {
        Some("must be an http or https URL")
    } else if base.host_str().is_none_or(str::is_empty) {
        Some("must have a host")
    } else if !base.username().is_empty() || base.password().is_some() {
        Some("must not hold credentials; configure an authenticator instead")
    } else if base.query().is_some() {
        Some("must not have a query")
    } else if base.fragment().is_some() {
        Some("must not have a fragment")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(Error::invalid_input("base_url", reason)),
        None => Ok(()),
    }
}

/// Refuses an action suffix that would need encoding or could change the
/// path: only ASCII letters, digits, `-`, `_` and `:` are allowed.
pub(crate) fn check_action_suffix(suffix: &str) -> Result<()> {
    if suffix.is_empty() {
        return Err(Error::invalid_input("action suffix", "must not be empty"));
    }
    if !suffix
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b':'))
    {
        return Err(Error::invalid_input(
            "action suffix",
            format!("{suffix:?} may hold only ASCII letters, digits, '-', '_' and ':'"),
        ));
    }
    Ok(())
}

/// Whether `a` and `b` share scheme, host and port (the default port of
/// the scheme when none is written).
pub(crate) fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str().map(str::to_ascii_lowercase) == b.host_str().map(str::to_ascii_lowercase)
        && a.port_or_known_default() == b.port_or_known_default()
}

/// `link` (absolute, or a path resolved against `endpoint`) with `query`
/// appended to its own query, refused unless it has the origin of
/// `endpoint` and no credentials. The fragment is dropped: it is never sent.
pub(crate) fn resolve_link(endpoint: &Url, link: &str, query: &[(String, String)]) -> Result<Url> {
    let mut url = endpoint
        .join(link.trim())
        .map_err(|e| Error::invalid_input("link", format!("is not a URL ({e})")))?;
    if !same_origin(&url, endpoint) {
        return Err(Error::invalid_input(
            "link",
            format!(
                "{} is not on the endpoint's scheme, host and port ({}); refusing to send credentials there",
                redact_url(&url),
                redact_url(endpoint)
            ),
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::invalid_input("link", "must not hold credentials"));
    }
    url.set_fragment(None);
    if !query.is_empty() {
        let extra = encode_query(query);
        let joined = match url.query().filter(|q| !q.is_empty()) {
            Some(own) => format!("{own}&{extra}"),
            None => extra,
        };
        url.set_query(Some(&joined));
    }
    Ok(url)
}

/// Query pairs, each key and value percent-encoded.
fn encode_query(query: &[(String, String)]) -> String {
    query
        .iter()
        .map(|(k, v)| format!("{}={}", encode_component(k), encode_component(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// `base` with `segments` appended (each percent-encoded as one segment),
/// then `action` sent literally, and `query` as its query.
pub(crate) fn build_url(
    base: &Url,
    segments: &[String],
    action: Option<&str>,
    trailing_slash: bool,
    query: &[(String, String)],
) -> Result<Url> {
    let mut url = base.clone();
    if action.is_some() && segments.is_empty() {
        return Err(Error::invalid_input(
            "action suffix",
            "needs a path segment to follow",
        ));
    }
    if !segments.is_empty() || trailing_slash {
        let mut path = base.path().trim_end_matches('/').to_owned();
        for segment in segments {
            check_segment(segment)?;
            path.push('/');
            path.push_str(&encode_component(segment));
        }
        if let Some(action) = action {
            check_action_suffix(action)?;
            path.push_str(action);
        }
        if trailing_slash {
            path.push('/');
        }
        url.set_path(&path);
        if url.path() != path {
            // Defence in depth: every segment was encoded, so the URL parser
            // has nothing left to normalise; if it did, refuse to send.
            return Err(Error::invalid_input(
                "path",
                "the URL library would change the path; refusing to send it",
            ));
        }
    }
    if query.is_empty() {
        url.set_query(None);
    } else {
        url.set_query(Some(&encode_query(query)));
    }
    Ok(url)
}

/// `url` as it may be shown in errors and logs: without user name, password
/// and fragment, and with every query value replaced by `******` (a token in
/// a query string stays out of error messages).
///
/// ```
/// use volume_core::http::redact_url;
///
/// let url = url::Url::parse("https://me:pw@api.example.com/v1/volumes?token=abc&page=2").unwrap();
/// assert_eq!(redact_url(&url), "https://api.example.com/v1/volumes?token=******&page=******");
/// ```
pub fn redact_url(url: &Url) -> String {
    let mut shown = url.clone();
    // Both only fail for URLs that cannot have credentials, which then have none.
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.set_fragment(None);
    if shown.query().is_some() {
        let redacted = url
            .query_pairs()
            .map(|(k, v)| {
                let key = encode_component(&k);
                if v.is_empty() {
                    key
                } else {
                    format!("{key}=******")
                }
            })
            .collect::<Vec<_>>()
            .join("&");
        shown.set_query((!redacted.is_empty()).then_some(redacted.as_str()));
    }
    shown.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    fn segs(s: &[&str]) -> Vec<String> {
        s.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn every_id_is_one_segment() {
        let url = build_url(
            &base("https://h/v4"),
            &segs(&["volumes", "../x?y#z"]),
            None,
            false,
            &[],
        )
        .unwrap();
        assert_eq!(url.path(), "/v4/volumes/..%2Fx%3Fy%23z");
        assert_eq!(url.query(), None);
        assert_eq!(url.fragment(), None);
        assert_eq!(url.path_segments().unwrap().count(), 3);

        let url = build_url(
            &base("https://h/"),
            &segs(&["a/b", "100%", "%2E%2E", "...", "é ü", "a+b"]),
            None,
            false,
            &[],
        )
        .unwrap();
        assert_eq!(
            url.path(),
            "/a%2Fb/100%25/%252E%252E/.../%C3%A9%20%C3%BC/a%2Bb"
        );
    }

    #[test]
    fn the_url_crate_does_normalise_dot_segments_so_they_are_refused() {
        // This is why: every spelling of `..` is "go up" to the URL parser.
        let mut url = base("https://h/v4/volumes");
        url.set_path("/v4/volumes/%2E%2E");
        assert_eq!(url.path(), "/v4/");
        url.path_segments_mut().unwrap().push("..");
        assert_eq!(url.path(), "/v4/");

        for dots in [".", ".."] {
            let err = build_url(
                &base("https://h/v4"),
                &segs(&["volumes", dots]),
                None,
                false,
                &[],
            )
            .unwrap_err();
            assert!(matches!(err, Error::InvalidInput { .. }), "{err:?}");
        }
        let err = build_url(
            &base("https://h/"),
            &segs(&["volumes", ""]),
            None,
            false,
            &[],
        )
        .unwrap_err();
        assert!(matches!(err, Error::InvalidInput { .. }), "{err:?}");
    }

    #[test]
    fn base_paths_and_trailing_slashes() {
        let b = base("https://h/v3/project/");
        assert_eq!(
            build_url(&b, &segs(&["volumes"]), None, false, &[])
                .unwrap()
                .path(),
            "/v3/project/volumes"
        );
        assert_eq!(
            build_url(&b, &segs(&["volume", "list"]), None, true, &[])
                .unwrap()
                .path(),
            "/v3/project/volume/list/"
        );
        assert_eq!(
            build_url(&b, &[], None, false, &[]).unwrap().path(),
            "/v3/project/"
        );
        assert_eq!(
            build_url(&base("https://h"), &segs(&["x"]), None, false, &[])
                .unwrap()
                .as_str(),
            "https://h/x"
        );
    }

    #[test]
    fn query_pairs_are_encoded() {
        let url = build_url(
            &base("https://h/"),
            &segs(&["v"]),
            None,
            false,
            &[
                ("name".into(), "a b&c=d#e".into()),
                ("x y".into(), "1+1".into()),
            ],
        )
        .unwrap();
        assert_eq!(url.query(), Some("name=a%20b%26c%3Dd%23e&x%20y=1%2B1"));
        let pairs: Vec<_> = url.query_pairs().into_owned().collect();
        assert_eq!(
            pairs,
            [
                ("name".to_owned(), "a b&c=d#e".to_owned()),
                ("x y".to_owned(), "1+1".to_owned())
            ]
        );
    }

    #[test]
    fn base_urls_are_checked() {
        assert!(check_base_url(&base("https://api.example.com/v4")).is_ok());
        for bad in [
            "ftp://h/",
            "https://u:p@h/",
            "https://u@h/",
            "https://h/?a=b",
            "https://h/#f",
            "mailto:x@y",
        ] {
            let err = check_base_url(&base(bad)).unwrap_err();
            assert!(matches!(err, Error::InvalidInput { .. }), "{bad}");
            assert!(!err.to_string().contains(":p@"), "{err}");
        }
    }

    #[test]
    fn action_suffixes_are_literal_and_checked() {
        let url = build_url(
            &base("https://h/v2"),
            &segs(&["block-storage", "a:b"]),
            Some(":attach"),
            false,
            &[],
        )
        .unwrap();
        assert_eq!(url.path(), "/v2/block-storage/a%3Ab:attach");
        for bad in ["", "/x", ":a b", ":a?b", ":a#b", ":%2e", ":..", ":é"] {
            let err =
                build_url(&base("https://h/"), &segs(&["v"]), Some(bad), false, &[]).unwrap_err();
            assert!(matches!(err, Error::InvalidInput { .. }), "{bad:?}");
        }
        let err = build_url(&base("https://h/"), &[], Some(":x"), false, &[]).unwrap_err();
        assert!(matches!(err, Error::InvalidInput { .. }));
    }

    #[test]
    fn links_must_share_the_origin() {
        let b = base("https://h/v3/p/");
        let q = [("limit".to_owned(), "2".to_owned())];
        let url = resolve_link(&b, "https://H:443/v3/p/volumes?marker=x#f", &q).unwrap();
        assert_eq!(url.as_str(), "https://h/v3/p/volumes?marker=x&limit=2");
        let url = resolve_link(&b, "/v3/p/volumes", &[]).unwrap();
        assert_eq!(url.as_str(), "https://h/v3/p/volumes");
        for bad in [
            "http://h/v3/p/volumes",
            "https://h:8443/v3/p/volumes",
            "https://evil/v3/p/volumes",
            "https://h.evil/",
            "//evil/x",
            "https://u:p@h/v3",
            "https://[::1/",
        ] {
            let err = resolve_link(&b, bad, &[]).unwrap_err();
            assert!(matches!(err, Error::InvalidInput { .. }), "{bad}");
            assert!(!err.to_string().contains(":p@"), "{err}");
        }
    }

    #[test]
    fn redaction() {
        let u = base("https://user:pw@h/a/b?token=secret&x&y=1#frag");
        assert_eq!(redact_url(&u), "https://h/a/b?token=******&x&y=******");
        assert_eq!(redact_url(&base("http://h:8080/p")), "http://h:8080/p");
        assert_eq!(redact_url(&base("http://h/p?")), "http://h/p");
    }
}
