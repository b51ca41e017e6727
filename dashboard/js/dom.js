// DOM helpers. Everything is built with createElement and text nodes, never innerHTML, so
// record values and API messages can never inject markup (the CSP forbids inline code too).

let counter = 0;

/** A page-unique id for label/input pairs. */
export function uid(prefix = "f") {
  counter += 1;
  return `${prefix}-${counter}`;
}

/**
 * Creates an element. `attrs`: `class`, `on<event>` functions, `dataset`, properties
 * (`value`, `checked`, `disabled`, ...) and any other attribute (`true` = present).
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  let value;
  for (const [key, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (key.startsWith("on") && typeof v === "function") {
      el.addEventListener(key.slice(2).toLowerCase(), v);
    } else if (key === "class") {
      el.className = v;
    } else if (key === "dataset") {
      Object.assign(el.dataset, v);
    } else if (key === "value") {
      value = v;
    } else if (key === "checked" || key === "selected" || key === "indeterminate") {
      el[key] = Boolean(v);
    } else {
      el.setAttribute(key, v === true ? "" : String(v));
    }
  }
  append(el, children);
  // After the children: a <select>'s value needs its options.
  if (value !== undefined) el.value = value;
  return el;
}

/** Appends children, skipping null/false and flattening arrays; strings become text. */
export function append(el, children) {
  for (const child of [children].flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

/** Replaces all children of `el`. */
export function mount(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

/** Shows a short message in the polite live region; it fades after a while. */
export function notify(text, kind = "info") {
  const box = document.getElementById("toasts");
  if (!box) return;
  // At most two at a time, newest last; a click dismisses one.
  while (box.children.length >= 2) box.firstElementChild.remove();
  const toast = h("div", { class: `toast toast-${kind}`, onclick: () => toast.remove() }, text);
  box.append(toast);
  setTimeout(() => toast.remove(), kind === "error" ? 8000 : 3500);
}

/**
 * A modal confirmation (native <dialog>: focus is trapped and Escape cancels). Resolves
 * to true when confirmed.
 */
export function confirmDialog(message, { confirm = "Confirm", danger = false } = {}) {
  return new Promise((resolve) => {
    const title = uid("dlg");
    const yes = h("button", { type: "submit", value: "yes", class: danger ? "btn danger" : "btn primary" }, confirm);
    const dialog = h(
      "dialog",
      { class: "dialog", "aria-labelledby": title },
      h(
        "form",
        { method: "dialog" },
        h("p", { id: title }, message),
        h(
          "div",
          { class: "actions" },
          h("button", { type: "submit", value: "no", class: "btn" }, "Cancel"),
          yes,
        ),
      ),
    );
    dialog.addEventListener("close", () => {
      dialog.remove();
      resolve(dialog.returnValue === "yes");
    });
    document.body.append(dialog);
    dialog.showModal();
    yes.focus();
  });
}

/** Formats an API datetime (`2024-05-06 10:00:00.123Z`) for tables: date and time, UTC. */
export function shortDate(value) {
  if (!value) return "";
  return String(value).replace(/\.\d+Z$/, "Z");
}

/** Truncates long text for table cells. */
export function truncate(text, max = 60) {
  const s = String(text);
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}
