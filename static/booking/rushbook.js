// Students' rush page: book with one tap, wait in line when the room is full, never lose the answer.
(function () {
  "use strict";
  // The djangojs catalogue (/i18n/js/, loaded by the page) defines gettext and interpolate; without it Japanese stays.
  var gettext = window.gettext || function (text) { return text; };
  var interpolate = window.interpolate || function (fmt, obj) {
    return fmt.replace(/%\(\w+\)s/g, function (match) { return String(obj[match.slice(2, -2)]); });
  };
  var root = document.getElementById("rush-book");
  if (!root || !window.fetch) return;
  var answer = document.getElementById("answer");
  var queue = document.getElementById("queue");
  var position = document.getElementById("queue-position");
  var eta = document.getElementById("queue-eta");
  var countdown = document.getElementById("countdown");
  var opensAt = Number(root.dataset.opens) || 0;
  var wanted = null;
  var busy = false;
  var busyInRow = 0;  // "busy" answers in a row: each waits longer (the crowd asks less often)
  var BUSY_WAIT_MOST = 8000;

  // How long to wait before asking again after a "busy" or "unavailable" answer: the server's Retry-After,
  // doubled for each such answer in a row up to BUSY_WAIT_MOST, a quarter more or less at random so a
  // crowd turned away in the same second does not come back in the same second.
  function retryDelay(retryAfter, fallback) {
    var base = (Number(retryAfter) || fallback) * 1000;
    var wait = Math.min(base * Math.pow(2, busyInRow), BUSY_WAIT_MOST);
    busyInRow += 1;
    return wait * (0.75 + Math.random() / 2);
  }

  // Before the opening time no button is active (the page says when it opens and counts down).
  function opened() { return !opensAt || Date.now() >= opensAt; }

  function buttons(disabled) {
    root.querySelectorAll("button.book").forEach(function (b) { b.disabled = disabled || !opened(); });
  }

  function show(text, ok) {
    answer.hidden = false;
    answer.textContent = text;
    answer.style.borderColor = ok ? "#2f7d32" : "#b44d12";
  }

  function handle(status, data, retryAfter) {
    if (!data) {
      show(gettext("通信できませんでした。数秒後にもう一度お試しください。"), false);
      busy = false; buttons(false);
      return;
    }
    if (data.code !== "busy" && data.code !== "unavailable") busyInRow = 0;  // a place in line resets it too
    if (data.code === "queued") {
      queue.hidden = false;
      position.textContent = String(data.position);
      eta.textContent = String(Math.ceil(data.eta_s));
      window.setTimeout(waitTurn, Math.max(1, data.poll_after_s) * 1000);
      return;
    }
    if (data.code === "line") {
      // A place in the proxy's line: the same booking is sent again when the place is due (the answer's
      // Retry-After, a tenth more or less), never backing off: waiting longer would only lose the turn.
      queue.hidden = false;
      position.textContent = String(data.position);
      eta.textContent = String(Math.ceil(data.eta_s));
      var due = (Number(retryAfter) || 1) * 1000 * (0.9 + Math.random() / 5);
      window.setTimeout(function () { busy ? send() : null; }, due);
      return;
    }
    queue.hidden = true;
    if (data.code === "admitted") { send(); return; }
    if (data.code === "unavailable" || data.code === "busy") {
      show(data.message, false);
      window.setTimeout(function () { busy ? send() : null; }, retryDelay(retryAfter, data.code === "busy" ? 2 : 3));
      return;
    }
    busy = false;
    show(data.message, data.ok);
    if (data.ok) { buttons(true); } else { buttons(false); }
    if (data.waitlist_url) {
      var link = document.createElement("a");
      link.href = data.waitlist_url;
      link.textContent = " " + gettext("キャンセル待ちに登録する");
      answer.appendChild(link);
    }
  }

  function request(url, options) {
    return fetch(url, options)
      .then(function (response) {
        var after = response.headers.get("Retry-After");
        return response.json().then(function (data) { return [response.status, data, after]; }, function () { return [response.status, null, after]; });
      })
      .then(function (answer) { handle(answer[0], answer[1], answer[2]); })
      .catch(function () { handle(0, null); });
  }

  function send() {
    request(root.dataset.book, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-Requested-With": "rush", Accept: "application/json" },
      body: JSON.stringify({ slot: wanted }),
    });
  }

  function waitTurn() {
    request(root.dataset.queue, { credentials: "same-origin", headers: { Accept: "application/json" } });
  }

  root.querySelectorAll("button.book").forEach(function (button) {
    button.addEventListener("click", function () {
      if (busy) return;
      busy = true; buttons(true);
      wanted = button.dataset.slot;
      answer.hidden = true;
      send();
    });
  });

  if (opensAt) {
    var tick = function () {
      var left = Math.ceil((opensAt - Date.now()) / 1000);
      if (countdown) countdown.textContent = left > 0 ? interpolate(gettext("（あと %(seconds)s 秒）"), { seconds: left }, true) : gettext("（受付中）");
      if (left > 0) { window.setTimeout(tick, 250); return; }
      if (!busy) buttons(false);
    };
    tick();
  }
})();
