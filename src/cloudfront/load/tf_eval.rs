//! What Terraform's expression language does to values, for the `.tf` reader (`terraform.rs`):
//! the built-in functions admins use in CloudFront configurations, operators, and the
//! conversion of a value to a variable's `type` (with `optional()` defaults, which is how
//! `terraform-aws-modules/cloudfront` gives a behavior its attributes).
//!
//! Two kinds of "no value" travel as `V::Unresolved`: a value only Terraform or AWS knows (a
//! data source, an attribute known after apply, a function cdnprobe does not evaluate), and an
//! error Terraform itself would raise (a missing attribute, `coalesce` of nulls). Only the second
//! is caught by `try()`/`can()`, as in Terraform; the first propagates and is named.

use super::tree::{Node, V};

/// The prefix of an `Unresolved` that Terraform would raise as an error (what `try` catches).
pub(super) const TF_ERROR: &str = "Terraform would fail here: ";

pub(super) fn error(why: impl std::fmt::Display) -> V {
    V::Unresolved(format!("{TF_ERROR}{why}"))
}

/// Whether `n` holds an error Terraform would raise (anywhere inside it).
pub(super) fn has_error(n: &Node) -> bool {
    n.unresolved().is_some_and(|w| w.starts_with(TF_ERROR))
}

/// The first unresolved value of the arguments: what a function of them cannot see past.
fn first_unresolved(args: &[Node]) -> Option<V> {
    args.iter()
        .find_map(|a| a.unresolved_here().map(V::Unresolved))
}

/// Equal values, ignoring where they are written.
pub(super) fn same(a: &Node, b: &Node) -> bool {
    match (&a.v, &b.v) {
        (V::Seq(x), V::Seq(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q)),
        (V::Map(x), V::Map(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.iter().any(|(k2, v2)| k == k2 && same(v, v2)))
        }
        (V::Num(x), V::Num(y)) => x == y,
        (V::Null | V::NoValue, V::Null | V::NoValue) => true,
        (x, y) => x == y,
    }
}

/// A built-in function applied to evaluated arguments (`try` and `can` are lazy and live in the
/// evaluator). `None`: not a function cdnprobe evaluates.
pub(super) fn call(name: &str, args: Vec<Node>) -> Option<V> {
    const KNOWN: &[&str] = &[
        "length",
        "lookup",
        "merge",
        "concat",
        "format",
        "tolist",
        "toset",
        "tomap",
        "tostring",
        "tonumber",
        "tobool",
        "jsonencode",
        "coalesce",
        "contains",
        "keys",
        "values",
        "flatten",
        "distinct",
        "lower",
        "upper",
        "element",
        "compact",
        "join",
    ];
    if !KNOWN.contains(&name) {
        return None;
    }
    // coalesce skips nulls, and an unresolved argument may be the one it would return.
    if let Some(u) = first_unresolved(&args) {
        return Some(u);
    }
    let a = |i: usize| args.get(i).map(|n| &n.v).unwrap_or(&V::Null);
    let str_of = |v: &V| Node::new(v.clone(), 0, 0).text();
    Some(match name {
        "length" => match a(0) {
            V::Seq(s) => V::Num(s.len() as f64),
            V::Map(m) => V::Num(m.len() as f64),
            V::Str(s) => V::Num(s.chars().count() as f64),
            _ => error("length() of a value that is not a collection or string"),
        },
        "lookup" => match (a(0), str_of(a(1))) {
            (V::Map(m), Some(k)) => match m.iter().find(|(x, _)| *x == k) {
                Some((_, v)) => v.v.clone(),
                None if args.len() > 2 => a(2).clone(),
                None => error(format!("lookup(): no key {k:?} and no default")),
            },
            _ => error("lookup() of a value that is not a map"),
        },
        "merge" => {
            let mut out: Vec<(String, Node)> = Vec::new();
            for x in &args {
                match &x.v {
                    V::Map(m) => {
                        for (k, v) in m {
                            out.retain(|(o, _)| o != k);
                            out.push((k.clone(), v.clone()));
                        }
                    }
                    V::Null => {}
                    _ => return Some(error("merge() of a value that is not a map")),
                }
            }
            V::Map(out)
        }
        "concat" => {
            let mut out = Vec::new();
            for x in &args {
                match &x.v {
                    V::Seq(s) => out.extend(s.iter().cloned()),
                    _ => return Some(error("concat() of a value that is not a list")),
                }
            }
            V::Seq(out)
        }
        "flatten" => match a(0) {
            V::Seq(s) => V::Seq(flatten(s)),
            _ => error("flatten() of a value that is not a list"),
        },
        "format" => match str_of(a(0)) {
            Some(f) => format(&f, &args[1..]),
            None => error("format() without a format string"),
        },
        "tolist" | "tomap" => a(0).clone(),
        "toset" | "distinct" => match a(0) {
            V::Seq(s) => {
                let mut out: Vec<Node> = Vec::new();
                for x in s {
                    if !out.iter().any(|o| same(o, x)) {
                        out.push(x.clone());
                    }
                }
                // A set of strings iterates in lexical order (what `for_each`/`dynamic` see).
                if name == "toset" && out.iter().all(|n| matches!(n.v, V::Str(_))) {
                    out.sort_by(|p, q| p.as_str().cmp(&q.as_str()));
                }
                V::Seq(out)
            }
            V::Null => V::Null,
            _ => error(format!("{name}() of a value that is not a list")),
        },
        "tostring" => match a(0) {
            V::Null => V::Null,
            v => str_of(v)
                .map(V::Str)
                .unwrap_or_else(|| error("tostring() of a collection")),
        },
        "tonumber" => match str_of(a(0)).map(|s| s.parse::<f64>()) {
            Some(Ok(n)) => V::Num(n),
            _ if matches!(a(0), V::Null) => V::Null,
            _ => error("tonumber() of a value that is not a number"),
        },
        "tobool" => match Node::new(a(0).clone(), 0, 0).as_bool() {
            Some(b) => V::Bool(b),
            None if matches!(a(0), V::Null) => V::Null,
            None => error("tobool() of a value that is not a bool"),
        },
        "jsonencode" => V::Str(to_json(&args[0]).to_string()),
        "coalesce" => match args.iter().find(|x| !x.is_null() && x.as_str() != Some("")) {
            Some(x) => x.v.clone(),
            None => error("coalesce(): no non-null, non-empty argument"),
        },
        "contains" => match a(0) {
            V::Seq(s) => V::Bool(s.iter().any(|x| same(x, &args[1]))),
            _ => error("contains() of a value that is not a list"),
        },
        "keys" | "values" => match a(0) {
            V::Map(m) => {
                let mut m = m.clone();
                // Terraform returns map keys (and the values with them) in lexical order.
                m.sort_by(|p, q| p.0.cmp(&q.0));
                V::Seq(
                    m.into_iter()
                        .map(|(k, v)| {
                            if name == "keys" {
                                Node::new(V::Str(k), v.line, v.col)
                            } else {
                                v
                            }
                        })
                        .collect(),
                )
            }
            _ => error(format!("{name}() of a value that is not a map")),
        },
        "lower" | "upper" => match a(0) {
            V::Str(s) if name == "lower" => V::Str(s.to_lowercase()),
            V::Str(s) => V::Str(s.to_uppercase()),
            _ => error(format!("{name}() of a value that is not a string")),
        },
        "element" => match (a(0), Node::new(a(1).clone(), 0, 0).as_u64()) {
            (V::Seq(s), Some(i)) if !s.is_empty() => s[i as usize % s.len()].v.clone(),
            _ => error("element() of an empty list or a bad index"),
        },
        "compact" => match a(0) {
            V::Seq(s) => V::Seq(
                s.iter()
                    .filter(|x| !x.is_null() && x.as_str() != Some(""))
                    .cloned()
                    .collect(),
            ),
            _ => error("compact() of a value that is not a list"),
        },
        "join" => match (str_of(a(0)), a(1)) {
            (Some(sep), V::Seq(s)) => match s.iter().map(Node::text).collect::<Option<Vec<_>>>() {
                Some(parts) => V::Str(parts.join(&sep)),
                None => error("join() of a list that is not of strings"),
            },
            _ => error("join(separator, list)"),
        },
        _ => return None,
    })
}

fn flatten(s: &[Node]) -> Vec<Node> {
    s.iter()
        .flat_map(|x| match &x.v {
            V::Seq(inner) => flatten(inner),
            _ => vec![x.clone()],
        })
        .collect()
}

/// `format()`'s verbs that configurations use: `%s`, `%d`, `%v`, `%q`, `%%`.
fn format(f: &str, args: &[Node]) -> V {
    let mut out = String::new();
    let mut it = args.iter();
    let mut chars = f.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('%') => out.push('%'),
            Some(verb @ ('s' | 'd' | 'v' | 'q')) => {
                let Some(arg) = it.next() else {
                    return error(format!("format({f:?}): too few arguments"));
                };
                match arg.text() {
                    Some(t) if verb == 'q' => out.push_str(&format!("{t:?}")),
                    Some(t) => out.push_str(&t),
                    None => out.push_str(&to_json(arg).to_string()),
                }
            }
            other => {
                return V::Unresolved(format!(
                    "format() verb %{} is not evaluated by cdnprobe",
                    other.map(String::from).unwrap_or_default()
                ));
            }
        }
    }
    V::Str(out)
}

pub(super) fn to_json(n: &Node) -> serde_json::Value {
    match &n.v {
        V::Bool(b) => (*b).into(),
        V::Num(x) if x.fract() == 0.0 && x.abs() < 9e15 => (*x as i64).into(),
        V::Num(x) => serde_json::Number::from_f64(*x)
            .map(serde_json::Value::Number)
            .unwrap_or(serde_json::Value::Null),
        V::Str(s) => s.clone().into(),
        V::Seq(s) => s.iter().map(to_json).collect(),
        V::Map(m) => m.iter().map(|(k, v)| (k.clone(), to_json(v))).collect(),
        _ => serde_json::Value::Null,
    }
}

/// A variable's `type`, as far as conversion matters.
#[derive(Debug, Clone)]
pub(super) enum Type {
    Any,
    String,
    Number,
    Bool,
    List(Box<Type>),
    Map(Box<Type>),
    /// (attribute, type, optional, default)
    Object(Vec<(String, Type, bool, Option<Node>)>),
}

/// `value` converted to `ty`: optional attributes absent or null take their default (null
/// without one), attributes the type does not declare are dropped, a missing required one is
/// an error; strings from `--parameter` become numbers and bools where the type says so.
pub(super) fn convert(value: Node, ty: &Type) -> Node {
    let (l, c) = (value.line, value.col);
    let v = match (ty, value.v) {
        (_, V::Unresolved(u)) => V::Unresolved(u),
        (_, V::Null) => V::Null,
        (Type::Any, v) => v,
        (Type::String, v @ V::Str(_)) => v,
        (Type::String, v @ (V::Num(_) | V::Bool(_))) => {
            V::Str(Node::new(v, 0, 0).text().unwrap_or_default())
        }
        (Type::Number, V::Str(s)) => match s.trim().parse() {
            Ok(n) => V::Num(n),
            Err(_) => error(format!("{s:?} is not a number")),
        },
        (Type::Number, v @ V::Num(_)) => v,
        (Type::Bool, V::Str(s)) if s == "true" || s == "false" => V::Bool(s == "true"),
        (Type::Bool, v @ V::Bool(_)) => v,
        (Type::List(t), V::Seq(s)) => V::Seq(s.into_iter().map(|x| convert(x, t)).collect()),
        (Type::Map(t), V::Map(m)) => {
            V::Map(m.into_iter().map(|(k, x)| (k, convert(x, t))).collect())
        }
        (Type::Object(attrs), V::Map(m)) => {
            let mut out = Vec::new();
            for (name, t, optional, default) in attrs {
                let given = m
                    .iter()
                    .find(|(k, x)| k == name && !x.is_null())
                    .map(|(_, x)| x.clone());
                let x = match (given, optional, default) {
                    (Some(x), ..) => convert(x, t),
                    (None, true, Some(d)) => convert(d.clone(), t),
                    (None, true, None) => Node::new(V::Null, l, c),
                    (None, false, _) => Node::new(
                        error(format!(
                            "the object has no attribute {name:?}, which its type requires"
                        )),
                        l,
                        c,
                    ),
                };
                out.push((name.clone(), x));
            }
            V::Map(out)
        }
        (_, v) => v,
    };
    Node::new(v, l, c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: &str) -> Node {
        Node::new(V::Str(x.into()), 0, 0)
    }
    fn seq(x: &[&str]) -> Node {
        Node::new(V::Seq(x.iter().map(|x| s(x)).collect()), 0, 0)
    }
    fn map(x: &[(&str, Node)]) -> Node {
        Node::new(
            V::Map(x.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()),
            0,
            0,
        )
    }

    #[test]
    fn functions_of_cloudfront_configurations() {
        let m = map(&[("min_ttl", s("60"))]);
        assert_eq!(
            call("lookup", vec![m.clone(), s("min_ttl")]),
            Some(V::Str("60".into()))
        );
        assert_eq!(
            call("lookup", vec![m.clone(), s("max_ttl"), s("1")]),
            Some(V::Str("1".into()))
        );
        assert!(
            call("lookup", vec![m.clone(), s("max_ttl")])
                .is_some_and(|v| matches!(v, V::Unresolved(u) if u.starts_with(TF_ERROR)))
        );
        let merged = call("merge", vec![m, map(&[("min_ttl", s("0")), ("x", s("y"))])]).unwrap();
        assert_eq!(
            Node::new(merged, 0, 0).get("min_ttl").unwrap().as_str(),
            Some("0")
        );
        assert_eq!(
            call("concat", vec![seq(&["a"]), seq(&["b", "c"])]),
            Some(seq(&["a", "b", "c"]).v)
        );
        assert_eq!(
            call("format", vec![s("%s/%s*"), s("/jira"), s("s")]),
            Some(V::Str("/jira/s*".into()))
        );
        assert_eq!(
            call("toset", vec![seq(&["b", "a", "b"])]),
            Some(seq(&["a", "b"]).v),
            "a set of strings iterates in lexical order"
        );
        assert_eq!(
            call("jsonencode", vec![map(&[("a", seq(&["x"]))])]),
            Some(V::Str("{\"a\":[\"x\"]}".into()))
        );
        assert_eq!(
            call("coalesce", vec![Node::null(), s(""), s("id")]),
            Some(V::Str("id".into()))
        );
        assert!(matches!(
            call("coalesce", vec![Node::null()]),
            Some(V::Unresolved(u)) if u.starts_with(TF_ERROR)
        ));
        // An unknown argument is not skipped: it may be the value.
        let unknown = Node::new(V::Unresolved("data.x.y.id is read at plan".into()), 0, 0);
        assert_eq!(
            call("coalesce", vec![unknown, s("id")]),
            Some(V::Unresolved("data.x.y.id is read at plan".into()))
        );
        assert_eq!(call("file", vec![s("x")]), None);
    }

    #[test]
    fn optional_attributes_take_their_defaults() {
        let ty = Type::List(Box::new(Type::Object(vec![
            ("path_pattern".into(), Type::String, false, None),
            (
                "compress".into(),
                Type::Bool,
                true,
                Some(Node::new(V::Bool(true), 0, 0)),
            ),
            ("cache_policy_id".into(), Type::String, true, None),
        ])));
        let v = Node::new(
            V::Seq(vec![map(&[("path_pattern", s("/s/*")), ("extra", s("x"))])]),
            0,
            0,
        );
        let out = convert(v, &ty);
        let b = &out.items()[0];
        assert_eq!(b.get("compress").unwrap().v, V::Bool(true));
        assert!(b.get("cache_policy_id").unwrap().is_null());
        assert!(b.get("extra").is_none());
        let missing = convert(Node::new(V::Seq(vec![map(&[])]), 0, 0), &ty);
        assert!(has_error(&missing));
        assert_eq!(convert(s("false"), &Type::Bool).v, V::Bool(false));
        assert_eq!(convert(s("60"), &Type::Number).v, V::Num(60.0));
    }
}
