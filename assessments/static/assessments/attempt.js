// The attempt page: a countdown to the server's deadline, and a guard on the submit button.
(function () {
  const clock = document.querySelector(".countdown[data-deadline]");
  if (clock) {
    const deadline = Date.parse(clock.dataset.deadline);
    const tick = function () {
      const left = Math.max(0, Math.floor((deadline - Date.now()) / 1000));
      const minutes = Math.floor(left / 60);
      const seconds = String(left % 60).padStart(2, "0");
      clock.textContent = minutes + ":" + seconds;
      clock.classList.toggle("low", left < 300);
      if (left === 0) {
        clearInterval(timer);
        document.querySelectorAll(".answer-form input, .answer-form textarea, .answer-form button")
          .forEach(function (field) { field.disabled = true; });
        clock.textContent = "Time is up — submitting your saved answers";
        setTimeout(function () { window.location.href = clock.dataset.resultUrl; }, 1500);
      }
    };
    const timer = setInterval(tick, 1000);
    tick();
  }
  document.addEventListener("submit", function (event) {
    if (event.target.matches(".confirm-submit") &&
        !window.confirm("Submit now? You cannot change your answers afterwards.")) {
      event.preventDefault();
    }
  });
  // htmx marks a form busy while it saves.
  document.body.addEventListener("htmx:beforeRequest", function (event) {
    const state = event.target.querySelector && event.target.querySelector(".save-state");
    if (state) state.innerHTML = '<span class="muted">Saving…</span>';
  });
  document.body.addEventListener("htmx:responseError", function (event) {
    const state = event.target.querySelector && event.target.querySelector(".save-state");
    if (state) state.innerHTML = '<span class="save-error" role="alert">Not saved: the server did not answer. Try again.</span>';
  });
  document.body.addEventListener("htmx:sendError", function (event) {
    const state = event.target.querySelector && event.target.querySelector(".save-state");
    if (state) state.innerHTML = '<span class="save-error" role="alert">Not saved: you seem to be offline. Your answer will save when you edit it again.</span>';
  });
})();
