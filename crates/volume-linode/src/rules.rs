//! The rules Linode documents, checked before a request is sent.
//!
//! Linode answers a broken rule with a 400 after a round trip; these checks
//! give the same refusal ([`Error::InvalidInput`] naming the field) at once,
//! and keep a request that cannot succeed off the wire (and off the rate
//! limit: volume creation allows 25 requests a minute).

use volume_core::{Error, Labels, Result, Size};

/// The smallest volume Linode creates: 10 GiB.
pub const MIN_SIZE: Size = Size::gib(10);

/// The largest volume Linode creates or grows to: 10240 GiB (the spec's
/// `maximum`; older guides say 10000).
pub const MAX_SIZE: Size = Size::gib(10_240);

/// The longest volume label, in characters.
pub const MAX_LABEL_LEN: usize = 32;

/// The smallest page Linode serves (`page_size` below it is refused).
pub const MIN_PAGE_SIZE: u32 = 25;

/// The largest page Linode serves.
pub const MAX_PAGE_SIZE: u32 = 500;

/// Checks a volume label against Linode's rule.
///
/// The API's pattern is `^[a-zA-Z]((?!--|__)[a-zA-Z0-9-_])+$` with at most
/// 32 characters. The look-ahead is written out by hand (the `regex` crate
/// has none): the first character is an ASCII letter; every other one is an
/// ASCII letter, digit, `-` or `_`; `--` and `__` never appear; and there
/// are at least two characters, because the pattern's `+` needs one after
/// the first (the spec's `minLength: 1` notwithstanding).
///
/// ```
/// use volume_linode::check_label;
///
/// assert!(check_label("my-volume_1").is_ok());
/// for bad in ["", "a", "1abc", "-abc", "a--b", "a__b", "a b", "vol.1", "é-vol"] {
///     assert!(check_label(bad).is_err(), "{bad}");
/// }
/// assert!(check_label(&"x".repeat(33)).is_err());
/// ```
///
/// # Errors
/// [`Error::InvalidInput`] on field `label` saying which part of the rule
/// `label` breaks.
pub fn check_label(label: &str) -> Result<()> {
    let refuse = |reason: String| Err(Error::invalid_input("label", reason));
    let len = label.chars().count();
    if len < 2 {
        return refuse(format!(
            "{label:?} is too short: a Linode label has 2 to {MAX_LABEL_LEN} characters"
        ));
    }
    if len > MAX_LABEL_LEN {
        return refuse(format!(
            "{label:?} has {len} characters; a Linode label has at most {MAX_LABEL_LEN}"
        ));
    }
    if !label.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return refuse(format!("{label:?} must begin with an ASCII letter"));
    }
    if let Some(c) = label
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
    {
        return refuse(format!(
            "{label:?} holds {c:?}; only ASCII letters, digits, '-' and '_' are allowed"
        ));
    }
    if label.contains("--") || label.contains("__") {
        return refuse(format!("{label:?} must not contain \"--\" or \"__\""));
    }
    Ok(())
}

/// Checks a size against [`MIN_SIZE`] and [`MAX_SIZE`].
pub(crate) fn check_size(size: Size) -> Result<()> {
    if size < MIN_SIZE || size > MAX_SIZE {
        return Err(Error::invalid_input(
            "size",
            format!("{size} is outside Linode's limits of {MIN_SIZE} to {MAX_SIZE}"),
        ));
    }
    Ok(())
}

/// Checks a size to grow to against [`MAX_SIZE`] (growing is checked
/// against the current size separately).
pub(crate) fn check_max_size(size: Size) -> Result<()> {
    if size > MAX_SIZE {
        return Err(Error::invalid_input(
            "size",
            format!("{size} is larger than Linode's largest volume, {MAX_SIZE}"),
        ));
    }
    Ok(())
}

/// Core labels as Linode tags: the label `k = ""` is the tag `k`, and the
/// label `k = v` the tag `k=v`.
///
/// # Errors
/// [`Error::InvalidInput`] on field `labels` for a key that is empty or
/// holds `=` (it could not be told apart when read back).
pub(crate) fn labels_to_tags(labels: &Labels) -> Result<Vec<String>> {
    labels
        .iter()
        .map(|(key, value)| {
            if key.is_empty() {
                return Err(Error::invalid_input(
                    "labels",
                    "a label key must not be empty (it becomes a Linode tag)",
                ));
            }
            if key.contains('=') {
                return Err(Error::invalid_input(
                    "labels",
                    format!(
                        "label key {key:?} holds '=': Linode tags carry labels as \"key=value\", \
                         so a key cannot contain '='"
                    ),
                ));
            }
            Ok(if value.is_empty() {
                key.clone()
            } else {
                format!("{key}={value}")
            })
        })
        .collect()
}

/// Linode tags as core labels: the tag `k=v` is the label `k = v` (split at
/// the first `=`), any other tag `t` the label `t = ""`.
pub(crate) fn tags_to_labels<'a>(tags: impl IntoIterator<Item = &'a String>) -> Labels {
    tags.into_iter()
        .map(|tag| match tag.split_once('=') {
            Some((key, value)) if !key.is_empty() => (key.to_owned(), value.to_owned()),
            _ => (tag.clone(), String::new()),
        })
        .collect()
}

/// A requested page size as Linode takes it: clamped to 25..=500.
pub(crate) fn clamp_page_size(page_size: u32) -> u32 {
    page_size.clamp(MIN_PAGE_SIZE, MAX_PAGE_SIZE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_follow_the_documented_pattern() {
        for ok in ["ab", "my-volume", "a_b-c", "A1", "a-b_c-d", &"x".repeat(32)] {
            assert!(check_label(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "a",
            "1abc",
            "-abc",
            "_abc",
            "a--b",
            "a__b",
            "ab--",
            "a b",
            "vol.1",
            "é-vol",
            "volé",
            "a\nb",
            &"x".repeat(33),
        ] {
            match check_label(bad) {
                Err(Error::InvalidInput { field, .. }) => assert_eq!(field, "label", "{bad}"),
                other => panic!("{bad:?}: {other:?}"),
            }
        }
        // "-_" and "_-" are allowed: only doubled characters are refused.
        assert!(check_label("a-_b").is_ok());
    }

    #[test]
    fn sizes() {
        assert!(check_size(Size::gib(10)).is_ok());
        assert!(check_size(Size::gib(10_240)).is_ok());
        assert!(check_size(Size::gib(9)).is_err());
        assert!(check_size(Size::gib(0)).is_err());
        assert!(check_size(Size::gib(10_241)).is_err());
        assert!(check_max_size(Size::gib(10_240)).is_ok());
        assert!(check_max_size(Size::gib(10_241)).is_err());
    }

    #[test]
    fn tags_and_labels_round_trip() {
        let labels = Labels::from([
            ("plain".to_owned(), String::new()),
            ("team".to_owned(), "storage".to_owned()),
            ("url".to_owned(), "a=b".to_owned()),
        ]);
        let tags = labels_to_tags(&labels).unwrap();
        assert_eq!(tags, ["plain", "team=storage", "url=a=b"]);
        assert_eq!(tags_to_labels(&tags), labels);
        // Tags written elsewhere read as labels without a value.
        let odd = vec!["example tag".to_owned(), "=x".to_owned()];
        let read = tags_to_labels(&odd);
        assert_eq!(read.get("example tag").map(String::as_str), Some(""));
        assert_eq!(read.get("=x").map(String::as_str), Some(""));
        assert!(labels_to_tags(&Labels::from([("a=b".to_owned(), String::new())])).is_err());
        assert!(labels_to_tags(&Labels::from([(String::new(), "v".to_owned())])).is_err());
    }

    #[test]
    fn page_sizes_are_clamped() {
        assert_eq!(clamp_page_size(1), 25);
        assert_eq!(clamp_page_size(100), 100);
        assert_eq!(clamp_page_size(10_000), 500);
    }
}
