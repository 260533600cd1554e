/* context atl.dashboard: the "Assigned to Me" gadget. */
AJS.toInit(function () {
  var gadget = AJS.$("#gadget-10002 .gadget-content");
  if (!gadget) { return; }
  var jql = "assignee = currentUser() AND resolution = Unresolved ORDER BY priority DESC";
  AJS.get("/rest/api/2/search?jql=" + encodeURIComponent(jql) + "&maxResults=10&fields=summary,status",
    function (status, data) {
      if (status !== 200 || !data) {
        gadget.innerHTML = '<p class="aui-message aui-message-error">An unknown error occurred while trying to perform a search</p>';
        return;
      }
      var rows = data.issues.map(function (i) {
        return '<tr><td class="issuekey"><a href="' + AJS.contextPath() + '/browse/' + i.key + '">' + i.key +
          '</a></td><td class="summary">' + AJS.escapeHtml(i.fields.summary) + '</td></tr>';
      });
      gadget.innerHTML = '<table class="aui"><tbody>' + rows.join("") + '</tbody></table>';
    });
});
