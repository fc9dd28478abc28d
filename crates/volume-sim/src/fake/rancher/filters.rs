//! Collections as Cattle serves them: filters with modifiers
//! (`name_prefix=`, `sizeMb_gt=`, `state_ne=`), `sort`/`order`,
//! `limit`/`marker` pagination and the `_removed` option, applied to the
//! rendered resources, with the `filters`, `sort`, `sortLinks` and
//! `pagination` parts of the collection envelope.

use std::cmp::Ordering;

use serde_json::{json, Map, Value};

use crate::fake::{FakeRequest, Rejection};

/// A page's size when the request gives no `limit` (Cattle's default).
pub(crate) const DEFAULT_LIMIT: u32 = 100;

/// The largest page: larger `limit`s are clamped, and `limit` ≤ 0 asks for
/// this many (Cattle's `ParseCollectionAttributes` since December 2016; the
/// documentation says 1000).
pub(crate) const MAX_LIMIT: u32 = 3000;

/// The most query parameters a list request takes: the fake's own bound
/// (Cattle sets none; a collection has about 30 filterable fields), so
/// that a listing's cost and the links it echoes do not grow with the
/// query. Past it, a 400 in Cattle's error shape.
pub(crate) const MAX_QUERY_PARAMS: usize = 64;

/// How a field may be filtered, by its type in the schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Class {
    /// Strings: `eq ne prefix like notlike null notnull`.
    Text,
    /// References and enums: `eq ne null notnull`.
    Ref,
    /// Numbers and dates: `eq ne lt lte gt gte null notnull`.
    Ordered,
}

impl Class {
    pub(super) fn modifiers(self) -> &'static [&'static str] {
        match self {
            Self::Text => &["eq", "ne", "prefix", "like", "notlike", "null", "notnull"],
            Self::Ref => &["eq", "ne", "null", "notnull"],
            Self::Ordered => &["eq", "ne", "lt", "lte", "gt", "gte", "null", "notnull"],
        }
    }
}

/// One condition of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Condition {
    field: String,
    modifier: &'static str,
    value: String,
}

/// What a list request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ListQuery {
    conditions: Vec<Condition>,
    sort: Option<String>,
    descending: bool,
    limit: u32,
    offset: usize,
    /// `_removed` was given: removed resources are listed too.
    pub(super) removed: bool,
    /// The query without `marker`, for `next` and sort links.
    rest: Vec<(String, String)>,
}

impl ListQuery {
    /// Reads a request's query against a collection's filterable fields.
    /// Unknown fields and modifiers are ignored, as Cattle ignores them.
    ///
    /// # Errors
    /// More than [`MAX_QUERY_PARAMS`] parameters.
    pub(super) fn parse(
        request: &FakeRequest,
        fields: &[(&'static str, Class)],
    ) -> Result<Self, Rejection> {
        let mut q = Self {
            conditions: Vec::new(),
            sort: None,
            descending: false,
            limit: DEFAULT_LIMIT,
            offset: 0,
            removed: false,
            rest: Vec::new(),
        };
        if request.query_pairs().nth(MAX_QUERY_PARAMS).is_some() {
            return Err(Rejection::malformed(format!(
                "at most {MAX_QUERY_PARAMS} query parameters (volume-sim's limit)"
            ))
            .with_code("Bad Request"));
        }
        for (k, v) in request.query_pairs() {
            let (k, v) = (k.into_owned(), v.into_owned());
            match k.as_str() {
                "marker" => {
                    q.offset = v
                        .strip_prefix('m')
                        .and_then(|n| n.parse::<usize>().ok())
                        .unwrap_or(0);
                    continue;
                }
                "limit" => {
                    if let Ok(n) = v.trim().parse::<i64>() {
                        q.limit = if n <= 0 {
                            MAX_LIMIT
                        } else {
                            u32::try_from(n).unwrap_or(MAX_LIMIT).min(MAX_LIMIT)
                        };
                    }
                }
                "sort" => {
                    if fields.iter().any(|(f, _)| *f == v) {
                        q.sort = Some(v.clone());
                    }
                }
                "order" => q.descending = v.eq_ignore_ascii_case("desc"),
                "_removed" => q.removed = true,
                _ => {
                    if let Some(c) = condition(&k, &v, fields) {
                        q.conditions.push(c);
                    }
                }
            }
            q.rest.push((k, v));
        }
        Ok(q)
    }

    /// Whether `item` meets every condition.
    pub(super) fn matches(&self, item: &Value) -> bool {
        self.conditions.iter().all(|c| holds(c, item.get(&c.field)))
    }

    /// Filters, sorts and pages `items` (already rendered), and wraps the
    /// page in the collection envelope's parts: `filters`, `sort`,
    /// `sortLinks`, `pagination`.
    pub(super) fn page(
        &self,
        items: Vec<Value>,
        self_url: &str,
        fields: &[(&'static str, Class)],
    ) -> (Vec<Value>, Map<String, Value>) {
        self.page_of(items, |v| v, self_url, fields)
    }

    /// [`page`](Self::page) over items rendered by `render`: with no
    /// condition and no sort, only the page asked for is rendered (a plain
    /// listing of thousands of volumes renders a hundred).
    pub(super) fn page_of<T>(
        &self,
        mut items: Vec<T>,
        mut render: impl FnMut(T) -> Value,
        self_url: &str,
        fields: &[(&'static str, Class)],
    ) -> (Vec<Value>, Map<String, Value>) {
        let mut rendered: Vec<Value>;
        let total;
        let (start, end);
        if self.conditions.is_empty() && self.sort.is_none() {
            if self.descending {
                items.reverse();
            }
            total = items.len();
            start = self.offset.min(total);
            end = start.saturating_add(self.limit as usize).min(total);
            rendered = items.drain(start..end).map(render).collect();
        } else {
            // Each item is tested as it is rendered, so that the ones that
            // fail are freed at once rather than all held to the end.
            rendered = items
                .into_iter()
                .map(&mut render)
                .filter(|i| self.matches(i))
                .collect();
            if let Some(field) = &self.sort {
                rendered.sort_by(|a, b| compare(a.get(field), b.get(field)));
            }
            if self.descending {
                rendered.reverse();
            }
            total = rendered.len();
            start = self.offset.min(total);
            end = start.saturating_add(self.limit as usize).min(total);
            rendered = rendered.drain(start..end).collect();
        }
        let page = rendered;
        let partial = end < total;
        let next = partial.then(|| {
            let mut pairs = self.rest.clone();
            pairs.push(("marker".into(), format!("m{end}")));
            with_query(self_url, &pairs)
        });
        let mut extra = Map::new();
        extra.insert(
            "pagination".into(),
            json!({
                "first": null, "previous": null, "next": next,
                "limit": self.limit, "total": null, "partial": partial,
            }),
        );
        let mut filters = Map::new();
        for (f, _) in fields {
            let conds: Vec<Value> = self
                .conditions
                .iter()
                .filter(|c| c.field == *f)
                .map(|c| json!({"modifier": c.modifier, "value": c.value}))
                .collect();
            filters.insert(
                (*f).to_owned(),
                if conds.is_empty() {
                    Value::Null
                } else {
                    Value::Array(conds)
                },
            );
        }
        extra.insert("filters".into(), Value::Object(filters));
        let sort_links: Map<String, Value> = fields
            .iter()
            .map(|(f, _)| {
                let mut pairs: Vec<(String, String)> = self
                    .rest
                    .iter()
                    .filter(|(k, _)| k != "sort" && k != "order")
                    .cloned()
                    .collect();
                pairs.push(("sort".into(), (*f).to_owned()));
                ((*f).to_owned(), Value::from(with_query(self_url, &pairs)))
            })
            .collect();
        extra.insert("sortLinks".into(), Value::Object(sort_links));
        let sort = self.sort.as_ref().map_or(Value::Null, |f| {
            let mut pairs: Vec<(String, String)> = self
                .rest
                .iter()
                .filter(|(k, _)| k != "order")
                .cloned()
                .collect();
            let reverse = if self.descending { "asc" } else { "desc" };
            pairs.push(("order".into(), reverse.into()));
            json!({
                "name": f,
                "order": if self.descending { "desc" } else { "asc" },
                "reverse": with_query(self_url, &pairs),
            })
        });
        extra.insert("sort".into(), sort);
        (page, extra)
    }
}

/// `url?k=v&...`, values percent-encoded.
fn with_query(url: &str, pairs: &[(String, String)]) -> String {
    if pairs.is_empty() {
        return url.to_owned();
    }
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .finish();
    format!("{url}?{query}")
}

/// `name_prefix=fo` as a condition, when `name` is filterable and `prefix`
/// one of its modifiers (`name=fo` is `eq`).
fn condition(key: &str, value: &str, fields: &[(&'static str, Class)]) -> Option<Condition> {
    if let Some((field, class)) = fields.iter().find(|(f, _)| *f == key) {
        let _ = class;
        return Some(Condition {
            field: (*field).to_owned(),
            modifier: "eq",
            value: value.to_owned(),
        });
    }
    let (field, modifier) = key.rsplit_once('_')?;
    let (field, class) = fields.iter().find(|(f, _)| *f == field)?;
    let modifier = class.modifiers().iter().find(|m| **m == modifier)?;
    Some(Condition {
        field: (*field).to_owned(),
        modifier,
        value: value.to_owned(),
    })
}

/// The text a value compares as (`null` has none).
fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

fn holds(c: &Condition, v: Option<&Value>) -> bool {
    let t = text(v);
    match c.modifier {
        "null" => t.is_none(),
        "notnull" => t.is_some(),
        _ => {
            let Some(t) = t else { return false };
            match c.modifier {
                "eq" => t == c.value,
                "ne" => t != c.value,
                "prefix" => t.starts_with(&c.value),
                "like" => like(&t, &c.value),
                "notlike" => !like(&t, &c.value),
                m => {
                    let ord = order(&t, &c.value);
                    match m {
                        "lt" => ord == Ordering::Less,
                        "lte" => ord != Ordering::Greater,
                        "gt" => ord == Ordering::Greater,
                        _ => ord != Ordering::Less,
                    }
                }
            }
        }
    }
}

/// Numbers as numbers, everything else as text (Cattle's dates compare
/// correctly as text).
fn order(a: &str, b: &str) -> Ordering {
    match (a.parse::<f64>(), b.parse::<f64>()) {
        (Ok(x), Ok(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
        _ => a.cmp(b),
    }
}

fn compare(a: Option<&Value>, b: Option<&Value>) -> Ordering {
    match (text(a), text(b)) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(x), Some(y)) => order(&x, &y),
    }
}

/// SQL `LIKE`: `%` is any run, `_` any one character; case-sensitive.
/// Iterative, with one backtrack point, so no pattern can take long.
fn like(text: &str, pattern: &str) -> bool {
    let t: Vec<char> = text.chars().collect();
    let p: Vec<char> = pattern.chars().collect();
    let (mut ti, mut pi) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '_' || p[pi] == t[ti]) && p[pi] != '%' {
            ti += 1;
            pi += 1;
        } else if pi < p.len() && p[pi] == '%' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '%')
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::Method;

    const FIELDS: &[(&str, Class)] = &[
        ("name", Class::Text),
        ("state", Class::Ref),
        ("sizeMb", Class::Ordered),
    ];

    fn query(q: &str) -> ListQuery {
        let mut r = FakeRequest::new(Method::GET, "/v2-beta/volumes");
        r.query = Some(q.to_owned());
        ListQuery::parse(&r, FIELDS).unwrap()
    }

    #[test]
    fn queries_are_bounded() {
        let within = vec!["name_ne=x"; MAX_QUERY_PARAMS].join("&");
        assert_eq!(query(&within).conditions.len(), MAX_QUERY_PARAMS);
        let mut r = FakeRequest::new(Method::GET, "/v2-beta/volumes");
        r.query = Some(format!("{within}&name=y"));
        let refused = ListQuery::parse(&r, FIELDS).unwrap_err();
        assert_eq!(refused.status, 400);
    }

    #[test]
    fn like_is_sqls() {
        assert!(like("volume-1", "vol%"));
        assert!(like("volume-1", "%-_"));
        assert!(!like("volume-1", "%-__"));
        assert!(like("", "%"));
        assert!(!like("abc", "a%d"));
    }

    #[test]
    fn modifiers_filter() {
        let items = vec![
            json!({"name": "alpha", "state": "inactive", "sizeMb": 100}),
            json!({"name": "beta", "state": "active", "sizeMb": 2048}),
            json!({"name": "alpine", "state": "removed", "sizeMb": null}),
        ];
        let names = |q: &str| -> Vec<String> {
            let (page, _) = query(q).page(items.clone(), "http://h/v2-beta/volumes", FIELDS);
            page.iter()
                .map(|v| v["name"].as_str().unwrap().to_owned())
                .collect()
        };
        assert_eq!(names("name_prefix=al"), ["alpha", "alpine"]);
        assert_eq!(names("state_ne=removed"), ["alpha", "beta"]);
        assert_eq!(names("sizeMb_gt=1000"), ["beta"]);
        assert_eq!(names("sizeMb_null=1"), ["alpine"]);
        assert_eq!(names("name_like=%25p%25"), ["alpha", "alpine"]);
        assert_eq!(names("sort=name&order=desc"), ["beta", "alpine", "alpha"]);
        // Not a modifier of an enum: ignored.
        assert_eq!(names("state_prefix=x").len(), 3);
    }

    #[test]
    fn pages_follow_markers() {
        let items: Vec<Value> = (0..5).map(|i| json!({"name": format!("v{i}")})).collect();
        let (page, extra) =
            query("limit=2&name_prefix=v").page(items.clone(), "http://h/v2-beta/volumes", FIELDS);
        assert_eq!(page.len(), 2);
        let next = extra["pagination"]["next"].as_str().unwrap();
        assert_eq!(
            next,
            "http://h/v2-beta/volumes?limit=2&name_prefix=v&marker=m2"
        );
        assert_eq!(extra["pagination"]["partial"], true);
        let (page, extra) = query("limit=2&name_prefix=v&marker=m4").page(items, "u", FIELDS);
        assert_eq!(page[0]["name"], "v4");
        assert!(extra["pagination"]["next"].is_null());
        assert_eq!(query("limit=0").limit, MAX_LIMIT);
        assert_eq!(query("limit=99999").limit, MAX_LIMIT);
        assert_eq!(query("limit=x").limit, DEFAULT_LIMIT);
    }

    #[test]
    fn plain_listings_render_only_their_page() {
        let mut rendered = 0;
        let (page, extra) = query("limit=3&marker=m2&order=desc").page_of(
            (0..10).collect::<Vec<u32>>(),
            |n| {
                rendered += 1;
                json!({ "name": format!("v{n}") })
            },
            "u",
            FIELDS,
        );
        assert_eq!(rendered, 3);
        let names: Vec<&str> = page.iter().map(|v| v["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["v7", "v6", "v5"]);
        assert_eq!(
            extra["pagination"]["next"],
            "u?limit=3&order=desc&marker=m5"
        );
    }
}
