// The task workspace: keyboard shortcuts, span marking and code-review findings (each kept in
// a hidden field as JSON), and a guard against double submits.
(function () {
  const form = document.getElementById("evaluation-form");
  if (!form) return;
  const changed = function (element) { element.dispatchEvent(new Event("change", { bubbles: true })); };

  // Keyboard: 1-9 rates the first rating row without an answer (or the focused one);
  // letters choose a preference; Ctrl/Cmd+Enter submits.
  document.addEventListener("keydown", function (event) {
    const typing = /^(INPUT|TEXTAREA|SELECT)$/.test(document.activeElement.tagName) &&
      document.activeElement.type !== "radio" && document.activeElement.type !== "checkbox";
    if ((event.ctrlKey || event.metaKey) && event.key === "Enter") {
      event.preventDefault();
      form.requestSubmit(document.getElementById("submit-next"));
      return;
    }
    if (typing || event.altKey || event.ctrlKey || event.metaKey) return;
    if (/^[1-9]$/.test(event.key)) {
      const focused = document.activeElement.closest && document.activeElement.closest(".rating-group");
      const groups = Array.from(form.querySelectorAll(".rating-group"));
      const group = focused || groups.find(function (g) { return !g.querySelector("input:checked"); });
      const input = group && group.querySelector('input[value="' + event.key + '"]');
      if (input) { input.checked = true; input.focus(); changed(input); event.preventDefault(); }
    } else if (/^[a-z]$/i.test(event.key)) {
      const input = form.querySelector('.preference-group input[data-letter="' + event.key.toLowerCase() + '"]');
      if (input) { input.checked = true; input.focus(); changed(input); event.preventDefault(); }
    }
  });

  // Spans: select text inside a response, pick a label, press "Mark it".
  form.querySelectorAll(".span-tool").forEach(function (tool) {
    const value = tool.querySelector(".span-value");
    const list = tool.querySelector(".span-list");
    let spans = JSON.parse(value.dataset.initial || "[]");
    const render = function () {
      value.value = JSON.stringify(spans);
      list.innerHTML = "";
      spans.forEach(function (span, index) {
        const target = tool.querySelector('.span-target[data-response="' + span.response + '"]');
        const item = document.createElement("li");
        const text = target ? target.textContent.slice(span.start, span.end) : "";
        item.textContent = (target ? "Response " + target.dataset.letter : span.response) + ", " + span.label + ": “" + text + "” ";
        const remove = document.createElement("button");
        remove.type = "button"; remove.className = "link-button"; remove.textContent = "Remove";
        remove.addEventListener("click", function () { spans.splice(index, 1); render(); changed(value); });
        item.appendChild(remove);
        list.appendChild(item);
      });
    };
    tool.querySelector(".span-add").addEventListener("click", function () {
      const selection = window.getSelection();
      if (!selection.rangeCount) return;
      const range = selection.getRangeAt(0);
      const target = range.startContainer.parentElement && range.startContainer.parentElement.closest(".span-target");
      if (!target || !target.contains(range.endContainer)) return;
      const before = document.createRange();
      before.selectNodeContents(target);
      before.setEnd(range.startContainer, range.startOffset);
      const start = before.toString().length;
      const end = start + range.toString().length;
      if (end <= start) return;
      spans.push({ response: target.dataset.response, start: start, end: end, label: tool.querySelector(".span-label").value });
      selection.removeAllRanges();
      render(); changed(value);
    });
    render();
  });

  // Code review: rows of line, severity and comment.
  form.querySelectorAll(".review-tool").forEach(function (tool) {
    const value = tool.querySelector(".review-value");
    const rows = tool.querySelector(".review-rows");
    const template = tool.querySelector(".review-row");
    const collect = function () {
      value.value = JSON.stringify(Array.from(rows.querySelectorAll("tr")).map(function (row) {
        return {
          line: parseInt(row.querySelector(".review-line").value, 10),
          severity: row.querySelector(".review-severity").value,
          comment: row.querySelector(".review-comment").value,
        };
      }));
    };
    const add = function (finding) {
      const row = template.content.firstElementChild.cloneNode(true);
      if (finding) {
        row.querySelector(".review-line").value = finding.line;
        row.querySelector(".review-severity").value = finding.severity;
        row.querySelector(".review-comment").value = finding.comment;
      }
      row.querySelector(".review-remove").addEventListener("click", function () { row.remove(); collect(); changed(value); });
      row.addEventListener("input", collect);
      rows.appendChild(row);
      collect();
    };
    JSON.parse(value.dataset.initial || "[]").forEach(add);
    tool.querySelector(".review-add").addEventListener("click", function () { add(null); });
  });

  // One submit only: a double click sends one request.
  form.addEventListener("submit", function () {
    const button = document.getElementById("submit-next");
    setTimeout(function () { button.disabled = true; button.textContent = "Submitting…"; }, 0);
  });
})();
