// Create or edit a collection: name and type, then tabs for the fields and indexes, the
// API rules, the auth options (auth collections) or the view query (view collections).
// The whole collection JSON is the model; saving sends it back (POST or PATCH), and the
// API's field errors are shown next to their inputs, switching to the tab that has them.

import { api } from "./api.js";
import { confirmDialog, h, mount, notify, uid } from "./dom.js";
import { busy, errorBox, field, getPath, setPath, showErrors, textArea, clearErrors } from "./forms.js";
import { collectionsLayout, findCollection, forgetCollections, loadCollections } from "./collections.js";
import { fieldsTab, renameIndexes } from "./collection-fields.js";
import { optionsTab } from "./collection-options.js";
import { go, href } from "./router.js";

const RULES = [
  ["listRule", "List/Search rule"],
  ["viewRule", "View rule"],
  ["createRule", "Create rule"],
  ["updateRule", "Update rule"],
  ["deleteRule", "Delete rule"],
];
const AUTH_RULES = [
  ["authRule", "Auth rule", "An extra condition a record must meet to sign in (e.g. verified = true); empty = no condition."],
  ["manageRule", "Manage rule", "Who may change other records' email, password and verified state as a superuser would."],
];
const TYPES = [
  ["base", "Base", "Records with your fields."],
  ["auth", "Auth", "Users who can sign in (email, password, OTP…)."],
  ["view", "View", "Read-only records from an SQL SELECT."],
];

export async function collectionEditView(main, { name }, query) {
  const isNew = name === undefined;
  const content = await collectionsLayout(main, name || "");
  const collections = await loadCollections();
  const scaffolds = isNew ? await api("/api/collections/meta/scaffolds") : null;
  let model;
  if (isNew) {
    model = structuredClone(scaffolds[TYPES.some(([t]) => t === query.get("type")) ? query.get("type") : "base"]);
  } else {
    const found = await findCollection(name);
    if (!found) {
      mount(content, h("div", { class: "panel" }, h("h1", {}, "Collection not found")));
      return;
    }
    model = structuredClone(await api(`/api/collections/${encodeURIComponent(found.id)}`));
  }
  const knownFields = new Map(model.fields.filter((f) => f.id).map((f) => [f.id, f.name]));
  let activeTab = query.get("tab") || "fields";

  const render = () => {
    const tabs = [
      { id: "fields", label: model.type === "view" ? "Fields" : "Fields & indexes", build: (box) => (model.type === "view" ? viewFields(box, model) : fieldsTab(box, model, collections)) },
      { id: "rules", label: "API rules", build: (box) => rulesTab(box, model) },
    ];
    if (model.type === "auth") tabs.push({ id: "options", label: "Options", build: (box) => optionsTab(box, model, !isNew) });
    if (model.type === "view") tabs.push({ id: "query", label: "Query", build: (box) => queryTab(box, model) });
    if (!tabs.some((t) => t.id === activeTab)) activeTab = "fields";
    const nameInput = h("input", { type: "text", value: model.name, required: true, readonly: model.system || undefined, autocomplete: "off", spellcheck: "false" });
    nameInput.addEventListener("input", () => {
      model.name = nameInput.value;
      renameIndexes(model, model.name);
    });
    const form = h(
      "form",
      { class: "panel collection-form", novalidate: true, "aria-labelledby": "collection-title" },
      h("div", { class: "page-head" }, h("h1", { id: "collection-title" }, isNew ? "New collection" : `Edit ${model.name}`), isNew ? null : h("p", { class: "muted" }, `${model.type} collection · id ${model.id}`)),
      errorBox(),
      field({ label: "Name", control: nameInput, path: "name", help: model.system ? "System collections keep their name." : "Letters, digits and underscores; it is also the table name." }),
      isNew ? typePicker(model, (type) => {
        const extra = model.fields.filter((f) => !f.system);
        model = structuredClone(scaffolds[type]);
        model.name = nameInput.value;
        model.fields.push(...extra);
        renameIndexes(model, model.name);
        render();
        document.querySelector(`input[name="collection-type"][value="${type}"]`)?.focus();
      }) : null,
      tabStrip(tabs, activeTab, (id) => (activeTab = id)),
      h(
        "div",
        { class: "actions sticky" },
        h("a", { class: "btn", href: href(isNew ? "/collections" : `/collections/${encodeURIComponent(model.name)}`) }, "Cancel"),
        isNew || model.system ? null : h("button", { type: "button", class: "btn danger", dataset: { action: "delete" }, onclick: () => remove(form) }, "Delete collection"),
        h("button", { type: "submit", class: "btn primary" }, isNew ? "Create collection" : "Save changes"),
      ),
    );
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      busy(form, () => save(form));
    });
    mount(content, form);
  };

  const save = async (form) => {
    clearErrors(form);
    const body = structuredClone(model);
    delete body.created;
    delete body.updated;
    const ids = new Set(model.fields.map((f) => f.id).filter(Boolean));
    const dropped = [...knownFields].filter(([id]) => !ids.has(id)).map(([, n]) => n);
    if (!isNew && dropped.length && !(await confirmDialog(`Delete the field${dropped.length > 1 ? "s" : ""} ${dropped.join(", ")} and all their data?`, { confirm: "Delete and save", danger: true }))) return;
    try {
      const saved = await api(isNew ? "/api/collections" : `/api/collections/${encodeURIComponent(model.id)}`, { method: isNew ? "POST" : "PATCH", body });
      forgetCollections();
      notify(isNew ? `Collection ${saved.name} created.` : `Collection ${saved.name} saved.`);
      go(`/collections/${encodeURIComponent(saved.name)}/edit`, { tab: activeTab === "fields" ? "" : activeTab });
    } catch (err) {
      const marked = showErrors(form, err);
      revealTab(form, marked);
    }
  };

  const remove = async (form) => {
    if (!(await confirmDialog(`Delete the collection ${model.name} and all its records? This cannot be undone.`, { confirm: "Delete collection", danger: true }))) return;
    try {
      await api(`/api/collections/${encodeURIComponent(model.id)}`, { method: "DELETE" });
      forgetCollections();
      notify(`Collection ${model.name} deleted.`);
      go("/collections");
    } catch (err) {
      showErrors(form, err);
    }
  };
  render();
}

function typePicker(model, change) {
  return h(
    "fieldset",
    { class: "field type-picker", dataset: { path: "type" } },
    h("legend", {}, "Type"),
    TYPES.map(([value, label, help]) => {
      const id = uid();
      const radio = h("input", { type: "radio", name: "collection-type", value, id, checked: model.type === value });
      radio.addEventListener("change", () => change(value));
      return h("div", { class: "field-check" }, radio, h("label", { for: id }, h("strong", {}, label), ` — ${help}`));
    }),
    h("p", { class: "error", hidden: true }),
  );
}

/** ARIA tabs: arrow keys move between tabs, the panel follows. */
function tabStrip(tabs, active, onSelect) {
  const list = h("div", { role: "tablist", class: "tabs", "aria-label": "Collection settings" });
  const panels = [];
  const buttons = tabs.map((tab) => {
    const panel = h("div", { role: "tabpanel", class: "tab-panel", id: `panel-${tab.id}`, "aria-labelledby": `tab-${tab.id}`, tabindex: "0", hidden: tab.id !== active });
    tab.build(panel);
    panels.push(panel);
    return h("button", { type: "button", role: "tab", id: `tab-${tab.id}`, "aria-controls": panel.id, "aria-selected": String(tab.id === active), tabindex: tab.id === active ? "0" : "-1", dataset: { tab: tab.id } }, tab.label);
  });
  const select = (i, focus) => {
    buttons.forEach((b, j) => {
      b.setAttribute("aria-selected", String(i === j));
      b.tabIndex = i === j ? 0 : -1;
      panels[j].hidden = i !== j;
    });
    onSelect(tabs[i].id);
    if (focus) buttons[i].focus();
  };
  buttons.forEach((b, i) => {
    b.addEventListener("click", () => select(i, false));
    b.addEventListener("keydown", (event) => {
      const moves = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: buttons.length - 1 };
      if (!(event.key in moves)) return;
      event.preventDefault();
      select((moves[event.key] + buttons.length) % buttons.length, true);
    });
  });
  list.append(...buttons);
  return h("div", { class: "tabbed" }, list, panels);
}

/** After a failed save: flag the tabs holding errors and show the first of them. */
function revealTab(form, marked) {
  for (const tab of form.querySelectorAll("[role=tab]")) {
    const panel = form.querySelector(`#${tab.getAttribute("aria-controls")}`);
    tab.classList.toggle("tab-error", Boolean(panel?.querySelector(".has-error")));
  }
  const panel = marked.map((el) => el.closest("[role=tabpanel]")).find(Boolean);
  if (!panel) return;
  const tab = form.querySelector(`[aria-controls="${panel.id}"]`);
  if (tab && tab.getAttribute("aria-selected") !== "true") tab.click();
  marked.find((el) => panel.contains(el))?.querySelector("input, select, textarea")?.focus();
}

function rulesTab(box, model) {
  const rules = model.type === "view" ? RULES.slice(0, 2) : RULES;
  mount(
    box,
    h("p", { class: "help" }, "Rules are filters: empty lets anyone (guests too) do it, locked means superusers only. Use fields, @request.auth.*, @request.body.*, @collection.*."),
    rules.map(([key, label]) => ruleField(model, key, label)),
    model.type === "auth" ? [h("h3", {}, "Auth collection rules"), AUTH_RULES.map(([key, label, help]) => ruleField(model, key, label, help))] : null,
  );
}

/** A rule: an expression, or locked (null = superusers only). */
function ruleField(model, key, label, help) {
  const area = h("textarea", { id: uid(), rows: 2, class: "code", spellcheck: "false" });
  const lock = h("input", { type: "checkbox", id: uid(), checked: getPath(model, key) === null });
  const show = () => {
    area.disabled = lock.checked;
    area.placeholder = lock.checked ? "Superusers only" : "Empty = everyone, guests included";
  };
  area.value = getPath(model, key) ?? "";
  show();
  area.addEventListener("input", () => setPath(model, key, area.value));
  lock.addEventListener("change", () => {
    show();
    setPath(model, key, lock.checked ? null : area.value);
  });
  const errorId = uid("err");
  area.setAttribute("aria-describedby", errorId);
  return h(
    "div",
    { class: "field rule", dataset: { path: key } },
    h("label", { for: area.id }, label),
    area,
    h("p", { class: "error", id: errorId, hidden: true }),
    h("div", { class: "field-check" }, lock, h("label", { for: lock.id }, "Locked (superusers only)")),
    help ? h("p", { class: "help" }, help) : null,
  );
}

function viewFields(box, model) {
  mount(
    box,
    h("p", { class: "help" }, "A view's fields come from its query; save the query to refresh them."),
    h("ul", { class: "plain" }, model.fields.map((f) => h("li", {}, h("code", {}, f.name), ` — ${f.type}`))),
  );
}

function queryTab(box, model) {
  mount(box, field({ label: "SELECT query", control: textArea(model, "viewQuery", { rows: 10, class: "code", spellcheck: "false" }), path: "viewQuery", help: "e.g. SELECT id, title FROM posts WHERE published = true" }));
}
