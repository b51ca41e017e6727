// Form building blocks: labelled fields that know their API path (`data-path`, e.g.
// `otp.length` or `fields.2.values`), controls bound to a JSON model, and the display of
// the API's field errors next to the field they belong to.

import { h, uid } from "./dom.js";

/** Reads `a.b.0.c` from an object. */
export function getPath(obj, path) {
  return path.split(".").reduce((o, k) => (o == null ? undefined : o[k]), obj);
}

/** Writes `a.b.c` into an object, creating plain objects on the way. */
export function setPath(obj, path, value) {
  const keys = path.split(".");
  let o = obj;
  for (const k of keys.slice(0, -1)) {
    if (o[k] === null || typeof o[k] !== "object") o[k] = {};
    o = o[k];
  }
  o[keys[keys.length - 1]] = value;
}

/**
 * A labelled field: label, control, optional help, and an error slot the API's message
 * for `path` goes into. The control gets an id and aria-describedby.
 */
export function field({ label, control, help, path, class: extra }) {
  if (!control.id) control.id = uid();
  const helpId = help ? uid("help") : null;
  const errorId = uid("err");
  control.setAttribute("aria-describedby", [helpId, errorId].filter(Boolean).join(" "));
  const isCheck = control.type === "checkbox";
  const labelEl = h("label", { for: control.id }, label);
  return h(
    "div",
    { class: `field${isCheck ? " field-check" : ""}${extra ? ` ${extra}` : ""}`, dataset: path ? { path } : undefined },
    isCheck ? [control, labelEl] : [labelEl, control],
    help ? h("p", { class: "help", id: helpId }, help) : null,
    h("p", { class: "error", id: errorId, hidden: true }),
  );
}

/** A text-like input bound to `model[path]`. `nullable`: "" is stored as null. */
export function textInput(model, path, { type = "text", nullable = false, ...attrs } = {}) {
  const value = getPath(model, path);
  const input = h("input", { type, value: value ?? "", ...attrs });
  input.addEventListener("input", () => setPath(model, path, nullable && input.value === "" ? null : input.value));
  return input;
}

/** A textarea bound to `model[path]`. */
export function textArea(model, path, attrs = {}) {
  const area = h("textarea", { rows: 4, ...attrs });
  area.value = getPath(model, path) ?? "";
  area.addEventListener("input", () => setPath(model, path, area.value));
  return area;
}

/** A number input; `nullable` stores "" as null, otherwise as 0. */
export function numberInput(model, path, { nullable = false, ...attrs } = {}) {
  const value = getPath(model, path);
  const input = h("input", { type: "number", step: "any", value: value ?? "", ...attrs });
  input.addEventListener("input", () => {
    if (input.value === "") setPath(model, path, nullable ? null : 0);
    else setPath(model, path, Number(input.value));
  });
  return input;
}

/** A checkbox bound to a boolean. */
export function checkbox(model, path, attrs = {}) {
  const input = h("input", { type: "checkbox", checked: Boolean(getPath(model, path)), ...attrs });
  input.addEventListener("change", () => setPath(model, path, input.checked));
  return input;
}

/** A <select> bound to `model[path]`; `options`: `[value, label]` pairs. */
export function selectInput(model, path, options, attrs = {}) {
  const select = h(
    "select",
    { ...attrs, value: getPath(model, path) ?? "" },
    options.map(([value, label]) => h("option", { value }, label)),
  );
  select.addEventListener("change", () => setPath(model, path, select.value));
  return select;
}

/** A comma-separated list bound to an array of strings. */
export function listInput(model, path, attrs = {}) {
  const value = getPath(model, path);
  const input = h("input", { type: "text", value: (value || []).join(", "), ...attrs });
  input.addEventListener("input", () =>
    setPath(
      model,
      path,
      input.value
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean),
    ),
  );
  return input;
}

/** The field errors of an API answer as `[{path, message}]` (nested objects flattened). */
export function flattenErrors(data, prefix = "") {
  const out = [];
  for (const [key, value] of Object.entries(data || {})) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (value && typeof value === "object" && typeof value.message === "string" && typeof value.code === "string") {
      out.push({ path, message: value.message });
    } else if (value && typeof value === "object") {
      out.push(...flattenErrors(value, path));
    }
  }
  return out;
}

/** Removes every error shown inside `root`. */
export function clearErrors(root) {
  for (const p of root.querySelectorAll(".field .error")) {
    p.hidden = true;
    p.textContent = "";
  }
  for (const el of root.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
  for (const el of root.querySelectorAll(".has-error")) el.classList.remove("has-error");
  const summary = root.querySelector(".form-errors");
  if (summary) {
    summary.hidden = true;
    summary.replaceChildren();
  }
}

/**
 * Shows an ApiError inside `root`: each field error next to the field whose `data-path`
 * is its path (or the nearest parent path), the rest and the message in the form's
 * `.form-errors` box. Focuses the first invalid control. Returns the elements marked.
 */
export function showErrors(root, err) {
  clearErrors(root);
  const summary = root.querySelector(".form-errors");
  const loose = [];
  const marked = [];
  for (const { path, message } of flattenErrors(err.data)) {
    const target = findField(root, path);
    if (!target) {
      loose.push(`${path}: ${message}`);
      continue;
    }
    const slot = target.querySelector(":scope > .error");
    if (slot) {
      const own = target.dataset.path === path;
      const text = own ? message : `${path.slice(target.dataset.path.length + 1)}: ${message}`;
      slot.textContent = slot.textContent ? `${slot.textContent} ${text}` : text;
      slot.hidden = false;
    }
    target.classList.add("has-error");
    for (let d = target.closest("details"); d; d = d.parentElement?.closest("details")) d.open = true;
    const control = target.querySelector("input, select, textarea");
    if (control) control.setAttribute("aria-invalid", "true");
    marked.push(target);
  }
  if (summary) {
    summary.append(h("p", {}, err.message));
    if (loose.length) summary.append(h("ul", {}, loose.map((text) => h("li", {}, text))));
    summary.hidden = false;
  }
  const first = marked[0]?.querySelector("input, select, textarea, button");
  if (first && !first.disabled) first.focus();
  else summary?.focus();
  return marked;
}

function findField(root, path) {
  const parts = path.split(".");
  while (parts.length) {
    const wanted = parts.join(".");
    const found = [...root.querySelectorAll("[data-path]")].find((el) => el.dataset.path === wanted);
    if (found) return found;
    parts.pop();
  }
  return null;
}

/** The error box of a form (filled by showErrors); focusable so it can be announced. */
export function errorBox() {
  return h("div", { class: "form-errors", role: "alert", tabindex: "-1", hidden: true });
}

/** Disables a form's action buttons (not its tabs) while `work` runs. */
export async function busy(form, work) {
  const buttons = [...form.querySelectorAll("button:not([role=tab])")];
  const was = buttons.map((b) => b.disabled);
  buttons.forEach((b) => (b.disabled = true));
  form.setAttribute("aria-busy", "true");
  try {
    return await work();
  } finally {
    buttons.forEach((b, i) => (b.disabled = was[i]));
    form.removeAttribute("aria-busy");
  }
}
