// The project page's timer: shows the time since the session started, and tells the server
// once a minute that the person is still working (a session without heartbeats is closed).
(function () {
  const timer = document.querySelector(".timer[data-started]");
  if (!timer) return;
  const started = Date.parse(timer.dataset.started);
  const state = document.querySelector(".heartbeat-state");
  const token = JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"];
  const pad = function (n) { return String(n).padStart(2, "0"); };
  const tick = function () {
    const seconds = Math.max(0, Math.floor((Date.now() - started) / 1000));
    timer.textContent = Math.floor(seconds / 3600) + ":" + pad(Math.floor(seconds / 60) % 60) + ":" + pad(seconds % 60);
  };
  const beat = function () {
    fetch(timer.dataset.heartbeatUrl, { method: "POST", headers: { "X-CSRFToken": token }, credentials: "same-origin" })
      .then(function (response) {
        if (response.status === 409) { window.location.reload(); return; }
        if (state) state.textContent = response.ok ? "" : "(could not reach the server; retrying)";
      })
      .catch(function () { if (state) state.textContent = "(offline; retrying)"; });
  };
  tick();
  setInterval(tick, 1000);
  setInterval(beat, 60 * 1000);
})();
