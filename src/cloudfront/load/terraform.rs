//! Terraform: `.tf` files (one file, or every `.tf` file of a directory) and the JSON of
//! `terraform show -json` (a plan, or the state).
//!
//! Both are read into the same shape, Terraform's own "values" shape (nested blocks as lists of
//! objects), and one builder reads an `aws_cloudfront_distribution` from it. In `.tf` files,
//! `var.x` (its `default`, or `--parameter x=VALUE`), `local.x`, `<type>.<name>.id` of the
//! policies declared in the files, and `data.aws_cloudfront_*_policy.<name>.id` (managed
//! policies by `name`) are resolved; anything else a setting depends on (functions, modules,
//! `dynamic` blocks, other resources' attributes) is named as unresolved, never guessed. In a
//! plan, a policy created by the same plan has no id yet: its `configuration` reference says
//! which resource it is.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use hcl_edit::Span;
use hcl_edit::expr::{Expression, ObjectKey, TraversalOperator};
use hcl_edit::structure::{Body, Structure};

use super::aws::{Ctx, behavior_set, field};
use super::tree::{self, Node, V};
use super::{
    BuildError, CachePolicyDef, LoadOptions, ManagedOnly, OriginRequestDef, Policies,
    ResponseHeadersDef, Unknown, line_col,
};
use crate::cloudfront::behavior::{
    Behavior, BehaviorSet, ConfigFormat, ConfigInput, CorsPolicy, ErrorResponse, ForwardPolicy,
    GET_HEAD, Http2ToOrigin, KeyPolicy, NameSet, OriginSettings, SourceRef, TtlSettings,
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
                _ => {}
            }
        }
    }
    let dists: Vec<&(String, &Body, usize)> = d
        .blocks
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
        UserError::input(
            format!("{label}: no resource \"aws_cloudfront_distribution\""),
            HINT,
        )
    })?;
    let (addr, body, fi) = dists[i];
    let values = d.body_node(body, *fi, 0);
    let file = files[*fi].0.clone();
    let store = TfPolicies {
        resources: d
            .blocks
            .iter()
            .map(|(a, b, f)| (a.clone(), (d.body_node(b, *f, 0), *f)))
            .collect(),
        files: files.iter().map(|f| f.0.display().to_string()).collect(),
    };
    build(&values, addr, &file, ConfigFormat::Terraform, &store)
}

impl Decls<'_> {
    fn body_node(&self, body: &Body, fi: usize, depth: usize) -> Node {
        let mut entries: Vec<(String, Node)> = Vec::new();
        let (line, col) = self.srcs[fi].line(body.span());
        for s in body.iter() {
            match s {
                Structure::Attribute(a) => {
                    let v = self.expr(&a.value, fi, depth);
                    entries.push((a.key.as_str().to_string(), v));
                }
                Structure::Block(b) => {
                    let (l, c) = self.srcs[fi].line(b.span());
                    let (key, node) = if b.ident.as_str() == "dynamic" {
                        let name = b
                            .labels
                            .first()
                            .map(|l| l.as_str())
                            .unwrap_or("")
                            .to_string();
                        let n = Node::new(
                            V::Unresolved(format!(
                                "dynamic \"{name}\" blocks are not evaluated: lint the JSON of `terraform show -json` of a plan instead"
                            )),
                            l,
                            c,
                        );
                        (name, n)
                    } else {
                        let mut n = self.body_node(&b.body, fi, depth + 1);
                        n.line = l;
                        n.col = c;
                        (b.ident.as_str().to_string(), n)
                    };
                    match entries.iter_mut().find(|(k, _)| *k == key) {
                        Some((
                            _,
                            Node {
                                v: V::Seq(items), ..
                            },
                        )) => items.push(node),
                        _ => entries.push((key, Node::new(V::Seq(vec![node]), l, c))),
                    }
                }
            }
        }
        Node::new(V::Map(entries), line.max(1), col)
    }

    fn unresolved(&self, why: String, e: &Expression, fi: usize) -> Node {
        let (l, c) = self.srcs[fi].line(e.span());
        Node::new(V::Unresolved(why), l, c)
    }

    fn expr(&self, e: &Expression, fi: usize, depth: usize) -> Node {
        let (l, c) = self.srcs[fi].line(e.span());
        if depth > 32 {
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
            Expression::FuncCall(f) => {
                return self.unresolved(
                    format!(
                        "function {}() is not evaluated by cdnprobe",
                        f.name.name.as_str()
                    ),
                    e,
                    fi,
                );
            }
            Expression::Variable(v) => {
                return self.unresolved(format!("{} alone is not a value", v.as_str()), e, fi);
            }
            _ => {
                return self.unresolved(
                    "conditional, operator and for expressions are not evaluated by cdnprobe"
                        .into(),
                    e,
                    fi,
                );
            }
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
        let Expression::Variable(root) = &t.expr else {
            return self.unresolved(
                "a traversal of an expression is not evaluated".into(),
                e,
                fi,
            );
        };
        let mut parts = vec![root.as_str().to_string()];
        for op in &t.operators {
            match op.value() {
                TraversalOperator::GetAttr(a) => parts.push(a.as_str().to_string()),
                _ => {
                    return self.unresolved(
                        format!(
                            "{}[...]: indexes and splats are not evaluated",
                            parts.join(".")
                        ),
                        e,
                        fi,
                    );
                }
            }
        }
        let (l, c) = self.srcs[fi].line(e.span());
        let text = parts.join(".");
        let mut found = match parts.as_slice() {
            [v, name] if v == "var" => self.variable(name, e, fi, depth),
            [l, name] if l == "local" => match self.locals.get(name) {
                Some((x, f)) => self.expr(x, *f, depth + 1),
                None => self.unresolved(format!("local.{name} is not declared"), e, fi),
            },
            [d, ty, name, attr] if d == "data" => {
                let addr = format!("data.{ty}.{name}");
                match self.blocks.iter().find(|(a, ..)| *a == addr) {
                    Some((_, body, f))
                        if ty.starts_with("aws_cloudfront_")
                            && ty.ends_with("_policy")
                            && attr == "id" =>
                    {
                        // Managed policies are looked up by name: the name stands for the id.
                        match body.get_attribute("name") {
                            Some(a) => self.expr(&a.value, *f, depth + 1),
                            None => self.unresolved(format!("{addr} has no name"), e, fi),
                        }
                    }
                    Some(_) => self.unresolved(
                        format!("{text} is known only when Terraform reads the data source"),
                        e,
                        fi,
                    ),
                    None => self.unresolved(format!("{addr} is not declared"), e, fi),
                }
            }
            // A policy of another file still names the policy: the store says it is unknown.
            [ty, name, attr]
                if self
                    .blocks
                    .iter()
                    .any(|(a, ..)| *a == format!("{ty}.{name}"))
                    || (ty.starts_with("aws_cloudfront_") && ty.ends_with("_policy")) =>
            {
                if attr == "id" {
                    Node::new(V::Resource(format!("{ty}.{name}")), l, c)
                } else {
                    self.unresolved(
                        format!("{text} is known only after `terraform apply`"),
                        e,
                        fi,
                    )
                }
            }
            _ => self.unresolved(format!("{text} is not declared in these files"), e, fi),
        };
        // The line of the use is where the setting is written.
        found.line = l;
        found.col = c;
        found
    }

    fn variable(&self, name: &str, e: &Expression, fi: usize, depth: usize) -> Node {
        if let Some((_, v)) = self.params.iter().rev().find(|(k, _)| k == name) {
            let (l, c) = self.srcs[fi].line(e.span());
            return Node::new(V::Str(v.clone()), l, c);
        }
        match self.variables.get(name) {
            Some((body, f)) => match body.get_attribute("default") {
                Some(a) => self.expr(&a.value, *f, depth + 1),
                None => self.unresolved(
                    format!("var.{name} has no default: pass --parameter {name}=VALUE"),
                    e,
                    fi,
                ),
            },
            None => self.unresolved(format!("var.{name} is not declared"), e, fi),
        }
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
            u64_of(item, "min_ttl", at, 0)?,
            u64_of(item, "default_ttl", at, 86_400)?,
            u64_of(item, "max_ttl", at, 31_536_000)?,
        );
        if let Some(s) = item.get("min_ttl").or(item.get("max_ttl")).and_then(src) {
            b.source.insert("ttl".into(), s);
        }
        let fat = format!("{at}.forwarded_values");
        let cookies = one(field(fv, "cookies", &fat)?);
        let c = match cookies
            .and_then(|c| c.get("forward"))
            .and_then(Node::text)
            .as_deref()
        {
            None | Some("none") => NameSet::None,
            Some("all") => NameSet::All,
            Some("whitelist") => {
                let n = list(cookies.and_then(|c| c.get("whitelisted_names")));
                if n.is_empty() {
                    NameSet::None
                } else {
                    NameSet::Whitelist(n)
                }
            }
            Some(other) => {
                return Err(err(
                    &fat,
                    fv,
                    format!("cookies.forward {other:?} is not none|whitelist|all"),
                ));
            }
        };
        if let Some(s) = cookies.and_then(src) {
            b.source.insert("cookies".into(), s);
        }
        let h = list(field(fv, "headers", &fat)?);
        if let Some(s) = fv.get("headers").and_then(src) {
            b.source.insert("headers".into(), s);
        }
        let headers = if h.iter().any(|x| x == "*") {
            NameSet::All
        } else if h.is_empty() {
            NameSet::None
        } else {
            NameSet::Whitelist(h)
        };
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
        let (kq, fq) = match (qs, keys.is_empty()) {
            (false, _) => (NameSet::None, NameSet::None),
            (true, true) => (NameSet::All, NameSet::All),
            (true, false) => (NameSet::Whitelist(keys), NameSet::All),
        };
        b.key = KeyPolicy {
            cookies: c,
            query: kq,
            headers,
        };
        forward = ForwardPolicy::from(&b.key);
        forward.query = fq;
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
            u("default_ttl", 86_400),
            u("max_ttl", 31_536_000),
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
        Ok(CachePolicyDef {
            name: named(addr.clone(), n.get("name").and_then(Node::text)),
            ttl,
            key,
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
    fn tf_unresolved_references_are_named() {
        // origin_domain has no default, but nothing the model needs depends on it.
        assert!(from_dir(&iac("terraform"), &opts(&[])).is_ok());
        let main = std::fs::read_to_string(iac("terraform/main.tf")).unwrap();
        let bad = main.replace(
            "\"${var.context_path}/s/*\"",
            "format(\"%s/s/*\", var.context_path)",
        );
        let e = from_tf_files(&[(PathBuf::from("main.tf"), bad)], &opts(&[]))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("main.tf:21:"), "{e}");
        assert!(e.contains("function format()"), "{e}");
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
