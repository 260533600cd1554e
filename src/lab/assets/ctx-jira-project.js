/* context jira.project.sidebar: the project summary's details column. */
AJS.toInit(function () {
  var key = AJS.meta("project-key");
  var box = AJS.$("#project-summary");
  if (!key || !box) { return; }
  AJS.get("/rest/api/2/project/" + encodeURIComponent(key), function (status, p) {
    if (status !== 200 || !p) { return; }
    box.innerHTML = '<div class="project-meta-column"><dl><dt>Key</dt><dd>' + AJS.escapeHtml(p.key) +
      '</dd><dt>Lead</dt><dd>' + AJS.escapeHtml(p.lead.displayName) + '</dd><dt>Issues</dt><dd>' +
      p.issueCount + '</dd></dl></div>';
  });
});
