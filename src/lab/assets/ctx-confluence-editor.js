/* context editor: load the page body, connect to Synchrony (websocket, XHR fallback), then build
   the TinyMCE iframe. */
AJS.toInit(function () {
  var id = AJS.meta("page-id");
  var holder = AJS.$("#wysiwyg");
  if (!id || !holder) { return; }
  var status = AJS.$(".status-indicator-message");
  AJS.get("/rest/api/content/" + id + "?expand=body.storage,version", function (code, page) {
    if (code !== 200 || !page) {
      if (status) { status.textContent = "Unable to load the page"; }
      return;
    }
    if (!window.Synchrony) {
      if (status) { status.textContent = "Collaborative editing is unavailable"; }
      return;
    }
    /* Like the real editor, the content area is only usable once Synchrony is connected. */
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    window.Synchrony.connect({
      websocket: scheme + location.host + AJS.contextPath() + "/synchrony/v1/bayeux-sync1",
      heartbeat: AJS.contextPath() + "/synchrony/heartbeat",
      pageId: id
    }, function (state) {
      if (state !== "connected") {
        if (status) { status.textContent = "Can't connect to Synchrony"; }
        return;
      }
      if (status) { status.textContent = "Ready to go"; }
      var publish = AJS.$("#rte-button-publish");
      if (publish) { publish.removeAttribute("disabled"); }
      var frame = document.createElement("iframe");
      frame.id = "wysiwygTextarea_ifr";
      frame.title = "Rich Text Area";
      frame.srcdoc = '<!DOCTYPE html><html><body id="tinymce" class="mce-content-body">' +
        page.body.storage.value + "</body></html>";
      holder.appendChild(frame);
    });
  });
});
