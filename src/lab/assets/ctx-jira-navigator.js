/* context jira.navigator.simple: the issue navigator's list view, results from REST. */
AJS.toInit(function () {
  var content = AJS.$(".navigator-content");
  if (!content) { return; }
  var m = /[?&]jql=([^&]*)/.exec(window.location.search);
  var jql = m ? decodeURIComponent(m[1].replace(/\+/g, " ")) : "";
  AJS.get("/rest/api/2/search?jql=" + encodeURIComponent(jql) + "&startAt=0&maxResults=50&fields=summary,status,assignee",
    function (status, data) {
      if (status !== 200 || !data || data.total === 0) {
        content.innerHTML = '<div class="no-results-message"><h2>No issues were found to match your search</h2></div>';
        return;
      }
      var rows = data.issues.map(function (i) {
        return '<tr class="issuerow" data-issuekey="' + i.key + '"><td class="issuekey"><a class="issue-link" href="' +
          AJS.contextPath() + '/browse/' + i.key + '">' + i.key + '</a></td><td class="summary">' +
          AJS.escapeHtml(i.fields.summary) + '</td><td class="status">' + AJS.escapeHtml(i.fields.status.name) +
          '</td></tr>';
      });
      content.innerHTML = '<table id="issuetable" class="aui"><thead><tr><th>Key</th><th>Summary</th><th>Status</th></tr></thead><tbody>' +
        rows.join("") + '</tbody></table><div class="results-count-total">' + data.total + '</div>';
    });
});
