//! Terraform: `.tf` files (one file, or every `.tf` file of a directory) and the JSON of
//! `terraform show -json` (a plan, or the state).
//!
//! Both are read into the same shape, Terraform's own "values" shape (nested blocks as lists of
//! objects), and one builder reads an `aws_cloudfront_distribution` from it. In `.tf` files,
//! `var.x` (its `default`, or `--parameter x=VALUE`, converted to its `type`), `local.x`,
//! `<type>.<name>[key].id` of the policies declared in the files (with `count`/`for_each`),
//! `data.aws_cloudfront_*_policy.<name>[key].id` (managed policies by `name`), `dynamic`
//! blocks, `for` expressions, operators and the functions of `tf_eval.rs` are evaluated here
//! rather than with `hcl::eval`: the values keep the line they are written on (findings point
//! there), and `try()` needs its arguments unevaluated. Anything else a setting depends on
//! (other functions, modules, data sources' attributes, other resources' attributes) is named
//! as unresolved, never guessed. In a
//! plan, a policy created by the same plan has no id yet: its `configuration` reference says
//! which resource it is.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use hcl_edit::Span;
use hcl_edit::expr::{BinaryOperator, Expression, ObjectKey, TraversalOperator, UnaryOperator};
use hcl_edit::structure::{Body, Structure};

use super::aws::{Ctx, behavior_set, field};
use super::tf_eval;
use super::tree::{self, Node, V};
use super::{
    BuildError, CachePolicyDef, LoadOptions, ManagedOnly, OriginRequestDef, Policies,
    ResponseHeadersDef, Unknown, line_col,
};
use crate::cloudfront::behavior::{
    AcceptEncodings, Behavior, BehaviorSet, ConfigFormat, ConfigInput, CorsPolicy, ErrorResponse,
    ForwardPolicy, GET_HEAD, Http2ToOrigin, KeyPolicy, NameSet, OriginSettings, SourceRef,
    TtlSettings,
};
use crate::cloudfront::pattern;
use crate::error::UserError;

const HINT: &str = "expected Terraform with one aws_cloudfront_distribution (default_cache_behavior, ordered_cache_behavior), or the JSON of `terraform show -json`";

/// Every `.tf` file of `dir`, in name order.
pub(super) fn from_dir(dir: &Path, opts: &LoadOptions) -> Result<BehaviorSet, UserError> {
    let mut files = Vec::new();
    let entries = std::fs::read_dir(dir).map_err(|e| {
        UserError::input(
            format!("cannot read directory {}: {e}", dir.display()),
            "pass a .tf file, a directory of .tf files, or another behaviors file",
        )
    })?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "tf"))
        .collect();
    paths.sort();
    for p in paths {
        let text = crate::input::read_to_string(&p, crate::input::Kind::Behaviors)?;
        files.push((p, text));
    }
    if files.is_empty() {
        return Err(UserError::input(
            format!("{}: no .tf files in this directory", dir.display()),
            HINT,
        ));
    }
    from_tf_files(&files, opts)
}

/// One block or attribute source: its file and text, for lines.
struct Src<'a> {
    text: &'a str,
}

impl Src<'_> {
    fn line(&self, span: Option<std::ops::Range<usize>>) -> (u32, u32) {
        match span {
            Some(s) => {
                let (l, c) = line_col(self.text, s.start);
                (l as u32, c as u32)
            }
            None => (0, 0),
        }
    }
}

/// What the `.tf` files declare, by address.
struct Decls<'a> {
    variables: HashMap<String, (&'a Body, usize)>,
    locals: HashMap<String, (&'a Expression, usize)>,
    /// `type.name` or `data.type.name` -> (block body, file index).
    blocks: Vec<(String, &'a Body, usize)>,
    srcs: Vec<Src<'a>>,
    params: &'a [(String, String)],
    /// `module "name"` calls: (name, source), named when no distribution is found.
    modules: Vec<(String, String)>,
    /// Names bound where an expression is evaluated (see `with_scope`).
    scope: std::cell::RefCell<Vec<(String, Node)>>,
}

pub(super) fn from_tf_files(
    files: &[(PathBuf, String)],
    opts: &LoadOptions,
) -> Result<BehaviorSet, UserError> {
    let mut bodies = Vec::new();
    for (path, text) in files {
        let body = hcl_edit::parser::parse_body(text).map_err(|e| {
            let loc = e.location();
            UserError::Scenario {
                file: path.clone(),
                line: loc.line(),
                column: loc.column(),
                message: format!("not valid HCL: {}", e.message()),
                hint: HINT.into(),
            }
        })?;
        bodies.push(body);
    }
    let mut d = Decls {
        variables: HashMap::new(),
        locals: HashMap::new(),
        blocks: Vec::new(),
        srcs: files.iter().map(|(_, t)| Src { text: t }).collect(),
        params: &opts.parameters,
        modules: Vec::new(),
        scope: Default::default(),
    };
    for (fi, body) in bodies.iter().enumerate() {
        for s in body.iter() {
            let Structure::Block(b) = s else { continue };
            let labels: Vec<&str> = b.labels.iter().map(|l| l.as_str()).collect();
            match (b.ident.as_str(), labels.as_slice()) {
                ("variable", [name]) => {
                    d.variables.insert(name.to_string(), (&b.body, fi));
                }
                ("locals", []) => {
                    for a in b.body.attributes() {
                        d.locals.insert(a.key.as_str().to_string(), (&a.value, fi));
                    }
                }
                ("resource", [ty, name]) => d.blocks.push((format!("{ty}.{name}"), &b.body, fi)),
                ("data", [ty, name]) => d.blocks.push((format!("data.{ty}.{name}"), &b.body, fi)),
                ("module", [name]) => d.modules.push((
                    name.to_string(),
                    b.body
                        .get_attribute("source")
                        .and_then(|a| match &a.value {
                            Expression::String(s) => Some(s.value().to_string()),
                            _ => None,
                        })
                        .unwrap_or_default(),
                )),
                _ => {}
            }
        }
    }
    // Every block's instances (`count`, `for_each`), each evaluated with its `count.index` or
    // `each`: (address, values, file, why the instances are unknown).
    let mut expanded: Vec<(String, Node, usize, Option<String>)> = Vec::new();
    for (a, b, f) in &d.blocks {
        let (inst, why) = match d.instances(b, *f) {
            Ok(i) => (i, None),
            Err(why) => (vec![(String::new(), None)], Some(why)),
        };
        for (suffix, bind) in inst {
            let node = d.with_scope(bind.into_iter().collect(), || d.body_node(b, *f, 0));
            expanded.push((format!("{a}{suffix}"), node, *f, why.clone()));
        }
    }
    let dists: Vec<&(String, Node, usize, Option<String>)> = expanded
        .iter()
        .filter(|(a, ..)| a.starts_with("aws_cloudfront_distribution."))
        .collect();
    let label = files
        .iter()
        .map(|f| f.0.display().to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let names: Vec<&str> = dists.iter().map(|x| x.0.as_str()).collect();
    let i = super::pick_distribution(&label, &names, opts.distribution.as_deref(), || {
        // A module call holds what cdnprobe does not read: name it.
        let modules = d
            .modules
            .iter()
            .map(|(name, source)| format!("module \"{name}\" (source {source:?})"))
            .collect::<Vec<_>>();
        if modules.is_empty() {
            UserError::input(
                format!("{label}: no resource \"aws_cloudfront_distribution\""),
                HINT,
            )
        } else {
            UserError::input(
                format!(
                    "{label}: no resource \"aws_cloudfront_distribution\" here; {} is not read by cdnprobe (modules are not evaluated)",
                    modules.join(", ")
                ),
                "lint the JSON of `terraform show -json PLANFILE` instead: a plan holds the module's distribution with its values",
            )
        }
    })?;
    let (addr, values, fi, why) = dists[i];
    if let Some(why) = why {
        return Err(UserError::input(
            format!("{label}: {addr}: {why}"),
            "pass the variables it depends on with --parameter NAME=VALUE",
        ));
    }
    let file = files[*fi].0.clone();
    let store = TfPolicies {
        resources: expanded
            .iter()
            .map(|(a, n, f, _)| (a.clone(), (n.clone(), *f)))
            .collect(),
        files: files.iter().map(|f| f.0.display().to_string()).collect(),
    };
    build(values, addr, &file, ConfigFormat::Terraform, &store)
}

/// An instance of a block: its address suffix (`[0]`, `["key"]`, or none) and the name it
/// binds (`count`, `each`).
type Instance = (String, Option<(String, Node)>);

impl Decls<'_> {
    /// `f` with `binds` visible (an iterator of a `dynamic` block, `each`, `count`, a `for`
    /// expression's variables), innermost last.
    fn with_scope<R>(&self, binds: Vec<(String, Node)>, f: impl FnOnce() -> R) -> R {
        let n = binds.len();
        self.scope.borrow_mut().extend(binds);
        let r = f();
        let mut s = self.scope.borrow_mut();
        let keep = s.len().saturating_sub(n);
        s.truncate(keep);
        r
    }

    /// `f` without the bindings of the place of use: a variable or local is evaluated where it
    /// is declared.
    fn isolated<R>(&self, f: impl FnOnce() -> R) -> R {
        let saved = std::mem::take(&mut *self.scope.borrow_mut());
        let r = f();
        *self.scope.borrow_mut() = saved;
        r
    }

    fn bound(&self, name: &str) -> Option<Node> {
        self.scope
            .borrow()
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }

    /// The instances of a resource or data block: `("", None)` for a plain one, `[i]` with
    /// `count.index` for `count`, `["key"]` with `each` for `for_each` (a map, or a set of
    /// strings). `Err`: the meta-argument cannot be evaluated (the reason).
    fn instances(&self, body: &Body, fi: usize) -> Result<Vec<Instance>, String> {
        let obj = |pairs: Vec<(&str, Node)>| {
            Node::new(
                V::Map(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()),
                0,
                0,
            )
        };
        if let Some(a) = body.get_attribute("count") {
            let n = self.isolated(|| self.expr(&a.value, fi, 1));
            if let Some(u) = n.unresolved() {
                return Err(format!("count: {u}"));
            }
            let Some(n) = n.as_u64() else {
                return Err("count is not a whole number".into());
            };
            return Ok((0..n.min(1000))
                .map(|i| {
                    let idx = Node::new(V::Num(i as f64), 0, 0);
                    (
                        format!("[{i}]"),
                        Some(("count".into(), obj(vec![("index", idx)]))),
                    )
                })
                .collect());
        }
        if let Some(a) = body.get_attribute("for_each") {
            let n = self.isolated(|| self.expr(&a.value, fi, 1));
            if let Some(u) = n.unresolved_here() {
                return Err(format!("for_each: {u}"));
            }
            let pairs: Vec<(String, Node)> = match n.v {
                V::Map(m) => m,
                V::Seq(s) => {
                    let mut out = Vec::new();
                    for x in s {
                        let Some(k) = x.as_str() else {
                            return Err("for_each over a set that is not of strings".into());
                        };
                        out.push((k.to_string(), x.clone()));
                    }
                    out
                }
                V::Null => Vec::new(),
                _ => return Err("for_each is not a map or a set of strings".into()),
            };
            return Ok(pairs
                .into_iter()
                .map(|(k, v)| {
                    let key = Node::new(V::Str(k.clone()), v.line, v.col);
                    (
                        format!("[{k:?}]"),
                        Some(("each".into(), obj(vec![("key", key), ("value", v)]))),
                    )
                })
                .collect());
        }
        Ok(vec![(String::new(), None)])
    }

    fn body_node(&self, body: &Body, fi: usize, depth: usize) -> Node {
        let mut entries: Vec<(String, Node)> = Vec::new();
        let (line, col) = self.srcs[fi].line(body.span());
        let push = |entries: &mut Vec<(String, Node)>, key: String, node: Node, l, c| match entries
            .iter_mut()
            .find(|(k, _)| *k == key)
        {
            Some((
                _,
                Node {
                    v: V::Seq(items), ..
                },
            )) => items.push(node),
            _ => entries.push((key, Node::new(V::Seq(vec![node]), l, c))),
        };
        for s in body.iter() {
            match s {
                Structure::Attribute(a) => {
                    let v = self.expr(&a.value, fi, depth);
                    entries.push((a.key.as_str().to_string(), v));
                }
                Structure::Block(b) if b.ident.as_str() == "dynamic" => {
                    let (l, c) = self.srcs[fi].line(b.span());
                    let name = b
                        .labels
                        .first()
                        .map(|l| l.as_str())
                        .unwrap_or("")
                        .to_string();
                    for node in self.dynamic(&name, &b.body, fi, depth, l, c) {
                        push(&mut entries, name.clone(), node, l, c);
                    }
                }
                Structure::Block(b) => {
                    let (l, c) = self.srcs[fi].line(b.span());
                    let mut n = self.body_node(&b.body, fi, depth + 1);
                    n.line = l;
                    n.col = c;
                    push(&mut entries, b.ident.as_str().to_string(), n, l, c);
                }
            }
        }
        Node::new(V::Map(entries), line.max(1), col)
    }

    /// The blocks a `dynamic "name" { for_each = ...  iterator = ...  content { ... } }`
    /// generates, in `for_each` order (a list's order; a map's keys, and a set of strings, in
    /// lexical order, as Terraform iterates them). A `for_each` that cannot be evaluated gives
    /// one unresolved block naming why.
    fn dynamic(
        &self,
        name: &str,
        body: &Body,
        fi: usize,
        depth: usize,
        l: u32,
        c: u32,
    ) -> Vec<Node> {
        let unresolved = |why: String| {
            vec![Node::new(
                V::Unresolved(format!("dynamic \"{name}\": {why}")),
                l,
                c,
            )]
        };
        if depth > 32 {
            return unresolved("blocks nest too deep".into());
        }
        let Some(content) = body.get_blocks("content").next() else {
            return unresolved("no content block".into());
        };
        let Some(fe) = body.get_attribute("for_each") else {
            return unresolved("no for_each".into());
        };
        let iterator = match body.get_attribute("iterator").map(|a| &a.value) {
            Some(Expression::Variable(v)) => v.as_str().to_string(),
            Some(_) => return unresolved("iterator is not a name".into()),
            None => name.to_string(),
        };
        let each = self.expr(&fe.value, fi, depth + 1);
        if let Some(why) = each.unresolved_here() {
            return unresolved(format!("for_each: {why}"));
        }
        let elems: Vec<(Node, Node)> = match each.v {
            V::Seq(s) => s
                .into_iter()
                .enumerate()
                .map(|(i, v)| (Node::new(V::Num(i as f64), l, c), v))
                .collect(),
            V::Map(mut m) => {
                m.sort_by(|a, b| a.0.cmp(&b.0));
                m.into_iter()
                    .map(|(k, v)| (Node::new(V::Str(k), l, c), v))
                    .collect()
            }
            _ => return unresolved("for_each is not a list, set or map".into()),
        };
        let (cl, cc) = self.srcs[fi].line(content.span());
        elems
            .into_iter()
            .map(|(k, v)| {
                let it = Node::new(V::Map(vec![("key".into(), k), ("value".into(), v)]), l, c);
                let mut n = self.with_scope(vec![(iterator.clone(), it)], || {
                    self.body_node(&content.body, fi, depth + 1)
                });
                n.line = cl;
                n.col = cc;
                n
            })
            .collect()
    }

    fn unresolved(&self, why: String, e: &Expression, fi: usize) -> Node {
        let (l, c) = self.srcs[fi].line(e.span());
        Node::new(V::Unresolved(why), l, c)
    }

    fn expr(&self, e: &Expression, fi: usize, depth: usize) -> Node {
        let (l, c) = self.srcs[fi].line(e.span());
        if depth > 48 {
            return self.unresolved("references nest too deep (a cycle?)".into(), e, fi);
        }
        let v = match e {
            Expression::Null(_) => V::Null,
            Expression::Bool(b) => V::Bool(*b.value()),
            Expression::Number(n) => V::Num(n.value().as_f64().unwrap_or(f64::NAN)),
            Expression::String(s) => V::Str(s.value().clone()),
            Expression::Array(a) => V::Seq(a.iter().map(|x| self.expr(x, fi, depth + 1)).collect()),
            Expression::Object(o) => V::Map(
                o.iter()
                    .map(|(k, v)| {
                        let key = match k {
                            ObjectKey::Ident(i) => i.as_str().to_string(),
                            ObjectKey::Expression(x) => {
                                self.expr(x, fi, depth + 1).text().unwrap_or_default()
                            }
                        };
                        (key, self.expr(v.expr(), fi, depth + 1))
                    })
                    .collect(),
            ),
            Expression::StringTemplate(t) => {
                let mut out = String::new();
                for el in t.iter() {
                    match el {
                        hcl_edit::template::Element::Literal(s) => out.push_str(s.value()),
                        hcl_edit::template::Element::Interpolation(i) => {
                            let n = self.expr(&i.expr, fi, depth + 1);
                            match (&n.v, n.text()) {
                                (V::Unresolved(_), _) => return n,
                                (_, Some(t)) => out.push_str(&t),
                                _ => {
                                    return self.unresolved(
                                        "an interpolation that is not a string".into(),
                                        e,
                                        fi,
                                    );
                                }
                            }
                        }
                        hcl_edit::template::Element::Directive(_) => {
                            return self.unresolved(
                                "template directives (%{...}) are not evaluated".into(),
                                e,
                                fi,
                            );
                        }
                    }
                }
                V::Str(out)
            }
            Expression::Parenthesis(p) => return self.expr(p.inner(), fi, depth + 1),
            Expression::Traversal(t) => return self.traversal(t, e, fi, depth),
            Expression::FuncCall(f) => return self.func(f, e, fi, depth),
            Expression::Variable(v) => match self.bound(v.as_str()) {
                Some(mut n) => {
                    n.line = l;
                    n.col = c;
                    return n;
                }
                None => {
                    return self.unresolved(format!("{} alone is not a value", v.as_str()), e, fi);
                }
            },
            Expression::Conditional(x) => {
                let cond = self.expr(&x.cond_expr, fi, depth + 1);
                match cond.v {
                    V::Bool(true) => return self.expr(&x.true_expr, fi, depth + 1),
                    V::Bool(false) => return self.expr(&x.false_expr, fi, depth + 1),
                    V::Unresolved(u) => V::Unresolved(u),
                    _ => tf_eval::error("a condition that is not a bool"),
                }
            }
            Expression::UnaryOp(u) => {
                let x = self.expr(&u.expr, fi, depth + 1);
                match (u.operator.value(), x.v) {
                    (_, V::Unresolved(w)) => V::Unresolved(w),
                    (UnaryOperator::Not, V::Bool(b)) => V::Bool(!b),
                    (UnaryOperator::Neg, V::Num(n)) => V::Num(-n),
                    _ => tf_eval::error("an operator on a value of the wrong type"),
                }
            }
            Expression::BinaryOp(b) => {
                let x = self.expr(&b.lhs_expr, fi, depth + 1);
                // `&&`/`||` of a known left side decide alone (Terraform evaluates both, but
                // an unknown right side cannot change a decided result).
                match (b.operator.value(), &x.v) {
                    (BinaryOperator::And, V::Bool(false)) => V::Bool(false),
                    (BinaryOperator::Or, V::Bool(true)) => V::Bool(true),
                    (_, V::Unresolved(w)) => V::Unresolved(w.clone()),
                    (op, _) => {
                        let y = self.expr(&b.rhs_expr, fi, depth + 1);
                        binary(*op, &x, &y)
                    }
                }
            }
            Expression::ForExpr(f) => return self.for_expr(f, e, fi, depth),
            Expression::HeredocTemplate(_) => {
                return self.unresolved(
                    "heredoc templates are not evaluated by cdnprobe".into(),
                    e,
                    fi,
                );
            }
        };
        Node::new(v, l, c)
    }

    fn func(&self, f: &hcl_edit::expr::FuncCall, e: &Expression, fi: usize, depth: usize) -> Node {
        let (l, c) = self.srcs[fi].line(e.span());
        let name = f.name.name.as_str();
        if !f.name.namespace.is_empty() || f.args.expand_final() {
            return self.unresolved(
                format!("function call {name}(...) with a namespace or an expanded argument is not evaluated by cdnprobe"),
                e,
                fi,
            );
        }
        let args = f.args.iter();
        match name {
            // Lazy: the first argument Terraform evaluates without an error. An argument that
            // only Terraform or AWS knows stops here: falling back would be a guess.
            "try" => {
                for a in args {
                    let n = self.expr(a, fi, depth + 1);
                    if !tf_eval::has_error(&n) {
                        return n;
                    }
                }
                Node::new(tf_eval::error("try(): every argument fails"), l, c)
            }
            "can" => {
                let n = match args.into_iter().next() {
                    Some(a) => self.expr(a, fi, depth + 1),
                    None => Node::null(),
                };
                let v = match n.unresolved() {
                    Some(w) if !w.starts_with(tf_eval::TF_ERROR) => V::Unresolved(w),
                    Some(_) => V::Bool(false),
                    None => V::Bool(true),
                };
                Node::new(v, l, c)
            }
            _ => {
                let vals: Vec<Node> = args.map(|a| self.expr(a, fi, depth + 1)).collect();
                match tf_eval::call(name, vals) {
                    Some(v) => Node::new(v, l, c),
                    None => self.unresolved(
                        format!("function {name}() is not evaluated by cdnprobe"),
                        e,
                        fi,
                    ),
                }
            }
        }
    }

    /// `[for k, v in coll : value if cond]` and `{for k, v in coll : key => value}`.
    fn for_expr(
        &self,
        f: &hcl_edit::expr::ForExpr,
        e: &Expression,
        fi: usize,
        depth: usize,
    ) -> Node {
        let (l, c) = self.srcs[fi].line(e.span());
        let coll = self.expr(&f.intro.collection_expr, fi, depth + 1);
        if let Some(w) = coll.unresolved_here() {
            return Node::new(V::Unresolved(w), l, c);
        }
        let elems: Vec<(Node, Node)> = match coll.v {
            V::Seq(s) => s
                .into_iter()
                .enumerate()
                .map(|(i, v)| (Node::new(V::Num(i as f64), l, c), v))
                .collect(),
            V::Map(m) => m
                .into_iter()
                .map(|(k, v)| (Node::new(V::Str(k), l, c), v))
                .collect(),
            _ => {
                return Node::new(
                    tf_eval::error("for over a value that is not a collection"),
                    l,
                    c,
                );
            }
        };
        let mut seq = Vec::new();
        let mut map: Vec<(String, Node)> = Vec::new();
        for (k, v) in elems {
            let mut binds = vec![(f.intro.value_var.as_str().to_string(), v)];
            if let Some(kv) = &f.intro.key_var {
                binds.push((kv.as_str().to_string(), k));
            }
            let r = self.with_scope(binds, || -> Result<Option<(Option<Node>, Node)>, Node> {
                if let Some(cond) = &f.cond {
                    let n = self.expr(&cond.expr, fi, depth + 1);
                    match n.v {
                        V::Bool(true) => {}
                        V::Bool(false) => return Ok(None),
                        V::Unresolved(_) => return Err(n),
                        _ => {
                            return Err(Node::new(
                                tf_eval::error("a for condition that is not a bool"),
                                l,
                                c,
                            ));
                        }
                    }
                }
                let key = f.key_expr.as_ref().map(|k| self.expr(k, fi, depth + 1));
                Ok(Some((key, self.expr(&f.value_expr, fi, depth + 1))))
            });
            match r {
                Err(n) => return n,
                Ok(None) => {}
                Ok(Some((None, v))) => seq.push(v),
                Ok(Some((Some(k), v))) => {
                    let Some(k) = k.text() else {
                        return Node::new(
                            k.unresolved_here().map(V::Unresolved).unwrap_or_else(|| {
                                tf_eval::error("a for key that is not a string")
                            }),
                            l,
                            c,
                        );
                    };
                    if f.grouping {
                        match map.iter_mut().find(|(x, _)| *x == k) {
                            Some((_, Node { v: V::Seq(s), .. })) => s.push(v),
                            _ => map.push((k, Node::new(V::Seq(vec![v]), l, c))),
                        }
                    } else if map.iter().any(|(x, _)| *x == k) {
                        return Node::new(
                            tf_eval::error(format!("duplicate key {k:?} in a for expression")),
                            l,
                            c,
                        );
                    } else {
                        map.push((k, v));
                    }
                }
            }
        }
        let v = if f.key_expr.is_some() {
            V::Map(map)
        } else {
            V::Seq(seq)
        };
        Node::new(v, l, c)
    }

    fn traversal(
        &self,
        t: &hcl_edit::expr::Traversal,
        e: &Expression,
        fi: usize,
        depth: usize,
    ) -> Node {
        let (l, c) = self.srcs[fi].line(e.span());
        let ops: Vec<&TraversalOperator> = t.operators.iter().map(|o| o.value()).collect();
        let (mut node, used) = match &t.expr {
            Expression::Variable(root) => self.root(root.as_str(), &ops, e, fi, depth),
            other => (self.expr(other, fi, depth + 1), 0),
        };
        for op in &ops[used.min(ops.len())..] {
            if matches!(node.v, V::Unresolved(_)) {
                break;
            }
            node = self.step(node, op, fi, depth);
        }
        // The line of the use is where the setting is written.
        node.line = l;
        node.col = c;
        node
    }

    /// One `.attr` or `[index]` applied to a value.
    fn step(&self, n: Node, op: &TraversalOperator, fi: usize, depth: usize) -> Node {
        let (l, c) = (n.line, n.col);
        let v = match op {
            TraversalOperator::GetAttr(a) => match &n.v {
                V::Map(_) => match n.get(a.as_str()) {
                    Some(x) => return x.clone(),
                    None => tf_eval::error(format!("the object has no attribute {:?}", a.as_str())),
                },
                V::Null => tf_eval::error(format!("null has no attribute {:?}", a.as_str())),
                _ => tf_eval::error(format!(
                    "a value that is not an object has no attribute {:?}",
                    a.as_str()
                )),
            },
            TraversalOperator::Index(x) => {
                let k = self.expr(x, fi, depth + 1);
                return index(n, &k);
            }
            TraversalOperator::LegacyIndex(i) => {
                return index(n, &Node::new(V::Num(*i.value() as f64), 0, 0));
            }
            TraversalOperator::AttrSplat(_) | TraversalOperator::FullSplat(_) => {
                V::Unresolved("splat expressions ([*], .*) are not evaluated by cdnprobe".into())
            }
        };
        Node::new(v, l, c)
    }

    /// The value a traversal's root names, and how many of its operators that took.
    fn root(
        &self,
        root: &str,
        ops: &[&TraversalOperator],
        e: &Expression,
        fi: usize,
        depth: usize,
    ) -> (Node, usize) {
        if let Some(n) = self.bound(root) {
            return (n, 0);
        }
        let attr = |i: usize| match ops.get(i) {
            Some(TraversalOperator::GetAttr(a)) => Some(a.as_str().to_string()),
            _ => None,
        };
        let all = ops.len();
        match root {
            "var" => match attr(0) {
                Some(name) => (self.variable(&name, e, fi, depth), 1),
                None => (self.unresolved("var without a name".into(), e, fi), all),
            },
            "local" => match attr(0) {
                Some(name) => {
                    let n = match self.locals.get(&name) {
                        Some((x, f)) => self.isolated(|| self.expr(x, *f, depth + 1)),
                        None => self.unresolved(format!("local.{name} is not declared"), e, fi),
                    };
                    (n, 1)
                }
                None => (self.unresolved("local without a name".into(), e, fi), all),
            },
            "count" | "each" => (
                self.unresolved(
                    format!("{root} is only known inside a resource with count/for_each"),
                    e,
                    fi,
                ),
                all,
            ),
            "module" => (
                self.unresolved(
                    format!(
                        "module.{} outputs are not read by cdnprobe: lint the JSON of `terraform show -json` of a plan instead",
                        attr(0).unwrap_or_default()
                    ),
                    e,
                    fi,
                ),
                all,
            ),
            "path" | "terraform" | "self" => (
                self.unresolved(format!("{root}.* is not evaluated by cdnprobe"), e, fi),
                all,
            ),
            "data" => match (attr(0), attr(1)) {
                (Some(ty), Some(name)) => self.resource_ref(&format!("data.{ty}"), &ty, &name, ops, 2, e, fi, depth),
                _ => (self.unresolved("data without a type and name".into(), e, fi), all),
            },
            ty => match attr(0) {
                Some(name) => self.resource_ref(ty, ty, &name, ops, 1, e, fi, depth),
                None => (self.unresolved(format!("{ty} is not declared in these files"), e, fi), all),
            },
        }
    }

    /// `<prefix>.<name>[key].<attr>`: a policy's `id` names the policy (a resource of these
    /// files, or a managed one through a `data` source's `name`); any other attribute is known
    /// only after apply.
    #[allow(clippy::too_many_arguments)]
    fn resource_ref(
        &self,
        prefix: &str,
        ty: &str,
        name: &str,
        ops: &[&TraversalOperator],
        at: usize,
        e: &Expression,
        fi: usize,
        depth: usize,
    ) -> (Node, usize) {
        let (l, c) = self.srcs[fi].line(e.span());
        let addr = format!("{prefix}.{name}");
        let all = ops.len();
        let block = self.blocks.iter().find(|(a, ..)| *a == addr);
        let policy = ty.starts_with("aws_cloudfront_") && ty.ends_with("_policy");
        if block.is_none() && !policy {
            return (
                self.unresolved(format!("{addr} is not declared in these files"), e, fi),
                all,
            );
        }
        // The instance key, if indexed.
        let (key, next) = match ops.get(at) {
            Some(TraversalOperator::Index(x)) => (Some(self.expr(x, fi, depth + 1)), at + 1),
            Some(TraversalOperator::LegacyIndex(i)) => {
                (Some(Node::new(V::Num(*i.value() as f64), l, c)), at + 1)
            }
            _ => (None, at),
        };
        let suffix = match &key {
            None => String::new(),
            Some(k) => match &k.v {
                V::Unresolved(w) => return (Node::new(V::Unresolved(w.clone()), l, c), all),
                V::Num(n) => format!("[{n}]"),
                V::Str(s) => format!("[{s:?}]"),
                V::Null => {
                    return (
                        Node::new(
                            tf_eval::error(format!("{addr}[null]: the index is null")),
                            l,
                            c,
                        ),
                        all,
                    );
                }
                _ => {
                    return (
                        Node::new(
                            tf_eval::error(format!("{addr}[...]: the index is not a key")),
                            l,
                            c,
                        ),
                        all,
                    );
                }
            },
        };
        let text = format!("{addr}{suffix}");
        // The instance must exist (Terraform fails on another key: `try` falls back).
        let mut binding = None;
        if let Some((_, body, f)) = block {
            match self.instances(body, *f) {
                Ok(inst) => match inst.into_iter().find(|(s, _)| *s == suffix) {
                    Some((_, b)) => binding = b,
                    None => {
                        return (
                            Node::new(
                                tf_eval::error(format!("{text} is not an instance of {addr}")),
                                l,
                                c,
                            ),
                            all,
                        );
                    }
                },
                Err(why) => {
                    return (self.unresolved(format!("{addr}: {why}"), e, fi), all);
                }
            }
        }
        let Some(attr) = (match ops.get(next) {
            Some(TraversalOperator::GetAttr(a)) => Some(a.as_str().to_string()),
            _ => None,
        }) else {
            return (
                self.unresolved(
                    format!("{text} is known only after `terraform apply`"),
                    e,
                    fi,
                ),
                all,
            );
        };
        let node = if prefix.starts_with("data.") {
            match block {
                // Managed policies are looked up by name: the name stands for the id.
                Some((_, body, f)) if policy && attr == "id" => match body.get_attribute("name") {
                    Some(a) => self.isolated(|| {
                        self.with_scope(binding.into_iter().collect(), || {
                            self.expr(&a.value, *f, depth + 1)
                        })
                    }),
                    None => self.unresolved(format!("{addr} has no name"), e, fi),
                },
                Some(_) => self.unresolved(
                    format!("{text}.{attr} is known only when Terraform reads the data source"),
                    e,
                    fi,
                ),
                None => self.unresolved(format!("{addr} is not declared"), e, fi),
            }
        } else if attr == "id" {
            // A policy of another file still names the policy: the store says it is unknown.
            Node::new(V::Resource(text), l, c)
        } else {
            self.unresolved(
                format!("{text}.{attr} is known only after `terraform apply`"),
                e,
                fi,
            )
        };
        (node, next + 1)
    }

    fn variable(&self, name: &str, e: &Expression, fi: usize, depth: usize) -> Node {
        let declared = self.variables.get(name);
        let ty = self.isolated(|| {
            declared
                .and_then(|(body, f)| {
                    let a = body.get_attribute("type")?;
                    Some(self.type_of(&a.value, *f, depth + 1))
                })
                .unwrap_or(tf_eval::Type::Any)
        });
        // A --parameter counts even for a variable declared in a file not given.
        if let Some((_, v)) = self.params.iter().rev().find(|(k, _)| k == name) {
            let (l, c) = self.srcs[fi].line(e.span());
            return tf_eval::convert(Node::new(V::Str(v.clone()), l, c), &ty);
        }
        let Some((body, f)) = declared else {
            return self.unresolved(format!("var.{name} is not declared"), e, fi);
        };
        match body.get_attribute("default") {
            Some(a) => {
                let v = self.isolated(|| self.expr(&a.value, *f, depth + 1));
                tf_eval::convert(v, &ty)
            }
            None => self.unresolved(
                format!("var.{name} has no default: pass --parameter {name}=VALUE"),
                e,
                fi,
            ),
        }
    }

    /// A variable's `type` expression (`list(object({ a = optional(string, "x") }))`).
    fn type_of(&self, e: &Expression, fi: usize, depth: usize) -> tf_eval::Type {
        use tf_eval::Type;
        if depth > 32 {
            return Type::Any;
        }
        match e {
            Expression::Variable(v) => match v.as_str() {
                "string" => Type::String,
                "number" => Type::Number,
                "bool" => Type::Bool,
                _ => Type::Any,
            },
            Expression::FuncCall(f) => {
                let args: Vec<&Expression> = f.args.iter().collect();
                let inner = |i: usize| {
                    args.get(i)
                        .map(|a| self.type_of(a, fi, depth + 1))
                        .unwrap_or(Type::Any)
                };
                match f.name.name.as_str() {
                    "list" | "set" => Type::List(Box::new(inner(0))),
                    "map" => Type::Map(Box::new(inner(0))),
                    "object" => match args.first() {
                        Some(Expression::Object(o)) => Type::Object(
                            o.iter()
                                .map(|(k, v)| {
                                    let key = match k {
                                        ObjectKey::Ident(i) => i.as_str().to_string(),
                                        ObjectKey::Expression(x) => {
                                            self.expr(x, fi, depth + 1).text().unwrap_or_default()
                                        }
                                    };
                                    match v.expr() {
                                        Expression::FuncCall(o)
                                            if o.name.name.as_str() == "optional" =>
                                        {
                                            let a: Vec<&Expression> = o.args.iter().collect();
                                            let t = a
                                                .first()
                                                .map(|t| self.type_of(t, fi, depth + 1))
                                                .unwrap_or(Type::Any);
                                            let d = a.get(1).map(|d| self.expr(d, fi, depth + 1));
                                            (key, t, true, d)
                                        }
                                        t => (key, self.type_of(t, fi, depth + 1), false, None),
                                    }
                                })
                                .collect(),
                        ),
                        _ => Type::Any,
                    },
                    _ => Type::Any,
                }
            }
            _ => Type::Any,
        }
    }
}

/// `n[k]`: a list element or a map value; Terraform fails on a missing one.
fn index(n: Node, k: &Node) -> Node {
    let (l, c) = (n.line, n.col);
    let v = match (&n.v, &k.v) {
        (_, V::Unresolved(w)) => V::Unresolved(w.clone()),
        (V::Seq(s), _) => match k.as_u64() {
            Some(i) if (i as usize) < s.len() => return s[i as usize].clone(),
            _ => tf_eval::error(format!(
                "index {} is out of range",
                k.text().unwrap_or_default()
            )),
        },
        (V::Map(_), _) => match k.text().and_then(|t| n.get(&t).cloned()) {
            Some(x) => return x,
            None => tf_eval::error(format!("no key {:?}", k.text().unwrap_or_default())),
        },
        (V::Null, _) => tf_eval::error("cannot index null"),
        _ => tf_eval::error("cannot index a value that is not a collection"),
    };
    Node::new(v, l, c)
}

/// A binary operator on two evaluated values.
fn binary(op: BinaryOperator, x: &Node, y: &Node) -> V {
    use BinaryOperator as B;
    if let Some(w) = y.unresolved_here().or_else(|| x.unresolved_here()) {
        // `==`/`!=` with null on one side are decided by the other's being null only when
        // that side is known; an unknown side stays unknown.
        return V::Unresolved(w);
    }
    let num = |n: &Node| match &n.v {
        V::Num(v) => Some(*v),
        V::Str(s) => s.parse().ok(),
        _ => None,
    };
    match op {
        B::Eq => V::Bool(tf_eval::same(x, y)),
        B::NotEq => V::Bool(!tf_eval::same(x, y)),
        B::And | B::Or => match (x.as_bool(), y.as_bool()) {
            (Some(a), Some(b)) => V::Bool(if op == B::And { a && b } else { a || b }),
            _ => tf_eval::error("&& or || of a value that is not a bool"),
        },
        _ => match (num(x), num(y)) {
            (Some(a), Some(b)) => match op {
                B::Less => V::Bool(a < b),
                B::LessEq => V::Bool(a <= b),
                B::Greater => V::Bool(a > b),
                B::GreaterEq => V::Bool(a >= b),
                B::Plus => V::Num(a + b),
                B::Minus => V::Num(a - b),
                B::Mul => V::Num(a * b),
                B::Div => V::Num(a / b),
                B::Mod => V::Num(a % b),
                _ => tf_eval::error("an operator cdnprobe does not know"),
            },
            _ => tf_eval::error("arithmetic or comparison of values that are not numbers"),
        },
    }
}

// ---------------------------------------------------------------------------------------------
// terraform show -json

pub(super) fn from_plan_json_str(
    text: &str,
    file: &Path,
    opts: &LoadOptions,
) -> Result<BehaviorSet, UserError> {
    let root = tree::from_json(text).map_err(|e| UserError::Scenario {
        file: file.to_path_buf(),
        line: e.line(),
        column: e.column(),
        message: format!("not valid JSON: {e}"),
        hint: HINT.into(),
    })?;
    let module = root
        .get("planned_values")
        .or(root.get("values"))
        .and_then(|v| v.get("root_module"));
    let Some(module) = module else {
        return Err(UserError::input(
            format!(
                "{}: no planned_values.root_module or values.root_module",
                file.display()
            ),
            "save the output of `terraform show -json PLANFILE` (or of the state) unchanged",
        ));
    };
    let mut resources: Vec<(String, Node)> = Vec::new();
    collect(module, &mut resources, 0);
    // Expressions of the configuration, to find what a not-yet-known id refers to.
    let mut config: Vec<(String, Node)> = Vec::new();
    if let Some(m) = root.get("configuration").and_then(|c| c.get("root_module")) {
        collect_config(m, "", &mut config, 0);
    }
    let dists: Vec<&(String, Node)> = resources
        .iter()
        .filter(|(a, _)| {
            a.rsplit('.').nth(1) == Some("aws_cloudfront_distribution")
                || a.contains("aws_cloudfront_distribution.")
        })
        .filter(|(a, _)| !a.starts_with("data."))
        .collect();
    let label = file.display().to_string();
    let names: Vec<&str> = dists.iter().map(|x| x.0.as_str()).collect();
    let i = super::pick_distribution(&label, &names, opts.distribution.as_deref(), || {
        UserError::input(
            format!("{label}: no aws_cloudfront_distribution in the plan"),
            HINT,
        )
    })?;
    let (addr, values) = (dists[i].0.clone(), dists[i].1.clone());
    let mut values = values;
    let cfg_addr = addr.split('[').next().unwrap_or(&addr).to_string();
    if let Some((_, expressions)) = config.iter().find(|(a, _)| *a == cfg_addr) {
        fill_unknown_ids(&mut values, expressions);
    }
    let store = TfPolicies {
        resources: resources.into_iter().map(|(a, n)| (a, (n, 0))).collect(),
        files: vec![file.display().to_string()],
    };
    build(&values, &addr, file, ConfigFormat::TerraformPlan, &store)
}

fn collect(module: &Node, out: &mut Vec<(String, Node)>, depth: usize) {
    if depth > 16 {
        return;
    }
    for r in module.get("resources").map(Node::items).unwrap_or(&[]) {
        if let (Some(a), Some(v)) = (r.get("address").and_then(Node::text), r.get("values")) {
            out.push((a, v.clone()));
        }
    }
    for m in module.get("child_modules").map(Node::items).unwrap_or(&[]) {
        collect(m, out, depth + 1);
    }
}

fn collect_config(module: &Node, prefix: &str, out: &mut Vec<(String, Node)>, depth: usize) {
    if depth > 16 {
        return;
    }
    for r in module.get("resources").map(Node::items).unwrap_or(&[]) {
        if let (Some(a), Some(e)) = (r.get("address").and_then(Node::text), r.get("expressions")) {
            out.push((format!("{prefix}{a}"), e.clone()));
        }
    }
    if let Some(V::Map(calls)) = module.get("module_calls").map(|m| &m.v) {
        for (name, call) in calls {
            if let Some(m) = call.get("module") {
                collect_config(m, &format!("{prefix}module.{name}."), out, depth + 1);
            }
        }
    }
}

/// Policy ids a plan does not know yet (created by the same plan): the configuration's
/// reference (`aws_cloudfront_cache_policy.static.id`) names the resource.
fn fill_unknown_ids(values: &mut Node, expressions: &Node) {
    for block in ["default_cache_behavior", "ordered_cache_behavior"] {
        let (Some(V::Seq(items)), Some(exprs)) = (
            map_get_mut(values, block).map(|n| &mut n.v),
            expressions.get(block),
        ) else {
            continue;
        };
        for (i, item) in items.iter_mut().enumerate() {
            let Some(ex) = exprs.items().get(i) else {
                continue;
            };
            for key in [
                "cache_policy_id",
                "origin_request_policy_id",
                "response_headers_policy_id",
            ] {
                let known = item
                    .get(key)
                    .is_some_and(|v| !v.is_null() && v.text() != Some(String::new()));
                if known {
                    continue;
                }
                let refs: Vec<String> = ex
                    .get(key)
                    .and_then(|e| e.get("references"))
                    .map(|r| r.items().iter().filter_map(Node::text).collect())
                    .unwrap_or_default();
                if let Some(r) = refs.iter().find(|r| r.ends_with(".id")) {
                    let addr = r.trim_end_matches(".id").to_string();
                    let (l, c) = (item.line, item.col);
                    if let V::Map(m) = &mut item.v {
                        m.retain(|(k, _)| k != key);
                        m.push((key.to_string(), Node::new(V::Resource(addr), l, c)));
                    }
                }
            }
        }
    }
}

fn map_get_mut<'a>(n: &'a mut Node, key: &str) -> Option<&'a mut Node> {
    match &mut n.v {
        V::Map(m) => m.iter_mut().find(|(k, _)| k == key).map(|(_, v)| v),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// The builder (Terraform's values shape)

/// A nested block: the first of a list (`.tf` and plan JSON alike), or an object.
fn one(n: Option<&Node>) -> Option<&Node> {
    let n = n?;
    match &n.v {
        V::Seq(s) => s.first(),
        V::Map(_) => Some(n),
        _ => None,
    }
}

fn list(n: Option<&Node>) -> Vec<String> {
    n.map(|n| n.items().iter().filter_map(Node::text).collect())
        .unwrap_or_default()
}

/// `cookies { items = [...] }` inside a policy's config block.
fn policy_items(cfg: &Node, block: &str) -> Vec<String> {
    list(one(cfg.get(block)).and_then(|b| b.get("items")))
}

fn err(at: &str, n: &Node, message: impl Into<String>) -> BuildError {
    BuildError {
        at: at.to_string(),
        line: n.line,
        col: n.col,
        message: message.into(),
    }
}

fn u64_of(n: &Node, key: &str, at: &str, default: u64) -> Result<u64, BuildError> {
    match field(n, key, at)? {
        None => Ok(default),
        Some(v) => v.as_u64().ok_or_else(|| {
            err(
                &format!("{at}.{key}"),
                v,
                format!("{key} must be a non-negative integer"),
            )
        }),
    }
}

fn build(
    values: &Node,
    addr: &str,
    file: &Path,
    format: ConfigFormat,
    store: &TfPolicies,
) -> Result<BehaviorSet, UserError> {
    let fname = file.display().to_string();
    let ctx = Ctx {
        file: &fname,
        policies: store,
    };
    let inner = || -> Result<BehaviorSet, BuildError> {
        let origins: Vec<OriginSettings> = values
            .get("origin")
            .map(Node::items)
            .unwrap_or(&[])
            .iter()
            .filter_map(|o| {
                let shield = one(o.get("origin_shield"));
                Some(OriginSettings {
                    id: o.get("origin_id")?.text()?,
                    domain: o.get("domain_name").and_then(Node::text),
                    protocol_policy: one(o.get("custom_origin_config"))
                        .and_then(|c| c.get("origin_protocol_policy"))
                        .and_then(Node::text),
                    origin_shield_region: shield
                        .filter(|s| s.get("enabled").and_then(Node::as_bool) == Some(true))
                        .and_then(|s| s.get("origin_shield_region"))
                        .and_then(Node::text),
                })
            })
            .collect();
        let mut http2 = Vec::new();
        let mut behaviors = Vec::new();
        if let Some(ob) = field(values, "ordered_cache_behavior", addr)? {
            for (i, item) in ob.items().iter().enumerate() {
                let at = format!("{addr}.ordered_cache_behavior[{i}]");
                let Some(p) = field(item, "path_pattern", &at)?.and_then(Node::text) else {
                    return Err(err(&at, item, "no path_pattern"));
                };
                if let Err(m) = pattern::validate(&p) {
                    return Err(err(&at, item, m));
                }
                behaviors.push(tf_behavior(item, &p, &at, &ctx, &origins, &mut http2)?);
            }
        }
        let Some(d) = one(field(values, "default_cache_behavior", addr)?) else {
            return Err(err(addr, values, "no default_cache_behavior"));
        };
        behaviors.push(tf_behavior(
            d,
            "*",
            &format!("{addr}.default_cache_behavior"),
            &ctx,
            &origins,
            &mut http2,
        )?);
        let mut error_responses = Vec::new();
        for (i, e) in values
            .get("custom_error_response")
            .map(Node::items)
            .unwrap_or(&[])
            .iter()
            .enumerate()
        {
            let at = format!("{addr}.custom_error_response[{i}]");
            let Some(code) = field(e, "error_code", &at)?.and_then(Node::as_u64) else {
                return Err(err(&at, e, "no error_code"));
            };
            let min = field(e, "error_caching_min_ttl", &at)?;
            error_responses.push(ErrorResponse {
                code: code.min(999) as u16,
                min_ttl: min.and_then(Node::as_u64),
                at: ctx.at(min.unwrap_or(e)),
            });
        }
        // Load balancer target groups in the same files: HTTP/2 to the nodes.
        for (a, (n, f)) in &store.resources {
            let target_group =
                a.starts_with("aws_lb_target_group.") || a.starts_with("aws_alb_target_group.");
            let http2_version = n.get("protocol_version").filter(|v| {
                v.text().is_some_and(|t| {
                    t.eq_ignore_ascii_case("HTTP2") || t.eq_ignore_ascii_case("GRPC")
                })
            });
            if let (true, Some(pv)) = (target_group, http2_version) {
                http2.push(Http2ToOrigin {
                    what: format!(
                        "{a}: protocol_version = {} (the load balancer speaks HTTP/2 to the nodes)",
                        pv.text().unwrap_or_default()
                    ),
                    at: (pv.line > 0).then(|| SourceRef {
                        file: store.files.get(*f).cloned().unwrap_or_default(),
                        line: pv.line,
                    }),
                });
            }
        }
        let set = BehaviorSet::new(behaviors).with_input(ConfigInput {
            file: fname.clone(),
            format,
            error_responses,
            http2_to_origin: http2,
            origin_waf_allows: Vec::new(),
        });
        Ok(set)
    };
    inner().map_err(|e| e.into_user(file, HINT))
}

fn tf_behavior(
    item: &Node,
    pat: &str,
    at: &str,
    ctx: &Ctx,
    origins: &[OriginSettings],
    http2: &mut Vec<Http2ToOrigin>,
) -> Result<Behavior, BuildError> {
    if let V::Unresolved(why) = &item.v {
        return Err(err(at, item, why.clone()));
    }
    let mut b = Behavior::legacy(
        pat,
        &GET_HEAD,
        TtlSettings::CONSOLE_DEFAULT,
        KeyPolicy::none(),
    );
    let methods = |k: &str| -> Result<Vec<String>, BuildError> {
        let m = list(field(item, k, at)?);
        Ok(if m.is_empty() {
            GET_HEAD.iter().map(|s| s.to_string()).collect()
        } else {
            m.into_iter().map(|s| s.to_ascii_uppercase()).collect()
        })
    };
    b.methods = methods("allowed_methods")?;
    b.cached_methods = methods("cached_methods")?;
    b.compress = field(item, "compress", at)?
        .and_then(Node::as_bool)
        .unwrap_or(false);
    let src = |n: &Node| ctx.at(n);
    if let Some(s) = src(item) {
        b.source.insert(String::new(), s);
    }
    if let Some(s) = item.get("allowed_methods").and_then(src) {
        b.source.insert("methods".into(), s);
    }
    let policy_id = field(item, "cache_policy_id", at)?.filter(|v| v.text().as_deref() != Some(""));
    let fv = one(field(item, "forwarded_values", at)?);
    let mut forward;
    if let Some(id) = policy_id {
        ctx.use_cache_policy(&mut b, id, at);
        forward = ForwardPolicy::from(&b.key);
    } else if let Some(fv) = fv {
        b.ttl = TtlSettings::new(
            u64_of(item, "min_ttl", at, TtlSettings::CONSOLE_DEFAULT.min)?,
            u64_of(
                item,
                "default_ttl",
                at,
                TtlSettings::CONSOLE_DEFAULT.default,
            )?,
            u64_of(item, "max_ttl", at, TtlSettings::CONSOLE_DEFAULT.max)?,
        );
        if let Some(s) = item.get("min_ttl").or(item.get("max_ttl")).and_then(src) {
            b.source.insert("ttl".into(), s);
        }
        let fat = format!("{at}.forwarded_values");
        let cookies = one(field(fv, "cookies", &fat)?);
        let cookie_forward = cookies.and_then(|c| c.get("forward")).and_then(Node::text);
        let whitelist = list(cookies.and_then(|c| c.get("whitelisted_names")));
        let c = super::legacy_cookies(cookie_forward.as_deref(), whitelist).map_err(|other| {
            err(
                &fat,
                fv,
                format!("cookies.forward {other:?} is not none|whitelist|all"),
            )
        })?;
        if let Some(s) = cookies.and_then(src) {
            b.source.insert("cookies".into(), s);
        }
        let h = list(field(fv, "headers", &fat)?);
        if let Some(s) = fv.get("headers").and_then(src) {
            b.source.insert("headers".into(), s);
        }
        let qs = field(fv, "query_string", &fat)?
            .and_then(Node::as_bool)
            .unwrap_or(false);
        let keys = list(field(fv, "query_string_cache_keys", &fat)?);
        if let Some(s) = fv
            .get("query_string_cache_keys")
            .or(fv.get("query_string"))
            .and_then(src)
        {
            b.source.insert("query".into(), s);
        }
        (b.key, forward) = super::legacy_key(c, h, qs, keys);
    } else {
        return Err(err(
            at,
            item,
            "neither forwarded_values nor cache_policy_id",
        ));
    }
    if let Some(id) =
        field(item, "origin_request_policy_id", at)?.filter(|v| v.text().as_deref() != Some(""))
    {
        ctx.use_origin_request_policy(&mut b, &mut forward, id, at);
    }
    if let Some(id) =
        field(item, "response_headers_policy_id", at)?.filter(|v| v.text().as_deref() != Some(""))
    {
        ctx.use_response_headers_policy(&mut b, id, at);
    }
    b.origin_forward = forward.union_key(&b.key);
    if let Some(o) = item.get("target_origin_id").and_then(Node::text) {
        b.origin = Some(
            origins
                .iter()
                .find(|x| x.id == o)
                .cloned()
                .unwrap_or(OriginSettings {
                    id: o,
                    ..Default::default()
                }),
        );
    }
    if let Some(g) = one(item.get("grpc_config"))
        && g.get("enabled").and_then(Node::as_bool) == Some(true)
    {
        http2.push(Http2ToOrigin {
            what: format!(
                "{at}: grpc_config enabled (CloudFront speaks HTTP/2 to the origin for gRPC)"
            ),
            at: src(g),
        });
    }
    Ok(b)
}

struct TfPolicies {
    /// address -> (values, file index)
    resources: Vec<(String, (Node, usize))>,
    files: Vec<String>,
}

impl TfPolicies {
    fn resource(&self, v: &Node, ty: &str) -> Option<Result<(&Node, String, usize), Unknown>> {
        let V::Resource(addr) = &v.v else { return None };
        let found = self.resources.iter().find(|(a, _)| a == addr);
        match found {
            Some((a, (n, f)))
                if a.starts_with(&format!("{ty}.")) || a.contains(&format!(".{ty}.")) =>
            {
                Some(Ok((n, a.clone(), *f)))
            }
            Some((a, _)) => Some(Err((a.clone(), format!("{a} is not an {ty}")))),
            None => Some(Err((
                addr.clone(),
                format!("{addr} is not declared in these files"),
            ))),
        }
    }

    fn ctx(&self, f: usize) -> Ctx<'_> {
        Ctx {
            file: self.files.get(f).map(String::as_str).unwrap_or(""),
            policies: &ManagedOnly,
        }
    }
}

/// `cookies_config { cookie_behavior = "whitelist" cookies { items = [...] } }`.
fn tf_set(
    cfg: Option<&Node>,
    beh: &str,
    items: &str,
    what: &str,
    w: &mut Vec<String>,
    at: &str,
) -> Result<NameSet, Unknown> {
    let Some(c) = one(cfg) else {
        return Ok(NameSet::None);
    };
    let b = c.get(beh).and_then(Node::text);
    behavior_set(b.as_deref(), policy_items(c, items), what, w).map_err(|m| (at.to_string(), m))
}

fn named(label: String, ctx_name: Option<String>) -> String {
    ctx_name.filter(|n| !n.is_empty()).unwrap_or(label)
}

impl Policies for TfPolicies {
    fn cache(&self, v: &Node) -> Result<CachePolicyDef, Unknown> {
        let Some(r) = self.resource(v, "aws_cloudfront_cache_policy") else {
            return ManagedOnly.cache(v);
        };
        let (n, addr, f) = r?;
        let at = &addr;
        let u = |k: &str, d: u64| n.get(k).and_then(Node::as_u64).unwrap_or(d);
        let ttl = TtlSettings::new(
            u("min_ttl", 1),
            u("default_ttl", TtlSettings::CONSOLE_DEFAULT.default),
            u("max_ttl", TtlSettings::CONSOLE_DEFAULT.max),
        );
        let p = one(n.get("parameters_in_cache_key_and_forwarded_to_origin"));
        let mut w = Vec::new();
        let key = KeyPolicy {
            cookies: tf_set(
                p.and_then(|p| p.get("cookies_config")),
                "cookie_behavior",
                "cookies",
                "cookies_config",
                &mut w,
                at,
            )?,
            headers: tf_set(
                p.and_then(|p| p.get("headers_config")),
                "header_behavior",
                "headers",
                "headers_config",
                &mut w,
                at,
            )?,
            query: tf_set(
                p.and_then(|p| p.get("query_strings_config")),
                "query_string_behavior",
                "query_strings",
                "query_strings_config",
                &mut w,
                at,
            )?,
        };
        if let Some(why) = n.unresolved() {
            w.push(format!("{addr}: {why}"));
        }
        let ctx = self.ctx(f);
        let mut at = Vec::new();
        for (what, node) in [
            ("ttl", n.get("min_ttl").or(n.get("max_ttl"))),
            ("cookies", p.and_then(|p| p.get("cookies_config"))),
            ("headers", p.and_then(|p| p.get("headers_config"))),
            ("query", p.and_then(|p| p.get("query_strings_config"))),
        ] {
            if let Some(s) = node.or(p).or(Some(n)).and_then(|x| ctx.at(x)) {
                at.push((what, s));
            }
        }
        let on = |k: &str| p.and_then(|p| p.get(k)).and_then(Node::as_bool) == Some(true);
        Ok(CachePolicyDef {
            name: named(addr.clone(), n.get("name").and_then(Node::text)),
            ttl,
            key,
            accept_encoding: AcceptEncodings {
                gzip: on("enable_accept_encoding_gzip"),
                br: on("enable_accept_encoding_brotli"),
            },
            warnings: w,
            at,
        })
    }

    fn origin_request(&self, v: &Node) -> Result<OriginRequestDef, Unknown> {
        let Some(r) = self.resource(v, "aws_cloudfront_origin_request_policy") else {
            return ManagedOnly.origin_request(v);
        };
        let (n, addr, f) = r?;
        let at = &addr;
        let mut w = Vec::new();
        let forward = ForwardPolicy {
            cookies: tf_set(
                n.get("cookies_config"),
                "cookie_behavior",
                "cookies",
                "cookies_config",
                &mut w,
                at,
            )?,
            headers: tf_set(
                n.get("headers_config"),
                "header_behavior",
                "headers",
                "headers_config",
                &mut w,
                at,
            )?,
            query: tf_set(
                n.get("query_strings_config"),
                "query_string_behavior",
                "query_strings",
                "query_strings_config",
                &mut w,
                at,
            )?,
        };
        Ok(OriginRequestDef {
            name: named(addr.clone(), n.get("name").and_then(Node::text)),
            forward,
            warnings: w,
            at: self.ctx(f).at(n),
        })
    }

    fn response_headers(&self, v: &Node) -> Result<ResponseHeadersDef, Unknown> {
        let Some(r) = self.resource(v, "aws_cloudfront_response_headers_policy") else {
            return ManagedOnly.response_headers(v);
        };
        let (n, addr, f) = r?;
        let cors = one(n.get("cors_config")).map(|c| CorsPolicy {
            allow_origins: policy_items(c, "access_control_allow_origins"),
            allow_methods: policy_items(c, "access_control_allow_methods"),
            allow_headers: policy_items(c, "access_control_allow_headers"),
            allow_credentials: c
                .get("access_control_allow_credentials")
                .and_then(Node::as_bool)
                .unwrap_or(false),
            origin_override: c
                .get("origin_override")
                .and_then(Node::as_bool)
                .unwrap_or(false),
        });
        let headers = one(n.get("custom_headers_config"))
            .map(|c| {
                c.get("items")
                    .map(Node::items)
                    .unwrap_or(&[])
                    .iter()
                    .filter_map(|i| Some((i.get("header")?.text()?, i.get("value")?.text()?)))
                    .collect()
            })
            .unwrap_or_default();
        Ok(ResponseHeadersDef {
            name: named(addr.clone(), n.get("name").and_then(Node::text)),
            cors,
            headers,
            at: self.ctx(f).at(n),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iac(p: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/iac")
            .join(p)
    }

    fn opts(params: &[(&str, &str)]) -> LoadOptions {
        LoadOptions {
            format: None,
            parameters: params
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn tf_directory_resolves_variables_locals_resources_and_managed_data_sources() {
        let set = from_dir(
            &iac("terraform"),
            &opts(&[("origin_domain", "jira.example.com")]),
        )
        .unwrap();
        let b = &set.behaviors;
        let pats: Vec<&str> = b.iter().map(|b| b.pattern.as_str()).collect();
        assert_eq!(
            pats,
            [
                "/jira/s/*",
                "/jira/secure/projectavatar*",
                "/jira/synchrony/*",
                "*"
            ]
        );
        // Legacy forwarded values with a wildcard cookie whitelist.
        assert!(
            b[0].key.cookies.contains("AWSALBCORS"),
            "AWSALB* is a wildcard"
        );
        assert!(b[0].key.headers.contains_header("user-agent"));
        assert_eq!(b[0].response_headers_policy.as_deref(), Some("jira-static"));
        assert_eq!(
            b[0].response_headers,
            [("X-Lab-Behavior".to_string(), "s".to_string())]
        );
        assert!(b[0].cors.as_ref().unwrap().origin_override);
        let o = b[0].origin.as_ref().unwrap();
        assert_eq!(o.id, "jira-alb");
        assert_eq!(o.domain.as_deref(), Some("jira.example.com"));
        assert_eq!(o.origin_shield_region.as_deref(), Some("eu-west-1"));
        // A custom cache policy and origin request policy of the files.
        assert_eq!(b[1].cache_policy.as_deref(), Some("jira-avatars"));
        assert_eq!(
            b[1].key.query,
            NameSet::Whitelist(vec!["pid".into(), "avatarId".into()])
        );
        assert_eq!(b[1].origin_forward.query, NameSet::All);
        assert_eq!(b[1].ttl, TtlSettings::new(86_400, 86_400, 86_400));
        assert!(b[1].source["cache_policy"].file.ends_with("main.tf"));
        assert_eq!(b[1].source["cache_policy"].line, 47);
        assert!(b[1].source["query"].file.ends_with("policies.tf"));
        assert_eq!(b[1].source["query"].line, 20);
        // Managed policies by name through data sources.
        assert_eq!(b[3].cache_policy.as_deref(), Some("CachingDisabled"));
        assert_eq!(b[3].origin_request_policy.as_deref(), Some("AllViewer"));
        let input = set.input.unwrap();
        assert_eq!(input.format, ConfigFormat::Terraform);
        assert_eq!(input.error_responses[0].code, 502);
        assert_eq!(input.error_responses[0].min_ttl, Some(300));
        assert_eq!(input.error_responses[0].at.as_ref().unwrap().line, 71);
        assert_eq!(
            input.http2_to_origin.len(),
            1,
            "{:?}",
            input.http2_to_origin
        );
        assert!(b.iter().all(|b| b.warnings.is_empty()), "{b:#?}");
    }

    #[test]
    fn dynamic_blocks_for_each_count_and_functions_of_the_module_shape() {
        let set = from_dir(&iac("terraform-dynamic"), &opts(&[])).unwrap();
        let patterns: Vec<&str> = set.behaviors.iter().map(|b| b.pattern.as_str()).collect();
        assert_eq!(
            patterns,
            [
                "/jira/s/*",
                "/jira/download/resources/*",
                "/jira/images/*",
                "/jira/secure/viewavatar*",
                "/jira/rest/*",
                "/jira/favicon.ico",
                "*"
            ]
        );
        let b = &set.behaviors;
        // for_each over a map: the "static" instance, its name from try(coalesce(...)).
        assert_eq!(b[0].cache_policy.as_deref(), Some("jira-static"));
        assert_eq!(b[0].ttl, TtlSettings::new(0, 86_400, 31_536_000));
        assert_eq!(b[0].methods, ["GET", "HEAD", "OPTIONS"], "concat()");
        assert!(b[0].compress);
        // count on the CORS policy, origins from merge()/lookup().
        let cors = b[0].cors.as_ref().expect("the counted CORS policy");
        assert!(
            format!("{cors:?}").contains("https://jira.example.com"),
            "{cors:?}"
        );
        // The module's try(coalesce(...)) chain: a key, a managed name through a data source
        // with for_each, and neither (legacy forwarded values from the optional() default).
        assert_eq!(b[3].cache_policy.as_deref(), Some("avatars"));
        assert_eq!(b[3].key.query, NameSet::Whitelist(vec!["avatarId".into()]));
        assert_eq!(b[4].cache_policy.as_deref(), Some("CachingDisabled"));
        assert_eq!(b[4].origin_request_policy.as_deref(), Some("AllViewer"));
        assert_eq!(b[4].methods.len(), 7);
        // The policies' "Cache compressed objects" settings (managed and custom); none when legacy.
        let both = Some(crate::cloudfront::behavior::AcceptEncodings {
            gzip: true,
            br: true,
        });
        assert_eq!(b[3].accept_encoding, both);
        assert_eq!(
            b[4].accept_encoding,
            Some(Default::default()),
            "CachingDisabled"
        );
        assert_eq!(b[5].accept_encoding, None);
        assert_eq!(b[5].cache_policy, None);
        assert_eq!(b[5].key, KeyPolicy::none());
        assert_eq!(b[5].ttl, TtlSettings::CONSOLE_DEFAULT);
        assert!(
            b.iter().all(|b| b.warnings.is_empty()),
            "{:?}",
            b.iter().map(|b| &b.warnings).collect::<Vec<_>>()
        );
        // The setting's line is the content block's use, in main.tf.
        assert_eq!(b[1].source["cache_policy"].line, 29);
        assert_eq!(b[1].source[""].line, 22, "the content block");

        // count = 0: no distribution at all.
        let e = from_dir(&iac("terraform-dynamic"), &opts(&[("create", "false")]))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("no resource \"aws_cloudfront_distribution\""),
            "{e}"
        );
    }

    #[test]
    fn what_cannot_be_evaluated_is_named_never_guessed() {
        let main = std::fs::read_to_string(iac("terraform-dynamic/main.tf")).unwrap();
        let vars = std::fs::read_to_string(iac("terraform-dynamic/variables.tf")).unwrap();
        let pol = std::fs::read_to_string(iac("terraform-dynamic/policies.tf")).unwrap();
        let load = |main: String, vars: String| {
            from_tf_files(
                &[
                    (PathBuf::from("main.tf"), main),
                    (PathBuf::from("variables.tf"), vars),
                    (PathBuf::from("policies.tf"), pol.clone()),
                ],
                &opts(&[]),
            )
            .map_err(|e| e.to_string())
        };
        // A dynamic block over a data source's attribute: named, with the block.
        let e = load(
            main.replace(
                "for_each = local.static_patterns",
                "for_each = data.aws_s3_objects.static.common_prefixes",
            ),
            format!("{vars}\ndata \"aws_s3_objects\" \"static\" {{\n  bucket = \"b\"\n}}\n"),
        )
        .unwrap_err();
        assert!(
            e.contains("dynamic \"ordered_cache_behavior\": for_each: data.aws_s3_objects.static.common_prefixes is known only when Terraform reads the data source"),
            "{e}"
        );
        // An unknown function inside try(): try does not fall back past an unknown value.
        let e = load(
            main.replace("b.value.policy_id, try(", "templatestring(\"x\", {}), try("),
            vars.clone(),
        )
        .unwrap_err();
        assert!(
            e.contains("function templatestring() is not evaluated"),
            "{e}"
        );
        // A module call instead of the resource: the module is named.
        let e = from_tf_files(
            &[(
                PathBuf::from("cdn.tf"),
                "module \"cdn\" {\n  source = \"terraform-aws-modules/cloudfront/aws\"\n}\n".into(),
            )],
            &opts(&[]),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("module \"cdn\" (source \"terraform-aws-modules/cloudfront/aws\")")
                && e.contains("terraform show -json"),
            "{e}"
        );
        // A required attribute missing from an object of the variable's type: Terraform fails.
        let e = load(
            main,
            vars.replace("      path   = \"/jira/favicon.ico\"\n", ""),
        )
        .unwrap_err();
        assert!(
            e.contains("Terraform would fail here") && e.contains("\"path\""),
            "{e}"
        );
    }

    #[test]
    fn tf_unresolved_references_are_named() {
        // origin_domain has no default, but nothing the model needs depends on it.
        assert!(from_dir(&iac("terraform"), &opts(&[])).is_ok());
        let main = std::fs::read_to_string(iac("terraform/main.tf")).unwrap();
        let bad = main.replace(
            "\"${var.context_path}/s/*\"",
            "replace(\"/X/s/*\", \"/X\", var.context_path)",
        );
        let e = from_tf_files(&[(PathBuf::from("main.tf"), bad)], &opts(&[]))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("main.tf:21:"), "{e}");
        assert!(e.contains("function replace() is not evaluated"), "{e}");
        let e = from_tf_files(&[(PathBuf::from("main.tf"), main.clone())], &opts(&[]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("var.context_path is not declared"), "{e}");
        let e = from_tf_files(
            &[(PathBuf::from("main.tf"), main.clone())],
            &opts(&[("context_path", "/wiki")]),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with("main.tf:65:")
                && e.contains("data.aws_cloudfront_cache_policy.disabled is not declared"),
            "{e}"
        );
        let data = "data \"aws_cloudfront_cache_policy\" \"disabled\" {\n  name = \"Managed-CachingDisabled\"\n}\ndata \"aws_cloudfront_origin_request_policy\" \"all_viewer\" {\n  name = \"Managed-AllViewer\"\n}\n";
        let ok = from_tf_files(
            &[
                (PathBuf::from("main.tf"), main),
                (PathBuf::from("data.tf"), data.into()),
            ],
            &opts(&[("context_path", "/wiki")]),
        )
        .unwrap();
        assert_eq!(ok.behaviors[0].pattern, "/wiki/s/*");
        // The avatar policy is in another file: its id is unknown here, a warning says so.
        assert!(
            ok.behaviors[1].warnings[0].contains("aws_cloudfront_cache_policy.avatars"),
            "{:?}",
            ok.behaviors[1].warnings
        );
    }

    #[test]
    fn plan_json_finds_policies_created_by_the_same_plan() {
        let p = iac("terraform-plan.json");
        let text = std::fs::read_to_string(&p).unwrap();
        let set = from_plan_json_str(&text, &p, &opts(&[])).unwrap();
        let b = &set.behaviors;
        assert_eq!(b.len(), 2);
        assert_eq!(b[0].pattern, "/confluence/s/*");
        assert_eq!(b[0].cache_policy.as_deref(), Some("confluence-static"));
        assert_eq!(b[0].key.cookies, NameSet::All);
        assert!(b[0].key.headers.contains_header("accept"));
        assert_eq!(b[0].ttl.min, 1);
        assert_eq!(b[1].cache_policy.as_deref(), Some("CachingDisabled"));
        assert!(b[0].source[""].line > 0);
        let input = set.input.unwrap();
        assert_eq!(input.format, ConfigFormat::TerraformPlan);
        assert_eq!(input.error_responses[0].min_ttl, Some(60));
    }

    #[test]
    fn hcl_errors_point_at_the_line() {
        let e = from_tf_files(
            &[(
                PathBuf::from("x.tf"),
                "resource \"a\" \"b\" {\n  x = \n}\n".into(),
            )],
            &opts(&[]),
        )
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("x.tf:"), "{e}");
        for t in [
            "",
            "resource \"aws_cloudfront_distribution\" \"x\" {}",
            "{{{",
        ] {
            assert!(from_tf_files(&[(PathBuf::from("y.tf"), t.into())], &opts(&[])).is_err());
        }
    }
}
