// Live seats on a seminar page: websocket first, reconnect with back-off, poll the JSON endpoint meanwhile.
(function () {
  "use strict";
  // The djangojs catalogue (/i18n/js/, loaded by the page) defines gettext; without it the Japanese stays.
  var gettext = window.gettext || function (text) { return text; };
  var list = document.getElementById("slots");
  if (!list) return;
  var status = document.getElementById("live-status");
  var wsPath = list.dataset.ws;
  var pollUrl = list.dataset.poll;
  var delay = 500;
  var maxDelay = 15000;
  var pollTimer = null;
  var socket = null;

  // A full slot reads 満席 and offers the waiting list; a slot with seats offers booking: never both.
  function mark(cell, count) {
    var slot = cell.closest(".slot");
    if (!slot) return;
    var full = Number(count) <= 0;
    slot.classList.toggle("full", full);
    slot.querySelectorAll("[data-when-full]").forEach(function (el) { el.hidden = !full; });
    slot.querySelectorAll("[data-when-free]").forEach(function (el) { el.hidden = full; });
  }

  function apply(message) {
    if (!message || message.type !== "seats" || !message.slots) return;
    Object.keys(message.slots).forEach(function (slotId) {
      var cell = list.querySelector('.seats[data-slot="' + slotId + '"]');
      if (!cell) return;
      cell.textContent = String(message.slots[slotId]);
      mark(cell, message.slots[slotId]);
    });
  }

  function poll() {
    fetch(pollUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(apply)
      .catch(function () {});
  }

  function startPolling() {
    if (pollTimer === null) {
      poll();
      pollTimer = window.setInterval(poll, 5000);
    }
  }

  function stopPolling() {
    if (pollTimer !== null) {
      window.clearInterval(pollTimer);
      pollTimer = null;
    }
  }

  function connect() {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    try {
      socket = new WebSocket(scheme + window.location.host + wsPath);
    } catch (error) {
      retry();
      return;
    }
    socket.onopen = function () {
      delay = 500;
      stopPolling();
      if (status) status.textContent = gettext("空席数をリアルタイムで表示しています");
      list.dataset.live = "1";
    };
    socket.onmessage = function (event) {
      try { apply(JSON.parse(event.data)); } catch (error) { /* ignore a bad frame */ }
    };
    socket.onclose = function () {
      list.dataset.live = "0";
      retry();
    };
  }

  function retry() {
    if (status) status.textContent = gettext("再接続を試みています（その間は数秒ごとに更新します）…");
    startPolling();
    var wait = delay + Math.random() * delay * 0.3;
    delay = Math.min(delay * 2, maxDelay);
    window.setTimeout(connect, wait);
  }

  if ("WebSocket" in window) connect(); else startPolling();
})();
