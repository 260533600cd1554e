/* synchrony.min.js (cdnprobe lab): the collaborative-editing client. The lab's Synchrony has no
   server of its own: "connecting" is one heartbeat on the app host, nothing external. */
(function (w) {
  "use strict";
  var listeners = [];
  w.Synchrony = {
    version: "4.0.0-lab",
    state: "disconnected",
    connect: function (heartbeatUrl, cb) {
      var self = this;
      var x = new XMLHttpRequest();
      x.open("GET", heartbeatUrl, true);
      x.onload = function () {
        self.state = x.status === 200 ? "connected" : "failed";
        cb(self.state);
        for (var i = 0; i < listeners.length; i++) { listeners[i](self.state); }
      };
      x.onerror = function () { self.state = "failed"; cb(self.state); };
      x.send(null);
    },
    on: function (f) { listeners.push(f); }
  };
})(window);
