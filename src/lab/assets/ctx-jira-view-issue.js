/* context jira.view.issue: the activity (comments) section. */
AJS.toInit(function () {
  var key = AJS.meta("issue-key");
  var box = AJS.$("#issue_actions_container");
  if (!key || !box) { return; }
  AJS.get("/rest/api/2/issue/" + encodeURIComponent(key) + "/comment", function (status, data) {
    if (status !== 200 || !data) { return; }
    box.innerHTML = data.comments.map(function (c) {
      return '<div class="activity-comment issue-data-block"><div class="action-details">' +
        AJS.escapeHtml(c.author.displayName) + '</div><div class="action-body">' +
        AJS.escapeHtml(c.body) + '</div></div>';
    }).join("");
  });
});
