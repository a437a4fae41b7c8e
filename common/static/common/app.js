// Small page behaviours with no build step. Kept in a file (not inline) so that a strict
// content security policy can forbid inline scripts.
document.addEventListener("click", function (event) {
  // A button with data-add-form="prefix" copies the formset's empty form and bumps TOTAL_FORMS.
  const button = event.target.closest("[data-add-form]");
  if (!button) return;
  event.preventDefault();
  const prefix = button.dataset.addForm;
  const total = document.getElementById("id_" + prefix + "-TOTAL_FORMS");
  const template = document.getElementById(prefix + "-empty");
  const list = document.getElementById(prefix + "-rows");
  if (!total || !template || !list) return;
  const index = parseInt(total.value, 10);
  const html = template.innerHTML.replace(/__prefix__/g, String(index));
  list.insertAdjacentHTML("beforeend", html);
  total.value = String(index + 1);
  const first = list.lastElementChild && list.lastElementChild.querySelector("input, select, textarea");
  if (first) first.focus();
});
