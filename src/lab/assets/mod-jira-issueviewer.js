/* batch jira-issue-nav-components:issueviewer: refresh the issue's status lozenge from REST. */
AJS.toInit(function () {
  var key = AJS.meta("issue-key");
  var el = AJS.$("#status-val");
  if (!key || !el) { return; }
  AJS.get("/rest/api/2/issue/" + encodeURIComponent(key) + "?fields=status", function (status, issue) {
    if (status === 200 && issue) {
      el.innerHTML = '<span class="aui-lozenge">' + AJS.escapeHtml(issue.fields.status.name) + '</span>';
    }
  });
});
