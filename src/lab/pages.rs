//! What the lab's Jira and Confluence pages say: HTML with the real selectors and the real URL
//! shapes of everything a page pulls, and the REST answers its JavaScript asks for.
//!
//! Pure functions of (product, user, URLs): the origin decides headers and access, this module
//! only renders. `StaticUrls` is the one place where static resource URLs are built, so the
//! topology (relative, CDN host, app host) and the faults that bend URLs (`bypass-static`,
//! `query-buster`) all come through it; templates call it as `urls`.
//!
//! The markup lives in `templates/` (minijinja, compiled in): `layout.html` is every page's
//! head, header and footer, and each page extends it. This module chooses the page and hands it
//! its data; the templates only print it, every value auto-escaped as [`esc`] does, and the URLs
//! inside inline scripts go through `tojson`.

use std::sync::{Arc, LazyLock};

use minijinja::value::{Object, Serde, from_args};
use minijinja::{
    AutoEscape, Environment, State, UndefinedBehavior, Value as TemplateValue, context,
};
use serde::Serialize;
use serde_json::{Value, json};

use super::origin::{LabUser, Product};

/// The versioned `/s/` prefix up to and including `_/download`, per product
/// (`/s/<hash>-CDN/<locale>/<build>/<hash>/<version>/_/download`).
pub fn s_prefix(product: Product) -> &'static str {
    match product {
        Product::Jira => {
            "/s/3b8c2d7e9f1a4c6b8d0e2f4a6c8e0b1d-CDN/en_US/940007/2f5a8c1e3b7d9f0a4c6e8b2d1f3a5c7e/9.12.14/_/download"
        }
        Product::Confluence => {
            "/s/6d1e4b9c2a7f0e3d5b8c1a4f7e9d2b6c-CDN/en_GB/8703/7a1c3e5f9b2d4f6a8c0e1b3d5f7a9c2e/8.5.16/_/download"
        }
    }
}

/// The AUI font files every page pulls through the superbatch CSS.
pub(crate) const FONT_MODULE: &str = "com.atlassian.auiplugin:aui-fonts";
pub(crate) const FONT_FILES: [&str; 3] = ["adgs-icons.woff2", "adgs-icons.woff", "adgs-icons.ttf"];

/// Path (with context path) of the lab's woff font: the URL whose behavior `cors-missing` edits.
pub fn font_path(product: Product, ctx: &str) -> String {
    format!(
        "{ctx}{}/resources/{FONT_MODULE}/adgs-icons.woff",
        s_prefix(product)
    )
}

/// Builds every URL a page references.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaticUrls {
    pub product: Product,
    /// Context path, `""` or `/jira`.
    pub ctx: String,
    /// Where `/s/` and `/download/resources` live: `""` (same host, relative URLs) or an origin
    /// such as `http://localhost:8443` (CDN host, or the app host under `bypass-static`).
    pub static_origin: String,
    /// `query-buster`: a value appended as `&_=<n>` to every `/s/` URL.
    pub buster: Option<u64>,
    /// Which product versions the pages look like (login form, version strings).
    pub version: super::LabVersion,
}

impl StaticUrls {
    /// A URL on the app host (always relative: pages, REST, avatars, favicon).
    pub fn app(&self, path: &str) -> String {
        format!("{}{path}", self.ctx)
    }

    /// A `/s/` resource: `rest` is what follows `_/download/`.
    pub fn s(&self, rest: &str) -> String {
        let buster = self.buster.map(|n| format!("&_={n}")).unwrap_or_default();
        format!(
            "{}{}{}/{rest}?locale=en-US{buster}",
            self.static_origin,
            self.ctx,
            s_prefix(self.product)
        )
    }

    /// A `/download/resources/<plugin>:<module>/<file>` resource (unversioned).
    pub fn download(&self, rest: &str) -> String {
        format!(
            "{}{}/download/resources/{rest}",
            self.static_origin, self.ctx
        )
    }

    pub fn superbatch(&self, kind: &str) -> String {
        self.s(&format!("superbatch/{kind}/batch.{kind}"))
    }

    pub fn contextbatch(&self, kind: &str, contexts: &str) -> String {
        self.s(&format!("contextbatch/{kind}/{contexts}/batch.{kind}"))
    }

    /// `batch/<plugin>:<module>/<plugin>:<module>.js`
    pub fn module(&self, key: &str, kind: &str) -> String {
        self.s(&format!("batch/{key}/{key}.{kind}"))
    }
}

/// `(name, source)` of each template, compiled in from `templates/<name>` so the binary works
/// from any directory.
macro_rules! templates {
    ($($name:literal),* $(,)?) => {
        [$(($name, include_str!(concat!("templates/", $name)))),*]
    };
}

/// The page templates, by the name they are rendered, extended and included by.
const TEMPLATES: [(&str, &str); 21] = templates![
    "layout.html",
    "cloudfront_error.html",
    "icons.html",
    "login_2sv.html",
    "not_found.html",
    "websudo.html",
    "admin.html",
    "onboarding.html",
    "jira/header.html",
    "jira/login.html",
    "jira/dashboard.html",
    "jira/issue.html",
    "jira/search.html",
    "jira/project.html",
    "jira/quick_create_field.html",
    "confluence/header.html",
    "confluence/login.html",
    "confluence/dashboard.html",
    "confluence/view.html",
    "confluence/editor.html",
    "confluence/search.html",
];

/// Built once: every lab response renders from it.
static ENV: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    // A misspelt variable is an error in the tests, not an empty attribute on a page.
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    // The pages' own escaping (`esc`), not minijinja's, which also writes `/` as `&#x2f;`: URLs
    // in the markup stay as the products write them, and every escaped value reads as before.
    env.set_formatter(|out, state, value| {
        if matches!(state.auto_escape(), AutoEscape::Html)
            && !value.is_safe()
            && !value.is_undefined()
            && !value.is_none()
        {
            out.write_str(&esc(&value.to_string()))?;
            Ok(())
        } else {
            minijinja::escape_formatter(out, state, value)
        }
    });
    for (name, source) in TEMPLATES {
        env.add_template(name, source)
            .unwrap_or_else(|e| panic!("lab template {name}: {e:#}"));
    }
    env
});

/// Templates call the URL builders: `{{ urls.app("/login.jsp") }}`, `{{ urls.module(key, "js") }}`.
impl Object for StaticUrls {
    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        args: &[TemplateValue],
    ) -> Result<TemplateValue, minijinja::Error> {
        let url = match method {
            "app" => self.app(from_args::<(&str,)>(args)?.0),
            "s" => self.s(from_args::<(&str,)>(args)?.0),
            "download" => self.download(from_args::<(&str,)>(args)?.0),
            "superbatch" => self.superbatch(from_args::<(&str,)>(args)?.0),
            "contextbatch" => {
                let (kind, contexts) = from_args::<(&str, &str)>(args)?;
                self.contextbatch(kind, contexts)
            }
            "module" => {
                let (key, kind) = from_args::<(&str, &str)>(args)?;
                self.module(key, kind)
            }
            _ => return Err(minijinja::ErrorKind::UnknownMethod.into()),
        };
        Ok(url.into())
    }
}

/// What the pages escape in text and attributes (the formatter of [`ENV`] applies it).
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// What every page's frame (`layout.html`) needs besides its content: head resources and
/// header chrome.
struct Frame<'a> {
    title: &'a str,
    body_class: &'a str,
    /// Web-resource contexts for the context batch (comma-joined in the URL).
    contexts: &'a [&'a str],
    /// Single-module batches (`plugin:module`).
    modules: &'a [&'a str],
    metas: Vec<(&'a str, String)>,
    /// Extra `<script>` URLs after the batches (Synchrony).
    scripts: Vec<String>,
    user: Option<&'a LabUser>,
    atl_token: &'a str,
}

/// The user as the pages show them (never the password).
#[derive(Serialize)]
struct UserView<'a> {
    username: &'a str,
    display_name: &'a str,
    avatar_id: u32,
}

impl<'a> From<&'a LabUser> for UserView<'a> {
    fn from(x: &'a LabUser) -> Self {
        UserView {
            username: &x.username,
            display_name: &x.display_name,
            avatar_id: x.avatar_id,
        }
    }
}

/// CloudFront's own HTML error page (the edge's, not a product's).
pub(crate) fn cloudfront_error(status: u16, message: &str, cf_id: &str) -> String {
    render_fragment("cloudfront_error.html", context! { status, message, cf_id })
}

/// Renders `template` (which extends `layout.html`) in frame `f`; `page` holds what the
/// template's content needs.
fn render(u: &StaticUrls, template: &str, f: &Frame, page: TemplateValue) -> String {
    let version = u.version.of(u.product);
    let ctx = context! {
        urls => TemplateValue::from_object(u.clone()),
        product => u.product.name(),
        version,
        // Jira's footer shows the build number: the version without its dots.
        build => version.replace('.', ""),
        context_path => &u.ctx,
        title => f.title,
        body_class => f.body_class,
        contexts => f.contexts.join(","),
        modules => TemplateValue::from(Serde(f.modules)),
        metas => TemplateValue::from(Serde(&f.metas)),
        scripts => TemplateValue::from(Serde(&f.scripts)),
        user => TemplateValue::from(Serde(f.user.map(UserView::from))),
        atl_token => f.atl_token,
        ..page
    };
    render_fragment(template, ctx)
}

/// Renders a template as it is (a whole page through [`render`], or a fragment).
fn render_fragment(template: &str, ctx: TemplateValue) -> String {
    // The templates are compiled in and every one is rendered by the tests, so a failure here is
    // a bug in this module, not something a request can cause.
    ENV.get_template(template)
        .and_then(|t| t.render(ctx))
        .unwrap_or_else(|e| panic!("lab template {template}: {e:#}"))
}

// ---------------------------------------------------------------------------------------------
// Jira

#[derive(Serialize)]
pub struct Issue {
    pub key: &'static str,
    pub id: u32,
    pub summary: &'static str,
    pub status: &'static str,
    pub assignee: &'static str,
    pub description: &'static str,
}

pub(crate) const ISSUES: [Issue; 3] = [
    Issue {
        key: "LAB-1",
        id: 10100,
        summary: "CDN smoke test: static resources must come from the edge",
        status: "In Progress",
        assignee: "alice",
        description: "Every /s/ resource should go Miss then Hit behind CloudFront.",
    },
    Issue {
        key: "LAB-2",
        id: 10101,
        summary: "Fonts blocked by CORS when served from the CDN host",
        status: "To Do",
        assignee: "bob",
        description: "adgs-icons.woff fails with MissingAllowOriginHeader.",
    },
    Issue {
        key: "LAB-3",
        id: 10102,
        summary: "Every /s/ resource says Miss from cloudfront",
        status: "To Do",
        assignee: "alice",
        description: "Expires equals Date and the ALB stickiness cookie rotates.",
    },
];

pub fn issue(key: &str) -> Option<&'static Issue> {
    ISSUES.iter().find(|i| i.key.eq_ignore_ascii_case(key))
}

/// The lab's tiny JQL: `currentUser()` filters by assignee, `project = X` by project, `text ~ "x"`
/// by summary, `ORDER BY created DESC` puts the newest (last created) first; anything else
/// matches every issue.
pub(crate) fn jql_search(jql: &str, user: &LabUser) -> Vec<&'static Issue> {
    let lower = jql.to_ascii_lowercase();
    let newest_first = lower.contains("order by created desc");
    let mut found: Vec<&'static Issue> = ISSUES
        .iter()
        .filter(|i| !lower.contains("currentuser()") || i.assignee == user.username)
        .filter(|_| match project_clause(&lower) {
            Some(p) => p == "lab",
            None => true,
        })
        .filter(|i| match text_clause(&lower) {
            Some(t) => i.summary.to_ascii_lowercase().contains(&t),
            None => true,
        })
        .collect();
    if newest_first {
        found.reverse();
    }
    found
}

fn project_clause(jql: &str) -> Option<String> {
    let rest = jql.split("project").nth(1)?;
    let rest = rest.trim_start().strip_prefix('=')?.trim_start();
    Some(
        rest.trim_matches('"')
            .split(|c: char| c.is_whitespace() || c == '"')
            .next()
            .unwrap_or("")
            .to_string(),
    )
}

fn text_clause(jql: &str) -> Option<String> {
    let rest = jql.split("text").nth(1)?;
    let rest = rest.trim_start().strip_prefix('~')?.trim_start();
    let rest = rest.strip_prefix('"')?;
    Some(rest.split('"').next().unwrap_or("").to_string())
}

pub(crate) fn jira_login(u: &StaticUrls, destination: &str, error: bool, token: &str) -> String {
    render(
        u,
        "jira/login.html",
        &Frame {
            title: "Log in",
            body_class: "page-type-login",
            contexts: &["atl.general", "jira.general"],
            modules: &[],
            metas: vec![],
            scripts: vec![],
            user: None,
            atl_token: token,
        },
        context! {
            two_step => u.version == super::LabVersion::Current,
            destination,
            error,
        },
    )
}

/// A logged-in Jira page with the create-issue module; callers override what differs.
fn jira_frame<'a>(user: &'a LabUser, token: &'a str) -> Frame<'a> {
    Frame {
        title: "",
        body_class: "",
        contexts: &[],
        modules: &[QUICK_CREATE],
        metas: vec![],
        scripts: vec![],
        user: Some(user),
        atl_token: token,
    }
}

const QUICK_CREATE: &str = "com.atlassian.jira.jira-quick-edit-plugin:quick-create-issue";
const ISSUEVIEWER: &str = "com.atlassian.jira.jira-issue-nav-components:issueviewer";

pub fn jira_dashboard(u: &StaticUrls, user: &LabUser, token: &str) -> String {
    render(
        u,
        "jira/dashboard.html",
        &Frame {
            title: "System Dashboard",
            body_class: "page-type-dashboard",
            contexts: &[
                "atl.dashboard",
                "jira.global",
                "atl.general",
                "jira.dashboard",
            ],
            ..jira_frame(user, token)
        },
        context! {},
    )
}

pub(crate) fn jira_issue(u: &StaticUrls, user: &LabUser, token: &str, issue: &Issue) -> String {
    let title = format!("[{}] {}", issue.key, issue.summary);
    render(
        u,
        "jira/issue.html",
        &Frame {
            title: &title,
            body_class: "page-type-navigator",
            contexts: &["jira.view.issue", "atl.general", "jira.global"],
            modules: &[QUICK_CREATE, ISSUEVIEWER],
            metas: vec![("issue-key", issue.key.to_string())],
            scripts: vec![],
            user: Some(user),
            atl_token: token,
        },
        context! {
            issue => TemplateValue::from(Serde(issue)),
            assignee_avatar => avatar_for(issue.assignee),
        },
    )
}

pub(crate) fn jira_search(u: &StaticUrls, user: &LabUser, token: &str, jql: &str) -> String {
    render(
        u,
        "jira/search.html",
        &Frame {
            title: "Issue Navigator",
            body_class: "page-type-navigator",
            contexts: &["jira.navigator.simple", "atl.general", "jira.global"],
            metas: vec![("jql", jql.to_string())],
            ..jira_frame(user, token)
        },
        context! { jql },
    )
}

pub(crate) fn jira_project(u: &StaticUrls, user: &LabUser, token: &str) -> String {
    render(
        u,
        "jira/project.html",
        &Frame {
            title: "Summary - Lab",
            body_class: "page-type-project",
            contexts: &["jira.project.sidebar", "atl.general", "jira.global"],
            metas: vec![("project-key", "LAB".into())],
            ..jira_frame(user, token)
        },
        context! { issues => TemplateValue::from(Serde(&ISSUES)) },
    )
}

pub(crate) fn not_found(u: &StaticUrls, user: Option<&LabUser>, what: &str) -> String {
    render(
        u,
        "not_found.html",
        &Frame {
            title: "Page not found",
            body_class: "page-type-error",
            contexts: &["atl.general"],
            modules: &[],
            metas: vec![],
            scripts: vec![],
            user,
            atl_token: "",
        },
        context! { what },
    )
}

pub(crate) fn avatar_for(username: &str) -> u32 {
    match username {
        "alice" => 10122,
        "bob" => 10123,
        _ => 10121,
    }
}

fn user_json(u: &StaticUrls, user: &LabUser) -> Value {
    json!({
        "self": u.app(&format!("/rest/api/2/user?username={}", user.username)),
        "key": format!("JIRAUSER{}", 10000 + user.avatar_id % 100),
        "name": user.username,
        "emailAddress": user.email,
        "avatarUrls": {
            "48x48": u.app(&format!("/secure/useravatar?avatarId={}", user.avatar_id)),
            "16x16": u.app(&format!("/secure/useravatar?size=xsmall&avatarId={}", user.avatar_id)),
        },
        "displayName": user.display_name,
        "active": true,
        "timeZone": "Etc/UTC",
        "locale": "en_US",
    })
}

pub(crate) fn jira_myself(u: &StaticUrls, user: &LabUser) -> Value {
    user_json(u, user)
}

fn issue_json(u: &StaticUrls, i: &Issue) -> Value {
    json!({
        "id": i.id.to_string(),
        "self": u.app(&format!("/rest/api/2/issue/{}", i.id)),
        "key": i.key,
        "fields": {
            "summary": i.summary,
            "status": {"name": i.status, "statusCategory": {"key": if i.status == "To Do" { "new" } else { "indeterminate" }}},
            "assignee": {"name": i.assignee, "displayName": i.assignee},
            "project": {"key": "LAB", "name": "Lab", "id": "10000"},
            "description": i.description,
        }
    })
}

pub(crate) fn jira_search_json(u: &StaticUrls, user: &LabUser, jql: &str) -> Value {
    let found = jql_search(jql, user);
    json!({
        "expand": "schema,names",
        "startAt": 0,
        "maxResults": 50,
        "total": found.len(),
        "issues": found.iter().map(|i| issue_json(u, i)).collect::<Vec<_>>(),
    })
}

pub(crate) fn jira_issue_json(u: &StaticUrls, i: &Issue) -> Value {
    issue_json(u, i)
}

pub(crate) fn jira_comments_json(i: &Issue) -> Value {
    json!({
        "startAt": 0,
        "maxResults": 1048576,
        "total": 1,
        "comments": [{
            "id": (i.id + 900).to_string(),
            "author": {"name": "bob", "displayName": "Bob Example"},
            "body": format!("Checked {} behind the lab edge.", i.key),
            "created": "2026-11-24T09:00:00.000+0000",
        }]
    })
}

pub(crate) fn jira_project_json(u: &StaticUrls) -> Value {
    json!({
        "self": u.app("/rest/api/2/project/10000"),
        "id": "10000",
        "key": "LAB",
        "name": "Lab",
        "lead": {"name": "alice", "displayName": "Alice Example"},
        "issueCount": ISSUES.len(),
        "avatarUrls": {"16x16": u.app("/secure/projectavatar?size=xsmall&pid=10000&avatarId=10011")},
        "projectTypeKey": "software",
    })
}

/// `GET /rest/api/2/project`: every project the user can see (the lab has one).
pub(crate) fn jira_projects_json(u: &StaticUrls) -> Value {
    json!([jira_project_json(u)])
}

pub(crate) fn jira_quick_create_json(token: &str) -> Value {
    let field = |id: &str, label: &str, required: bool| {
        json!({"id": id, "label": label, "required": required,
               "editHtml": render_fragment("jira/quick_create_field.html", context! { id, label })})
    };
    json!({
        "sortedTabs": [{"label": "Field Tab", "fields": ["project", "issuetype", "summary", "description"]}],
        "fields": [
            field("project-field", "Project", true),
            field("issuetype-field", "Issue Type", true),
            field("summary", "Summary", true),
            field("description", "Description", false),
        ],
        "atl_token": token,
        "formToken": format!("{:x}", token.len() * 7919),
    })
}

// ---------------------------------------------------------------------------------------------
// Confluence

#[derive(Serialize)]
pub struct Content {
    pub id: u64,
    pub kind: &'static str,
    pub title: &'static str,
    /// Display URL (without context path).
    pub url: &'static str,
    pub body: &'static str,
    pub author: &'static str,
}

pub(crate) const CONTENT: [Content; 3] = [
    Content {
        id: 65538,
        kind: "page",
        title: "Lab Home",
        url: "/display/LAB/Lab+Home",
        body: "<p>Welcome to the <strong>Lab</strong> space. This page is served by the cdnprobe lab through a CloudFront-like edge (CDN).</p>",
        author: "alice",
    },
    Content {
        id: 65539,
        kind: "page",
        title: "CDN Runbook",
        url: "/display/LAB/CDN+Runbook",
        body: "<p>How we put CloudFront (CDN) in front of Confluence: /s/* cached for a year, fonts with CORS.</p>",
        author: "bob",
    },
    Content {
        id: 65540,
        kind: "blogpost",
        title: "Lab News",
        url: "/display/LAB/2026/11/24/Lab+News",
        body: "<p>The lab now reproduces the community thread's CDN failures on demand.</p>",
        author: "alice",
    },
];

pub(crate) fn content_by_id(id: u64) -> Option<&'static Content> {
    CONTENT.iter().find(|c| c.id == id)
}

/// An administrator page's password prompt (WebSudo), each product's own markup.
pub fn websudo(u: &StaticUrls, user: &LabUser, admin: &str, error: bool, token: &str) -> String {
    admin_frame(
        u,
        user,
        "Administrator Access",
        "websudo.html",
        context! { admin, error },
        token,
    )
}

/// The administrator page behind WebSudo.
pub(crate) fn admin_page(u: &StaticUrls, user: &LabUser, token: &str) -> String {
    admin_frame(
        u,
        user,
        "General configuration",
        "admin.html",
        context! {},
        token,
    )
}

fn admin_frame(
    u: &StaticUrls,
    user: &LabUser,
    title: &str,
    template: &str,
    page: TemplateValue,
    token: &str,
) -> String {
    render(
        u,
        template,
        &Frame {
            title,
            body_class: "page-type-admin",
            contexts: &["atl.general", "atl.admin"],
            modules: &[],
            metas: vec![],
            scripts: vec![],
            user: Some(user),
            atl_token: token,
        },
        page,
    )
}

/// A first login's onboarding page: Jira's welcome (`#next`) or Confluence's
/// (`#grow-intro-video-skip-button`); the button finishes it.
pub fn onboarding(u: &StaticUrls, user: &LabUser, next: &str, token: &str) -> String {
    render(
        u,
        "onboarding.html",
        &Frame {
            title: "Welcome",
            body_class: "page-type-onboarding",
            contexts: &["atl.general"],
            modules: &[],
            metas: vec![],
            scripts: vec![],
            // The products' onboarding pages have no application header: nothing on them says
            // the user is in yet.
            user: None,
            atl_token: token,
        },
        context! { welcome_name => &user.display_name, next },
    )
}

pub(crate) fn content_by_url(path: &str) -> Option<&'static Content> {
    CONTENT.iter().find(|c| c.url == path)
}

pub(crate) fn confluence_login(
    u: &StaticUrls,
    destination: &str,
    error: bool,
    token: &str,
) -> String {
    render(
        u,
        "confluence/login.html",
        &Frame {
            title: "Log In",
            body_class: "login",
            contexts: &["main", "login", "atl.general"],
            modules: &[],
            metas: vec![],
            scripts: vec![],
            user: None,
            atl_token: token,
        },
        context! {
            two_step => u.version == super::LabVersion::Current,
            destination,
            error,
        },
    )
}

pub(crate) fn confluence_dashboard(u: &StaticUrls, user: &LabUser, token: &str) -> String {
    render(
        u,
        "confluence/dashboard.html",
        &Frame {
            title: "Dashboard",
            body_class: "dashboard",
            contexts: &["main", "dashboard", "atl.general", "atl.dashboard"],
            modules: &[],
            metas: vec![],
            scripts: vec![],
            user: Some(user),
            atl_token: token,
        },
        context! {},
    )
}

pub(crate) fn confluence_view(u: &StaticUrls, user: &LabUser, token: &str, c: &Content) -> String {
    let contexts: &[&str] = if c.kind == "blogpost" {
        &[
            "main",
            "viewcontent",
            "atl.general",
            "blogpost",
            "atl.comments",
        ]
    } else {
        &["main", "viewcontent", "atl.general", "page", "atl.comments"]
    };
    render(
        u,
        "confluence/view.html",
        &Frame {
            title: c.title,
            body_class: if c.kind == "blogpost" {
                "blogpost"
            } else {
                "page"
            },
            contexts,
            modules: &["com.atlassian.confluence.plugins.quickreload:quickreload"],
            metas: vec![
                ("page-id", c.id.to_string()),
                ("page-title", c.title.to_string()),
                ("space-key", "LAB".into()),
            ],
            scripts: vec![],
            user: Some(user),
            atl_token: token,
        },
        context! { content => TemplateValue::from(Serde(c)) },
    )
}

pub(crate) fn confluence_editor(
    u: &StaticUrls,
    user: &LabUser,
    token: &str,
    c: &Content,
) -> String {
    render(
        u,
        "confluence/editor.html",
        &Frame {
            title: &format!("Editing {}", c.title),
            body_class: "contenteditor edit",
            contexts: &["main", "editor", "atl.general", "macro-browser"],
            modules: &[],
            metas: vec![
                ("page-id", c.id.to_string()),
                ("content-type", c.kind.to_string()),
            ],
            scripts: vec![u.app("/synchrony-proxy/resources/js/synchrony.min.js")],
            user: Some(user),
            atl_token: token,
        },
        context! { content => TemplateValue::from(Serde(c)) },
    )
}

pub(crate) fn confluence_search(
    u: &StaticUrls,
    user: &LabUser,
    token: &str,
    query: &str,
) -> String {
    render(
        u,
        "confluence/search.html",
        &Frame {
            title: "Search",
            body_class: "search",
            contexts: &["main", "search", "atl.general"],
            modules: &[],
            metas: vec![("search-query", query.to_string())],
            scripts: vec![],
            user: Some(user),
            atl_token: token,
        },
        context! { query },
    )
}

pub(crate) fn confluence_user_json(u: &StaticUrls, user: &LabUser) -> Value {
    json!({
        "type": "known",
        "username": user.username,
        "userKey": format!("8a7f808a{:08x}", user.avatar_id),
        "profilePicture": {"path": u.app("/images/icons/profilepics/default.svg"), "width": 48, "height": 48, "isDefault": true},
        "displayName": user.display_name,
    })
}

pub(crate) fn confluence_content_json(u: &StaticUrls, c: &Content) -> Value {
    json!({
        "id": c.id.to_string(),
        "type": c.kind,
        "status": "current",
        "title": c.title,
        "space": {"key": "LAB", "name": "Lab"},
        "version": {"number": 3},
        "body": {"storage": {"value": c.body, "representation": "storage"}},
        "_links": {"webui": c.url, "self": u.app(&format!("/rest/api/content/{}", c.id))},
    })
}

fn confluence_space_json(u: &StaticUrls) -> Value {
    json!({
        "id": 98305,
        "key": "LAB",
        "name": "Lab",
        "type": "global",
        "homepage": confluence_content_json(u, &CONTENT[0]),
        "_links": {"webui": "/display/LAB", "self": u.app("/rest/api/space/LAB")},
    })
}

/// `GET /rest/api/space/LAB` (`expand=homepage` or not: the lab always expands it).
pub(crate) fn confluence_space(u: &StaticUrls, key: &str) -> Option<Value> {
    key.eq_ignore_ascii_case("LAB")
        .then(|| confluence_space_json(u))
}

/// `GET /rest/api/space`: the spaces the user can see.
pub(crate) fn confluence_spaces_json(u: &StaticUrls) -> Value {
    json!({"results": [confluence_space_json(u)], "start": 0, "limit": 25, "size": 1})
}

/// `GET /rest/api/content?type=page|blogpost[&spaceKey=LAB]`.
pub(crate) fn confluence_contents_json(u: &StaticUrls, kind: &str, space: Option<&str>) -> Value {
    let results: Vec<Value> = CONTENT
        .iter()
        .filter(|c| c.kind == kind && space.is_none_or(|s| s.eq_ignore_ascii_case("LAB")))
        .map(|c| confluence_content_json(u, c))
        .collect();
    json!({"size": results.len(), "results": results, "start": 0, "limit": 25})
}

pub(crate) fn confluence_comments_json(c: &Content) -> Value {
    json!({
        "results": [{"id": (c.id + 1000).to_string(), "type": "comment", "title": format!("Re: {}", c.title),
                     "body": {"view": {"value": "Looks fast from here.", "representation": "view"}}}],
        "start": 0, "limit": 25, "size": 1,
    })
}

pub(crate) fn confluence_search_json(cql: &str) -> Value {
    let needle = cql
        .split('"')
        .nth(1)
        .unwrap_or(cql)
        .trim()
        .to_ascii_lowercase();
    let hits: Vec<Value> = CONTENT
        .iter()
        .filter(|c| {
            needle.is_empty()
                || c.title.to_ascii_lowercase().contains(&needle)
                || c.body.to_ascii_lowercase().contains(&needle)
        })
        .map(|c| {
            json!({"content": {"id": c.id.to_string(), "type": c.kind}, "title": c.title,
                   "excerpt": strip_tags(c.body), "url": c.url, "entityType": "content"})
        })
        .collect();
    json!({"results": hits, "start": 0, "limit": 20, "size": hits.len(), "totalSize": hits.len(), "cqlQuery": cql})
}

pub(crate) fn confluence_updates_json() -> Value {
    json!({
        "changeSets": CONTENT.iter().map(|c| json!({"title": c.title, "url": c.url, "author": c.author, "type": c.kind})).collect::<Vec<_>>(),
    })
}

fn strip_tags(s: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn urls(static_origin: &str, buster: Option<u64>) -> StaticUrls {
        StaticUrls {
            product: Product::Jira,
            ctx: "/jira".into(),
            static_origin: static_origin.into(),
            buster,
            version: crate::lab::LabVersion::Legacy,
        }
    }

    #[test]
    fn static_urls_have_the_real_shapes() {
        let u = urls("", None);
        assert_eq!(
            u.superbatch("js"),
            "/jira/s/3b8c2d7e9f1a4c6b8d0e2f4a6c8e0b1d-CDN/en_US/940007/2f5a8c1e3b7d9f0a4c6e8b2d1f3a5c7e/9.12.14/_/download/superbatch/js/batch.js?locale=en-US"
        );
        assert!(
            u.contextbatch("js", "jira.view.issue,atl.general")
                .ends_with(
                    "/_/download/contextbatch/js/jira.view.issue,atl.general/batch.js?locale=en-US"
                )
        );
        assert!(
            u.module("a.b:c", "js")
                .ends_with("/_/download/batch/a.b:c/a.b:c.js?locale=en-US")
        );
        assert_eq!(
            u.download("p:m/x.png"),
            "/jira/download/resources/p:m/x.png"
        );
        assert_eq!(u.app("/rest/api/2/myself"), "/jira/rest/api/2/myself");
    }

    #[test]
    fn cdn_host_and_buster_bend_only_static_urls() {
        let u = urls("http://localhost:9", Some(7));
        assert!(
            u.superbatch("css")
                .starts_with("http://localhost:9/jira/s/")
        );
        assert!(u.superbatch("css").ends_with("?locale=en-US&_=7"));
        assert!(
            u.download("p:m/x.png")
                .starts_with("http://localhost:9/jira/download/resources/")
        );
        assert_eq!(u.app("/favicon.ico"), "/jira/favicon.ico");
    }

    #[test]
    fn font_path_is_under_the_s_prefix() {
        let p = font_path(Product::Confluence, "/confluence");
        assert!(p.starts_with("/confluence/s/6d1e"));
        assert!(
            p.ends_with("/_/download/resources/com.atlassian.auiplugin:aui-fonts/adgs-icons.woff")
        );
    }

    #[test]
    fn tiny_jql() {
        let alice = LabUser::new("alice", "x", "Alice Example", 10122);
        let bob = LabUser::new("bob", "x", "Bob Example", 10123);
        assert_eq!(jql_search("project = LAB", &alice).len(), 3);
        assert_eq!(jql_search("project = NOPE", &alice).len(), 0);
        let mine: Vec<_> = jql_search("assignee = currentUser()", &bob)
            .iter()
            .map(|i| i.key)
            .collect();
        assert_eq!(mine, ["LAB-2"]);
        assert_eq!(jql_search("text ~ \"cors\"", &alice).len(), 1);
    }

    #[test]
    fn escaping() {
        assert_eq!(
            esc("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }

    /// Every page the lab serves, for one product and version (the user logged in or not as
    /// each page is).
    fn every_page(u: &StaticUrls, user: &LabUser, input: &str) -> Vec<(String, String)> {
        let mut pages = vec![
            ("admin".to_string(), admin_page(u, user, input)),
            ("onboarding".into(), onboarding(u, user, input, input)),
            ("not found".into(), not_found(u, Some(user), input)),
            ("not found, anonymous".into(), not_found(u, None, input)),
        ];
        for error in [false, true] {
            pages.push((
                format!("websudo {error}"),
                websudo(u, user, input, error, input),
            ));
            let login = match u.product {
                Product::Jira => jira_login(u, input, error, input),
                Product::Confluence => confluence_login(u, input, error, input),
            };
            pages.push((format!("login {error}"), login));
        }
        match u.product {
            Product::Jira => {
                pages.push(("dashboard".into(), jira_dashboard(u, user, input)));
                pages.push(("search".into(), jira_search(u, user, input, input)));
                pages.push(("project".into(), jira_project(u, user, input)));
                for i in &ISSUES {
                    pages.push((i.key.into(), jira_issue(u, user, input, i)));
                }
            }
            Product::Confluence => {
                pages.push(("dashboard".into(), confluence_dashboard(u, user, input)));
                pages.push(("search".into(), confluence_search(u, user, input, input)));
                for c in &CONTENT {
                    pages.push((c.title.into(), confluence_view(u, user, input, c)));
                    pages.push((c.title.into(), confluence_editor(u, user, input, c)));
                }
            }
        }
        pages
    }

    fn all_urls() -> Vec<StaticUrls> {
        let mut all = vec![];
        for product in [Product::Jira, Product::Confluence] {
            for version in [
                crate::lab::LabVersion::Legacy,
                crate::lab::LabVersion::Current,
            ] {
                all.push(StaticUrls {
                    product,
                    ctx: "/ctx".into(),
                    static_origin: "http://localhost:9".into(),
                    buster: Some(7),
                    version,
                });
            }
        }
        all
    }

    #[test]
    fn every_template_parses() {
        for (name, _) in TEMPLATES {
            assert!(ENV.get_template(name).is_ok(), "{name}");
        }
    }

    #[test]
    fn every_page_renders_whole_in_both_products_and_versions() {
        let alice = LabUser::new("alice", "x", "Alice Example", 10122);
        for u in all_urls() {
            for (name, html) in every_page(&u, &alice, "tok") {
                let what = format!("{:?} {:?} {name}", u.product, u.version);
                assert!(
                    html.starts_with("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"),
                    "{what}"
                );
                assert!(
                    html.ends_with("</footer>\n</div>\n</body>\n</html>\n"),
                    "{what}"
                );
                assert!(
                    html.contains("<section id=\"content\" role=\"main\">\n<"),
                    "{what}"
                );
                // minijinja's own escaping would write `/` as `&#x2f;`.
                assert!(!html.contains("&#x2f;"), "{what}");
                assert!(
                    html.contains("<link rel=\"shortcut icon\" href=\"/ctx/favicon.ico\">"),
                    "{what}"
                );
            }
        }
    }

    #[test]
    fn hostile_values_are_escaped_wherever_they_land() {
        let hostile = "\"'<b>&x";
        let escaped = "&quot;&#39;&lt;b&gt;&amp;x";
        let eve = LabUser::new(hostile, "x", hostile, 10121);
        for u in all_urls() {
            for (name, html) in every_page(&u, &eve, hostile) {
                let what = format!("{:?} {:?} {name}", u.product, u.version);
                assert!(!html.contains("<b>"), "{what}: {html}");
                assert!(!html.contains("'<"), "{what}");
                assert!(html.contains(escaped), "{what}");
            }
        }
    }

    #[test]
    fn inline_script_strings_cannot_close_the_script() {
        let u = StaticUrls {
            ctx: "/a</script><b>".into(),
            ..urls("", None)
        };
        let html = not_found(&u, None, "x");
        assert!(html.contains(
            "fetch(\"/a\\u003c/script\\u003e\\u003cb\\u003e/rest/webResources/1.0/resources\", "
        ));
        assert_eq!(
            html.matches("<script").count(),
            html.matches("</script>").count()
        );
        assert!(!html.contains("<b>"));
    }

    #[test]
    fn stored_page_bodies_stay_markup() {
        let alice = LabUser::new("alice", "x", "Alice Example", 10122);
        let u = StaticUrls {
            product: Product::Confluence,
            ..urls("", None)
        };
        let html = confluence_view(&u, &alice, "tok", &CONTENT[0]);
        assert!(html.contains(&format!(
            "<div id=\"main-content\" class=\"wiki-content\">{}</div>",
            CONTENT[0].body
        )));
    }

    /// CloudFront's error page, byte for byte as the edge wrote it before it was a template.
    #[test]
    fn the_cloudfront_error_page_is_cloudfronts() {
        assert_eq!(
            cloudfront_error(502, "No origin.", "abc=="),
            "<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 4.01 Transitional//EN\" \"http://www.w3.org/TR/html4/loose.dtd\">\n\
<HTML><HEAD><META HTTP-EQUIV=\"Content-Type\" CONTENT=\"text/html; charset=iso-8859-1\">\n\
<TITLE>ERROR: The request could not be satisfied</TITLE>\n\
</HEAD><BODY>\n\
<H1>502 ERROR</H1>\n\
<H2>The request could not be satisfied.</H2>\n\
<HR noshade size=\"1px\">\n\
No origin.\n\
<BR clear=\"all\">\n\
<HR noshade size=\"1px\">\n\
<PRE>\n\
Generated by cloudfront (CloudFront)\n\
Request ID: abc==\n\
</PRE>\n\
<ADDRESS>\n\
</ADDRESS>\n\
</BODY></HTML>"
        );
    }

    #[test]
    fn quick_create_fields_are_the_products_markup() {
        let json = jira_quick_create_json("tok");
        assert_eq!(
            json["fields"][2]["editHtml"],
            "<div class=\"field-group\"><label for=\"summary\">Summary</label><input class=\"text long-field\" id=\"summary\" name=\"summary\" type=\"text\"></div>"
        );
        assert_eq!(
            json["fields"][3]["editHtml"],
            "<div class=\"field-group\"><label for=\"description\">Description</label><textarea class=\"textarea long-field\" id=\"description\" name=\"description\"></textarea></div>"
        );
    }
}
