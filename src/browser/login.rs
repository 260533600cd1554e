//! Why a login did not work: read the page after a failed step, so the user gets "the password
//! was refused" or "you were sent to your SSO provider" instead of "timed out waiting for
//! #header-details-user-fullname".

use serde::Deserialize;

use super::Page;

/// What the page shows when a login went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginProblem {
    /// The form came back with an error message (wrong user or password, locked account).
    Refused(String),
    /// A CAPTCHA is shown (Jira/Confluence ask for one after several failed logins).
    Captcha,
    /// The browser ended up on another host: SSO, SAML or a 2-step provider.
    Redirected(String),
}

impl LoginProblem {
    pub fn hint(&self) -> String {
        match self {
            LoginProblem::Refused(msg) => format!(
                "the site refused the login (\"{msg}\"): check the user and password variables the journey reads (e.g. CDNPROBE_JIRA_USER / CDNPROBE_JIRA_PASSWORD)"
            ),
            LoginProblem::Captcha => "the site asks for a CAPTCHA after failed logins: log in once in a browser to clear it (or have an admin reset the count), then run again".into(),
            LoginProblem::Redirected(host) => format!(
                "the login sent the browser to {host} (SSO or 2-step login): export a session from your browser as a Netscape cookies.txt and pass --cookie-file FILE, and drop the login steps"
            ),
        }
    }
}

#[derive(Deserialize)]
struct Probe {
    host: String,
    error: Option<String>,
    captcha: bool,
}

const PROBE_JS: &str = r#"(() => {
  const sel = '#login-form-error, #action-messages.aui-message-error, .login-section .aui-message-error, form[name=loginform] .aui-message-error, #login-container .aui-message-error';
  const e = document.querySelector(sel);
  const captcha = !!document.querySelector('#captcha, img[src*="captcha" i], [id*="captcha" i], .g-recaptcha, iframe[src*="recaptcha"]');
  return { host: location.host, error: e ? e.innerText.trim().slice(0, 200) : null, captcha };
})()"#;

/// Look at the page for the signs of a failed login. `expected_host` is the journey's host.
pub async fn detect(page: &Page, expected_host: &str) -> Option<LoginProblem> {
    let v = page.eval(PROBE_JS).await.ok()?;
    let probe: Probe = serde_json::from_value(v).ok()?;
    if probe.captcha {
        return Some(LoginProblem::Captcha);
    }
    if let Some(msg) = probe.error.filter(|m| !m.is_empty()) {
        return Some(LoginProblem::Refused(msg));
    }
    if !probe.host.is_empty() && !probe.host.eq_ignore_ascii_case(expected_host) {
        return Some(LoginProblem::Redirected(probe.host));
    }
    None
}
