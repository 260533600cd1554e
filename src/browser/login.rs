//! Why a login did not work: read the page after a failed step, so the user gets "the password
//! was refused" or "you were sent to your SSO provider" instead of "timed out waiting for
//! #header-details-user-fullname".

use serde::Deserialize;

use super::Page;
use super::page::ActionError;

/// What the page shows when a login went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LoginProblem {
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
pub(crate) async fn detect(page: &Page, expected_host: &str) -> Option<LoginProblem> {
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

/// One login form as Atlassian's DC performance toolkit knows it
/// (`app/selenium_ui/{jira,confluence}/pages/selectors.py`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginForm {
    pub name: &'static str,
    pub user: &'static str,
    pub password: &'static str,
    pub submit: &'static str,
}

/// Jira's legacy form (Jira 9 and older, and 10/11 unless the newer one is on).
pub(crate) const JIRA_LEGACY: LoginForm = LoginForm {
    name: "Jira legacy form",
    user: "#login-form-username",
    password: "#login-form-password",
    submit: "#login-form-submit",
};

/// Confluence's legacy form.
pub(crate) const CONFLUENCE_LEGACY: LoginForm = LoginForm {
    name: "Confluence legacy form",
    user: "#os_username",
    password: "#os_password",
    submit: "#loginButton",
};

/// The newer form Jira 10.x and Confluence 9.x may serve on the same login URLs ("2SV").
pub(crate) const TWO_STEP: LoginForm = LoginForm {
    name: "newer (2SV) form",
    user: "#username-field",
    password: "#password-field",
    submit: "#login-button",
};

/// The forms a product may serve, legacy first.
pub fn forms(product: crate::scenario::LoginProduct) -> &'static [LoginForm] {
    use crate::scenario::LoginProduct;
    match product {
        LoginProduct::Jira => &[JIRA_LEGACY, TWO_STEP],
        LoginProduct::Confluence => &[CONFLUENCE_LEGACY, TWO_STEP],
        LoginProduct::Any => &[JIRA_LEGACY, CONFLUENCE_LEGACY, TWO_STEP],
    }
}

/// WebSudo prompts: Jira's and Confluence's administrator password forms.
pub(crate) const WEBSUDO: &[LoginForm] = &[
    LoginForm {
        name: "Jira WebSudo",
        user: "",
        password: "#login-form-authenticatePassword",
        submit: "#login-form-submit",
    },
    LoginForm {
        name: "Confluence WebSudo",
        user: "",
        password: "#password",
        submit: "#authenticateButton",
    },
];

/// JavaScript: the page has finished loading and its scripts have run (`document.readyState`)
/// and the submit button is enabled. Jira 10.0 drops a login clicked before its page is ready
/// (the toolkit waits a second); waiting for this plus a quiet network is the product's own
/// signal instead of a sleep.
fn ready_js(form: &LoginForm) -> String {
    let submit = serde_json::to_string(form.submit).unwrap();
    format!(
        "(() => {{ const b = document.querySelector({submit}); return document.readyState === 'complete' && !!b && !b.disabled && b.getAttribute('aria-disabled') !== 'true'; }})()"
    )
}

/// Log in through whichever of `forms` the page shows: wait for one, wait until the page is
/// ready, type the user and the password, submit. Returns the form met, for the step's note.
pub(crate) async fn log_in(
    page: &Page,
    forms: &[LoginForm],
    user: &str,
    password: &str,
    dismiss: &[String],
    timeout: std::time::Duration,
) -> Result<(LoginForm, Vec<String>), ActionError> {
    let started = std::time::Instant::now();
    let fields: Vec<String> = forms.iter().map(|f| f.user.to_string()).collect();
    let (i, dismissed) = page.first_visible(&fields, dismiss, timeout).await?;
    let form = forms[i];
    let left = timeout.saturating_sub(started.elapsed());
    let ready = ready_js(&form);
    page.wait_until_true(&ready, &format!("the {} to be ready", form.name), left)
        .await?;
    page.wait_idle(timeout.saturating_sub(started.elapsed()))
        .await?;
    let left = timeout.saturating_sub(started.elapsed());
    page.fill(form.user, user, left).await?;
    page.fill(form.password, password, left).await?;
    page.click(form.submit, left).await?;
    Ok((form, dismissed))
}

/// Answer a WebSudo prompt if one shows within `wait`. `None`: there was none.
pub(crate) async fn web_sudo(
    page: &Page,
    password: &str,
    wait: std::time::Duration,
) -> Result<Option<LoginForm>, ActionError> {
    let fields: Vec<String> = WEBSUDO.iter().map(|f| f.password.to_string()).collect();
    let i = match page.first_visible(&fields, &[], wait).await {
        Ok((i, _)) => i,
        Err(ActionError::Timeout(..)) => return Ok(None),
        Err(e) => return Err(e),
    };
    let form = WEBSUDO[i];
    page.fill(form.password, password, wait).await?;
    page.click(form.submit, wait).await?;
    Ok(Some(form))
}
