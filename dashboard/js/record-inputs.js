// One form control per field type for the record form. Each input is
// `{el, read()}`: `el` is the labelled field (its data-path is the field name, so the
// API's field errors land next to it) and `read()` returns the value to send, `SKIP` to
// leave the field out, or throws an InputError the form shows like an API error.

import { api } from "./api.js";
import { h, uid } from "./dom.js";
import { field } from "./forms.js";

/** `read()` result meaning "send nothing for this field". */
export const SKIP = Symbol("skip");

/** Whether file inputs post uploads (multipart); off shows them read-only. */
export const FILE_UPLOADS = true;

export class InputError extends Error {
  constructor(path, message) {
    super(message);
    this.path = path;
  }
}

const label = (f) => (f.required ? `${f.name} (required)` : f.name);

/** The input for `f` showing `value` (undefined on create). */
export function inputFor(f, value, { isNew, collection, record }) {
  const make = BUILDERS[f.type] || BUILDERS.text;
  return make(f, value, { isNew, collection, record });
}

/** `2024-05-06 10:00:00.000Z` ⇄ the value of an <input type="datetime-local"> (UTC). */
function toLocalInput(value) {
  const m = String(value || "").match(/^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}(:\d{2})?)/);
  return m ? `${m[1]}T${m[2]}` : "";
}
function fromLocalInput(value) {
  if (!value) return "";
  const [date, time] = value.split("T");
  const full = time.length === 5 ? `${time}:00` : time;
  return `${date} ${full}.000Z`;
}

const BUILDERS = {
  text(f, value) {
    const input = h("input", { type: "text", value: value ?? "", name: f.name });
    if (f.max) input.maxLength = f.max;
    const help = f.autogeneratePattern ? `Leave empty to autogenerate (${f.autogeneratePattern}).` : f.help || undefined;
    return { el: field({ label: label(f), control: input, path: f.name, help }), read: () => input.value };
  },
  email(f, value) {
    const input = h("input", { type: "email", value: value ?? "", name: f.name, autocomplete: "off" });
    return { el: field({ label: label(f), control: input, path: f.name, help: f.help || undefined }), read: () => input.value.trim() };
  },
  url(f, value) {
    const input = h("input", { type: "url", value: value ?? "", name: f.name });
    return { el: field({ label: label(f), control: input, path: f.name, help: f.help || undefined }), read: () => input.value.trim() };
  },
  editor(f, value) {
    const area = h("textarea", { rows: 8, name: f.name });
    area.value = value ?? "";
    return { el: field({ label: label(f), control: area, path: f.name, help: f.help || "HTML." }), read: () => area.value };
  },
  number(f, value) {
    const input = h("input", { type: "number", step: f.onlyInt ? "1" : "any", value: value ?? "", name: f.name });
    return {
      el: field({ label: label(f), control: input, path: f.name, help: f.help || undefined }),
      read: () => (input.value === "" ? null : Number(input.value)),
    };
  },
  bool(f, value) {
    const input = h("input", { type: "checkbox", checked: Boolean(value), name: f.name });
    return { el: field({ label: f.name, control: input, path: f.name, help: f.help || undefined }), read: () => input.checked };
  },
  date(f, value) {
    const input = h("input", { type: "datetime-local", step: "1", value: toLocalInput(value), name: f.name });
    return {
      el: field({ label: `${label(f)} (UTC)`, control: input, path: f.name, help: f.help || undefined }),
      read: () => fromLocalInput(input.value),
    };
  },
  autodate(f, value) {
    const input = h("input", { type: "text", value: value ?? "", readonly: true, name: f.name });
    return { el: field({ label: f.name, control: input, path: f.name, help: "Set by the server." }), read: () => SKIP };
  },
  select(f, value) {
    const values = f.values || [];
    if ((f.maxSelect || 1) <= 1) {
      const select = h("select", { name: f.name, value: value ?? "" }, h("option", { value: "" }, "—"), values.map((v) => h("option", { value: v }, v)));
      return { el: field({ label: label(f), control: select, path: f.name, help: f.help || undefined }), read: () => select.value };
    }
    const chosen = new Set(Array.isArray(value) ? value : []);
    const boxes = values.map((v) => h("input", { type: "checkbox", value: v, checked: chosen.has(v), id: uid() }));
    const el = h(
      "fieldset",
      { class: "field choices", dataset: { path: f.name } },
      h("legend", {}, `${label(f)} (up to ${f.maxSelect})`),
      boxes.map((box) => h("div", { class: "field-check" }, box, h("label", { for: box.id }, box.value))),
      h("p", { class: "error", hidden: true }),
    );
    return { el, read: () => boxes.filter((b) => b.checked).map((b) => b.value) };
  },
  json(f, value) {
    const area = h("textarea", { rows: 6, name: f.name, spellcheck: "false", class: "code" });
    area.value = value === undefined || value === null ? "" : JSON.stringify(value, null, 2);
    return {
      el: field({ label: label(f), control: area, path: f.name, help: f.help || "Any JSON value; empty = null." }),
      read: () => {
        if (!area.value.trim()) return null;
        try {
          return JSON.parse(area.value);
        } catch (err) {
          throw new InputError(f.name, `Invalid JSON: ${err.message}`);
        }
      },
    };
  },
  geoPoint(f, value) {
    const lon = h("input", { type: "number", step: "any", min: -180, max: 180, value: value?.lon ?? 0, id: uid() });
    const lat = h("input", { type: "number", step: "any", min: -90, max: 90, value: value?.lat ?? 0, id: uid() });
    const el = h(
      "fieldset",
      { class: "field pair", dataset: { path: f.name } },
      h("legend", {}, label(f)),
      h("label", { for: lon.id }, "Longitude"),
      lon,
      h("label", { for: lat.id }, "Latitude"),
      lat,
      h("p", { class: "error", hidden: true }),
    );
    return { el, read: () => ({ lon: Number(lon.value), lat: Number(lat.value) }) };
  },
  password(f, _value, { isNew, collection }) {
    const input = h("input", { type: "password", name: f.name, autocomplete: "new-password" });
    const confirm = h("input", { type: "password", name: `${f.name}Confirm`, autocomplete: "new-password" });
    const auth = collection.type === "auth" && f.name === "password";
    const el = h(
      "div",
      { class: "group" },
      field({ label: isNew ? label(f) : `New ${f.name}`, control: input, path: f.name, help: isNew ? undefined : "Leave empty to keep the current one." }),
      auth ? field({ label: `${isNew ? "Password" : "New password"} again`, control: confirm, path: "passwordConfirm" }) : null,
    );
    return {
      el,
      read: () => (input.value === "" && !isNew ? SKIP : input.value),
      extra: () => (auth && (input.value !== "" || isNew) ? { passwordConfirm: confirm.value } : {}),
    };
  },
  file(f, value, { collection, record }) {
    const names = value === undefined || value === null || value === "" ? [] : [].concat(value);
    const multiple = (f.maxSelect || 1) > 1;
    const accept = (f.mimeTypes || []).join(",") || undefined;
    const input = h("input", { type: "file", name: f.name, multiple, accept, disabled: !FILE_UPLOADS });
    const limits = multiple ? `Up to ${f.maxSelect} files; new ones are added.` : names.length ? "A new file replaces the current one." : "";
    const help = FILE_UPLOADS ? [limits, f.help].filter(Boolean).join(" ") || undefined : "File uploads are not available in the dashboard.";
    const el = field({ label: label(f), control: input, path: f.name, help });
    const removals = names.map((name) => {
      const box = h("input", { type: "checkbox", id: uid(), value: name });
      const link = h("a", { href: fileURL(collection, record, name), target: "_blank", rel: "noopener" }, name);
      if (f.protected) link.addEventListener("click", (event) => openProtected(event, link.href));
      return { box, item: h("li", {}, link, " ", h("span", { class: "field-check inline-check" }, box, h("label", { for: box.id }, `Remove ${name}`))) };
    });
    if (names.length) el.insertBefore(h("ul", { class: "files" }, removals.map((r) => r.item)), input);
    return {
      el,
      read: () => SKIP,
      extra: () => {
        const removed = removals.filter((r) => r.box.checked).map((r) => r.box.value);
        return removed.length ? { [`${f.name}-`]: removed } : {};
      },
      // Several files are appended (`field+`); a single one replaces the current file.
      files: () => (FILE_UPLOADS ? [...input.files].map((file) => [multiple ? `${f.name}+` : f.name, file]) : []),
    };
  },
  relation(f, value) {
    const multiple = (f.maxSelect || 1) > 1;
    const current = value === undefined || value === null || value === "" ? [] : [].concat(value);
    const select = h("select", { name: f.name, multiple }, multiple ? null : h("option", { value: "" }, "—"), current.map((id) => h("option", { value: id, selected: true }, id)));
    const el = field({ label: label(f), control: select, path: f.name, help: multiple ? `Up to ${f.maxSelect}; Ctrl/Cmd-click to pick several.` : f.help || undefined });
    loadOptions(f, select, current);
    return {
      el,
      read: () => {
        const picked = [...select.selectedOptions].map((o) => o.value).filter(Boolean);
        return multiple ? picked : picked[0] || "";
      },
    };
  },
};

/** Where a stored file is served. */
function fileURL(collection, record, name) {
  return `/api/files/${encodeURIComponent(collection.id)}/${encodeURIComponent(record?.id || "")}/${encodeURIComponent(name)}`;
}

/** Protected files need a short-lived file token in the URL. */
async function openProtected(event, url) {
  event.preventDefault();
  try {
    const { token } = await api("/api/files/token", { method: "POST" });
    window.open(`${url}?token=${encodeURIComponent(token)}`, "_blank", "noopener");
  } catch {
    window.open(url, "_blank", "noopener");
  }
}

/** Fills a relation's <select> with up to 200 records of the target collection. */
async function loadOptions(f, select, current) {
  try {
    const target = await api(`/api/collections/${encodeURIComponent(f.collectionId)}`);
    const shown = target.fields.find((x) => x.presentable) || target.fields.find((x) => ["name", "title", "email", "username"].includes(x.name));
    const list = await api(`/api/collections/${encodeURIComponent(f.collectionId)}/records`, { query: { perPage: 200 } });
    const chosen = new Set(current);
    const options = list.items.map((r) => h("option", { value: r.id, selected: chosen.has(r.id) }, shown && r[shown.name] ? `${r[shown.name]} (${r.id})` : r.id));
    const missing = current.filter((id) => !list.items.some((r) => r.id === id)).map((id) => h("option", { value: id, selected: true }, id));
    select.replaceChildren(...(select.multiple ? [] : [h("option", { value: "" }, "—")]), ...options, ...missing);
  } catch {
    // Keep the current ids only; the API will report a bad one.
  }
}
