// Recruiters' booking-rush page: poll the figures every second and write them into [data-bind] cells.
(function () {
  "use strict";
  // The djangojs catalogue (/i18n/js/, loaded by the page) defines gettext and interpolate; without it Japanese stays.
  var gettext = window.gettext || function (text) { return text; };
  var interpolate = window.interpolate || function (fmt, obj) {
    return fmt.replace(/%\(\w+\)s/g, function (match) { return String(obj[match.slice(2, -2)]); });
  };
  var root = document.getElementById("rush");
  if (!root || !window.fetch) return;
  var pollUrl = root.dataset.poll;
  var interval = Math.max(1, Number(root.dataset.interval) || 1) * 1000;
  var statusLine = document.getElementById("rush-status");
  var errorLine = document.getElementById("rush-error");
  var redisDown = document.getElementById("rush-redis-down");
  var lastGood = null;
  var failures = 0;

  function lookup(data, path) {
    var value = data;
    var parts = path.split(".");
    for (var i = 0; i < parts.length; i++) {
      if (value === null || value === undefined) return null;
      value = value[parts[i]];
    }
    return value === undefined ? null : value;
  }

  function format(value, kind) {
    if (value === null) return "—";
    if (kind === "rate") return Number(value).toFixed(1);
    return String(value);
  }

  function clock(date) {
    function two(n) { return (n < 10 ? "0" : "") + n; }
    return two(date.getHours()) + ":" + two(date.getMinutes()) + ":" + two(date.getSeconds());
  }

  function apply(data) {
    var cells = root.querySelectorAll("[data-bind]");
    for (var i = 0; i < cells.length; i++) {
      var cell = cells[i];
      cell.textContent = format(lookup(data, cell.dataset.bind), cell.dataset.format);
    }
    var rows = root.querySelectorAll("tr[data-quota]");
    for (var j = 0; j < rows.length; j++) {
      var quota = data.quota ? data.quota[rows[j].dataset.quota] : null;
      rows[j].classList.toggle("differs", Boolean(quota && quota.differs));
    }
    redisDown.hidden = data.redis_available !== false;
  }

  function fail(message) {
    failures += 1;
    root.classList.add("stale");
    var since = lastGood ? interpolate(gettext("表示は %(at)s 時点の数値です。"), { at: clock(lastGood) }, true) : "";
    errorLine.textContent = message + since + gettext("自動で再試行しています。");
    errorLine.hidden = false;
  }

  function schedule() {
    // Back off a little while failing so a struggling server is not hammered; hidden tabs poll slowly.
    var wait = failures ? Math.min(interval * (1 + failures), 10000) : interval;
    if (document.hidden) wait = Math.max(wait, 10000);
    window.setTimeout(poll, wait);
  }

  function poll() {
    var controller = window.AbortController ? new AbortController() : null;
    var timer = controller ? window.setTimeout(function () { controller.abort(); }, 5000) : null;
    fetch(pollUrl, {
      headers: { Accept: "application/json" },
      credentials: "same-origin",
      cache: "no-store",
      signal: controller ? controller.signal : undefined,
    })
      .then(function (response) {
        return response.json().then(
          function (body) { return { status: response.status, body: body }; },
          function () { return { status: response.status, body: null }; }
        );
      })
      .then(function (answer) {
        if (answer.status === 200 && answer.body && answer.body.ok) {
          apply(answer.body);
          failures = 0;
          lastGood = new Date();
          root.classList.remove("stale");
          errorLine.hidden = true;
          statusLine.textContent = interpolate(
            gettext("%(at)s 時点の数値です。%(seconds)s 秒ごとに自動で更新します。"),
            { at: clock(lastGood), seconds: interval / 1000 },
            true
          );
        } else if (answer.body && answer.body.message) {
          fail(answer.body.message);
        } else {
          fail(interpolate(gettext("最新の状況を取得できませんでした（サーバーの応答 %(status)s）。"), { status: answer.status }, true));
        }
      })
      .catch(function () {
        fail(gettext("最新の状況を取得できませんでした（通信エラーまたはタイムアウト）。"));
      })
      .then(function () {
        if (timer) window.clearTimeout(timer);
        schedule();
      });
  }

  schedule();
})();
