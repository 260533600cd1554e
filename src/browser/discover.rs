//! Find the site's own project, issue, space, page and blog post through the products' REST
//! APIs, so that the bundled journeys run unchanged against any instance: a `discover` step asks
//! the logged-in page (its cookies, its origin, through the CDN like the page's own calls) and
//! fills the journey's variables that the user did not set.
//!
//! The endpoints are the ones Atlassian's DC performance toolkit prepares its data with
//! (`app/util/data_preparation`): Jira `GET /rest/api/2/search` (JQL, `fields=project`) and
//! `/rest/api/2/project`; Confluence `GET /rest/api/space` (`expand=homepage`) and
//! `/rest/api/content?type=blogpost`. An environment variable always wins, and what is given
//! narrows what is looked for: a given project is searched for its newest issue, a given issue's
//! project is the issue's own.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::json;

use super::Page;
use super::page::ActionError;
use crate::scenario::LoginProduct;

/// The variables a product's discovery fills, in the order the journeys use them.
pub fn variables(product: LoginProduct) -> &'static [&'static str] {
    match product {
        LoginProduct::Jira => &["CDNPROBE_JIRA_PROJECT", "CDNPROBE_JIRA_ISSUE"],
        LoginProduct::Confluence => &[
            "CDNPROBE_CONFLUENCE_SPACE",
            "CDNPROBE_CONFLUENCE_PAGE",
            "CDNPROBE_CONFLUENCE_BLOG",
        ],
        LoginProduct::Any => &[],
    }
}

/// What a discovery found: `(variable, value, the request it came from)`, and what failed.
#[derive(Debug, Default, Deserialize, PartialEq)]
pub(crate) struct Discovered {
    #[serde(default)]
    pub found: Vec<(String, String, String)>,
    #[serde(default)]
    pub errors: Vec<String>,
}

impl Discovered {
    /// The step's note: what was found where, what was kept, what failed.
    pub fn note(&self, kept: &[&str]) -> String {
        let mut parts: Vec<String> = self
            .found
            .iter()
            .map(|(var, value, from)| format!("{var}={value} (from {from})"))
            .collect();
        if !kept.is_empty() {
            parts.push(format!("kept {} from the environment", kept.join(", ")));
        }
        if !self.errors.is_empty() {
            parts.push(format!(
                "not found: {} (the journey's defaults apply)",
                self.errors.join("; ")
            ));
        }
        if parts.is_empty() {
            "nothing to discover".into()
        } else {
            format!("discovered {}", parts.join(", "))
        }
    }
}

/// Ask the product's REST APIs from inside `page`. `base` is the journey's base URL (with its
/// context path); `given` holds the variables the user set, which are not looked for.
pub(crate) async fn discover(
    page: &Page,
    product: LoginProduct,
    base: &str,
    given: &HashMap<String, String>,
) -> Result<Discovered, ActionError> {
    let script = match product {
        LoginProduct::Jira => JIRA,
        LoginProduct::Confluence => CONFLUENCE,
        LoginProduct::Any => return Ok(Discovered::default()),
    };
    let args = json!({"base": base.trim_end_matches('/'), "given": given});
    let expression = format!("({COMMON})({script}, {args})");
    let value = page.eval(&expression).await?;
    serde_json::from_value(value)
        .map_err(|e| ActionError::Failed(format!("discovery answered something unexpected: {e}")))
}

/// Runs `body(get, given, put)`: `get` fetches JSON same-origin (an error names the request and
/// its status), `put` records a find. One failed request is an error line, not a failed step.
const COMMON: &str = r#"async (body, args) => {
  const out = {found: [], errors: []};
  const get = async (path) => {
    const r = await fetch(args.base + path, {credentials: 'same-origin', headers: {'Accept': 'application/json'}});
    if (!r.ok) throw new Error('GET ' + path.split('?')[0] + ' answered ' + r.status);
    return r.json();
  };
  const put = (name, value, from) => {
    if (value && !(name in args.given)) out.found.push([name, String(value), 'GET ' + from.split('?')[0]]);
  };
  try { await body(get, args.given, put, out); } catch (e) { out.errors.push(String(e && e.message || e)); }
  return out;
}"#;

/// Jira: the newest issue the user can see (in the given project, or the given issue itself)
/// and its project; a project without issues still gives the first project.
const JIRA: &str = r#"async (get, given, put, out) => {
  const P = 'CDNPROBE_JIRA_PROJECT', I = 'CDNPROBE_JIRA_ISSUE';
  if (P in given && I in given) return;
  let jql = 'ORDER BY created DESC';
  if (I in given) jql = 'issuekey = "' + given[I] + '"';
  else if (P in given) jql = 'project = "' + given[P] + '" ORDER BY created DESC';
  const search = '/rest/api/2/search?maxResults=1&fields=project&jql=' + encodeURIComponent(jql);
  const found = await get(search);
  const issue = (found.issues || [])[0];
  if (issue) {
    put(I, issue.key, search);
    put(P, issue.fields && issue.fields.project && issue.fields.project.key, search);
  } else {
    out.errors.push('no issue the user can see (' + jql + ')');
  }
  if (!(P in given) && !out.found.some(f => f[0] === P)) {
    const projects = await get('/rest/api/2/project');
    if (projects[0]) put(P, projects[0].key, '/rest/api/2/project');
    else out.errors.push('no project the user can see');
  }
}"#;

/// Confluence: the first global space (or the given one), its home page, and the newest blog post
/// in it (or anywhere). Page titles are written as Confluence's display URLs write them.
const CONFLUENCE: &str = r#"async (get, given, put, out) => {
  const S = 'CDNPROBE_CONFLUENCE_SPACE', H = 'CDNPROBE_CONFLUENCE_PAGE', B = 'CDNPROBE_CONFLUENCE_BLOG';
  const title = t => encodeURIComponent(t).replace(/%20/g, '+');
  let key = given[S];
  if (!(H in given) || !key) {
    const path = key ? '/rest/api/space/' + encodeURIComponent(key) + '?expand=homepage'
                     : '/rest/api/space?type=global&limit=1&expand=homepage';
    const r = await get(path);
    const space = key ? r : (r.results || [])[0];
    if (space) {
      key = space.key;
      put(S, space.key, path);
      if (space.homepage && space.homepage.title) put(H, title(space.homepage.title), path);
      else out.errors.push('space ' + space.key + ' has no home page');
    } else {
      out.errors.push('no space the user can see');
    }
  }
  if (!(B in given)) {
    let path = '/rest/api/content?type=blogpost&limit=1' + (key ? '&spaceKey=' + encodeURIComponent(key) : '');
    let r = await get(path);
    if (!(r.results || [])[0] && key) { path = '/rest/api/content?type=blogpost&limit=1'; r = await get(path); }
    const post = (r.results || [])[0];
    if (post && post._links && post._links.webui) put(B, post._links.webui, path);
    else out.errors.push('no blog post the user can see');
  }
}"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_note_says_what_was_found_where_and_what_was_kept() {
        let d = Discovered {
            found: vec![(
                "CDNPROBE_JIRA_ISSUE".into(),
                "ABC-7".into(),
                "GET /rest/api/2/search".into(),
            )],
            errors: vec!["no project the user can see".into()],
        };
        assert_eq!(
            d.note(&["CDNPROBE_JIRA_PROJECT"]),
            "discovered CDNPROBE_JIRA_ISSUE=ABC-7 (from GET /rest/api/2/search), kept CDNPROBE_JIRA_PROJECT from the environment, not found: no project the user can see (the journey's defaults apply)"
        );
        assert_eq!(Discovered::default().note(&[]), "nothing to discover");
    }

    #[test]
    fn each_product_names_the_variables_its_journey_reads() {
        for product in [LoginProduct::Jira, LoginProduct::Confluence] {
            let toml = std::fs::read_to_string(format!(
                "{}/scenarios/{}-smoke.toml",
                env!("CARGO_MANIFEST_DIR"),
                match product {
                    LoginProduct::Jira => "jira",
                    _ => "confluence",
                }
            ))
            .unwrap();
            for var in variables(product) {
                assert!(toml.contains(&format!("${{{var}:-")), "{var}");
            }
        }
    }
}
