//! CloudFormation templates (YAML or JSON): the `AWS::CloudFront::Distribution`'s
//! `DistributionConfig`, with intrinsic functions resolved the way CloudFormation would before
//! creating the stack.
//!
//! Resolved: `Ref` (parameters from `--parameter Name=Value` or their `Default`, `AWS::NoValue`,
//! pseudo parameters given with `--parameter`, and resources of the template), `Fn::Sub` (both
//! forms), `Fn::If` with `Conditions` (`Fn::Equals`, `Fn::And`, `Fn::Or`, `Fn::Not`,
//! `Condition`), `Fn::Join`, `Fn::Select`, `Fn::Split`, `Fn::FindInMap`, `Fn::GetAtt` on the
//! template's own CloudFront policies (`.Id`). A policy id given as `!Ref` or `!GetAtt` to an
//! `AWS::CloudFront::CachePolicy` / `OriginRequestPolicy` / `ResponseHeadersPolicy` of the
//! template is read from that resource. What only a deployed stack knows (`AWS::AccountId`
//! without `--parameter`, `Fn::ImportValue`, other resources' attributes) stays unresolved: an
//! error when a setting the model needs depends on it, ignored elsewhere.

use std::collections::HashMap;
use std::path::Path;

use super::tree::{self, Node, V};
use super::{
    BuildError, CachePolicyDef, LoadOptions, OriginRequestDef, Policies, ResponseHeadersDef,
    Unknown, aws,
};
use crate::cloudfront::behavior::{
    BehaviorSet, ConfigFormat, ConfigInput, Http2ToOrigin, SourceRef, UriMatch, WafAllow,
};
use crate::error::UserError;

const HINT: &str = "expected a CloudFormation template with one AWS::CloudFront::Distribution resource (Resources.<Name>.Properties.DistributionConfig)";

struct Template<'a> {
    params: HashMap<String, Node>,
    conditions: Option<&'a Node>,
    mappings: Option<&'a Node>,
    resources: Option<&'a Node>,
    cond_cache: std::cell::RefCell<HashMap<String, Result<bool, String>>>,
}

pub(super) fn from_str(
    text: &str,
    file: &Path,
    format: ConfigFormat,
    opts: &LoadOptions,
) -> Result<BehaviorSet, UserError> {
    let root = if format == ConfigFormat::CloudformationJson {
        tree::from_json(text).map_err(|e| UserError::Scenario {
            file: file.to_path_buf(),
            line: e.line(),
            column: e.column(),
            message: format!("not valid JSON: {e}"),
            hint: HINT.into(),
        })?
    } else {
        tree::from_yaml(text).map_err(|(line, column, m)| UserError::Scenario {
            file: file.to_path_buf(),
            line,
            column,
            message: format!("not valid YAML: {m}"),
            hint: HINT.into(),
        })?
    };
    let fname = file.display().to_string();
    let t = Template::new(&root, opts).map_err(|e| e.into_user(file, HINT))?;
    let Some(resources) = t.resources else {
        return Err(UserError::input(
            format!("{fname}: no Resources section"),
            HINT,
        ));
    };
    let mut dists = Vec::new();
    for (name, r) in resources_of(resources) {
        if type_of(r) == Some("AWS::CloudFront::Distribution")
            && t.resource_enabled(r).map_err(|e| e.into_user(file, HINT))?
        {
            dists.push((name, r));
        }
    }
    let names: Vec<&str> = dists.iter().map(|(n, _)| n.as_str()).collect();
    let i = super::pick_distribution(&fname, &names, opts.distribution.as_deref(), || {
        UserError::input(
            format!("{fname}: no AWS::CloudFront::Distribution resource (with its Condition true)"),
            HINT,
        )
    })?;
    let (name, dist) = (dists[i].0.clone(), dists[i].1);
    let at = format!("Resources.{name}.Properties.DistributionConfig");
    let Some(cfg) = dist
        .get("Properties")
        .and_then(|p| p.get("DistributionConfig"))
    else {
        return Err(BuildError {
            at,
            line: dist.line,
            col: dist.col,
            message: "no Properties.DistributionConfig".into(),
        }
        .into_user(file, HINT));
    };
    let cfg = t.resolve(cfg, 0);
    let store = CfnPolicies {
        t: &t,
        file: &fname,
    };
    let ctx = aws::Ctx {
        file: &fname,
        policies: &store,
    };
    let (behaviors, mut extras) =
        aws::distribution(&cfg, &at, &ctx).map_err(|e| e.into_user(file, HINT))?;
    // The ALB in front of the application: HTTP/2 on its target group is HTTP/2 to the nodes.
    for (tg, r) in resources_of(resources) {
        if type_of(r) != Some("AWS::ElasticLoadBalancingV2::TargetGroup") {
            continue;
        }
        if let Some(pv) = r.get("Properties").and_then(|p| p.get("ProtocolVersion")) {
            let pv_r = t.resolve(pv, 0);
            if let Some(v) = pv_r.text()
                && (v.eq_ignore_ascii_case("HTTP2") || v.eq_ignore_ascii_case("GRPC"))
            {
                extras.http2_to_origin.push(Http2ToOrigin {
                    what: format!("target group {tg}: ProtocolVersion {v} (the load balancer speaks HTTP/2 to the nodes)"),
                    at: (pv.line > 0).then(|| SourceRef {
                        file: fname.clone(),
                        line: pv.line,
                    }),
                });
            }
        }
    }
    let mut waf = Vec::new();
    for (acl, r) in resources_of(resources) {
        if type_of(r) == Some("AWS::WAFv2::WebACL")
            && t.resource_enabled(r).map_err(|e| e.into_user(file, HINT))?
        {
            waf.extend(waf_allowed_paths(&acl, &t.resolve(r, 0), &fname, &t));
        }
    }
    let set = BehaviorSet::new(behaviors).with_input(ConfigInput {
        file: fname,
        format,
        error_responses: extras.error_responses,
        http2_to_origin: extras.http2_to_origin,
        origin_waf_allows: waf,
    });
    Ok(set)
}

/// A WebACL that blocks by default: the URI paths its `Allow` rules let through (string match
/// statements on `UriPath` with any `PositionalConstraint`, regex match statements, regex pattern
/// set references, and `OrStatement`s of these). Empty when it allows by default or a rule says
/// something else (then nothing is claimed: the lint names no path it cannot judge).
fn waf_allowed_paths(acl: &str, r: &Node, file: &str, t: &Template) -> Vec<WafAllow> {
    let Some(p) = r.get("Properties") else {
        return Vec::new();
    };
    if p.get("DefaultAction")
        .and_then(|d| d.get("Block"))
        .is_none()
    {
        return Vec::new();
    }
    let mut out = Vec::new();
    for rule in p.get("Rules").map(Node::items).unwrap_or(&[]) {
        if rule.get("Action").and_then(|a| a.get("Allow")).is_none() {
            continue;
        }
        let Some(paths) = rule.get("Statement").and_then(|s| uri_matches(s, t, 0)) else {
            return Vec::new();
        };
        for (path, at) in paths {
            out.push(WafAllow {
                acl: acl.to_string(),
                path,
                at: (at > 0).then(|| SourceRef {
                    file: file.to_string(),
                    line: at,
                }),
            });
        }
    }
    out
}

/// The URI path matches a WAF statement allows, with the line of each; `None` when it inspects
/// anything else or in a way not modelled.
fn uri_matches(stmt: &Node, t: &Template, depth: usize) -> Option<Vec<(UriMatch, u32)>> {
    if depth > 8 {
        return None;
    }
    if let Some(or) = stmt.get("OrStatement") {
        let mut all = Vec::new();
        for s in or.get("Statements").map(Node::items).unwrap_or(&[]) {
            all.extend(uri_matches(s, t, depth + 1)?);
        }
        return (!all.is_empty()).then_some(all);
    }
    let (m, kind) = [
        "ByteMatchStatement",
        "RegexMatchStatement",
        "RegexPatternSetReferenceStatement",
    ]
    .into_iter()
    .find_map(|k| stmt.get(k).map(|m| (m, k)))?;
    m.get("FieldToMatch")?.get("UriPath")?;
    // AWS WAF applies the transformations before matching. The lint's probe paths are plain
    // ASCII without `%`, so URL decoding leaves them as they are; LOWERCASE lowercases them;
    // anything else is not modelled.
    let mut lower = false;
    for tt in m.get("TextTransformations").map(Node::items).unwrap_or(&[]) {
        match tt.get("Type").and_then(Node::as_str)? {
            "NONE" | "URL_DECODE" | "URL_DECODE_UNI" => {}
            "LOWERCASE" => lower = true,
            _ => return None,
        }
    }
    let (matcher, at) = match kind {
        "ByteMatchStatement" => {
            let s = m.get("SearchString")?;
            let text = s.text()?;
            let c = m.get("PositionalConstraint").and_then(Node::as_str)?;
            let mm = match c {
                "STARTS_WITH" => UriMatch::StartsWith(text),
                "ENDS_WITH" => UriMatch::EndsWith(text),
                "CONTAINS" => UriMatch::Contains(text),
                "CONTAINS_WORD" => UriMatch::ContainsWord(text),
                "EXACTLY" => UriMatch::Exactly(text),
                _ => return None,
            };
            (mm, s.line)
        }
        "RegexMatchStatement" => {
            let s = m.get("RegexString")?;
            (UriMatch::Regex(vec![s.text()?]), s.line)
        }
        _ => {
            // The pattern set's expressions, from its resource in the template (`!GetAtt Set.Arn`).
            let arn = m.get("Arn")?;
            let V::Resource(name) = &arn.v else {
                return None;
            };
            let set = t.resolve(t.resource(name)?, 0);
            let list: Vec<String> = set
                .get("Properties")?
                .get("RegularExpressionList")?
                .items()
                .iter()
                .map(Node::text)
                .collect::<Option<_>>()?;
            (UriMatch::Regex(list), arn.line)
        }
    };
    // A pattern the regex engine cannot read (look-around, back-references): not judged.
    if let UriMatch::Regex(list) = &matcher
        && (list.is_empty() || list.iter().any(|r| regex::Regex::new(r).is_err()))
    {
        return None;
    }
    let matcher = if lower {
        UriMatch::Lowercase(Box::new(matcher))
    } else {
        matcher
    };
    Some(vec![(matcher, at)])
}

fn resources_of(resources: &Node) -> Vec<(String, &Node)> {
    match &resources.v {
        V::Map(m) => m.iter().map(|(k, v)| (k.clone(), v)).collect(),
        _ => Vec::new(),
    }
}

fn type_of(r: &Node) -> Option<&str> {
    r.get("Type").and_then(Node::as_str)
}

fn unresolved(why: String, n: &Node) -> Node {
    Node::new(V::Unresolved(why), n.line, n.col)
}

impl<'a> Template<'a> {
    fn new(root: &'a Node, opts: &LoadOptions) -> Result<Template<'a>, BuildError> {
        let mut params = HashMap::new();
        if let Some(V::Map(ps)) = root.get("Parameters").map(|p| &p.v) {
            for (name, p) in ps {
                let given = opts.parameters.iter().rev().find(|(k, _)| k == name);
                let list = p
                    .get("Type")
                    .and_then(Node::as_str)
                    .is_some_and(|t| t.starts_with("CommaDelimitedList") || t.starts_with("List<"));
                let value = match (given, p.get("Default")) {
                    (Some((_, v)), _) => Node::new(V::Str(v.clone()), p.line, p.col),
                    (None, Some(d)) => d.clone(),
                    (None, None) => unresolved(
                        format!("parameter {name} has no Default: pass --parameter {name}=VALUE"),
                        p,
                    ),
                };
                let value = match (&value.v, list) {
                    (V::Str(s), true) => Node::new(
                        V::Seq(
                            s.split(',')
                                .map(|x| Node::new(V::Str(x.trim().into()), value.line, value.col))
                                .collect(),
                        ),
                        value.line,
                        value.col,
                    ),
                    _ => value,
                };
                params.insert(name.clone(), value);
            }
        }
        // Pseudo parameters only when given: their values depend on where the stack is deployed.
        for (k, v) in &opts.parameters {
            if k.starts_with("AWS::") {
                params.insert(k.clone(), Node::new(V::Str(v.clone()), 0, 0));
            }
        }
        Ok(Template {
            params,
            conditions: root.get("Conditions"),
            mappings: root.get("Mappings"),
            resources: root.get("Resources"),
            cond_cache: Default::default(),
        })
    }

    fn resource(&self, name: &str) -> Option<&'a Node> {
        self.resources.and_then(|r| r.get(name))
    }

    fn resource_enabled(&self, r: &Node) -> Result<bool, BuildError> {
        match r.get("Condition").and_then(Node::as_str) {
            None => Ok(true),
            Some(c) => self.condition(c, 0).map_err(|m| BuildError {
                at: format!("Condition {c}"),
                line: r.line,
                col: r.col,
                message: m,
            }),
        }
    }

    fn condition(&self, name: &str, depth: usize) -> Result<bool, String> {
        if let Some(v) = self.cond_cache.borrow().get(name) {
            return v.clone();
        }
        let Some(c) = self.conditions.and_then(|c| c.get(name)) else {
            return Err(format!("condition {name} is not in Conditions"));
        };
        let v = self.eval_condition(c, depth + 1);
        self.cond_cache
            .borrow_mut()
            .insert(name.to_string(), v.clone());
        v
    }

    fn eval_condition(&self, n: &Node, depth: usize) -> Result<bool, String> {
        if depth > 32 {
            return Err("conditions nest too deep (a cycle?)".into());
        }
        let V::Map(m) = &n.v else {
            return n
                .as_bool()
                .ok_or_else(|| "a condition must be a condition function".to_string());
        };
        let Some((k, arg)) = m.first() else {
            return Err("empty condition".into());
        };
        let args = arg.items();
        match k.as_str() {
            "Condition" => self.condition(arg.as_str().unwrap_or_default(), depth),
            "Fn::Equals" => {
                if args.len() != 2 {
                    return Err("Fn::Equals takes two values".into());
                }
                let a = self.resolve(&args[0], depth);
                let b = self.resolve(&args[1], depth);
                if let Some(why) = a.unresolved().or(b.unresolved()) {
                    return Err(why);
                }
                Ok(a.text() == b.text() && a.text().is_some() || a.v == b.v)
            }
            "Fn::Not" => Ok(!self.eval_condition(args.first().unwrap_or(arg), depth + 1)?),
            "Fn::And" => {
                for a in args {
                    if !self.eval_condition(a, depth + 1)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            "Fn::Or" => {
                for a in args {
                    if self.eval_condition(a, depth + 1)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            other => Err(format!("{other} is not a condition function")),
        }
    }

    /// `n` with every intrinsic function replaced by its value (or `Unresolved`).
    fn resolve(&self, n: &Node, depth: usize) -> Node {
        if depth > 64 {
            return unresolved("intrinsic functions nest too deep".into(), n);
        }
        match &n.v {
            V::Map(m) if m.len() == 1 && (m[0].0 == "Ref" || m[0].0.starts_with("Fn::")) => {
                self.intrinsic(&m[0].0, &m[0].1, n, depth + 1)
            }
            V::Map(m) => Node::new(
                V::Map(
                    m.iter()
                        .map(|(k, v)| (k.clone(), self.resolve(v, depth + 1)))
                        .filter(|(_, v)| v.v != V::NoValue)
                        .collect(),
                ),
                n.line,
                n.col,
            ),
            V::Seq(s) => Node::new(
                V::Seq(
                    s.iter()
                        .map(|v| self.resolve(v, depth + 1))
                        .filter(|v| v.v != V::NoValue)
                        .collect(),
                ),
                n.line,
                n.col,
            ),
            _ => n.clone(),
        }
    }

    fn reference(&self, name: &str, n: &Node) -> Node {
        if name == "AWS::NoValue" {
            return Node::new(V::NoValue, n.line, n.col);
        }
        if let Some(p) = self.params.get(name) {
            let mut p = p.clone();
            // The line of the use, not of the parameter's default: that is where the setting is.
            p.line = n.line;
            p.col = n.col;
            return p;
        }
        if self.resource(name).is_some() {
            return Node::new(V::Resource(name.to_string()), n.line, n.col);
        }
        if name.starts_with("AWS::") {
            return unresolved(
                format!(
                    "{name} is known only where the stack is deployed: pass --parameter {name}=VALUE"
                ),
                n,
            );
        }
        unresolved(format!("Ref {name}: no such parameter or resource"), n)
    }

    fn intrinsic(&self, f: &str, arg: &Node, n: &Node, depth: usize) -> Node {
        let args = || arg.items();
        match f {
            "Ref" => match arg.as_str() {
                Some(name) => self.reference(name, n),
                None => unresolved("Ref takes a name".into(), n),
            },
            "Fn::If" => {
                let a = args();
                if a.len() != 3 {
                    return unresolved("Fn::If takes [condition, then, else]".into(), n);
                }
                match self.condition(a[0].as_str().unwrap_or_default(), 0) {
                    Ok(true) => self.resolve(&a[1], depth),
                    Ok(false) => self.resolve(&a[2], depth),
                    Err(why) => unresolved(why, n),
                }
            }
            "Fn::Sub" => {
                let (template, vars) = match &arg.v {
                    V::Str(s) => (s.clone(), None),
                    V::Seq(s) if !s.is_empty() => (s[0].text().unwrap_or_default(), s.get(1)),
                    _ => return unresolved("Fn::Sub takes a string".into(), n),
                };
                self.sub(&template, vars, n, depth)
            }
            "Fn::Join" => {
                let a = args();
                if a.len() != 2 {
                    return unresolved("Fn::Join takes [delimiter, list]".into(), n);
                }
                let list = self.resolve(&a[1], depth);
                if let Some(why) = list.unresolved() {
                    return unresolved(why, n);
                }
                let parts: Vec<String> = list.items().iter().filter_map(Node::text).collect();
                Node::new(
                    V::Str(parts.join(&a[0].text().unwrap_or_default())),
                    n.line,
                    n.col,
                )
            }
            "Fn::Split" => {
                let a = args();
                if a.len() != 2 {
                    return unresolved("Fn::Split takes [delimiter, string]".into(), n);
                }
                let s = self.resolve(&a[1], depth);
                let (Some(d), Some(s)) = (a[0].text(), s.text()) else {
                    return unresolved("Fn::Split of a value not known here".into(), n);
                };
                Node::new(
                    V::Seq(
                        s.split(d.as_str())
                            .map(|x| Node::new(V::Str(x.into()), n.line, n.col))
                            .collect(),
                    ),
                    n.line,
                    n.col,
                )
            }
            "Fn::Select" => {
                let a = args();
                if a.len() != 2 {
                    return unresolved("Fn::Select takes [index, list]".into(), n);
                }
                let i = self.resolve(&a[0], depth).as_u64();
                let list = self.resolve(&a[1], depth);
                match i.and_then(|i| list.items().get(i as usize)) {
                    Some(v) => v.clone(),
                    None => unresolved("Fn::Select index out of range or list unknown".into(), n),
                }
            }
            "Fn::FindInMap" => {
                let a: Vec<Node> = args().iter().map(|x| self.resolve(x, depth)).collect();
                if a.len() < 3 {
                    return unresolved("Fn::FindInMap takes [map, key, key]".into(), n);
                }
                let keys: Vec<String> = a.iter().take(3).filter_map(Node::text).collect();
                if keys.len() != 3 {
                    return unresolved("Fn::FindInMap keys are not known here".into(), n);
                }
                match self
                    .mappings
                    .and_then(|m| m.get(&keys[0]))
                    .and_then(|m| m.get(&keys[1]))
                    .and_then(|m| m.get(&keys[2]))
                {
                    Some(v) => self.resolve(v, depth),
                    None => unresolved(
                        format!(
                            "Fn::FindInMap {}.{}.{}: no such entry in Mappings",
                            keys[0], keys[1], keys[2]
                        ),
                        n,
                    ),
                }
            }
            "Fn::GetAtt" => {
                // `"Fn::GetAtt": "Res.Attr"` is the string form of `[Res, Attr]`.
                let pair = match &arg.v {
                    V::Str(s) => s
                        .split_once('.')
                        .map(|(r, a)| (Some(r.to_string()), Some(a.to_string()))),
                    _ => None,
                };
                let a = args();
                let (Some(res), Some(attr)) = pair.unwrap_or_else(|| {
                    (
                        a.first().and_then(Node::text),
                        a.get(1).and_then(Node::text),
                    )
                }) else {
                    return unresolved("Fn::GetAtt takes [resource, attribute]".into(), n);
                };
                let ty = self.resource(&res).and_then(type_of).unwrap_or("");
                let policy = ty.starts_with("AWS::CloudFront::") && ty.ends_with("Policy");
                // A WAF rule's regex pattern set is read from its resource.
                let regex_set = ty == "AWS::WAFv2::RegexPatternSet";
                if (policy && attr == "Id") || (regex_set && attr == "Arn") {
                    Node::new(V::Resource(res), n.line, n.col)
                } else {
                    unresolved(
                        format!("Fn::GetAtt {res}.{attr} is known only after the stack is created"),
                        n,
                    )
                }
            }
            "Fn::Base64" => self.resolve(arg, depth),
            other => unresolved(
                format!("{other} is known only when the stack is deployed"),
                n,
            ),
        }
    }

    fn sub(&self, template: &str, vars: Option<&Node>, n: &Node, depth: usize) -> Node {
        let mut out = String::new();
        let mut rest = template;
        while let Some(i) = rest.find("${") {
            out.push_str(&rest[..i]);
            let after = &rest[i + 2..];
            let Some(end) = after.find('}') else {
                out.push_str(&rest[i..]);
                rest = "";
                break;
            };
            let name = &after[..end];
            rest = &after[end + 1..];
            if let Some(lit) = name.strip_prefix('!') {
                out.push_str("${");
                out.push_str(lit);
                out.push('}');
                continue;
            }
            let value = match vars.and_then(|v| v.get(name)) {
                Some(v) => self.resolve(v, depth),
                None => match name.split_once('.') {
                    Some((res, attr)) if !name.starts_with("AWS::") => {
                        let call = Node::new(
                            V::Seq(vec![
                                Node::new(V::Str(res.into()), n.line, n.col),
                                Node::new(V::Str(attr.into()), n.line, n.col),
                            ]),
                            n.line,
                            n.col,
                        );
                        self.intrinsic("Fn::GetAtt", &call, n, depth)
                    }
                    _ => self.reference(name, n),
                },
            };
            match (&value.v, value.text()) {
                (V::Unresolved(why), _) => return unresolved(why.clone(), n),
                (V::Resource(r), _) => {
                    return unresolved(
                        format!(
                            "${{{r}}}: a resource's id is known only after the stack is created"
                        ),
                        n,
                    );
                }
                (_, Some(t)) => out.push_str(&t),
                _ => return unresolved(format!("${{{name}}} is not a string"), n),
            }
        }
        out.push_str(rest);
        Node::new(V::Str(out), n.line, n.col)
    }
}

struct CfnPolicies<'a> {
    t: &'a Template<'a>,
    file: &'a str,
}

impl CfnPolicies<'_> {
    /// The template's policy resource `v` names, resolved: (its config node, its path).
    fn config(&self, v: &Node, ty: &str, key: &str) -> Option<Result<(Node, String), Unknown>> {
        let V::Resource(name) = &v.v else {
            return None;
        };
        let r = self.t.resource(name)?;
        if type_of(r) != Some(ty) {
            return Some(Err((
                name.clone(),
                format!(
                    "{name} is a {}, not an {ty}",
                    type_of(r).unwrap_or("resource")
                ),
            )));
        }
        match r.get("Properties").and_then(|p| p.get(key)) {
            Some(c) => Some(Ok((
                self.t.resolve(c, 0),
                format!("Resources.{name}.Properties.{key}"),
            ))),
            None => Some(Err((
                name.clone(),
                format!("{name} has no Properties.{key}"),
            ))),
        }
    }

    fn ctx(&self) -> aws::Ctx<'_> {
        aws::Ctx {
            file: self.file,
            policies: &super::ManagedOnly,
        }
    }
}

fn as_unknown(label: &str, e: BuildError) -> Unknown {
    (label.to_string(), format!("{}: {}", e.at, e.message))
}

impl Policies for CfnPolicies<'_> {
    fn cache(&self, v: &Node) -> Result<CachePolicyDef, Unknown> {
        match self.config(v, "AWS::CloudFront::CachePolicy", "CachePolicyConfig") {
            Some(Ok((c, at))) => {
                let mut p = aws::cache_policy_config(&c, &at, &self.ctx())
                    .map_err(|e| as_unknown(&at, e))?;
                if p.name.is_empty() {
                    p.name = at;
                }
                Ok(p)
            }
            Some(Err(e)) => Err(e),
            None => super::ManagedOnly.cache(v),
        }
    }
    fn origin_request(&self, v: &Node) -> Result<OriginRequestDef, Unknown> {
        match self.config(
            v,
            "AWS::CloudFront::OriginRequestPolicy",
            "OriginRequestPolicyConfig",
        ) {
            Some(Ok((c, at))) => aws::origin_request_policy_config(&c, &at, &self.ctx())
                .map_err(|e| as_unknown(&at, e)),
            Some(Err(e)) => Err(e),
            None => super::ManagedOnly.origin_request(v),
        }
    }
    fn response_headers(&self, v: &Node) -> Result<ResponseHeadersDef, Unknown> {
        match self.config(
            v,
            "AWS::CloudFront::ResponseHeadersPolicy",
            "ResponseHeadersPolicyConfig",
        ) {
            Some(Ok((c, at))) => aws::response_headers_policy_config(&c, &at, &self.ctx())
                .map_err(|e| as_unknown(&at, e)),
            Some(Err(e)) => Err(e),
            None => super::ManagedOnly.response_headers(v),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str, params: &[(&str, &str)]) -> Result<BehaviorSet, UserError> {
        let opts = LoadOptions {
            format: None,
            parameters: params
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
            ..Default::default()
        };
        from_str(
            text,
            Path::new("t.yaml"),
            ConfigFormat::CloudformationYaml,
            &opts,
        )
    }

    /// A template whose WebACL allows what `statement` matches (YAML, indented for `Statement:`).
    fn waf_template(statement: &str) -> String {
        format!(
            r#"Resources:
  Cdn:
    Type: AWS::CloudFront::Distribution
    Properties:
      DistributionConfig:
        CacheBehaviors:
          - PathPattern: /jira/s/*
            CachePolicyId: 658327ea-f89d-4fab-a63d-7e88639e58f6
          - PathPattern: /jira/download/resources/*
            CachePolicyId: 658327ea-f89d-4fab-a63d-7e88639e58f6
        DefaultCacheBehavior:
          CachePolicyId: 4135ea2d-6df8-44a3-9df3-4b5a84be39ad
  Static:
    Type: AWS::WAFv2::RegexPatternSet
    Properties:
      Scope: REGIONAL
      RegularExpressionList:
        - "^/jira/download/resources/.*\\.(png|ttf)$"
  Acl:
    Type: AWS::WAFv2::WebACL
    Properties:
      DefaultAction:
        Block: {{}}
      Rules:
        - Name: cdn
          Action:
            Allow: {{}}
          Statement:
{statement}
"#
        )
    }

    /// What the loader read of the WebACL's allow rules.
    fn allows(statement: &str) -> Vec<UriMatch> {
        let set = load(&waf_template(statement), &[]).unwrap_or_else(|e| panic!("{e}"));
        set.input
            .unwrap()
            .origin_waf_allows
            .into_iter()
            .map(|w| w.path)
            .collect()
    }

    /// The paths the lint says the WAF refuses, from its finding (none: empty).
    fn refused(statement: &str) -> Vec<String> {
        let set = load(&waf_template(statement), &[]).unwrap_or_else(|e| panic!("{e}"));
        crate::diagnose::lint::lint(&set, None)
            .into_iter()
            .filter(|f| f.id == "config-waf-blocks-static")
            .flat_map(|f| f.evidence[0].lines.clone())
            .filter_map(|l| {
                l.strip_prefix("refused through the CDN: ")
                    .map(str::to_string)
            })
            .collect()
    }

    #[test]
    fn waf_string_and_regex_matches_beyond_starts_with() {
        let byte = |c: &str, s: &str| {
            format!(
                "            ByteMatchStatement:\n              FieldToMatch:\n                UriPath: {{}}\n              PositionalConstraint: {c}\n              SearchString: \"{s}\"\n              TextTransformations:\n                - Priority: 0\n                  Type: NONE"
            )
        };
        // STARTS_WITH /jira/s/: the /download/resources probes are refused.
        let r = refused(&byte("STARTS_WITH", "/jira/s/"));
        assert_eq!(r.len(), 1, "{r:?}");
        assert!(
            r[0].contains("/jira/download/resources/") && !r[0].contains("/jira/s/"),
            "{r:?}"
        );
        // CONTAINS /s/: only what lacks it (the /download/resources paths) is refused.
        let r = refused(&byte("CONTAINS", "/s/"));
        assert!(
            !r[0].contains("batch.js") && r[0].contains("logo.png"),
            "{r:?}"
        );
        // ENDS_WITH .png: everything but the logo.
        let r = refused(&byte("ENDS_WITH", ".png"));
        assert!(
            r[0].contains("batch.js") && !r[0].contains("logo.png"),
            "{r:?}"
        );
        // EXACTLY a path no probe has: every static probe is refused.
        let r = refused(&byte("EXACTLY", "/jira/robots.txt"));
        assert!(
            r[0].contains("batch.js") && r[0].contains("logo.png"),
            "{r:?}"
        );
        // CONTAINS_WORD: `download` stands alone in `/download/`, `superbatch` does not contain
        // the word `batch`.
        let w = UriMatch::ContainsWord("batch".into());
        assert!(w.allows("/s/x/batch.js") && !w.allows("/s/superbatch/x.js"));
        // An OrStatement of a prefix and a regex pattern set: /s/ and the set's png/ttf allowed.
        let or = "            OrStatement:
              Statements:
                - ByteMatchStatement:
                    FieldToMatch:
                      UriPath: {}
                    PositionalConstraint: STARTS_WITH
                    SearchString: /jira/s/
                    TextTransformations:
                      - Priority: 0
                        Type: NONE
                - RegexPatternSetReferenceStatement:
                    Arn: !GetAtt Static.Arn
                    FieldToMatch:
                      UriPath: {}
                    TextTransformations:
                      - Priority: 0
                        Type: URL_DECODE";
        assert_eq!(
            allows(or),
            [
                UriMatch::StartsWith("/jira/s/".into()),
                UriMatch::Regex(vec!["^/jira/download/resources/.*\\.(png|ttf)$".into()])
            ],
            "{or}"
        );
        assert_eq!(refused(or), Vec::<String>::new(), "{or}");
        // LOWERCASE first: an upper-case search string never matches, so all is refused.
        let upper = byte("STARTS_WITH", "/JIRA/S/").replace("Type: NONE", "Type: LOWERCASE");
        assert!(!refused(&upper).is_empty());
        // A transformation not modelled (or a regex Rust cannot read): nothing is claimed.
        let b64 = byte("STARTS_WITH", "/jira/s/").replace("Type: NONE", "Type: BASE64_DECODE");
        assert!(allows(&b64).is_empty());
        let lookahead = "            RegexMatchStatement:\n              FieldToMatch:\n                UriPath: {}\n              RegexString: \"^/jira/(?!secure)\"\n              TextTransformations:\n                - Priority: 0\n                  Type: NONE";
        assert!(allows(lookahead).is_empty());
        let inline = lookahead.replace("(?!secure)", "s/");
        assert_eq!(refused(&inline).len(), 1);
    }

    const T: &str = r#"AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  ContextPath:
    Type: String
    Default: /jira
  CacheCookies:
    Type: String
    Default: "no"
    AllowedValues: ["yes", "no"]
  Domain:
    Type: String
Mappings:
  Ttl:
    Static:
      Max: 31536000
Conditions:
  Cookies: !Equals [!Ref CacheCookies, "yes"]
  NoCookies: !Not [!Condition Cookies]
Resources:
  StaticPolicy:
    Type: AWS::CloudFront::CachePolicy
    Properties:
      CachePolicyConfig:
        Name: !Sub "${AWS::StackName}-static"
        MinTTL: 1
        DefaultTTL: 86400
        MaxTTL: !FindInMap [Ttl, Static, Max]
        ParametersInCacheKeyAndForwardedToOrigin:
          EnableAcceptEncodingGzip: true
          CookiesConfig:
            CookieBehavior: !If [Cookies, all, none]
          HeadersConfig:
            HeaderBehavior: whitelist
            Headers: [Origin]
          QueryStringsConfig:
            QueryStringBehavior: all
  Dist:
    Type: AWS::CloudFront::Distribution
    Properties:
      DistributionConfig:
        Enabled: true
        Aliases: [!Ref Domain]
        CacheBehaviors:
          - PathPattern: !Sub "${ContextPath}/s/*"
            TargetOriginId: app
            CachePolicyId: !Ref StaticPolicy
            OriginRequestPolicyId: 59781a5b-3903-41f3-afcb-af62929ccde1
          - PathPattern: !Join ["", [!Ref ContextPath, "/download/*"]]
            TargetOriginId: app
            CachePolicyId: !GetAtt StaticPolicy.Id
          - !If
            - NoCookies
            - PathPattern: /x/*
              TargetOriginId: app
              CachePolicyId: 658327ea-f89d-4fab-a63d-7e88639e58f6
            - !Ref AWS::NoValue
        DefaultCacheBehavior:
          TargetOriginId: app
          CachePolicyId: 4135ea2d-6df8-44a3-9df3-4b5a84be39ad
          OriginRequestPolicyId: 216adef6-5c7f-47e4-b989-5492eafa07d3
"#;

    #[test]
    fn intrinsics_resolve_and_policies_come_from_the_template() {
        let set = load(T, &[]).unwrap();
        let b = &set.behaviors;
        assert_eq!(b.len(), 4, "{b:#?}");
        assert_eq!(b[0].pattern, "/jira/s/*");
        assert_eq!(b[1].pattern, "/jira/download/*");
        assert_eq!(b[2].pattern, "/x/*", "NoCookies is true by default");
        assert_eq!(b[0].key.cookies, crate::cloudfront::NameSet::None);
        assert!(b[0].key.headers.contains_header("origin"));
        assert_eq!(b[0].ttl.max, 31_536_000);
        // The policy's Name needs AWS::StackName: unresolved, so the path names it instead.
        assert!(
            b[0].cache_policy
                .as_deref()
                .unwrap()
                .contains("StaticPolicy")
        );
        assert_eq!(
            b[0].origin_request_policy.as_deref(),
            Some("CORS-CustomOrigin")
        );
        assert_eq!(b[0].source[""].line, 44);
        assert_eq!(b[0].source["cache_policy"].line, 46);
        assert_eq!(b[0].source["cookies"].file, "t.yaml");
        assert_eq!(b[3].cache_policy.as_deref(), Some("CachingDisabled"));
        assert!(b[3].is_default);
        assert_eq!(
            set.input.as_ref().unwrap().format,
            ConfigFormat::CloudformationYaml
        );
    }

    #[test]
    fn parameters_override_defaults_and_flip_conditions() {
        let set = load(T, &[("CacheCookies", "yes"), ("ContextPath", "/wiki")]).unwrap();
        let b = &set.behaviors;
        assert_eq!(b.len(), 3, "the !If behavior is AWS::NoValue now");
        assert_eq!(b[0].pattern, "/wiki/s/*");
        assert_eq!(b[0].key.cookies, crate::cloudfront::NameSet::All);
    }

    #[test]
    fn unresolvable_references_are_named_never_guessed() {
        let t = T.replace(
            "CachePolicyId: !Ref StaticPolicy",
            "CachePolicyId: !ImportValue shared-policy",
        );
        let e = load(&t, &[]).unwrap_err().to_string();
        assert!(e.starts_with("t.yaml:46:"), "{e}");
        assert!(e.contains("Fn::ImportValue"), "{e}");
        let t = T.replace("Default: /jira\n", "\n");
        let e = load(&t, &[]).unwrap_err().to_string();
        assert!(e.contains("--parameter ContextPath=VALUE"), "{e}");
        // Aliases needs Domain (no default) but the model never reads it: no error.
        assert!(load(T, &[]).is_ok());
        // The JSON string form of Fn::GetAtt.
        let t = T.replace(
            "CachePolicyId: !GetAtt StaticPolicy.Id",
            "CachePolicyId: {\"Fn::GetAtt\": \"StaticPolicy.Id\"}",
        );
        assert_eq!(load(&t, &[]).unwrap().behaviors[1].ttl.min, 1);
        let t = T.replace("!Ref StaticPolicy", "!Ref Nope");
        let e = load(&t, &[]).unwrap_err().to_string();
        assert!(e.contains("Ref Nope: no such parameter or resource"), "{e}");
    }

    #[test]
    fn target_group_http2_is_reported() {
        let t = format!(
            "{T}  Tg:\n    Type: AWS::ElasticLoadBalancingV2::TargetGroup\n    Properties:\n      ProtocolVersion: HTTP2\n"
        );
        let set = load(&t, &[]).unwrap();
        let h = &set.input.unwrap().http2_to_origin;
        assert_eq!(h.len(), 1);
        assert!(h[0].what.contains("Tg"));
        assert!(h[0].at.as_ref().unwrap().line > 60);
    }

    #[test]
    fn garbage_never_panics() {
        for t in [
            "",
            "a: [",
            "Resources: 5",
            "Resources:\n  D:\n    Type: AWS::CloudFront::Distribution\n",
            "Resources:\n  D:\n    Type: AWS::CloudFront::Distribution\n    Properties:\n      DistributionConfig: !If [Nope, 1, 2]\n",
        ] {
            assert!(load(t, &[]).is_err(), "{t}");
        }
    }
}
