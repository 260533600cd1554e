/* synchrony.min.js (cdnprobe lab): the collaborative-editing client. Like Confluence's, it opens a
   WebSocket to <context>/synchrony/v1/bayeux-sync1 (bayeux: handshake, connect, then the server
   pushes), and when the socket fails it falls back to XHR (here: the heartbeat), so the editor
   still opens with a failed websocket and only the network shows it. Nothing external. */
(function (w) {
  "use strict";
  var listeners = [];
  w.Synchrony = {
    version: "4.0.0-lab",
    state: "disconnected",
    transport: null,
    error: null,
    connect: function (opts, cb) {
      var self = this;
      var done = false;
      function finish(state, transport) {
        if (done) { return; }
        done = true;
        self.state = state;
        self.transport = transport;
        document.body.setAttribute("data-synchrony-transport", transport);
        cb(state);
        for (var i = 0; i < listeners.length; i++) { listeners[i](state); }
      }
      function fallback(reason) {
        if (done) { return; }
        self.error = reason;
        var x = new XMLHttpRequest();
        x.open("GET", opts.heartbeat, true);
        x.onload = function () { finish(x.status === 200 ? "connected" : "failed", "xhr"); };
        x.onerror = function () { finish("failed", "xhr"); };
        x.send(null);
      }
      var ws;
      try {
        ws = new WebSocket(opts.websocket);
      } catch (e) {
        fallback("websocket: " + e);
        return;
      }
      self.socket = ws;
      ws.onopen = function () {
        ws.send(JSON.stringify([{ channel: "/meta/handshake", version: "1.0",
          supportedConnectionTypes: ["websocket"], ext: { pageId: opts.pageId } }]));
      };
      ws.onmessage = function (ev) {
        var batch;
        try { batch = JSON.parse(ev.data); } catch (e) { return; }
        for (var i = 0; i < batch.length; i++) {
          var m = batch[i];
          if (m.channel === "/meta/handshake") {
            if (!m.successful) { fallback("handshake: " + m.error); return; }
            self.clientId = m.clientId;
            ws.send(JSON.stringify([{ channel: "/meta/connect", clientId: m.clientId,
              connectionType: "websocket" }]));
          } else if (m.channel === "/meta/connect" && m.successful) {
            finish("connected", "websocket");
          } else if (m.channel === "/synchrony/presence") {
            self.presence = m.data;
          }
        }
      };
      ws.onerror = function () { fallback("websocket error"); };
      ws.onclose = function (ev) { fallback("websocket closed " + ev.code); };
    },
    on: function (f) { listeners.push(f); }
  };
})(window);
