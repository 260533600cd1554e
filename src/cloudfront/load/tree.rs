//! One document tree for every structured input (YAML, JSON, HCL): values with the line they are
//! written on, so a lint finding can say `file:line` whatever the format.
//!
//! CloudFormation's short tags (`!Ref X`, `!Sub ...`, `!GetAtt A.B`) are turned into their long
//! forms (`{Ref: X}`, `{"Fn::Sub": ...}`, `{"Fn::GetAtt": [A, B]}`) while reading, so the
//! resolver knows one spelling only. `Resource` and `Unresolved` are what resolution leaves:
//! a reference to a resource of the same file, and a value that cannot be known before deploy
//! (named, never guessed).

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum V {
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(String, Node)>),
    /// A reference to a resource of the same input (CloudFormation logical id, Terraform
    /// address such as `aws_cloudfront_cache_policy.static`).
    Resource(String),
    /// A value that cannot be known from the input; the string says which and why.
    Unresolved(String),
    /// CloudFormation's `AWS::NoValue`: the key is removed.
    NoValue,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    pub v: V,
    /// 1-based; 0 when unknown.
    pub line: u32,
    /// 1-based; 0 when unknown.
    pub col: u32,
}

impl Node {
    pub fn new(v: V, line: u32, col: u32) -> Node {
        Node { v, line, col }
    }

    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.v {
            V::Map(m) => m.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// A string, or a number/bool written where a string is expected (CloudFormation accepts
    /// `MinTTL: "0"` and `MinTTL: 0` alike).
    pub fn text(&self) -> Option<String> {
        match &self.v {
            V::Str(s) => Some(s.clone()),
            V::Num(n) if n.fract() == 0.0 => Some(format!("{}", *n as i64)),
            V::Num(n) => Some(n.to_string()),
            V::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.v {
            V::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_u64(&self) -> Option<u64> {
        match &self.v {
            V::Num(n) if *n >= 0.0 && n.fract() == 0.0 && *n < 1.8e19 => Some(*n as u64),
            V::Str(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match &self.v {
            V::Bool(b) => Some(*b),
            V::Str(s) if s.eq_ignore_ascii_case("true") => Some(true),
            V::Str(s) if s.eq_ignore_ascii_case("false") => Some(false),
            _ => None,
        }
    }

    /// The elements of a list: a plain sequence (CloudFormation, Terraform) or the API's
    /// `{Quantity, Items}`; a missing or null value is empty.
    pub fn items(&self) -> &[Node] {
        match &self.v {
            V::Seq(s) => s,
            V::Map(_) => match self.get("Items") {
                Some(Node { v: V::Seq(s), .. }) => s,
                _ => &[],
            },
            _ => &[],
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self.v, V::Null | V::NoValue)
    }

    /// The first `Unresolved` (or resource reference where a plain value is needed) in this
    /// value, to name it in an error.
    pub(crate) fn unresolved(&self) -> Option<String> {
        match &self.v {
            V::Unresolved(why) => Some(why.clone()),
            V::Seq(s) => s.iter().find_map(Node::unresolved),
            V::Map(m) => m.iter().find_map(|(_, v)| v.unresolved()),
            _ => None,
        }
    }

    /// Unresolved itself, or a list with an unresolved element: what a reader of this value
    /// would stumble on (an object's fields are checked when they are read).
    pub(crate) fn unresolved_here(&self) -> Option<String> {
        match &self.v {
            V::Unresolved(why) => Some(why.clone()),
            V::Seq(s) => s.iter().find_map(|n| match &n.v {
                V::Unresolved(why) => Some(why.clone()),
                _ => None,
            }),
            _ => None,
        }
    }

    /// `Null` at `line` (for defaults).
    pub fn null() -> Node {
        Node::new(V::Null, 0, 0)
    }
}

/// Plain YAML scalars: null, booleans and numbers (YAML 1.2 core schema); everything quoted or
/// tagged `!!str` stays a string.
fn plain_scalar(s: &str) -> V {
    match s {
        "~" | "null" | "Null" | "NULL" | "" => V::Null,
        "true" | "True" | "TRUE" => V::Bool(true),
        "false" | "False" | "FALSE" => V::Bool(false),
        _ => {
            let numeric = s
                .chars()
                .all(|c| c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E'))
                && s.chars().any(|c| c.is_ascii_digit());
            match s.parse::<f64>() {
                Ok(n) if numeric && n.is_finite() => V::Num(n),
                _ => V::Str(s.to_string()),
            }
        }
    }
}

/// A short CloudFormation tag (`!Ref`, `!Sub`, ...) around `node`, as the long form.
fn long_form(tag: &str, node: Node) -> Node {
    let (line, col) = (node.line, node.col);
    let (key, value) = match tag {
        "Ref" => ("Ref".to_string(), node),
        "Condition" => ("Condition".to_string(), node),
        "GetAtt" => {
            // `!GetAtt Res.Attr` is the string form of `[Res, Attr]`.
            let v = match &node.v {
                V::Str(s) => match s.split_once('.') {
                    Some((a, b)) => V::Seq(vec![
                        Node::new(V::Str(a.into()), line, col),
                        Node::new(V::Str(b.into()), line, col),
                    ]),
                    None => V::Str(s.clone()),
                },
                other => other.clone(),
            };
            ("Fn::GetAtt".to_string(), Node::new(v, line, col))
        }
        other => (format!("Fn::{other}"), node),
    };
    Node::new(V::Map(vec![(key, value)]), line, col)
}

enum Frame {
    Seq(Vec<Node>, Marker, Option<Tag>, usize),
    /// Entries, the pending key and its line, ...
    Map(
        Vec<(String, Node)>,
        Option<(String, u32)>,
        Marker,
        Option<Tag>,
        usize,
    ),
}

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    docs: Vec<Node>,
    anchors: std::collections::HashMap<usize, Node>,
}

fn pos(m: &Marker) -> (u32, u32) {
    (m.line() as u32, m.col() as u32 + 1)
}

impl Builder {
    fn push(&mut self, node: Node) {
        match self.stack.last_mut() {
            Some(Frame::Seq(items, ..)) => items.push(node),
            Some(Frame::Map(entries, key, ..)) => match key.take() {
                None => *key = Some((node.text().unwrap_or_default(), node.line)),
                // A setting is written on its key's line (a block list starts below it).
                Some((k, line)) => {
                    let mut node = node;
                    node.line = line;
                    entries.push((k, node))
                }
            },
            None => self.docs.push(node),
        }
    }

    fn finish(&mut self, node: Node, tag: Option<Tag>, anchor: usize) {
        let node = match tag {
            Some(t) if t.handle == "!" => long_form(&t.suffix, node),
            _ => node,
        };
        if anchor > 0 {
            self.anchors.insert(anchor, node.clone());
        }
        self.push(node);
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        match ev {
            Event::Scalar(s, style, anchor, tag) => {
                let (line, col) = pos(&mark);
                let v = match (&style, &tag) {
                    (TScalarStyle::Plain, None) => plain_scalar(&s),
                    _ => V::Str(s),
                };
                // A key is never a tagged value; `finish` handles values.
                let is_key = matches!(self.stack.last(), Some(Frame::Map(_, None, ..)));
                if is_key {
                    self.push(Node::new(v, line, col));
                } else {
                    self.finish(Node::new(v, line, col), tag, anchor);
                }
            }
            Event::SequenceStart(anchor, tag) => {
                self.stack.push(Frame::Seq(Vec::new(), mark, tag, anchor))
            }
            Event::MappingStart(anchor, tag) => {
                self.stack
                    .push(Frame::Map(Vec::new(), None, mark, tag, anchor))
            }
            Event::SequenceEnd => {
                if let Some(Frame::Seq(items, m, tag, anchor)) = self.stack.pop() {
                    let (line, col) = pos(&m);
                    self.finish(Node::new(V::Seq(items), line, col), tag, anchor);
                }
            }
            Event::MappingEnd => {
                if let Some(Frame::Map(entries, _, m, tag, anchor)) = self.stack.pop() {
                    let (line, col) = pos(&m);
                    self.finish(Node::new(V::Map(entries), line, col), tag, anchor);
                }
            }
            Event::Alias(id) => {
                let n = self.anchors.get(&id).cloned().unwrap_or_else(Node::null);
                self.push(n);
            }
            _ => {}
        }
    }
}

/// Parse YAML (or JSON, which YAML reads too) into a tree with lines. Errors: (line, column,
/// message), 1-based.
pub(crate) fn from_yaml(text: &str) -> Result<Node, (usize, usize, String)> {
    let mut b = Builder::default();
    let mut parser = Parser::new_from_str(text);
    parser.load(&mut b, false).map_err(|e| {
        let m = e.marker();
        (m.line(), m.col() + 1, e.info().to_string())
    })?;
    Ok(b.docs.into_iter().next().unwrap_or_else(Node::null))
}

/// A serde_json value as a tree without lines (the fallback when a JSON text is not YAML).
pub(crate) fn from_json_value(v: &serde_json::Value) -> Node {
    let v = match v {
        serde_json::Value::Null => V::Null,
        serde_json::Value::Bool(b) => V::Bool(*b),
        serde_json::Value::Number(n) => V::Num(n.as_f64().unwrap_or(f64::NAN)),
        serde_json::Value::String(s) => V::Str(s.clone()),
        serde_json::Value::Array(a) => V::Seq(a.iter().map(from_json_value).collect()),
        serde_json::Value::Object(o) => V::Map(
            o.iter()
                .map(|(k, v)| (k.clone(), from_json_value(v)))
                .collect(),
        ),
    };
    Node::new(v, 0, 0)
}

/// Parse JSON into a tree: serde_json decides validity (its messages are the clearest), the
/// YAML reader adds lines when it reads the same text.
pub(crate) fn from_json(text: &str) -> Result<Node, serde_json::Error> {
    let value: serde_json::Value = serde_json::from_str(text)?;
    match from_yaml(text) {
        Ok(n) if !n.is_null() => Ok(n),
        _ => Ok(from_json_value(&value)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_short_tags_become_long_forms_with_lines() {
        let t = "A:\n  B: !Ref Param\n  C: !GetAtt Res.Id\n  D: !Sub '${X}-y'\n  E: [1, \"2\", true, ~]\n  F: !If [Cond, a, !Ref AWS::NoValue]\n";
        let n = from_yaml(t).unwrap();
        let a = n.get("A").unwrap();
        let b = a.get("B").unwrap();
        assert_eq!(b.get("Ref").unwrap().as_str(), Some("Param"));
        assert_eq!(b.line, 2);
        let c = a.get("C").unwrap().get("Fn::GetAtt").unwrap();
        assert_eq!(c.items()[1].as_str(), Some("Id"));
        assert_eq!(
            a.get("D").unwrap().get("Fn::Sub").unwrap().as_str(),
            Some("${X}-y")
        );
        let e = a.get("E").unwrap().items();
        assert_eq!(e[0].v, V::Num(1.0));
        assert_eq!(e[1].v, V::Str("2".into()));
        assert_eq!(e[2].v, V::Bool(true));
        assert_eq!(e[3].v, V::Null);
        let f = a.get("F").unwrap().get("Fn::If").unwrap().items();
        assert_eq!(f[2].get("Ref").unwrap().as_str(), Some("AWS::NoValue"));
        assert_eq!(a.get("F").unwrap().line, 6);
    }

    #[test]
    fn json_gets_lines_through_the_yaml_reader() {
        let t = "{\n  \"a\": {\"Quantity\": 1,\n    \"Items\": [\"x\"]},\n  \"b\": 5\n}";
        let n = from_json(t).unwrap();
        assert_eq!(n.get("a").unwrap().items()[0].as_str(), Some("x"));
        assert_eq!(n.get("b").unwrap().line, 4);
        assert_eq!(n.get("a").unwrap().line, 2);
        assert!(from_json("{\"a\": }").is_err());
    }

    #[test]
    fn yaml_errors_carry_a_line() {
        let e = from_yaml("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(e.0 >= 1, "{e:?}");
    }
}
