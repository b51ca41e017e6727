// The "Fields" tab of the collection editor: one card per field with the options of its
// type (pocketbase-surface.md §4.4), reorder/remove, add a field; and the indexes as raw
// `CREATE INDEX` statements. Everything edits `model.fields` / `model.indexes` in place;
// data-paths are `fields.<i>.<option>` and `indexes.<i>`, matching the API's errors.

import { h, mount, uid } from "./dom.js";
import { checkbox, field, listInput, numberInput, selectInput, textInput } from "./forms.js";

export const FIELD_TYPES = [
  ["text", "Plain text"],
  ["editor", "Rich editor (HTML)"],
  ["number", "Number"],
  ["bool", "Bool"],
  ["email", "Email"],
  ["url", "URL"],
  ["date", "Date/time"],
  ["autodate", "Autodate"],
  ["select", "Select"],
  ["file", "File"],
  ["relation", "Relation"],
  ["json", "JSON"],
  ["geoPoint", "Geo point"],
  ["password", "Password"],
];

/** The option controls of each type: `[label, option, kind, help?]`. */
const OPTIONS = {
  text: [["Min length", "min", "int"], ["Max length", "max", "int", "0 = 5000"], ["Pattern (regex)", "pattern", "text"], ["Autogenerate pattern", "autogeneratePattern", "text", "e.g. [a-z0-9]{15}"]],
  editor: [["Max size (bytes)", "maxSize", "int", "0 = 5 MiB"], ["Convert URLs", "convertURLs", "bool"]],
  number: [["Min", "min", "float?"], ["Max", "max", "float?"], ["Integers only", "onlyInt", "bool"]],
  bool: [],
  email: [["Except domains", "exceptDomains", "list"], ["Only domains", "onlyDomains", "list"]],
  url: [["Except domains", "exceptDomains", "list"], ["Only domains", "onlyDomains", "list"]],
  date: [["Min", "min", "text", "e.g. 2024-01-01 00:00:00.000Z"], ["Max", "max", "text"]],
  autodate: [["Set on create", "onCreate", "bool"], ["Set on update", "onUpdate", "bool"]],
  select: [["Values", "values", "list", "Comma-separated choices."], ["Max select", "maxSelect", "int", "1 = a single value, more = a list"]],
  file: [["Max files", "maxSelect", "int"], ["Max size (bytes)", "maxSize", "int", "0 = 5 MiB"], ["MIME types", "mimeTypes", "list", "e.g. image/png, image/jpeg"], ["Thumb sizes", "thumbs", "list", "e.g. 100x100, 0x300"], ["Protected", "protected", "bool", "Needs a file token to download."]],
  relation: [["Min select", "minSelect", "int"], ["Max select", "maxSelect", "int"], ["Cascade delete", "cascadeDelete", "bool", "Delete this record when the related one is deleted."]],
  json: [["Max size (bytes)", "maxSize", "int", "0 = 1 MiB"]],
  geoPoint: [],
  password: [["Min length", "min", "int"], ["Max length", "max", "int", "≤ 71"], ["Pattern (regex)", "pattern", "text"], ["bcrypt cost", "cost", "int", "0 = default"]],
};

/** The field cards whose options are unfolded (kept across re-renders). */
const openCards = new WeakSet();

function optionControl(model, path, kind) {
  switch (kind) {
    case "int":
      return numberInput(model, path, { step: "1" });
    case "float?":
      return numberInput(model, path, { nullable: true });
    case "bool":
      return checkbox(model, path);
    case "list":
      return listInput(model, path);
    default:
      return textInput(model, path);
  }
}

/** Renders the fields and indexes editor into `box` (re-rendered on structural changes). */
export function fieldsTab(box, model, collections) {
  const render = () => mount(box, fieldList(model, collections, render), addField(model, render), indexes(model, render));
  render();
}

function fieldList(model, collections, render) {
  const fields = model.fields;
  return h(
    "ol",
    { class: "field-cards", "aria-label": "Fields" },
    fields.map((f, i) => {
      const base = `fields.${i}`;
      const move = (delta) => {
        const j = i + delta;
        if (j < 0 || j >= fields.length) return;
        [fields[i], fields[j]] = [fields[j], fields[i]];
        render();
        const key = `move-${delta < 0 ? "up" : "down"}-${f.name}`;
        const again = document.querySelector(`[data-focus-key="${CSS.escape(key)}"]`);
        (again && !again.disabled ? again : document.querySelector(`[data-focus-key="${CSS.escape(`move-${delta < 0 ? "down" : "up"}-${f.name}`)}"]`))?.focus();
      };
      const name = textInput(model, `${base}.name`, { readonly: f.system || undefined, "aria-label": `Name of field ${i + 1}` });
      const typeLabel = (FIELD_TYPES.find(([t]) => t === f.type) || [f.type, f.type])[1];
      const options = (OPTIONS[f.type] || []).map(([label, opt, kind, help]) => field({ label, control: optionControl(model, `${base}.${opt}`, kind), help, path: `${base}.${opt}` }));
      if (f.type === "relation") {
        const choices = collections.map((c) => [c.id, c.name]);
        options.unshift(field({ label: "Related collection", control: selectInput(model, `${base}.collectionId`, [["", "—"], ...choices]), path: `${base}.collectionId` }));
      }
      const flags = f.type === "autodate" ? [["Hidden", "hidden"], ["Presentable", "presentable"]] : [["Required", "required"], ["Hidden", "hidden"], ["Presentable", "presentable"]];
      return h(
        "li",
        { class: "field-card", dataset: { path: base } },
        h(
          "div",
          { class: "field-card-head" },
          field({ label: `Name (${typeLabel})`, control: name, path: `${base}.name`, class: "grow" }),
          f.system ? h("span", { class: "badge" }, "system") : null,
          h(
            "div",
            { class: "inline tools" },
            h("button", { type: "button", class: "btn small", "aria-label": `Move ${f.name || "field"} up`, disabled: i === 0, dataset: { focusKey: `move-up-${f.name}` }, onclick: () => move(-1) }, "↑"),
            h("button", { type: "button", class: "btn small", "aria-label": `Move ${f.name || "field"} down`, disabled: i === fields.length - 1, dataset: { focusKey: `move-down-${f.name}` }, onclick: () => move(1) }, "↓"),
            h(
              "button",
              {
                type: "button",
                class: "btn small danger",
                disabled: f.system,
                "aria-label": `Remove field ${f.name || i + 1}`,
                onclick: () => {
                  fields.splice(i, 1);
                  render();
                },
              },
              "Remove",
            ),
          ),
        ),
        h("div", { class: "inline flags" }, flags.map(([label, key]) => field({ label, control: checkbox(model, `${base}.${key}`), path: `${base}.${key}` }))),
        h(
          "details",
          { class: "options", open: !f.id || openCards.has(f) || undefined, ontoggle: (event) => (event.target.open ? openCards.add(f) : openCards.delete(f)) },
          h("summary", {}, `${typeLabel} options`),
          h("div", { class: "grid" }, options),
          f.type === "autodate" ? null : field({ label: "Help text", control: textInput(model, `${base}.help`), path: `${base}.help` }),
        ),
        h("p", { class: "error", hidden: true }),
      );
    }),
  );
}

function addField(model, render) {
  const type = h("select", { id: uid() }, FIELD_TYPES.map(([value, label]) => h("option", { value }, label)));
  const name = h("input", { type: "text", id: uid(), placeholder: "e.g. title", autocomplete: "off" });
  const add = () => {
    const fieldName = name.value.trim();
    if (!fieldName) {
      name.focus();
      return;
    }
    const f = { name: fieldName, type: type.value, required: false, hidden: false, presentable: false, system: false };
    if (f.type === "autodate") Object.assign(f, { onCreate: true, onUpdate: false });
    if (f.type === "select") Object.assign(f, { values: [], maxSelect: 1 });
    if (f.type === "relation") Object.assign(f, { collectionId: "", maxSelect: 1 });
    if (f.type === "file") Object.assign(f, { maxSelect: 1 });
    model.fields.push(f);
    render();
    const inputs = document.querySelectorAll(".field-card input[aria-label^='Name of field']");
    inputs[inputs.length - 1]?.focus();
  };
  name.addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      event.preventDefault();
      add();
    }
  });
  return h(
    "fieldset",
    { class: "add-field" },
    h("legend", {}, "Add a field"),
    h("div", { class: "inline" }, h("label", { for: type.id }, "Type"), type, h("label", { for: name.id }, "Name"), name, h("button", { type: "button", class: "btn", onclick: add }, "Add field")),
  );
}

function indexes(model, render) {
  model.indexes ||= [];
  const table = model.name || "table";
  return h(
    "section",
    { class: "indexes", dataset: { path: "indexes" }, "aria-labelledby": "indexes-title" },
    h("h3", { id: "indexes-title" }, "Indexes"),
    h("p", { class: "help" }, "SQL CREATE INDEX statements; a UNIQUE index also enforces unique values."),
    model.indexes.map((_, i) =>
      h(
        "div",
        { class: "inline index-row" },
        field({ label: `Index ${i + 1}`, control: textInput(model, `indexes.${i}`, { class: "code", spellcheck: "false" }), path: `indexes.${i}`, class: "grow" }),
        h(
          "button",
          {
            type: "button",
            class: "btn small danger",
            "aria-label": `Remove index ${i + 1}`,
            onclick: () => {
              model.indexes.splice(i, 1);
              render();
            },
          },
          "Remove",
        ),
      ),
    ),
    h("p", { class: "error", hidden: true }),
    h(
      "button",
      {
        type: "button",
        class: "btn small",
        onclick: () => {
          const suffix = Math.random().toString(36).slice(2, 8);
          model.indexes.push(`CREATE INDEX \`idx_${table}_${suffix}\` ON \`${table}\` (\`column\`)`);
          render();
        },
      },
      "+ Add index",
    ),
  );
}

/** Points every index at `name` (the table is the collection): `ON \`old\`` → `ON \`name\``. */
export function renameIndexes(model, name) {
  model.indexes = (model.indexes || []).map((sql) => sql.replace(/(\bON\s+)(`[^`]*`|"[^"]*"|\[[^\]]*\]|[\w]+)/i, `$1\`${name}\``));
}
