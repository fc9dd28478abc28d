//! Linode's `X-Filter` header (linode.md §5; the API's "Filtering and
//! Sorting" section): a JSON object whose keys are filterable fields (ANDed)
//! or the operators `+and`, `+or` (arrays of filter objects), and, at the top
//! level, `+order_by` and `+order`. A field's value is a literal (equality)
//! or an object of operators: `+gt`, `+gte`, `+lt`, `+lte`, `+contains`,
//! `+neq`.
//!
//! The header is parsed and checked in full before any item is looked at, so
//! an unknown field is refused even on an empty collection, as the API does.
//! Filters apply to the wire JSON of each item, exactly what the client sees.
//! On an array field (`tags`, `ipv4`) a test holds when it holds for any
//! element (`+neq`: for none).

use std::cmp::Ordering;

use serde_json::{Map, Value};

/// Deeper `+and`/`+or` nesting is refused (serde_json itself stops at 128).
const MAX_DEPTH: usize = 16;

/// The longest `X-Filter` accepted, in bytes. Linode documents no limit;
/// this is the fake's own, so that a filter's cost over every item stays
/// small (the longest filter linode_api4 or linodego builds for volumes is
/// well under 1 KiB).
pub(crate) const MAX_FILTER_BYTES: usize = 8 * 1024;

/// The most terms (field tests, and `+and`/`+or` groups) one `X-Filter`
/// may hold: the fake's own bound, for the same reason.
pub(crate) const MAX_TERMS: usize = 64;

/// Why a filter was refused: the `reason` of a 400 whose `field` is `X-Filter`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FilterError(pub(crate) String);

fn err<T>(reason: impl Into<String>) -> Result<T, FilterError> {
    Err(FilterError(reason.into()))
}

#[derive(Debug, Clone, PartialEq)]
enum Test {
    Eq(Value),
    Neq(Value),
    Gt(Value),
    Gte(Value),
    Lt(Value),
    Lte(Value),
    Contains(String),
}

#[derive(Debug, Clone, PartialEq)]
enum Cond {
    All(Vec<Self>),
    Any(Vec<Self>),
    Field { name: String, tests: Vec<Test> },
}

/// A parsed, checked `X-Filter`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Filter {
    cond: Cond,
    order_by: Option<String>,
    descending: bool,
}

impl Filter {
    /// No filter: everything, in id order.
    pub(crate) fn none() -> Self {
        Self {
            cond: Cond::All(Vec::new()),
            order_by: None,
            descending: false,
        }
    }

    /// Whether this is no filter at all (no condition, no order).
    pub(crate) fn is_none(&self) -> bool {
        *self == Self::none()
    }

    /// Parses the raw header (`None`: absent) against the fields this
    /// collection can be filtered and ordered on.
    pub(crate) fn parse(raw: Option<&[u8]>, fields: &[&str]) -> Result<Self, FilterError> {
        let Some(raw) = raw else {
            return Ok(Self::none());
        };
        if raw.len() > MAX_FILTER_BYTES {
            return err(format!("X-Filter is longer than {MAX_FILTER_BYTES} bytes"));
        }
        let Ok(text) = std::str::from_utf8(raw) else {
            return err("X-Filter is not valid UTF-8");
        };
        if text.trim().is_empty() {
            return Ok(Self::none());
        }
        let Ok(value) = serde_json::from_str::<Value>(text) else {
            return err("X-Filter is not valid JSON");
        };
        let Value::Object(map) = value else {
            return err("X-Filter must be a JSON object");
        };
        let order_by = match map.get("+order_by") {
            None => None,
            Some(Value::String(f)) if fields.contains(&f.as_str()) => Some(f.clone()),
            Some(Value::String(f)) => return err(format!("Cannot order by {f}")),
            Some(_) => return err("+order_by must be a string"),
        };
        let descending = match map.get("+order") {
            None => false,
            Some(_) if order_by.is_none() => return err("+order requires +order_by"),
            Some(Value::String(o)) if o == "asc" => false,
            Some(Value::String(o)) if o == "desc" => true,
            Some(_) => return err("+order must be \"asc\" or \"desc\""),
        };
        let mut budget = MAX_TERMS;
        Ok(Self {
            cond: parse_object(&map, fields, 0, &mut budget)?,
            order_by,
            descending,
        })
    }

    /// Whether `item` (an object in wire form) passes.
    pub(crate) fn matches(&self, item: &Value) -> bool {
        eval(&self.cond, item)
    }

    /// The fields the filter reads (its tests and `+order_by`), each once:
    /// all an item needs to show of itself to be filtered and ordered.
    pub(crate) fn fields(&self) -> Vec<&str> {
        fn walk<'c>(cond: &'c Cond, out: &mut Vec<&'c str>) {
            match cond {
                Cond::All(conds) | Cond::Any(conds) => {
                    conds.iter().for_each(|c| walk(c, out));
                }
                Cond::Field { name, .. } => {
                    if !out.contains(&name.as_str()) {
                        out.push(name);
                    }
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.cond, &mut out);
        if let Some(field) = &self.order_by {
            if !out.contains(&field.as_str()) {
                out.push(field);
            }
        }
        out
    }

    /// Orders `items` as `+order_by`/`+order` ask (stable: ties keep their
    /// order, which is id order).
    pub(crate) fn sort(&self, items: &mut [Value]) {
        self.sort_by(items, |item| item);
    }

    /// [`sort`](Self::sort) for items that carry their wire form (or the
    /// part of it [`fields`](Self::fields) names) beside them.
    pub(crate) fn sort_by<T>(&self, items: &mut [T], wire: impl Fn(&T) -> &Value) {
        if let Some(field) = &self.order_by {
            items.sort_by(|a, b| {
                let o = total_cmp(
                    wire(a).get(field).unwrap_or(&Value::Null),
                    wire(b).get(field).unwrap_or(&Value::Null),
                );
                if self.descending {
                    o.reverse()
                } else {
                    o
                }
            });
        }
    }
}

/// Takes one term from what the filter may still hold.
fn spend(budget: &mut usize) -> Result<(), FilterError> {
    match budget.checked_sub(1) {
        Some(left) => {
            *budget = left;
            Ok(())
        }
        None => err(format!("X-Filter has more than {MAX_TERMS} terms")),
    }
}

fn parse_object(
    map: &Map<String, Value>,
    fields: &[&str],
    depth: usize,
    budget: &mut usize,
) -> Result<Cond, FilterError> {
    if depth > MAX_DEPTH {
        return err("X-Filter is nested too deeply");
    }
    let mut all = Vec::with_capacity(map.len());
    for (key, value) in map {
        match key.as_str() {
            "+and" | "+or" => {
                let Value::Array(items) = value else {
                    return err(format!("{key} must be an array of filters"));
                };
                spend(budget)?;
                let mut conds = Vec::with_capacity(items.len());
                for item in items {
                    let Value::Object(inner) = item else {
                        return err(format!("{key} must be an array of filters"));
                    };
                    conds.push(parse_object(inner, fields, depth + 1, budget)?);
                }
                all.push(if key == "+and" {
                    Cond::All(conds)
                } else {
                    Cond::Any(conds)
                });
            }
            "+order_by" | "+order" if depth == 0 => {}
            "+order_by" | "+order" => {
                return err(format!(
                    "{key} is only allowed at the top level of X-Filter"
                ));
            }
            op if op.starts_with('+') => return err(format!("Unknown operator {op}")),
            field if fields.contains(&field) => all.push(Cond::Field {
                name: field.to_owned(),
                tests: parse_tests(field, value, budget)?,
            }),
            field => return err(format!("Cannot filter on {field}")),
        }
    }
    Ok(Cond::All(all))
}

fn parse_tests(field: &str, value: &Value, budget: &mut usize) -> Result<Vec<Test>, FilterError> {
    let ops = match value {
        Value::Object(ops) => ops,
        Value::Array(_) => return err(format!("Invalid value for {field}")),
        literal => {
            spend(budget)?;
            return Ok(vec![Test::Eq(literal.clone())]);
        }
    };
    if ops.is_empty() {
        return err(format!("Invalid value for {field}"));
    }
    let mut tests = Vec::with_capacity(ops.len());
    for (op, arg) in ops {
        spend(budget)?;
        let ordered = matches!(arg, Value::Number(_) | Value::String(_));
        let scalar = !matches!(arg, Value::Array(_) | Value::Object(_));
        let test = match op.as_str() {
            "+gt" if ordered => Test::Gt(arg.clone()),
            "+gte" if ordered => Test::Gte(arg.clone()),
            "+lt" if ordered => Test::Lt(arg.clone()),
            "+lte" if ordered => Test::Lte(arg.clone()),
            "+neq" if scalar => Test::Neq(arg.clone()),
            "+contains" => match arg {
                Value::String(s) => Test::Contains(s.clone()),
                _ => return err(format!("+contains on {field} needs a string")),
            },
            "+gt" | "+gte" | "+lt" | "+lte" => {
                return err(format!("{op} on {field} needs a number"));
            }
            "+neq" => return err(format!("+neq on {field} needs a single value")),
            other => return err(format!("Unknown operator {other}")),
        };
        tests.push(test);
    }
    Ok(tests)
}

fn eval(cond: &Cond, item: &Value) -> bool {
    match cond {
        Cond::All(conds) => conds.iter().all(|c| eval(c, item)),
        Cond::Any(conds) => conds.iter().any(|c| eval(c, item)),
        Cond::Field { name, tests } => {
            let actual = item.get(name).unwrap_or(&Value::Null);
            tests.iter().all(|t| holds(t, actual))
        }
    }
}

fn holds(test: &Test, actual: &Value) -> bool {
    match (test, actual) {
        (Test::Neq(v), Value::Array(xs)) => !xs.iter().any(|x| loose_eq(x, v)),
        (_, Value::Array(xs)) => xs.iter().any(|x| holds_scalar(test, x)),
        _ => holds_scalar(test, actual),
    }
}

fn holds_scalar(test: &Test, actual: &Value) -> bool {
    let ord = |v: &Value| loose_cmp(actual, v);
    match test {
        Test::Eq(v) => loose_eq(actual, v),
        Test::Neq(v) => !loose_eq(actual, v),
        Test::Gt(v) => ord(v) == Some(Ordering::Greater),
        Test::Gte(v) => matches!(ord(v), Some(Ordering::Greater | Ordering::Equal)),
        Test::Lt(v) => ord(v) == Some(Ordering::Less),
        Test::Lte(v) => matches!(ord(v), Some(Ordering::Less | Ordering::Equal)),
        Test::Contains(s) => actual.as_str().is_some_and(|a| a.contains(s.as_str())),
    }
}

/// Equality that lets a number match its decimal string (`{"id": "123"}`).
fn loose_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => num_cmp(x, y) == Some(Ordering::Equal),
        (Value::Number(n), Value::String(s)) | (Value::String(s), Value::Number(n)) => {
            n.to_string() == *s
        }
        _ => a == b,
    }
}

fn loose_cmp(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => num_cmp(x, y),
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        (Value::Number(x), Value::String(y)) => {
            let y: f64 = y.parse().ok()?;
            x.as_f64()?.partial_cmp(&y)
        }
        _ => None,
    }
}

fn num_cmp(x: &serde_json::Number, y: &serde_json::Number) -> Option<Ordering> {
    match (x.as_i64(), y.as_i64(), x.as_u64(), y.as_u64()) {
        (Some(a), Some(b), _, _) => Some(a.cmp(&b)),
        (_, _, Some(a), Some(b)) => Some(a.cmp(&b)),
        _ => x.as_f64()?.partial_cmp(&y.as_f64()?),
    }
}

/// A total order for sorting: null < booleans < numbers < strings < arrays
/// < objects.
fn total_cmp(a: &Value, b: &Value) -> Ordering {
    fn rank(v: &Value) -> u8 {
        match v {
            Value::Null => 0,
            Value::Bool(_) => 1,
            Value::Number(_) => 2,
            Value::String(_) => 3,
            Value::Array(_) => 4,
            Value::Object(_) => 5,
        }
    }
    match (a, b) {
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Number(x), Value::Number(y)) => num_cmp(x, y).unwrap_or_else(|| {
            let (x, y) = (x.as_f64().unwrap_or(0.0), y.as_f64().unwrap_or(0.0));
            x.total_cmp(&y)
        }),
        (Value::String(x), Value::String(y)) => x.cmp(y),
        (Value::Array(x), Value::Array(y)) => {
            for (p, q) in x.iter().zip(y) {
                let o = total_cmp(p, q);
                if o != Ordering::Equal {
                    return o;
                }
            }
            x.len().cmp(&y.len())
        }
        _ => rank(a).cmp(&rank(b)),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const FIELDS: &[&str] = &["id", "label", "tags", "size", "linode_id", "region"];

    fn parse(s: &str) -> Result<Filter, FilterError> {
        Filter::parse(Some(s.as_bytes()), FIELDS)
    }

    fn items() -> Vec<Value> {
        vec![
            json!({"id": 1, "label": "alpha", "tags": ["a", "b"], "size": 10, "linode_id": null, "region": "us-east"}),
            json!({"id": 2, "label": "beta", "tags": [], "size": 20, "linode_id": 7, "region": "us-ord"}),
            json!({"id": 3, "label": "gamma", "tags": ["b"], "size": 30, "linode_id": 7, "region": "us-east"}),
        ]
    }

    fn ids(f: &Filter) -> Vec<u64> {
        let mut out: Vec<Value> = items().into_iter().filter(|i| f.matches(i)).collect();
        f.sort(&mut out);
        out.iter().filter_map(|i| i["id"].as_u64()).collect()
    }

    /// `{"+or": [{"id": 0}, {"id": 1}, ...]}` with `n` alternatives.
    fn alternatives(n: usize) -> String {
        let items: Vec<String> = (0..n).map(|i| format!(r#"{{"id": {i}}}"#)).collect();
        format!(r#"{{"+or": [{}]}}"#, items.join(","))
    }

    #[test]
    fn size_and_terms_are_bounded() {
        // The `+or` group is a term too.
        assert!(parse(&alternatives(MAX_TERMS - 1)).is_ok());
        let e = parse(&alternatives(MAX_TERMS)).unwrap_err();
        assert!(e.0.contains("more than 64 terms"), "{e:?}");
        let ops = r#"{"size": {"+gt": 1, "+lt": 9}}"#;
        assert!(parse(ops).is_ok());
        let long = format!(
            r#"{{"label": {{"+contains": "{}"}}}}"#,
            "x".repeat(MAX_FILTER_BYTES)
        );
        let e = parse(&long).unwrap_err();
        assert!(e.0.contains("longer than 8192 bytes"), "{e:?}");
    }

    #[test]
    fn literals_operators_and_nesting() {
        assert_eq!(ids(&parse(r#"{"label": "beta"}"#).unwrap()), [2]);
        assert_eq!(ids(&parse(r#"{"tags": "b"}"#).unwrap()), [1, 3]);
        assert_eq!(ids(&parse(r#"{"linode_id": null}"#).unwrap()), [1]);
        assert_eq!(ids(&parse(r#"{"linode_id": "7"}"#).unwrap()), [2, 3]);
        assert_eq!(ids(&parse(r#"{"size": {"+gte": 20}}"#).unwrap()), [2, 3]);
        assert_eq!(
            ids(&parse(r#"{"size": {"+gt": 10, "+lt": 30}}"#).unwrap()),
            [2]
        );
        assert_eq!(
            ids(&parse(r#"{"label": {"+contains": "mm"}}"#).unwrap()),
            [3]
        );
        assert_eq!(ids(&parse(r#"{"tags": {"+neq": "b"}}"#).unwrap()), [2]);
        assert_eq!(
            ids(&parse(r#"{"+or": [{"label": "alpha"}, {"label": "gamma"}]}"#).unwrap()),
            [1, 3]
        );
        assert_eq!(
            ids(&parse(r#"{"region": "us-east", "+and": [{"size": {"+lte": 10}}]}"#).unwrap()),
            [1]
        );
        assert_eq!(
            ids(&parse(r#"{"+order_by": "label", "+order": "desc"}"#).unwrap()),
            [3, 2, 1]
        );
        assert_eq!(
            ids(&parse(r#"{"+order_by": "linode_id"}"#).unwrap()),
            [1, 2, 3]
        );
        assert_eq!(ids(&Filter::parse(None, FIELDS).unwrap()), [1, 2, 3]);
    }

    #[test]
    fn refusals() {
        let reason = |s: &str| parse(s).unwrap_err().0;
        assert_eq!(reason(r#"{"foo": "bar"}"#), "Cannot filter on foo");
        assert_eq!(reason(r#"{"+or": [{"foo": 1}]}"#), "Cannot filter on foo");
        assert_eq!(reason("{"), "X-Filter is not valid JSON");
        assert_eq!(reason("[]"), "X-Filter must be a JSON object");
        assert_eq!(reason(r#"{"+order": "desc"}"#), "+order requires +order_by");
        assert_eq!(reason(r#"{"+order_by": "foo"}"#), "Cannot order by foo");
        assert_eq!(reason(r#"{"+xor": []}"#), "Unknown operator +xor");
        assert_eq!(
            reason(r#"{"size": {"+gt": [1]}}"#),
            "+gt on size needs a number"
        );
        assert_eq!(
            reason(r#"{"+or": {"label": "a"}}"#),
            "+or must be an array of filters"
        );
        let deep = format!("{}{}", r#"{"+and":["#.repeat(40), "]}".repeat(40));
        let deep = deep.replacen("[]", "[{}]", 1);
        assert!(parse(&deep).is_err());
        let very_deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(parse(&very_deep).is_err());
    }
}
