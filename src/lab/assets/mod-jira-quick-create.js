/* batch jira-quick-edit-plugin:quick-create-issue: the Create button opens the create-issue dialog,
   whose fields come from QuickCreateIssue!default.jspa like the real one. */
AJS.toInit(function () {
  var link = AJS.$("#create_link");
  if (!link) { return; }
  link.addEventListener("click", function (ev) {
    ev.preventDefault();
    if (AJS.$("#create-issue-dialog")) { return; }
    AJS.post("/secure/QuickCreateIssue!default.jspa?decorator=none", "atl_token=" +
      encodeURIComponent(AJS.meta("atl-token")), function (status, data) {
      if (status !== 200 || !data) { return; }
      var dialog = document.createElement("section");
      dialog.id = "create-issue-dialog";
      dialog.className = "aui-dialog2 aui-layer jira-dialog2 jira-dialog-core";
      dialog.setAttribute("role", "dialog");
      dialog.innerHTML = '<header class="aui-dialog2-header"><h2 class="aui-dialog2-header-main">Create Issue</h2></header>' +
        '<form class="aui" id="create-issue-form"><div class="aui-dialog2-content">' +
        data.fields.map(function (f) { return f.editHtml; }).join("") +
        '</div><footer class="buttons-container"><div class="buttons"><input class="aui-button aui-button-primary" ' +
        'id="create-issue-submit" type="submit" value="Create"> <a class="cancel" href="#">Cancel</a></div></footer></form>';
      document.body.appendChild(dialog);
      var close = function (e) {
        if (e.key === "Escape" && dialog.parentNode) {
          dialog.parentNode.removeChild(dialog);
          document.removeEventListener("keydown", close);
        }
      };
      document.addEventListener("keydown", close);
      var summary = dialog.querySelector("#summary");
      if (summary) { summary.focus(); }
      dialog.querySelector(".cancel").addEventListener("click", function (e) {
        e.preventDefault();
        dialog.parentNode.removeChild(dialog);
      });
    });
  });
});
