// Create or edit one record: a control per field (record-inputs.js), saved as JSON, or as
// multipart when files are picked; the API's field errors appear next to the fields.

import { api, ApiError } from "./api.js";
import { confirmDialog, h, mount, notify } from "./dom.js";
import { busy, errorBox, showErrors } from "./forms.js";
import { collectionsLayout, findCollection } from "./collections.js";
import { FILE_UPLOADS, InputError, SKIP, inputFor } from "./record-inputs.js";
import { go, href } from "./router.js";

/** System fields the form never edits. */
const NOT_EDITED = new Set(["tokenKey"]);

export async function recordFormView(main, { name, id }, _query) {
  const content = await collectionsLayout(main, name);
  const collection = await findCollection(name);
  if (!collection) {
    mount(content, h("div", { class: "panel" }, h("h1", {}, "Collection not found")));
    return;
  }
  const isNew = id === undefined;
  const path = `/api/collections/${encodeURIComponent(collection.name)}/records`;
  const record = isNew ? {} : await api(`${path}/${encodeURIComponent(id)}`);
  const back = `/collections/${encodeURIComponent(collection.name)}`;

  const inputs = [];
  for (const f of collection.fields) {
    if (NOT_EDITED.has(f.name)) continue;
    if (f.name === "id" && f.primaryKey) {
      // Optional on create: left empty, the server generates it.
      if (isNew) inputs.push({ f, ...inputFor({ ...f, required: false }, undefined, { isNew, collection, record }) });
      continue;
    }
    inputs.push({ f, ...inputFor(f, record[f.name], { isNew, collection, record }) });
  }
  const title = isNew ? `New ${collection.name} record` : `Edit ${collection.name} record`;
  const form = h(
    "form",
    { class: "panel record-form", novalidate: true, "aria-labelledby": "record-title" },
    h("div", { class: "page-head" }, h("div", {}, h("h1", { id: "record-title" }, title), isNew ? null : h("p", { class: "muted" }, `id ${record.id}`))),
    errorBox(),
    inputs.map((i) => i.el),
    h(
      "div",
      { class: "actions sticky" },
      h("a", { class: "btn", href: href(back) }, "Cancel"),
      isNew ? null : h("button", { type: "button", class: "btn danger", dataset: { action: "delete" }, onclick: () => remove() }, "Delete"),
      h("button", { type: "submit", class: "btn primary" }, isNew ? "Create" : "Save changes"),
    ),
  );

  const remove = async () => {
    if (!(await confirmDialog(`Delete record ${record.id}? This cannot be undone.`, { confirm: "Delete", danger: true }))) return;
    try {
      await api(`${path}/${encodeURIComponent(record.id)}`, { method: "DELETE" });
      notify("Record deleted.");
      go(back);
    } catch (err) {
      showErrors(form, err);
    }
  };

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(form, async () => {
      let body;
      try {
        body = collect(inputs, isNew);
      } catch (err) {
        if (!(err instanceof InputError)) throw err;
        showErrors(form, new ApiError(400, "Some values are invalid.", { [err.path]: { code: "client", message: err.message } }));
        return;
      }
      try {
        const saved = await api(isNew ? path : `${path}/${encodeURIComponent(record.id)}`, { method: isNew ? "POST" : "PATCH", body });
        notify(isNew ? "Record created." : "Record saved.");
        go(`${back}/records/${encodeURIComponent(saved.id)}`);
      } catch (err) {
        showErrors(form, err);
      }
    });
  });
  mount(content, form);
}

/**
 * The request body: JSON, or multipart when files were picked (the values ride in
 * `@jsonPayload`, each file under its field name or `field+`).
 */
function collect(inputs, isNew) {
  const data = {};
  const files = [];
  for (const input of inputs) {
    const value = input.read();
    if (value !== SKIP && !(input.f.name === "id" && isNew && value === "")) data[input.f.name] = value;
    Object.assign(data, input.extra?.() || {});
    files.push(...(input.files?.() || []));
  }
  if (!FILE_UPLOADS || !files.length) return data;
  const form = new FormData();
  form.append("@jsonPayload", JSON.stringify(data));
  for (const [key, file] of files) form.append(key, file);
  return form;
}
