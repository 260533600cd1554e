//! What the lab's Jira and Confluence pages say: HTML with the real selectors and the real URL
//! shapes of everything a page pulls, and the REST answers its JavaScript asks for.
//!
//! Pure functions of (product, user, URLs): the origin decides headers and access, this module
//! only renders. `StaticUrls` is the one place where static resource URLs are built, so the
//! topology (relative, CDN host, app host) and the faults that bend URLs (`bypass-static`,
//! `query-buster`) all come through it.

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
pub const FONT_MODULE: &str = "com.atlassian.auiplugin:aui-fonts";
pub const FONT_FILES: [&str; 3] = ["adgs-icons.woff2", "adgs-icons.woff", "adgs-icons.ttf"];

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

pub fn esc(s: &str) -> String {
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

/// One rendered page's frame: head resources, header chrome, content.
pub struct Frame<'a> {
    pub title: &'a str,
    pub body_class: &'a str,
    /// Web-resource contexts for the context batch (comma-joined in the URL).
    pub contexts: &'a [&'a str],
    /// Single-module batches (`plugin:module`).
    pub modules: &'a [&'a str],
    pub metas: Vec<(&'a str, String)>,
    /// Extra `<script>` URLs after the batches (Synchrony).
    pub scripts: Vec<String>,
    pub content: String,
    pub user: Option<&'a LabUser>,
    pub atl_token: &'a str,
}

pub fn render(u: &StaticUrls, f: &Frame) -> String {
    let product = u.product;
    let contexts = f.contexts.join(",");
    let mut head = String::new();
    let (jira_version, confluence_version) = u.version.versions();
    let (app_name, version) = match product {
        Product::Jira => ("JIRA", jira_version),
        Product::Confluence => ("Confluence", confluence_version),
    };
    head.push_str(&format!(
        "<meta name=\"application-name\" content=\"{app_name}\" data-name=\"{}\" data-version=\"{version}\">\n",
        product.name()
    ));
    let mut metas = vec![
        ("product", product.name().to_string()),
        ("context-path", u.ctx.clone()),
        (
            "remote-user",
            f.user.map(|x| x.username.clone()).unwrap_or_default(),
        ),
        (
            "remote-user-fullname",
            f.user.map(|x| x.display_name.clone()).unwrap_or_default(),
        ),
        ("atl-token", f.atl_token.to_string()),
    ];
    metas.extend(f.metas.iter().cloned());
    for (n, v) in &metas {
        head.push_str(&format!("<meta name=\"ajs-{n}\" content=\"{}\">\n", esc(v)));
    }
    head.push_str(&format!(
        "<link rel=\"shortcut icon\" href=\"{}\">\n",
        u.app("/favicon.ico")
    ));
    head.push_str(&format!(
        "<link type=\"text/css\" rel=\"stylesheet\" href=\"{}\" data-wrm-key=\"_super\" data-wrm-batch-type=\"context\" media=\"all\">\n",
        esc(&u.superbatch("css"))
    ));
    head.push_str(&format!(
        "<link type=\"text/css\" rel=\"stylesheet\" href=\"{}\" data-wrm-key=\"{contexts}\" data-wrm-batch-type=\"context\" media=\"all\">\n",
        esc(&u.contextbatch("css", &contexts))
    ));
    head.push_str(&format!(
        "<script type=\"text/javascript\" src=\"{}\" data-wrm-key=\"_super\" data-wrm-batch-type=\"context\" data-initially-rendered></script>\n",
        esc(&u.superbatch("js"))
    ));
    head.push_str(&format!(
        "<script type=\"text/javascript\" src=\"{}\" data-wrm-key=\"{contexts}\" data-wrm-batch-type=\"context\" data-initially-rendered></script>\n",
        esc(&u.contextbatch("js", &contexts))
    ));
    for m in f.modules {
        head.push_str(&format!(
            "<script type=\"text/javascript\" src=\"{}\" data-wrm-key=\"{m}\" data-wrm-batch-type=\"resource\" data-initially-rendered></script>\n",
            esc(&u.module(m, "js"))
        ));
    }
    for s in &f.scripts {
        head.push_str(&format!(
            "<script type=\"text/javascript\" src=\"{}\"></script>\n",
            esc(s)
        ));
    }
    // After the page loads, as the real products do: the web resource manager asks for the
    // batches of the contexts needed next and loads the `/s/` URLs it is given, and the
    // browser-metrics plugin sends its beacon.
    let lazy = match product {
        Product::Jira => "jira.webresources:lazy-panels",
        Product::Confluence => "confluence.web.resources:lazy-panels",
    };
    head.push_str(&format!(
        "<script>window.addEventListener('load', function () {{\n\
  fetch({wrm}, {{method: 'POST', credentials: 'same-origin', headers: {{'Content-Type': 'application/json', 'X-Atlassian-Token': 'no-check'}},\n\
    body: JSON.stringify({{r: [], c: [{lazy}], xc: ['_super', {ctxs}], xr: []}})}})\n\
  .then(function (r) {{ return r.json(); }}).then(function (j) {{ (j.resources || []).forEach(function (x) {{\n\
    if (x.resourceType === 'JAVASCRIPT') {{ var s = document.createElement('script'); s.src = x.url; document.head.appendChild(s); }}\n\
    else {{ var l = document.createElement('link'); l.rel = 'stylesheet'; l.href = x.url; document.head.appendChild(l); }} }}); }})\n\
  .catch(function () {{}});\n\
  if (navigator.sendBeacon) {{ navigator.sendBeacon({beacon}, JSON.stringify([{{name: 'browser.metrics.navigation', properties: {{key: document.title}}}}])); }}\n\
}});</script>\n",
        wrm = serde_json::to_string(&u.app("/rest/webResources/1.0/resources")).unwrap(),
        beacon = serde_json::to_string(&u.app("/rest/analytics/1.0/publish/bulk")).unwrap(),
        lazy = serde_json::to_string(lazy).unwrap(),
        ctxs = serde_json::to_string(&contexts).unwrap(),
    ));
    let header = match product {
        Product::Jira => jira_header(u, f.user),
        Product::Confluence => confluence_header(u, f.user),
    };
    let (body_id, suffix, footer) = match product {
        Product::Jira => (
            "jira",
            "Lab Jira",
            format!(
                "Atlassian Jira Project Management Software (v{jira_version}#{}) — cdnprobe lab",
                jira_version.replace('.', "")
            ),
        ),
        Product::Confluence => (
            "com-atlassian-confluence",
            "Lab Confluence",
            format!("Powered by Atlassian Confluence {confluence_version} — cdnprobe lab"),
        ),
    };
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{title} - {suffix}</title>\n{head}</head>\n\
<body id=\"{body_id}\" class=\"aui-layout aui-theme-default {body_class}\">\n<div id=\"page\">\n{header}\n\
<section id=\"content\" role=\"main\">\n{content}\n</section>\n\
<footer id=\"footer\" role=\"contentinfo\"><section class=\"footer-body\"><p id=\"footer-build-information\">{footer}</p></section></footer>\n\
</div>\n</body>\n</html>\n",
        title = esc(f.title),
        body_class = f.body_class,
        content = f.content,
    )
}

fn icons() -> &'static str {
    // One element per icon font face, so each face is used and fetched.
    "<span class=\"aui-icon aui-iconfont-search\" aria-hidden=\"true\">\u{e601}</span>\
<span class=\"aui-icon aui-icon-small aui-iconfont-help\" aria-hidden=\"true\">\u{e602}</span>\
<span class=\"aui-icon aui-icon-large aui-iconfont-notification\" aria-hidden=\"true\">\u{e603}</span>"
}

fn jira_header(u: &StaticUrls, user: Option<&LabUser>) -> String {
    let logo = u.download("com.atlassian.jira.lookandfeel:jira-logo/jira-logo.png");
    let right = match user {
        Some(x) => format!(
            "<a id=\"create_link\" class=\"aui-button aui-button-primary aui-style create-issue\" href=\"{create}\" accesskey=\"c\">Create</a>\n\
<a id=\"header-details-user-fullname\" class=\"aui-dropdown2-trigger\" data-username=\"{user}\" title=\"User profile for {name}\" href=\"{profile}\">\
<span class=\"aui-avatar aui-avatar-small\"><img src=\"{avatar}\" alt=\"User profile for {name}\"></span> {name}</a>",
            create = u.app("/secure/CreateIssue!default.jspa"),
            user = esc(&x.username),
            name = esc(&x.display_name),
            profile = u.app(&format!("/secure/ViewProfile.jspa?name={}", x.username)),
            avatar = esc(&u.app(&format!(
                "/secure/viewavatar?size=xsmall&avatarId={}&avatarType=user",
                x.avatar_id
            ))),
        ),
        None => format!(
            "<a class=\"login-link\" href=\"{}\">Log In</a>",
            u.app("/login.jsp")
        ),
    };
    format!(
        "<header id=\"header\" role=\"banner\"><nav class=\"aui-header\" role=\"navigation\">\n\
<span id=\"logo\" class=\"aui-header-logo\"><a href=\"{home}\"><img src=\"{logo}\" alt=\"Lab Jira\" width=\"75\" height=\"24\"></a></span>\n\
<a class=\"aui-nav-link\" id=\"home_link\" href=\"{dash}\">Dashboards</a>\n\
<a class=\"aui-nav-link\" id=\"find_link\" href=\"{issues}\">Issues</a>\n{icons}\n{right}\n</nav></header>",
        home = u.app("/secure/MyJiraHome.jspa"),
        logo = esc(&logo),
        dash = u.app("/secure/Dashboard.jspa"),
        issues = u.app("/issues/?jql=project%20%3D%20LAB"),
        icons = icons(),
    )
}

fn confluence_header(u: &StaticUrls, user: Option<&LabUser>) -> String {
    let logo = u.download("com.atlassian.confluence.themes.default:images/confluence-logo.png");
    let right = match user {
        Some(x) => format!(
            "<a id=\"quick-create-page-button\" class=\"aui-button aui-button-primary\" href=\"{create}\">Create</a>\n\
<a id=\"user-menu-link\" class=\"aui-dropdown2-trigger\" data-username=\"{user}\" title=\"{name}\" href=\"{profile}\">\
<span class=\"aui-avatar aui-avatar-small\"><img src=\"{pic}\" alt=\"User icon: {user}\"></span> {name}</a>",
            create = u.app("/pages/createpage.action?spaceKey=LAB"),
            user = esc(&x.username),
            name = esc(&x.display_name),
            profile = u.app(&format!("/display/~{}", x.username)),
            pic = u.app("/images/icons/profilepics/default.svg"),
        ),
        None => format!(
            "<a id=\"login-link\" class=\"login-link\" href=\"{}\">Log in</a>",
            u.app("/login.action")
        ),
    };
    format!(
        "<header id=\"header\" role=\"banner\"><nav class=\"aui-header\" role=\"navigation\">\n\
<a id=\"logo\" class=\"aui-header-logo\" href=\"{home}\"><img src=\"{logo}\" alt=\"Lab Confluence\" width=\"80\" height=\"24\"></a>\n\
<a class=\"aui-nav-link\" id=\"space-directory-link\" href=\"{spaces}\">Spaces</a>\n\
<form id=\"quick-search\" action=\"{search}\" method=\"get\"><input id=\"quick-search-query\" name=\"queryString\" type=\"search\" placeholder=\"Search\"></form>\n\
{icons}\n{right}\n</nav></header>",
        home = u.app("/dashboard.action"),
        logo = esc(&logo),
        spaces = u.app("/spacedirectory/view.action"),
        search = u.app("/dosearchsite.action"),
        icons = icons(),
    )
}

// ---------------------------------------------------------------------------------------------
// Jira

pub struct Issue {
    pub key: &'static str,
    pub id: u32,
    pub summary: &'static str,
    pub status: &'static str,
    pub assignee: &'static str,
    pub description: &'static str,
}

pub const ISSUES: [Issue; 3] = [
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
pub fn jql_search(jql: &str, user: &LabUser) -> Vec<&'static Issue> {
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

pub fn jira_login(u: &StaticUrls, destination: &str, error: bool, token: &str) -> String {
    let message = if error {
        "<div class=\"aui-message aui-message-error\" id=\"login-form-error\"><p>Sorry, your username and password are incorrect - please try again.</p></div>\n"
    } else {
        ""
    };
    let content = if u.version == super::LabVersion::Current {
        two_step_form(
            "Welcome to Lab Jira",
            &u.app("/login.jsp"),
            destination,
            token,
            error,
        )
    } else {
        format!(
            "<div class=\"aui-page-panel\"><h1>Welcome to Lab Jira</h1>\n{message}\
<form action=\"{action}\" class=\"aui\" id=\"login-form\" method=\"post\">\n\
<div class=\"field-group\"><label for=\"login-form-username\">Username</label><input class=\"text medium-field\" id=\"login-form-username\" name=\"os_username\" type=\"text\" autocomplete=\"username\"></div>\n\
<div class=\"field-group\"><label for=\"login-form-password\">Password</label><input class=\"text medium-field\" id=\"login-form-password\" name=\"os_password\" type=\"password\" autocomplete=\"current-password\"></div>\n\
<div class=\"field-group\"><input class=\"checkbox\" id=\"login-form-remember-me\" name=\"os_cookie\" type=\"checkbox\" value=\"true\"><label for=\"login-form-remember-me\">Remember my login on this computer</label></div>\n\
<input type=\"hidden\" name=\"os_destination\" value=\"{dest}\">\n<input type=\"hidden\" name=\"user_role\" value=\"\">\n<input type=\"hidden\" name=\"atl_token\" value=\"{token}\">\n\
<div class=\"buttons\"><input class=\"aui-button aui-button-primary\" id=\"login-form-submit\" name=\"login\" type=\"submit\" value=\"Log In\"></div>\n</form></div>",
            action = u.app("/login.jsp"),
            dest = esc(destination),
            token = esc(token),
        )
    };
    render(
        u,
        &Frame {
            title: "Log in",
            body_class: "page-type-login",
            contexts: &["atl.general", "jira.general"],
            modules: &[],
            metas: vec![],
            scripts: vec![],
            content,
            user: None,
            atl_token: token,
        },
    )
}

/// A logged-in Jira page with the create-issue module; callers override what differs.
fn jira_frame<'a>(content: String, user: &'a LabUser, token: &'a str) -> Frame<'a> {
    Frame {
        title: "",
        body_class: "",
        contexts: &[],
        modules: &[QUICK_CREATE],
        metas: vec![],
        scripts: vec![],
        content,
        user: Some(user),
        atl_token: token,
    }
}

const QUICK_CREATE: &str = "com.atlassian.jira.jira-quick-edit-plugin:quick-create-issue";
const ISSUEVIEWER: &str = "com.atlassian.jira.jira-issue-nav-components:issueviewer";

pub fn jira_dashboard(u: &StaticUrls, user: &LabUser, token: &str) -> String {
    let content = format!(
        "<div id=\"dashboard\" class=\"dashboard v-tabs\">\n\
<div class=\"aui-page-header\"><h1 class=\"aui-page-header-main\">System Dashboard</h1></div>\n\
<div class=\"dashboard-intro\" id=\"gadget-10001\"><h3 class=\"dashboard-item-title\">Introduction</h3>\
<p>Welcome, <strong id=\"dashboard-user\" data-username=\"{username}\">{name}</strong>. You are logged in to Lab Jira as {username}.</p></div>\n\
<div id=\"gadget-10002\" class=\"dashboard-item gadget\"><h3 class=\"dashboard-item-title\">Assigned to Me</h3><div class=\"gadget-content\">Loading...</div></div>\n\
</div>",
        username = esc(&user.username),
        name = esc(&user.display_name),
    );
    render(
        u,
        &Frame {
            title: "System Dashboard",
            body_class: "page-type-dashboard",
            contexts: &[
                "atl.dashboard",
                "jira.global",
                "atl.general",
                "jira.dashboard",
            ],
            ..jira_frame(content, user, token)
        },
    )
}

pub fn jira_issue(u: &StaticUrls, user: &LabUser, token: &str, issue: &Issue) -> String {
    let content = format!(
        "<div id=\"issue-content\" class=\"issue-edit-form\">\n\
<header id=\"stalker\" class=\"issue-header\"><div class=\"aui-page-header-image\"><span class=\"aui-avatar aui-avatar-large aui-avatar-project\">\
<img id=\"project-avatar\" alt=\"Lab\" src=\"{pavatar}\"></span></div>\n\
<ol class=\"aui-nav aui-nav-breadcrumbs\"><li><a id=\"project-name-val\" href=\"{project}\">Lab</a></li>\
<li><a id=\"key-val\" class=\"issue-link\" data-issue-key=\"{key}\" href=\"{browse}\">{key}</a></li></ol>\n\
<h1 id=\"summary-val\">{summary}</h1></header>\n\
<ul id=\"issuedetails\" class=\"property-list\"><li>Type: <span id=\"type-val\">Task</span></li>\
<li>Status: <span id=\"status-val\"><span class=\"aui-lozenge\">{status}</span></span></li></ul>\n\
<div id=\"descriptionmodule\"><div id=\"description-val\" class=\"user-content-block\"><p>{description}</p></div></div>\n\
<div id=\"peoplemodule\">Assignee: <span id=\"assignee-val\"><span class=\"aui-avatar aui-avatar-xsmall\"><img src=\"{uavatar}\" alt=\"\"></span> {assignee}</span></div>\n\
<div id=\"activitymodule\"><h4>Activity</h4><div id=\"issue_actions_container\">Loading...</div></div>\n</div>",
        pavatar = esc(&u.app("/secure/projectavatar?pid=10000&avatarId=10011&size=large")),
        project = u.app("/projects/LAB/summary"),
        key = issue.key,
        browse = u.app(&format!("/browse/{}", issue.key)),
        summary = esc(issue.summary),
        status = esc(issue.status),
        description = esc(issue.description),
        uavatar = esc(&u.app(&format!(
            "/secure/viewavatar?size=xsmall&avatarId={}&avatarType=user",
            avatar_for(issue.assignee)
        ))),
        assignee = esc(issue.assignee),
    );
    let title = format!("[{}] {}", issue.key, issue.summary);
    render(
        u,
        &Frame {
            title: &title,
            body_class: "page-type-navigator",
            contexts: &["jira.view.issue", "atl.general", "jira.global"],
            modules: &[QUICK_CREATE, ISSUEVIEWER],
            metas: vec![("issue-key", issue.key.to_string())],
            scripts: vec![],
            content,
            user: Some(user),
            atl_token: token,
        },
    )
}

pub fn jira_search(u: &StaticUrls, user: &LabUser, token: &str, jql: &str) -> String {
    let content = format!(
        "<div class=\"navigator-container\"><div class=\"navigator-search\"><form class=\"aui\" action=\"{action}\" method=\"get\">\
<textarea id=\"advanced-search\" name=\"jql\">{jql}</textarea><button class=\"aui-button search-button\" type=\"submit\">Search</button></form></div>\n\
<div class=\"navigator-content\">Searching...</div></div>",
        action = u.app("/issues/"),
        jql = esc(jql),
    );
    render(
        u,
        &Frame {
            title: "Issue Navigator",
            body_class: "page-type-navigator",
            contexts: &["jira.navigator.simple", "atl.general", "jira.global"],
            metas: vec![("jql", jql.to_string())],
            ..jira_frame(content, user, token)
        },
    )
}

pub fn jira_project(u: &StaticUrls, user: &LabUser, token: &str) -> String {
    let content = format!(
        "<div class=\"aui-sidebar projects-sidebar\"><div class=\"aui-sidebar-header\"><span class=\"aui-avatar aui-avatar-project aui-avatar-large\">\
<img src=\"{avatar}\" alt=\"Lab\"></span><h1 class=\"aui-sidebar-header-title\">Lab</h1></div></div>\n\
<div class=\"aui-page-panel\"><h2>Summary</h2><div id=\"project-summary\">Loading...</div>\n\
<div class=\"activity-stream\"><h3>Activity</h3><ul>{activity}</ul></div></div>",
        avatar = esc(&u.app("/secure/projectavatar?pid=10000&avatarId=10011&size=small")),
        activity = ISSUES
            .iter()
            .map(|i| format!(
                "<li><a href=\"{}\">{}</a> {}</li>",
                u.app(&format!("/browse/{}", i.key)),
                i.key,
                esc(i.summary)
            ))
            .collect::<String>(),
    );
    render(
        u,
        &Frame {
            title: "Summary - Lab",
            body_class: "page-type-project",
            contexts: &["jira.project.sidebar", "atl.general", "jira.global"],
            metas: vec![("project-key", "LAB".into())],
            ..jira_frame(content, user, token)
        },
    )
}

pub fn not_found(u: &StaticUrls, user: Option<&LabUser>, what: &str) -> String {
    render(
        u,
        &Frame {
            title: "Page not found",
            body_class: "page-type-error",
            contexts: &["atl.general"],
            modules: &[],
            metas: vec![],
            scripts: vec![],
            content: format!(
                "<div class=\"aui-page-panel\"><h1>Oops, you've found a dead link.</h1><p>{}</p></div>",
                esc(what)
            ),
            user,
            atl_token: "",
        },
    )
}

pub fn avatar_for(username: &str) -> u32 {
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

pub fn jira_myself(u: &StaticUrls, user: &LabUser) -> Value {
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

pub fn jira_search_json(u: &StaticUrls, user: &LabUser, jql: &str) -> Value {
    let found = jql_search(jql, user);
    json!({
        "expand": "schema,names",
        "startAt": 0,
        "maxResults": 50,
        "total": found.len(),
        "issues": found.iter().map(|i| issue_json(u, i)).collect::<Vec<_>>(),
    })
}

pub fn jira_issue_json(u: &StaticUrls, i: &Issue) -> Value {
    issue_json(u, i)
}

pub fn jira_comments_json(i: &Issue) -> Value {
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

pub fn jira_project_json(u: &StaticUrls) -> Value {
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
pub fn jira_projects_json(u: &StaticUrls) -> Value {
    json!([jira_project_json(u)])
}

pub fn jira_quick_create_json(token: &str) -> Value {
    let field = |id: &str, label: &str, required: bool, html: &str| {
        json!({"id": id, "label": label, "required": required,
               "editHtml": format!("<div class=\"field-group\"><label for=\"{id}\">{label}</label>{html}</div>")})
    };
    json!({
        "sortedTabs": [{"label": "Field Tab", "fields": ["project", "issuetype", "summary", "description"]}],
        "fields": [
            field("project-field", "Project", true, "<input class=\"text\" id=\"project-field\" value=\"Lab (LAB)\" readonly>"),
            field("issuetype-field", "Issue Type", true, "<input class=\"text\" id=\"issuetype-field\" value=\"Task\" readonly>"),
            field("summary", "Summary", true, "<input class=\"text long-field\" id=\"summary\" name=\"summary\" type=\"text\">"),
            field("description", "Description", false, "<textarea class=\"textarea long-field\" id=\"description\" name=\"description\"></textarea>"),
        ],
        "atl_token": token,
        "formToken": format!("{:x}", token.len() * 7919),
    })
}

// ---------------------------------------------------------------------------------------------
// Confluence

pub struct Content {
    pub id: u64,
    pub kind: &'static str,
    pub title: &'static str,
    /// Display URL (without context path).
    pub url: &'static str,
    pub body: &'static str,
    pub author: &'static str,
}

pub const CONTENT: [Content; 3] = [
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

pub fn content_by_id(id: u64) -> Option<&'static Content> {
    CONTENT.iter().find(|c| c.id == id)
}

/// The newer login form Jira 10.x and Confluence 9.x may serve (the toolkit's "2SV" form:
/// `#username-field`, `#password-field`, `#login-button`). Its button starts disabled and a submit
/// before the page is ready is dropped, as Jira 10.0 drops a login clicked too early. The page gets
/// ready 3 s after its load event, with no request on the way: longer than a `goto`'s wait for
/// the network to go quiet, so a journey that fills and clicks at once is dropped, and only a
/// login that waits for the form to be ready gets in.
fn two_step_form(
    heading: &str,
    action: &str,
    destination: &str,
    token: &str,
    error: bool,
) -> String {
    let message = if error {
        "<div class=\"aui-message aui-message-error\" id=\"login-form-error\"><p>Sorry, your username and password are incorrect - please try again.</p></div>\n"
    } else {
        ""
    };
    format!(
        "<div class=\"aui-page-panel login-2sv\"><h1>{heading}</h1>\n{message}\
<form action=\"{action}\" id=\"login-form-2sv\" method=\"post\">\n\
<div class=\"field-group\"><label for=\"username-field\">Username</label><input id=\"username-field\" name=\"os_username\" type=\"text\" autocomplete=\"username\"></div>\n\
<div class=\"field-group\"><label for=\"password-field\">Password</label><input id=\"password-field\" name=\"os_password\" type=\"password\" autocomplete=\"current-password\"></div>\n\
<input type=\"hidden\" name=\"os_destination\" value=\"{dest}\">\n<input type=\"hidden\" name=\"atl_token\" value=\"{token}\">\n\
<button id=\"login-button\" class=\"aui-button aui-button-primary\" type=\"submit\" disabled>Log in</button>\n</form></div>\n\
<script>(function () {{ var ready = false, f = document.getElementById('login-form-2sv');\n\
  f.addEventListener('submit', function (e) {{ if (!ready) {{ e.preventDefault(); }} }});\n\
  window.addEventListener('load', function () {{ setTimeout(function () {{ ready = true; document.getElementById('login-button').disabled = false; }}, 3000); }});\n\
}})();</script>",
        dest = esc(destination),
        token = esc(token),
    )
}

/// An administrator page's password prompt (WebSudo), each product's own markup.
pub fn websudo(u: &StaticUrls, user: &LabUser, admin: &str, error: bool, token: &str) -> String {
    let message = if error {
        "<div class=\"aui-message aui-message-error\"><p>The password you entered is incorrect.</p></div>\n"
    } else {
        ""
    };
    let content = match u.product {
        Product::Jira => format!(
            "<div class=\"aui-page-panel\"><h1>Administrator Access</h1>\n{message}\
<form action=\"{action}\" class=\"aui\" id=\"login-form\" method=\"post\">\n\
<div class=\"field-group\"><label for=\"login-form-authenticatePassword\">Password</label><input id=\"login-form-authenticatePassword\" name=\"webSudoPassword\" type=\"password\"></div>\n\
<input type=\"hidden\" name=\"webSudoDestination\" value=\"{admin}\">\n\
<div class=\"buttons\"><input class=\"aui-button aui-button-primary\" id=\"login-form-submit\" type=\"submit\" value=\"Confirm\"></div>\n</form></div>",
            action = u.app("/secure/admin/WebSudoAuthenticate.jspa"),
            admin = esc(admin),
        ),
        Product::Confluence => format!(
            "<div class=\"aui-page-panel\" id=\"login-container\"><h1>Administrator Access</h1>\n{message}\
<form action=\"{action}\" class=\"aui\" method=\"post\">\n\
<div class=\"field-group\"><label for=\"password\">Password</label><input id=\"password\" name=\"password\" type=\"password\"></div>\n\
<input type=\"hidden\" name=\"destination\" value=\"{admin}\">\n\
<div class=\"buttons\"><input class=\"aui-button aui-button-primary\" id=\"authenticateButton\" type=\"submit\" value=\"Confirm\"></div>\n</form></div>",
            action = u.app("/doauthenticate.action"),
            admin = esc(admin),
        ),
    };
    admin_frame(u, user, "Administrator Access", content, token)
}

/// The administrator page behind WebSudo.
pub fn admin_page(u: &StaticUrls, user: &LabUser, token: &str) -> String {
    let content = "<div class=\"aui-page-panel\" id=\"admin-page-content\"><h1>General configuration</h1><p id=\"admin-search-link\">Base URL, title and other settings of the lab.</p></div>".to_string();
    admin_frame(u, user, "General configuration", content, token)
}

fn admin_frame(
    u: &StaticUrls,
    user: &LabUser,
    title: &str,
    content: String,
    token: &str,
) -> String {
    render(
        u,
        &Frame {
            title,
            body_class: "page-type-admin",
            contexts: &["atl.general", "atl.admin"],
            modules: &[],
            metas: vec![],
            scripts: vec![],
            content,
            user: Some(user),
            atl_token: token,
        },
    )
}

/// A first login's onboarding page: Jira's welcome (`#next`) or Confluence's
/// (`#grow-intro-video-skip-button`); the button finishes it.
pub fn onboarding(u: &StaticUrls, user: &LabUser, next: &str, token: &str) -> String {
    let content = match u.product {
        Product::Jira => format!(
            "<div class=\"aui-page-panel onboarding\"><h1>Welcome to Jira, {name}!</h1>\
<p>Choose your language and avatar to get started.</p>\
<a id=\"next\" class=\"aui-button aui-button-primary\" href=\"{next}\">Continue</a></div>",
            name = esc(&user.display_name),
            next = esc(next),
        ),
        Product::Confluence => format!(
            "<div id=\"grow-ic-nav-container\" class=\"aui-page-panel onboarding\"><h1>Welcome to Confluence</h1>\
<p>Watch a short video, or skip it.</p>\
<a id=\"grow-intro-video-skip-button\" class=\"aui-button aui-button-link skip-onboarding\" href=\"{next}\">Skip</a></div>",
            next = esc(next),
        ),
    };
    render(
        u,
        &Frame {
            title: "Welcome",
            body_class: "page-type-onboarding",
            contexts: &["atl.general"],
            modules: &[],
            metas: vec![],
            scripts: vec![],
            content,
            // The products' onboarding pages have no application header: nothing on them says
            // the user is in yet.
            user: None,
            atl_token: token,
        },
    )
}

pub fn content_by_url(path: &str) -> Option<&'static Content> {
    CONTENT.iter().find(|c| c.url == path)
}

pub fn confluence_login(u: &StaticUrls, destination: &str, error: bool, token: &str) -> String {
    let message = if error {
        "<div class=\"aui-message aui-message-error closeable\" id=\"action-messages\"><p>Sorry, your username and password are incorrect - please try again.</p></div>\n"
    } else {
        ""
    };
    let content = if u.version == super::LabVersion::Current {
        two_step_form(
            "Log in to Lab Confluence",
            &u.app("/dologin.action"),
            destination,
            token,
            error,
        )
    } else {
        format!(
            "<div class=\"aui-page-panel\"><h1>Log in to Lab Confluence</h1>\n{message}\
<form name=\"loginform\" method=\"POST\" action=\"{action}\" class=\"aui login-form-container\" id=\"login-container\">\n\
<div class=\"field-group\"><label for=\"os_username\">Username</label><input type=\"text\" name=\"os_username\" id=\"os_username\" class=\"text\" autocomplete=\"username\"></div>\n\
<div class=\"field-group\"><label for=\"os_password\">Password</label><input type=\"password\" name=\"os_password\" id=\"os_password\" class=\"password\" autocomplete=\"current-password\"></div>\n\
<div class=\"field-group\"><input id=\"os_cookie\" type=\"checkbox\" name=\"os_cookie\" value=\"true\" class=\"checkbox\"><label for=\"os_cookie\">Remember me</label></div>\n\
<input type=\"hidden\" name=\"login\" value=\"Log in\">\n<input type=\"hidden\" name=\"os_destination\" value=\"{dest}\">\n\
<div class=\"buttons-container\"><div class=\"buttons\"><input id=\"loginButton\" class=\"aui-button aui-button-primary\" name=\"login\" type=\"submit\" value=\"Log in\"></div></div>\n</form></div>",
            action = u.app("/dologin.action"),
            dest = esc(destination),
        )
    };
    render(
        u,
        &Frame {
            title: "Log In",
            body_class: "login",
            contexts: &["main", "login", "atl.general"],
            modules: &[],
            metas: vec![],
            scripts: vec![],
            content,
            user: None,
            atl_token: token,
        },
    )
}

pub fn confluence_dashboard(u: &StaticUrls, user: &LabUser, token: &str) -> String {
    let content = format!(
        "<div id=\"dashboard\" class=\"aui-page-panel dashboard\">\n\
<div class=\"dashboard-welcome\"><h1>Welcome to Lab Confluence</h1><p>Logged in as <strong id=\"dashboard-user\" data-username=\"{username}\">{name}</strong> ({username}).</p></div>\n\
<div class=\"content-header-all-updates\"><h2>All updates</h2></div>\n<div id=\"dashboard-updates\">Loading...</div>\n</div>",
        username = esc(&user.username),
        name = esc(&user.display_name),
    );
    render(
        u,
        &Frame {
            title: "Dashboard",
            body_class: "dashboard",
            contexts: &["main", "dashboard", "atl.general", "atl.dashboard"],
            modules: &[],
            metas: vec![],
            scripts: vec![],
            content,
            user: Some(user),
            atl_token: token,
        },
    )
}

pub fn confluence_view(u: &StaticUrls, user: &LabUser, token: &str, c: &Content) -> String {
    let breadcrumb = if c.kind == "blogpost" {
        "<li><a href=\"#\">Blog</a></li><li>2026</li><li>11</li><li>24</li>"
    } else {
        ""
    };
    let content = format!(
        "<div id=\"main\" class=\"aui-page-panel\">\n<div id=\"main-header\"><ol id=\"breadcrumbs\"><li><a href=\"{space}\">Lab</a></li>{breadcrumb}</ol>\n\
<h1 id=\"title-heading\" class=\"pagetitle with-breadcrumbs\"><span id=\"title-text\"><a href=\"{url}\">{title}</a></span></h1></div>\n\
<div class=\"page-metadata\"><span class=\"author\">Created by {author}</span> <img class=\"space-logo\" src=\"{logo}\" alt=\"\" width=\"16\" height=\"16\"></div>\n\
<div id=\"main-content\" class=\"wiki-content\">{body}</div>\n\
<div class=\"like-button-container\"><span class=\"like-button-text\">Like</span></div>\n\
<div id=\"comments-section\" class=\"pageSection group\">Loading comments...</div>\n\
<a id=\"editPageLink\" class=\"aui-button edit\" href=\"{edit}\">Edit</a>\n</div>",
        space = u.app("/display/LAB"),
        url = u.app(c.url),
        title = esc(c.title),
        author = esc(c.author),
        logo = esc(&u.download(
            "com.atlassian.confluence.plugins.confluence-space-ia:spacesidebar/images/space-logo.png"
        )),
        body = c.body,
        edit = u.app(&format!("/pages/editpage.action?pageId={}", c.id)),
    );
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
            content,
            user: Some(user),
            atl_token: token,
        },
    )
}

pub fn confluence_editor(u: &StaticUrls, user: &LabUser, token: &str, c: &Content) -> String {
    let content = format!(
        "<form id=\"editpageform\" name=\"editpageform\" method=\"post\" action=\"{action}\" class=\"aui editor\">\n\
<input type=\"hidden\" name=\"atl_token\" value=\"{token}\">\n\
<div id=\"editor-precursor\"><input id=\"content-title\" name=\"title\" class=\"text\" value=\"{title}\"></div>\n\
<div id=\"wysiwyg\" class=\"wiki-content\"></div>\n\
<div id=\"rte-savebar\" class=\"aui-toolbar2\"><span class=\"status-indicator-message\">Connecting...</span>\n\
<button id=\"rte-button-publish\" class=\"aui-button aui-button-primary\" type=\"submit\" disabled>Update</button>\n\
<a id=\"rte-button-cancel\" class=\"aui-button\" href=\"{view}\">Close</a><span id=\"rte-spinner\" hidden></span></div>\n</form>",
        action = u.app(&format!("/pages/doeditpage.action?pageId={}", c.id)),
        token = esc(token),
        title = esc(c.title),
        view = u.app(c.url),
    );
    render(
        u,
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
            content,
            user: Some(user),
            atl_token: token,
        },
    )
}

pub fn confluence_search(u: &StaticUrls, user: &LabUser, token: &str, query: &str) -> String {
    let content = format!(
        "<div class=\"aui-page-panel\"><form id=\"search-form\" class=\"aui\" action=\"{action}\" method=\"get\">\
<input id=\"search-query\" name=\"queryString\" class=\"text\" value=\"{q}\"><button class=\"aui-button\" type=\"submit\">Search</button></form>\n\
<div id=\"search-results-body\">Searching...</div></div>",
        action = u.app("/dosearchsite.action"),
        q = esc(query),
    );
    render(
        u,
        &Frame {
            title: "Search",
            body_class: "search",
            contexts: &["main", "search", "atl.general"],
            modules: &[],
            metas: vec![("search-query", query.to_string())],
            scripts: vec![],
            content,
            user: Some(user),
            atl_token: token,
        },
    )
}

pub fn confluence_user_json(u: &StaticUrls, user: &LabUser) -> Value {
    json!({
        "type": "known",
        "username": user.username,
        "userKey": format!("8a7f808a{:08x}", user.avatar_id),
        "profilePicture": {"path": u.app("/images/icons/profilepics/default.svg"), "width": 48, "height": 48, "isDefault": true},
        "displayName": user.display_name,
    })
}

pub fn confluence_content_json(u: &StaticUrls, c: &Content) -> Value {
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
pub fn confluence_space(u: &StaticUrls, key: &str) -> Option<Value> {
    key.eq_ignore_ascii_case("LAB")
        .then(|| confluence_space_json(u))
}

/// `GET /rest/api/space`: the spaces the user can see.
pub fn confluence_spaces_json(u: &StaticUrls) -> Value {
    json!({"results": [confluence_space_json(u)], "start": 0, "limit": 25, "size": 1})
}

/// `GET /rest/api/content?type=page|blogpost[&spaceKey=LAB]`.
pub fn confluence_contents_json(u: &StaticUrls, kind: &str, space: Option<&str>) -> Value {
    let results: Vec<Value> = CONTENT
        .iter()
        .filter(|c| c.kind == kind && space.is_none_or(|s| s.eq_ignore_ascii_case("LAB")))
        .map(|c| confluence_content_json(u, c))
        .collect();
    json!({"size": results.len(), "results": results, "start": 0, "limit": 25})
}

pub fn confluence_comments_json(c: &Content) -> Value {
    json!({
        "results": [{"id": (c.id + 1000).to_string(), "type": "comment", "title": format!("Re: {}", c.title),
                     "body": {"view": {"value": "Looks fast from here.", "representation": "view"}}}],
        "start": 0, "limit": 25, "size": 1,
    })
}

pub fn confluence_search_json(cql: &str) -> Value {
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

pub fn confluence_updates_json() -> Value {
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
}
