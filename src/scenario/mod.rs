//! Journeys: a TOML file per journey, an ordered list of browser steps.
//!
//! The format is deliberately small (one action key per `[[step]]` table) so that an admin can
//! read a journey at a glance and so that errors can point at the exact line. `base_url` and every
//! step value may use `${ENV_NAME}` or `${ENV_NAME:-default}`; passwords may *only* come from the
//! environment, never from the file itself, so a journey can be committed and shared without
//! leaking anything.
//!
//! A variable that is not set is an error before the browser starts (exit 2, naming the file,
//! line, column and variable) wherever it is: left in place, `${UNSET}` in a `goto` used to
//! navigate to `/$%7BUNSET%7D` and pass, probing a page nobody meant. Malformed references
//! (`${` with no `}`, `${A B}`) are refused when the file is read; `$${` is a literal `${`.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::error::UserError;

/// Default per-step timeout when a step does not say.
pub(crate) const DEFAULT_STEP_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    pub name: String,
    pub product: Option<String>,
    /// Selectors clicked whenever they appear during the journey (onboarding pages, "what's new"
    /// and timezone dialogs, help tips): real instances show them on a first login or after an
    /// upgrade, and they cover what the steps wait for.
    pub dismiss: Vec<String>,
    /// As written: may hold `${NAME}` references (see [`Scenario::base_url`]).
    pub base_url: Option<String>,
    pub steps: Vec<Step>,
    /// Where it was read from (for messages); `None` for built-in journeys.
    pub file: Option<PathBuf>,
    /// Where `base_url`'s value is written.
    pub base_url_loc: Loc,
}

/// Where a string value is written in its file, so that a message can point at a `${NAME}`
/// inside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Loc {
    /// 1-based line and column of the value (its opening quote); 0 when synthesised.
    pub line: usize,
    pub column: usize,
    /// The value is written as one quoted line with no escapes, so its characters sit right
    /// after the quote; otherwise a position inside it is reported as the value's start.
    pub plain: bool,
}

impl Loc {
    /// Line and column of byte `offset` of the value.
    pub fn at(&self, value: &str, offset: usize) -> (usize, usize) {
        let before = value.get(..offset).unwrap_or(value);
        if self.plain && !before.contains('\n') {
            (self.line, self.column + 1 + before.chars().count())
        } else {
            (self.line, self.column)
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub name: Option<String>,
    pub action: Action,
    /// Skipped (with a note) instead of failing when its selector does not appear in time.
    pub optional: bool,
    /// The step's own `timeout`; `None`: the run's `--timeout` (default 30 s).
    pub timeout: Option<Duration>,
    /// 1-based line of the `[[step]]` header in the file (0 when synthesised).
    pub line: usize,
    /// Where each string value (`goto`, `value`, ...) is written, by key.
    pub locs: BTreeMap<String, Loc>,
}

/// A step's selector: one or more alternatives, the first that appears wins (Jira 10 and 9 may
/// serve different markup on the same URL).
pub(crate) type Selectors = Vec<String>;

/// Which product's login forms a `login` step knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginProduct {
    Jira,
    Confluence,
    /// The journey names no product: every form either product serves.
    Any,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Goto(String),
    Click(Selectors),
    Fill {
        selector: Selectors,
        value: Value,
    },
    Press(String),
    WaitFor(Selectors),
    /// Log in through whichever login form the page serves (legacy or the newer one), once the
    /// page is ready; `user` and `password` come from the environment.
    Login {
        product: LoginProduct,
        user: Value,
        password: Value,
    },
    /// Answer an administrator page's password prompt (WebSudo) if it shows, with the password of
    /// the journey's last `login` step (or this step's own `password`).
    WebSudo {
        password: Option<Value>,
    },
    /// Fill the product's site-specific variables (project, issue, space, page, blog post) that
    /// the environment does not set, from the product's REST APIs (see `browser::discover`).
    Discover {
        product: LoginProduct,
    },
    WaitIdle,
    ExpectText(String),
    ExpectUrl(String),
    Screenshot(String),
}

/// A step value with `${ENV}` references still unresolved, so that secrets are read from the
/// environment only at the moment of use and never stored in the scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct Value {
    pub template: String,
}

impl Value {
    /// Resolve `${NAME}` from `vars` first (the lab injects its credentials there), then the
    /// process environment.
    pub fn resolve(&self, vars: &HashMap<String, String>) -> Result<String, String> {
        substitute(&self.template, vars)
    }
}

impl Step {
    /// The step's values that may hold `${NAME}`, with their keys: every string but `name`
    /// (a label, taken as written).
    pub(crate) fn templates(&self) -> Vec<(&'static str, &str)> {
        match &self.action {
            Action::Goto(u) => vec![("goto", u)],
            Action::Click(s) => s.iter().map(|x| ("click", x.as_str())).collect(),
            Action::Fill { selector, value } => selector
                .iter()
                .map(|x| ("fill", x.as_str()))
                .chain([("value", value.template.as_str())])
                .collect(),
            Action::Press(k) => vec![("press", k)],
            Action::WaitFor(s) => s.iter().map(|x| ("wait_for", x.as_str())).collect(),
            Action::Login { user, password, .. } => {
                vec![("user", &user.template), ("password", &password.template)]
            }
            Action::WebSudo { password } => password
                .iter()
                .map(|p| ("password", p.template.as_str()))
                .collect(),
            Action::WaitIdle | Action::Discover { .. } => vec![],
            Action::ExpectText(t) => vec![("expect_text", t)],
            Action::ExpectUrl(u) => vec![("expect_url", u)],
            Action::Screenshot(f) => vec![("screenshot", f)],
        }
    }

    /// Short human description, e.g. `goto /login.jsp` or `fill #os_password`.
    pub fn describe(&self) -> String {
        let what = match &self.action {
            Action::Goto(u) => format!("goto {u}"),
            Action::Click(s) => format!("click {}", s.join(" | ")),
            Action::Fill { selector, .. } => format!("fill {}", selector.join(" | ")),
            Action::Press(k) => format!("press {k}"),
            Action::WaitFor(s) => format!("wait_for {}", s.join(" | ")),
            Action::Login { product, .. } => match product {
                LoginProduct::Jira => "login (Jira)".to_string(),
                LoginProduct::Confluence => "login (Confluence)".to_string(),
                LoginProduct::Any => "login".to_string(),
            },
            Action::WebSudo { .. } => "websudo".to_string(),
            Action::Discover { product } => match product {
                LoginProduct::Confluence => "discover (Confluence)".to_string(),
                _ => "discover (Jira)".to_string(),
            },
            Action::WaitIdle => "wait_idle".to_string(),
            Action::ExpectText(t) => format!("expect_text {t:?}"),
            Action::ExpectUrl(u) => format!("expect_url {u}"),
            Action::Screenshot(f) => format!("screenshot {f}"),
        };
        match &self.name {
            Some(n) => format!("{n} ({what})"),
            None => what,
        }
    }
}

const ACTIONS: &[&str] = &[
    "goto",
    "click",
    "fill",
    "press",
    "wait_for",
    "wait_idle",
    "expect_text",
    "expect_url",
    "screenshot",
    "login",
    "websudo",
    "discover",
];
const MODIFIERS: &[&str] = &["name", "value", "timeout", "optional", "user", "password"];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    name: String,
    #[serde(default)]
    product: Option<String>,
    #[serde(default)]
    base_url: Option<toml::Spanned<String>>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    dismiss: Option<toml::Spanned<toml::Value>>,
    #[serde(default)]
    step: Vec<toml::Spanned<BTreeMap<String, toml::Spanned<toml::Value>>>>,
}

/// A field name that suggests the user meant a password.
fn is_password_field(selector: &str) -> bool {
    let s = selector.to_ascii_lowercase();
    s.contains("password") || s.contains("os_password") || s.contains("passwd")
}

impl Scenario {
    pub(crate) fn from_file(path: &Path) -> Result<Scenario, UserError> {
        let text = crate::input::read_to_string(path, crate::input::Kind::Scenario)?;
        let mut s = Self::parse(&text, path)?;
        s.file = Some(path.to_path_buf());
        Ok(s)
    }

    /// Parse scenario text; `path` is where it came from, for messages (also later ones, such as
    /// an unset variable's).
    pub fn parse(text: &str, path: &Path) -> Result<Scenario, UserError> {
        let lines = Lines::new(text);
        let err_at = |offset: usize, message: String, hint: &str| {
            let (line, column) = lines.line_col(offset);
            UserError::Scenario {
                file: path.to_path_buf(),
                line,
                column,
                message,
                hint: hint.to_string(),
            }
        };
        let raw: RawScenario = toml::from_str(text).map_err(|e| {
            let offset = e.span().map(|s| s.start).unwrap_or(0);
            err_at(
                offset,
                e.message().trim().to_string(),
                "a journey needs `name = \"...\"` and `[[step]]` tables, each with one action: goto, click, fill, press, wait_for, wait_idle, expect_text, expect_url, screenshot, login, websudo, discover (see scenarios/README.md)",
            )
        })?;
        let _ = raw.description;
        // Where a string value is written, and its references checked for syntax.
        let loc_of = |span: std::ops::Range<usize>, value: &str| -> Result<Loc, UserError> {
            let (line, column) = lines.line_col(span.start);
            let raw = text.get(span).unwrap_or("");
            let plain = !value.contains('\n')
                && (raw == format!("\"{value}\"") || raw == format!("'{value}'"));
            let loc = Loc {
                line,
                column,
                plain,
            };
            if let Err((at, message)) = pieces(value) {
                let (line, column) = loc.at(value, at);
                return Err(UserError::Scenario {
                    file: path.to_path_buf(),
                    line,
                    column,
                    message,
                    hint: "write `${NAME}` or `${NAME:-default}` (NAME: letters, digits, `_`); `$${` is a literal `${`".into(),
                });
            }
            Ok(loc)
        };
        let base_url_loc = match &raw.base_url {
            Some(b) => loc_of(b.span(), b.get_ref())?,
            None => Loc::default(),
        };
        let dismiss = match &raw.dismiss {
            None => Vec::new(),
            Some(d) => match d.get_ref() {
                toml::Value::String(s) => vec![s.clone()],
                toml::Value::Array(items) if items.iter().all(|i| i.is_str()) => items
                    .iter()
                    .filter_map(|i| i.as_str().map(str::to_string))
                    .collect(),
                other => {
                    return Err(err_at(
                        d.span().start,
                        format!(
                            "`dismiss` must be a list of selectors, found {}",
                            other.type_str()
                        ),
                        "write e.g. `dismiss = [\".aui-message .icon-close\", \"#closeDisDialog\"]`",
                    ));
                }
            },
        };
        let mut steps = Vec::new();
        for spanned in &raw.step {
            let offset = spanned.span().start;
            let (line, _) = lines.line_col(offset);
            let table = spanned.get_ref();
            let locs = std::cell::RefCell::new(BTreeMap::new());
            let actions: Vec<&String> = table
                .keys()
                .filter(|k| ACTIONS.contains(&k.as_str()))
                .collect();
            if let Some(unknown) = table
                .keys()
                .find(|k| !ACTIONS.contains(&k.as_str()) && !MODIFIERS.contains(&k.as_str()))
            {
                return Err(err_at(
                    offset,
                    format!("unknown step key `{unknown}`"),
                    &format!(
                        "a step has one action ({}) plus optional name, value, timeout",
                        ACTIONS.join(", ")
                    ),
                ));
            }
            let action_key = match actions.as_slice() {
                [one] => one.as_str(),
                [] => {
                    return Err(err_at(
                        offset,
                        "step has no action".into(),
                        &format!("add one of: {}", ACTIONS.join(", ")),
                    ));
                }
                many => {
                    return Err(err_at(
                        offset,
                        format!(
                            "step has several actions: {}",
                            many.iter()
                                .map(|s| s.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                        "split them into separate [[step]] tables",
                    ));
                }
            };
            let str_of = |key: &str| -> Result<String, UserError> {
                match table.get(key).map(|v| (v.span(), v.get_ref())) {
                    Some((span, toml::Value::String(s))) => {
                        locs.borrow_mut().insert(key.to_string(), loc_of(span, s)?);
                        Ok(s.clone())
                    }
                    Some((span, other)) => Err(err_at(
                        span.start,
                        format!("`{key}` must be a string, found {}", other.type_str()),
                        "quote the value",
                    )),
                    None => Err(err_at(
                        offset,
                        format!("`{action_key}` needs `{key}`"),
                        "add it to the step",
                    )),
                }
            };
            // A selector, or a list of alternatives (the first that appears wins).
            let sels_of = |key: &str| -> Result<Selectors, UserError> {
                match table.get(key).map(|v| (v.span(), v.get_ref())) {
                    Some((span, toml::Value::Array(items)))
                        if !items.is_empty() && items.iter().all(|i| i.is_str()) =>
                    {
                        let list: Vec<String> = items
                            .iter()
                            .filter_map(|i| i.as_str().map(str::to_string))
                            .collect();
                        for x in &list {
                            let loc = loc_of(span.clone(), x)?;
                            locs.borrow_mut().entry(key.to_string()).or_insert(Loc {
                                plain: false,
                                ..loc
                            });
                        }
                        Ok(list)
                    }
                    Some((span, toml::Value::Array(_))) => Err(err_at(
                        span.start,
                        format!("`{key}` must be a selector or a non-empty list of selectors"),
                        "write `[\"#new-id\", \"#old-id\"]`: the first that appears wins",
                    )),
                    _ => str_of(key).map(|s| vec![s]),
                }
            };
            let action = match action_key {
                "goto" => Action::Goto(str_of("goto")?),
                "click" => Action::Click(sels_of("click")?),
                "press" => Action::Press(str_of("press")?),
                "wait_for" => Action::WaitFor(sels_of("wait_for")?),
                "login" => {
                    let product = match table.get("login").map(|v| v.get_ref()) {
                        Some(toml::Value::Boolean(true)) => match raw.product.as_deref() {
                            Some("jira") => LoginProduct::Jira,
                            Some("confluence") => LoginProduct::Confluence,
                            _ => LoginProduct::Any,
                        },
                        Some(toml::Value::String(p)) if p == "jira" => LoginProduct::Jira,
                        Some(toml::Value::String(p)) if p == "confluence" => {
                            LoginProduct::Confluence
                        }
                        _ => {
                            return Err(err_at(
                                offset,
                                "`login` must be `true`, \"jira\" or \"confluence\"".into(),
                                "write `login = true` (the journey's product) and `user`/`password` from the environment",
                            ));
                        }
                    };
                    let user = str_of("user")?;
                    let password = str_of("password")?;
                    if !is_pure_env_ref(&password) {
                        return Err(err_at(
                            offset,
                            "the login password is written in the file".into(),
                            "passwords may only come from the environment (and have no default): write `password = \"${CDNPROBE_JIRA_PASSWORD}\"` and export that variable",
                        ));
                    }
                    Action::Login {
                        product,
                        user: Value { template: user },
                        password: Value { template: password },
                    }
                }
                "websudo" => {
                    if !matches!(
                        table.get("websudo").map(|v| v.get_ref()),
                        Some(toml::Value::Boolean(true))
                    ) {
                        return Err(err_at(
                            offset,
                            "`websudo` must be `true`".into(),
                            "write `websudo = true` (it answers with the last login's password)",
                        ));
                    }
                    let password = match table.get("password") {
                        Some(_) => {
                            let p = str_of("password")?;
                            if !is_pure_env_ref(&p) {
                                return Err(err_at(
                                    offset,
                                    "the WebSudo password is written in the file".into(),
                                    "passwords may only come from the environment: write `password = \"${CDNPROBE_JIRA_PASSWORD}\"`",
                                ));
                            }
                            Some(Value { template: p })
                        }
                        None => None,
                    };
                    Action::WebSudo { password }
                }
                "discover" => {
                    let product = match table.get("discover").map(|v| v.get_ref()) {
                        Some(toml::Value::Boolean(true)) => raw.product.as_deref(),
                        Some(toml::Value::String(p)) => Some(p.as_str()),
                        _ => None,
                    };
                    match product {
                        Some("jira") => Action::Discover {
                            product: LoginProduct::Jira,
                        },
                        Some("confluence") => Action::Discover {
                            product: LoginProduct::Confluence,
                        },
                        _ => {
                            return Err(err_at(
                                offset,
                                "`discover` needs a product: `discover = \"jira\"` or \"confluence\", or `true` with the journey's `product`".into(),
                                "write `product = \"jira\"` at the top of the file and `discover = true` in the step",
                            ));
                        }
                    }
                }
                "expect_text" => Action::ExpectText(str_of("expect_text")?),
                "expect_url" => Action::ExpectUrl(str_of("expect_url")?),
                "screenshot" => Action::Screenshot(str_of("screenshot")?),
                "wait_idle" => match table.get("wait_idle").map(|v| v.get_ref()) {
                    Some(toml::Value::Boolean(true)) => Action::WaitIdle,
                    _ => {
                        return Err(err_at(
                            offset,
                            "`wait_idle` must be `true`".into(),
                            "write `wait_idle = true`",
                        ));
                    }
                },
                "fill" => {
                    let selector = sels_of("fill")?;
                    let value = str_of("value")?;
                    if selector.iter().any(|s| is_password_field(s)) && !is_pure_env_ref(&value) {
                        return Err(err_at(
                            offset,
                            format!(
                                "the password for `{}` is written in the file",
                                selector.join(" | ")
                            ),
                            "passwords may only come from the environment (and have no default): write `value = \"${CDNPROBE_JIRA_PASSWORD}\"` and export that variable",
                        ));
                    }
                    Action::Fill {
                        selector,
                        value: Value { template: value },
                    }
                }
                _ => unreachable!("filtered by ACTIONS"),
            };
            let name = match table.get("name").map(|v| v.get_ref()) {
                Some(toml::Value::String(s)) => Some(s.clone()),
                None => None,
                Some(_) => {
                    return Err(err_at(
                        offset,
                        "`name` must be a string".into(),
                        "quote the name",
                    ));
                }
            };
            let timeout = match table.get("timeout").map(|v| v.get_ref()) {
                None => None,
                Some(toml::Value::Integer(n)) if *n > 0 => Some(Duration::from_secs(*n as u64)),
                Some(toml::Value::Float(f)) if *f > 0.0 && *f < 1e9 => {
                    Some(Duration::from_secs_f64(*f))
                }
                Some(_) => {
                    return Err(err_at(
                        offset,
                        "`timeout` must be a positive number of seconds".into(),
                        "e.g. `timeout = 10`",
                    ));
                }
            };
            if table.contains_key("value") && action_key != "fill" {
                return Err(err_at(
                    offset,
                    format!("`value` only belongs to `fill`, not `{action_key}`"),
                    "remove it",
                ));
            }
            for key in ["user", "password"] {
                let allowed =
                    action_key == "login" || (key == "password" && action_key == "websudo");
                if table.contains_key(key) && !allowed {
                    return Err(err_at(
                        offset,
                        format!("`{key}` only belongs to `login`, not `{action_key}`"),
                        "remove it (a `fill` step takes `value`)",
                    ));
                }
            }
            let optional = match table.get("optional").map(|v| v.get_ref()) {
                None | Some(toml::Value::Boolean(false)) => false,
                Some(toml::Value::Boolean(true))
                    if matches!(
                        action_key,
                        "click" | "fill" | "wait_for" | "expect_text" | "websudo"
                    ) =>
                {
                    true
                }
                Some(toml::Value::Boolean(true)) => {
                    return Err(err_at(
                        offset,
                        format!("`optional` does not apply to `{action_key}`"),
                        "only click, fill, wait_for, expect_text and websudo steps wait for something that may not appear",
                    ));
                }
                Some(_) => {
                    return Err(err_at(
                        offset,
                        "`optional` must be `true` or `false`".into(),
                        "write `optional = true`",
                    ));
                }
            };
            steps.push(Step {
                name,
                action,
                optional,
                timeout,
                line,
                locs: locs.into_inner(),
            });
        }
        if steps.is_empty() {
            return Err(err_at(
                0,
                "the journey has no steps".into(),
                "add at least one `[[step]]` with `goto = \"/\"`",
            ));
        }
        Ok(Scenario {
            name: raw.name,
            product: raw.product,
            dismiss,
            base_url: raw.base_url.map(toml::Spanned::into_inner),
            steps,
            file: Some(path.to_path_buf()),
            base_url_loc,
        })
    }

    /// The one-step journey for a bare URL: open it and wait for the network to go idle.
    pub(crate) fn for_url(url: &str) -> Scenario {
        Scenario {
            name: "open-url".into(),
            product: None,
            dismiss: Vec::new(),
            base_url: Some(url.to_string()),
            steps: vec![
                Step {
                    name: None,
                    optional: false,
                    action: Action::Goto(url.to_string()),
                    timeout: None,
                    line: 0,
                    locs: BTreeMap::new(),
                },
                Step {
                    name: None,
                    optional: false,
                    action: Action::WaitIdle,
                    timeout: None,
                    line: 0,
                    locs: BTreeMap::new(),
                },
            ],
            file: None,
            base_url_loc: Loc::default(),
        }
    }

    /// Give every step without its own `timeout` this one (`--timeout`).
    pub(crate) fn set_default_timeout(&mut self, timeout: Duration) {
        for step in &mut self.steps {
            step.timeout.get_or_insert(timeout);
        }
    }

    /// The variables whose values are redacted wherever they appear: every one the journey types
    /// into a form (`login`, `fill`, `websudo`), and every one used somewhere without a default.
    /// A variable given a default in the file is a parameter the file is willing to publish (the
    /// bundled journeys' issue, project, space): redacting it would rewrite every URL and header
    /// that happens to contain, say, the project key.
    pub(crate) fn secret_vars(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let uses = self
            .steps
            .iter()
            .flat_map(|s| s.templates())
            .chain(self.base_url.as_deref().map(|b| ("base_url", b)));
        for (key, template) in uses {
            let typed = matches!(key, "value" | "user" | "password");
            for piece in pieces(template).unwrap_or_default() {
                if let Piece::Var { name, default, .. } = piece
                    && (typed || default.is_none())
                    && !out.iter().any(|n| n == name)
                {
                    out.push(name.to_string());
                }
            }
        }
        out
    }

    /// Check every variable the steps use is set (in `vars` or the environment) or has a
    /// default, so a run fails early (exit 2) before a browser starts; the error names the first
    /// missing one with its file, line and column. `base_url` is checked when it is used (see
    /// [`Scenario::resolved_base_url`]): a URL on the command line replaces it whole.
    pub(crate) fn check_vars(&self, vars: &HashMap<String, String>) -> Result<(), UserError> {
        for step in &self.steps {
            for (key, template) in step.templates() {
                let loc = step.locs.get(key).copied().unwrap_or(Loc {
                    line: step.line,
                    column: 1,
                    plain: false,
                });
                self.check_template(key, template, &loc, vars)?;
            }
        }
        Ok(())
    }

    fn check_template(
        &self,
        key: &str,
        template: &str,
        loc: &Loc,
        vars: &HashMap<String, String>,
    ) -> Result<(), UserError> {
        // A malformed reference was refused by `parse`; a synthesised one is taken literally.
        let Ok(pieces) = pieces(template) else {
            return Ok(());
        };
        for piece in pieces {
            if let Piece::Var {
                name,
                default: None,
                at,
            } = piece
                && lookup(name, vars).is_none()
            {
                let (line, column) = loc.at(template, at);
                return Err(UserError::Scenario {
                    file: self
                        .file
                        .clone()
                        .unwrap_or_else(|| self.name.clone().into()),
                    line,
                    column,
                    message: format!(
                        "`${{{name}}}` in `{key}`: environment variable `{name}` is not set"
                    ),
                    hint: if key == "value" || key == "password" || key == "user" {
                        format!(
                            "export {name}=... before running (passwords come only from the environment)"
                        )
                    } else {
                        format!(
                            "export {name}=... before running, or give it a default in the file: `${{{name}:-...}}`"
                        )
                    },
                });
            }
        }
        Ok(())
    }

    /// `base_url` with its variables resolved (from `vars`, then the environment).
    pub(crate) fn resolved_base_url(
        &self,
        vars: &HashMap<String, String>,
    ) -> Result<Option<String>, UserError> {
        let Some(b) = &self.base_url else {
            return Ok(None);
        };
        self.check_template("base_url", b, &self.base_url_loc, vars)?;
        Ok(Some(substitute(b, vars).unwrap_or_else(|_| b.clone())))
    }

    /// Resolve a `goto` target against the base URL.
    pub(crate) fn resolve_url(
        &self,
        target: &str,
        base: Option<&str>,
    ) -> Result<String, UserError> {
        if target.starts_with("http://") || target.starts_with("https://") {
            return Ok(target.to_string());
        }
        let base = base.or(self.base_url.as_deref()).ok_or_else(|| {
            UserError::input(
                format!("journey `{}` has a relative goto `{target}` but no base URL", self.name),
                "pass a URL on the command line (`cdnprobe run https://jira.example.com --scenario FILE`) or set `base_url` in the file",
            )
        })?;
        join_url(base, target)
    }
}

/// Join a base URL (which may carry a context path such as `/jira`) and a journey path.
pub(crate) fn join_url(base: &str, target: &str) -> Result<String, UserError> {
    let base_url = url::Url::parse(base).map_err(|e| {
        UserError::input(
            format!("`{base}` is not a valid URL: {e}"),
            "write a full URL such as https://jira.example.com or http://127.0.0.1:8080/jira",
        )
    })?;
    let prefix = base_url.path().trim_end_matches('/');
    let path = if target.starts_with('/') {
        format!("{prefix}{target}")
    } else {
        format!("{prefix}/{target}")
    };
    let mut u = base_url.clone();
    // A fragment (`#access_token=...`, `#comment-1`) stays a fragment, not a `%23` in the query.
    let (path, fragment) = match path.split_once('#') {
        Some((p, f)) => (p.to_string(), Some(f.to_string())),
        None => (path, None),
    };
    let (p, q) = match path.split_once('?') {
        Some((p, q)) => (p.to_string(), Some(q.to_string())),
        None => (path, None),
    };
    u.set_path(&p);
    u.set_query(q.as_deref());
    u.set_fragment(fragment.as_deref());
    Ok(u.to_string())
}

/// Where each line of a file starts, found once: a step's line is then a binary search. Scanning
/// the text before every step instead (as this used to) made parsing quadratic in the file's
/// size: 20,000 steps took 18 s, 40,000 over a minute.
struct Lines<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> Lines<'a> {
    fn new(text: &'a str) -> Lines<'a> {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Lines { text, starts }
    }

    /// 1-based line and column (in characters) of a byte offset.
    fn line_col(&self, offset: usize) -> (usize, usize) {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.starts.partition_point(|&s| s <= offset);
        let start = self.starts[line - 1];
        (line, self.text[start..offset].chars().count() + 1)
    }
}

fn is_pure_env_ref(v: &str) -> bool {
    let v = v.trim();
    v.starts_with("${") && v.ends_with('}') && is_var_name(&v[2..v.len() - 1])
}

fn is_var_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A template split into literal text and `${NAME}` / `${NAME:-default}` references.
#[derive(Debug, PartialEq)]
enum Piece<'a> {
    Text(&'a str),
    Var {
        name: &'a str,
        default: Option<&'a str>,
        /// Byte offset of the `$` in the template.
        at: usize,
    },
}

/// Split a template; `Err((byte offset, message))` for a malformed reference. `$${` is a
/// literal `${`.
fn pieces(template: &str) -> Result<Vec<Piece<'_>>, (usize, String)> {
    let mut out = Vec::new();
    let mut pos = 0;
    while let Some(i) = template[pos..].find("${").map(|i| pos + i) {
        if i > pos && template[..i].ends_with('$') {
            out.push(Piece::Text(&template[pos..i - 1]));
            out.push(Piece::Text("${"));
            pos = i + 2;
            continue;
        }
        out.push(Piece::Text(&template[pos..i]));
        let body_start = i + 2;
        let Some(len) = template[body_start..].find('}') else {
            return Err((i, "`${` is not closed by `}`".to_string()));
        };
        let body = &template[body_start..body_start + len];
        let (name, default) = match body.split_once(":-") {
            Some((n, d)) => (n, Some(d)),
            None => (body, None),
        };
        if !is_var_name(name) {
            return Err((i, format!("`${{{body}}}` is not a variable reference")));
        }
        out.push(Piece::Var {
            name,
            default,
            at: i,
        });
        pos = body_start + len + 1;
    }
    out.push(Piece::Text(&template[pos..]));
    out.retain(|p| !matches!(p, Piece::Text("")));
    Ok(out)
}

fn lookup(name: &str, vars: &HashMap<String, String>) -> Option<String> {
    vars.get(name).cloned().or_else(|| std::env::var(name).ok())
}

/// Replace `${NAME}` (from `vars`, then the environment) and `${NAME:-default}` (the default
/// when NAME is unset or empty, as in the shell); `$${` is a literal `${`. `Err(name)` for the
/// first unset variable without a default. A malformed template is returned as it is.
pub(crate) fn substitute(template: &str, vars: &HashMap<String, String>) -> Result<String, String> {
    let Ok(pieces) = pieces(template) else {
        return Ok(template.to_string());
    };
    let mut out = String::new();
    for piece in pieces {
        match piece {
            Piece::Text(t) => out.push_str(t),
            Piece::Var { name, default, .. } => match (lookup(name, vars), default) {
                (Some(v), Some(d)) if v.is_empty() => out.push_str(d),
                (Some(v), _) => out.push_str(&v),
                (None, Some(d)) => out.push_str(d),
                (None, None) => return Err(name.to_string()),
            },
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Scenario, UserError> {
        Scenario::parse(text, Path::new("j.toml"))
    }

    fn scenario_error(text: &str) -> (usize, usize, String) {
        match parse(text).unwrap_err() {
            UserError::Scenario {
                line,
                column,
                message,
                ..
            } => (line, column, message),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn parameters_with_a_default_are_not_secrets_typed_values_always_are() {
        let s = parse(
            r##"name = "j"
[[step]]
goto = "/browse/${ISSUE:-LAB-1}?q=${QUERY}"
[[step]]
fill = "#search"
value = "${TERM:-cdn}"
[[step]]
expect_text = "${ISSUE:-LAB-1}"
"##,
        )
        .unwrap();
        assert_eq!(s.secret_vars(), ["QUERY", "TERM"]);
    }

    #[test]
    fn alternatives_optional_dismiss_login_and_websudo() {
        let s = parse(
            r##"name = "j"
product = "jira"
dismiss = [".aui-message .icon-close", "#closeDisDialog"]
[[step]]
goto = "/login.jsp"
[[step]]
login = true
user = "${U}"
password = "${P}"
[[step]]
wait_for = ["#header-details-user-fullname", "#user-options"]
optional = true
[[step]]
click = ["#create_link", "#create-menu"]
[[step]]
fill = ["#summary", "#title"]
value = "hello"
[[step]]
websudo = true
[[step]]
login = "confluence"
user = "${U}"
password = "${P}"
"##,
        )
        .unwrap();
        assert_eq!(s.dismiss, [".aui-message .icon-close", "#closeDisDialog"]);
        assert_eq!(
            s.steps[1].action,
            Action::Login {
                product: LoginProduct::Jira,
                user: Value {
                    template: "${U}".into()
                },
                password: Value {
                    template: "${P}".into()
                },
            }
        );
        assert_eq!(
            s.steps[2].action,
            Action::WaitFor(vec![
                "#header-details-user-fullname".into(),
                "#user-options".into()
            ])
        );
        assert!(s.steps[2].optional);
        assert!(!s.steps[3].optional);
        assert_eq!(s.steps[3].describe(), "click #create_link | #create-menu");
        assert_eq!(s.steps[5].action, Action::WebSudo { password: None });
        assert!(matches!(
            s.steps[6].action,
            Action::Login {
                product: LoginProduct::Confluence,
                ..
            }
        ));
        assert_eq!(s.secret_vars(), ["U", "P"]);
        // Old files keep working: a plain string is one alternative.
        let old = parse("name = \"j\"\n[[step]]\nclick = \"#a\"\n").unwrap();
        assert_eq!(old.steps[0].action, Action::Click(vec!["#a".into()]));
        assert!(old.dismiss.is_empty());
    }

    #[test]
    fn bad_new_keys_point_at_the_step() {
        let (line, _, m) = scenario_error(
            "name = \"j\"\n[[step]]\nlogin = true\nuser = \"me\"\npassword = \"secret\"\n",
        );
        assert_eq!(line, 2);
        assert!(m.contains("password is written in the file"), "{m}");
        let (line, _, m) =
            scenario_error("name = \"j\"\n[[step]]\ngoto = \"/\"\noptional = true\n");
        assert_eq!(line, 2);
        assert!(m.contains("`optional` does not apply to `goto`"), "{m}");
        let (_, _, m) = scenario_error("name = \"j\"\n[[step]]\nclick = []\n");
        assert!(m.contains("non-empty list"), "{m}");
        let (line, col, m) = scenario_error("name = \"j\"\ndismiss = 3\n[[step]]\ngoto = \"/\"\n");
        assert_eq!((line, col), (2, 11));
        assert!(m.contains("`dismiss` must be a list"), "{m}");
        let (_, _, m) = scenario_error("name = \"j\"\n[[step]]\ngoto = \"/\"\nuser = \"x\"\n");
        assert!(m.contains("`user` only belongs to `login`"), "{m}");
        let (_, _, m) = scenario_error(
            "name = \"j\"\n[[step]]\nlogin = \"bamboo\"\nuser = \"${U}\"\npassword = \"${P}\"\n",
        );
        assert!(m.contains("`login` must be"), "{m}");
    }

    #[test]
    fn parses_every_action() {
        let s = parse(
            r##"
name = "all"
base_url = "http://127.0.0.1:1"
[[step]]
goto = "/login.jsp"
[[step]]
fill = "#user"
value = "${LOGIN_USER}"
[[step]]
fill = "#login-form-password"
value = "${LOGIN_PASSWORD}"
[[step]]
click = "#submit"
timeout = 5
[[step]]
press = "Enter"
[[step]]
wait_for = "#x"
[[step]]
wait_idle = true
[[step]]
expect_text = "Dashboard"
name = "dashboard shows"
[[step]]
expect_url = "/secure/Dashboard.jspa"
[[step]]
screenshot = "d.png"
"##,
        )
        .unwrap();
        assert_eq!(s.steps.len(), 10);
        assert_eq!(s.steps[0].action, Action::Goto("/login.jsp".into()));
        assert_eq!(s.steps[0].line, 4);
        assert_eq!(s.steps[3].timeout, Some(Duration::from_secs(5)));
        assert_eq!(s.steps[0].timeout, None);
        assert_eq!(s.steps[6].action, Action::WaitIdle);
        assert_eq!(s.secret_vars(), vec!["LOGIN_USER", "LOGIN_PASSWORD"]);
    }

    #[test]
    fn unknown_step_names_line_and_lists_actions() {
        let err = parse("name = \"x\"\n\n[[step]]\nhover = \"#a\"\n").unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("j.toml:3:"), "{msg}");
        assert!(msg.contains("unknown step key `hover`"), "{msg}");
        assert!(msg.contains("goto, click, fill"), "{msg}");
    }

    #[test]
    fn malformed_toml_names_line_and_column() {
        let err = parse("name = \"x\"\n[[step]]\ngoto = /nope\n").unwrap_err();
        match err {
            UserError::Scenario { line, column, .. } => {
                assert_eq!(line, 3);
                assert!(column >= 7, "column {column}");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn literal_password_is_refused() {
        let err = parse("name = \"x\"\n[[step]]\nfill = \"#os_password\"\nvalue = \"hunter2\"\n")
            .unwrap_err();
        assert!(err.to_string().contains("environment"), "{err}");
    }

    #[test]
    fn two_actions_in_one_step_is_an_error() {
        let err = parse("name = \"x\"\n[[step]]\ngoto = \"/\"\nclick = \"#a\"\n").unwrap_err();
        assert!(err.to_string().contains("several actions"), "{err}");
    }

    #[test]
    fn substitution_prefers_vars_then_env_and_names_missing() {
        let mut vars = HashMap::new();
        vars.insert("A_CDNPROBE_TEST".to_string(), "x".to_string());
        assert_eq!(substitute("u=${A_CDNPROBE_TEST}!", &vars).unwrap(), "u=x!");
        assert_eq!(
            substitute("${SURELY_UNSET_CDNPROBE_VAR}", &vars).unwrap_err(),
            "SURELY_UNSET_CDNPROBE_VAR"
        );
    }

    #[test]
    fn defaults_escapes_and_malformed_references() {
        let mut vars = HashMap::new();
        vars.insert("CDNPROBE_T_SET".to_string(), "v".to_string());
        vars.insert("CDNPROBE_T_EMPTY".to_string(), String::new());
        let sub = |t: &str| substitute(t, &vars);
        assert_eq!(sub("${CDNPROBE_T_SET:-d}").unwrap(), "v");
        assert_eq!(sub("/${CDNPROBE_T_UNSET_X:-/a/b}?x").unwrap(), "//a/b?x");
        // As in the shell, `:-` also replaces an empty value.
        assert_eq!(sub("${CDNPROBE_T_EMPTY:-d}").unwrap(), "d");
        assert_eq!(sub("${CDNPROBE_T_UNSET_X:-}").unwrap(), "");
        assert_eq!(sub("a$${CDNPROBE_T_SET}b").unwrap(), "a${CDNPROBE_T_SET}b");
        assert_eq!(sub("$$").unwrap(), "$$");
        assert_eq!(
            sub("${CDNPROBE_T_SET}${CDNPROBE_T_UNSET_X}").unwrap_err(),
            "CDNPROBE_T_UNSET_X"
        );
        assert_eq!(pieces("ab ${A").unwrap_err().0, 3);
        assert!(pieces("${1A}").is_err());
        assert!(pieces("${A B}").is_err());
        assert!(pieces("${}").is_err());
    }

    #[test]
    fn an_unset_variable_anywhere_is_reported_at_its_column() {
        let s = parse(concat!(
            "name = \"x\"\n",
            "[[step]]\ngoto = \"/${CDNPROBE_T_UNSET_OK:-/}\"\n",
            "[[step]]\nclick = \"#a, ${CDNPROBE_T_UNSET_SEL}\"\n",
        ))
        .unwrap();
        match s.check_vars(&HashMap::new()).unwrap_err() {
            UserError::Scenario {
                line,
                column,
                message,
                hint,
                ..
            } => {
                assert_eq!((line, column), (5, 14));
                assert!(
                    message.contains("`${CDNPROBE_T_UNSET_SEL}` in `click`"),
                    "{message}"
                );
                assert!(hint.contains(":-"), "{hint}");
            }
            other => panic!("unexpected {other:?}"),
        }
        // An escaped or multi-line value points at the value's start.
        let s =
            parse("name = \"x\"\n[[step]]\nexpect_text = \"\\t${CDNPROBE_T_UNSET_T}\"\n").unwrap();
        let err = s.check_vars(&HashMap::new()).unwrap_err().to_string();
        assert!(err.starts_with("j.toml:3:15:"), "{err}");
        // Set in `vars` (the lab's credentials): fine.
        let mut vars = HashMap::new();
        vars.insert("CDNPROBE_T_UNSET_T".to_string(), "t".to_string());
        s.check_vars(&vars).unwrap();
    }

    #[test]
    fn a_password_default_is_a_password_in_the_file() {
        let err =
            parse("name = \"x\"\n[[step]]\nfill = \"#os_password\"\nvalue = \"${PW:-hunter2}\"\n")
                .unwrap_err();
        assert!(err.to_string().contains("no default"), "{err}");
    }

    #[test]
    fn base_url_resolves_from_the_environment_or_says_which_variable() {
        let s = parse(
            "name = \"x\"\nbase_url = \"${CDNPROBE_T_UNSET_BASE}\"\n[[step]]\ngoto = \"/\"\n",
        )
        .unwrap();
        let err = s
            .resolved_base_url(&HashMap::new())
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("j.toml:2:13:"), "{err}");
        let mut vars = HashMap::new();
        vars.insert("CDNPROBE_T_UNSET_BASE".into(), "http://127.0.0.1:1".into());
        assert_eq!(
            s.resolved_base_url(&vars).unwrap().as_deref(),
            Some("http://127.0.0.1:1")
        );
    }

    proptest::proptest! {
        #[test]
        fn parse_never_panics(text in "\\PC{0,400}") {
            let _ = parse(&text);
        }

        #[test]
        fn parse_never_panics_on_step_shaped_input(
            key in "(goto|click|fill|press|wait_for|wait_idle|expect_text|expect_url|screenshot|name|value|timeout|x)",
            val in "(\"[^\"\\\\]{0,20}\"|-?[0-9]{1,5}|true|false|\\[\\]|\\{\\})",
            key2 in "(value|timeout|name|goto)",
            val2 in "(\"\\$\\{[A-Z_]{0,8}\\}\"|0|1.5|-3|\"\")",
        ) {
            let text = format!("name = \"p\"\n[[step]]\n{key} = {val}\n{key2} = {val2}\n");
            let _ = parse(&text);
        }
    }

    #[test]
    fn line_col_counts_lines_and_characters() {
        let lines = Lines::new("ab\nçd\n\nx");
        assert_eq!(lines.line_col(0), (1, 1));
        assert_eq!(lines.line_col(2), (1, 3));
        assert_eq!(lines.line_col(3), (2, 1));
        // `ç` is two bytes, one column; an offset inside it is taken as its start.
        assert_eq!(lines.line_col(5), (2, 2));
        assert_eq!(lines.line_col(4), (2, 1));
        assert_eq!(lines.line_col(7), (3, 1));
        assert_eq!(lines.line_col(8), (4, 1));
        assert_eq!(lines.line_col(99), (4, 2));
    }

    #[test]
    fn join_url_keeps_context_path() {
        assert_eq!(
            join_url("http://h:1/jira", "/login.jsp").unwrap(),
            "http://h:1/jira/login.jsp"
        );
        assert_eq!(
            join_url("http://h:1/", "/issues/?jql=a%20b").unwrap(),
            "http://h:1/issues/?jql=a%20b"
        );
    }
}
