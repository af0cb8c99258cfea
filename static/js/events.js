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
        // Incident banners link to the incident page (where a company admin acknowledges it);
        // same-origin relative paths only.
        if (typeof event.url === "string" && event.url.charAt(0) === "/" && event.url.charAt(1) !== "/") {
          var link = document.createElement("a");
          link.href = event.url;
          link.textContent = " 詳細・受領確認";
          div.appendChild(link);
        }
        if (event.incident_id) {
          var old = box.querySelector('[data-incident="' + Number(event.incident_id) + '"]');
          if (old) { box.removeChild(old); }
          div.setAttribute("data-incident", String(Number(event.incident_id)));
        }
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
