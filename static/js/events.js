// Live events for recruiters (banners, progress): reconnects with back-off.
(function () {
  var delay = 1000;
  function connect() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + location.host + "/ws/events/");
    socket.onopen = function () { delay = 1000; };
    socket.onmessage = function (message) {
      var event = JSON.parse(message.data);
      document.dispatchEvent(new CustomEvent("saas:" + event.type, { detail: event }));
      if (event.type === "banner") {
        var box = document.getElementById("banners");
        var div = document.createElement("div");
        div.className = "banner";
        div.textContent = event.text;
        box.appendChild(div);
      }
    };
    socket.onclose = function (event) {
      if (event.code === 4401) { return; }
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 30000);
    };
  }
  connect();
})();
