/* context atl.general: the header's user menu, filled from REST like the real header. */
AJS.toInit(function () {
  if (!AJS.loggedIn()) { return; }
  var product = AJS.meta("product");
  var path = product === "confluence" ? "/rest/api/user/current" : "/rest/api/2/myself";
  AJS.fetchJson(path, function (status, user) {
    var el = AJS.$("#header-details-user-fullname, #user-menu-link");
    if (el && status === 200 && user) {
      el.setAttribute("title", user.displayName || "");
      el.setAttribute("data-username", user.name || user.username || "");
    }
  });
});
