/* context dashboard: the "All updates" stream. */
AJS.toInit(function () {
  var box = AJS.$("#dashboard-updates");
  if (!box) { return; }
  AJS.get("/rest/dashboardmacros/1.0/updates?maxResults=40&tab=all&showProfilePic=true&labels=&spaces=&users=&types=&category=&spaceKey=",
    function (status, data) {
      if (status !== 200 || !data) { return; }
      var items = data.changeSets.map(function (c) {
        return '<li class="update-item"><a href="' + AJS.contextPath() + c.url + '">' + AJS.escapeHtml(c.title) +
          '</a> <span class="update-item-meta">' + AJS.escapeHtml(c.author) + '</span></li>';
      });
      box.innerHTML = '<ul class="list-container-all-updates">' + items.join("") + '</ul>';
    });
});
