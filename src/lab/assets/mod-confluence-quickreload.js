/* batch confluence quickreload: polls for new comments once (the real one polls every 30 s). */
AJS.toInit(function () {
  var id = AJS.meta("page-id");
  if (!id || !AJS.loggedIn()) { return; }
  AJS.get("/rest/quickreload/latest/" + id + "?since=" + Date.now(), function () {});
});
