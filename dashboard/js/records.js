// A collection's page: its records as a table with filter (PocketBase syntax), sortable
// columns and pagination, all kept in the URL (`#/collections/posts?filter=…&sort=-created&page=2`);
// for auth collections, the OTP counters above it.

import { api } from "./api.js";
import { h, mount, shortDate, truncate } from "./dom.js";
import { collectionsLayout, findCollection } from "./collections.js";
import { otpPanel } from "./metrics.js";
import { go, href } from "./router.js";

const PER_PAGE = 30;
/** Never shown as columns: write-only or internal. */
const SKIPPED = new Set(["password", "tokenKey"]);

export async function recordsView(main, { name }, query) {
  const content = await collectionsLayout(main, name);
  const collection = await findCollection(name);
  if (!collection) {
    mount(content, h("div", { class: "panel" }, h("h1", {}, "Collection not found"), h("p", {}, `There is no collection “${name}”.`)));
    return;
  }
  const state = {
    filter: query.get("filter") || "",
    sort: query.get("sort") || "",
    page: Math.max(1, Number(query.get("page")) || 1),
  };
  const base = `/collections/${encodeURIComponent(collection.name)}`;
  const navigate = (changes) => go(base, { ...state, page: state.page === 1 ? "" : state.page, ...changes });
  const columns = collection.fields.filter((f) => !SKIPPED.has(f.name) && f.type !== "password");
  const isView = collection.type === "view";

  const filterInput = h("input", {
    type: "search",
    id: "records-filter",
    value: state.filter,
    placeholder: 'e.g. created > "2024-01-01" && title ~ "hello"',
    autocomplete: "off",
    spellcheck: "false",
    "aria-describedby": "records-filter-help records-filter-error",
    dataset: { focusKey: "filter" },
  });
  const filterError = h("p", { class: "error", id: "records-filter-error", hidden: true });
  const filterForm = h(
    "form",
    { class: "filter", role: "search", "aria-label": `Filter ${collection.name} records` },
    h("label", { for: filterInput.id }, "Filter"),
    h("div", { class: "inline" }, filterInput, h("button", { type: "submit", class: "btn" }, "Apply"), state.filter ? h("button", { type: "button", class: "btn", onclick: () => navigate({ filter: "", page: "" }) }, "Clear") : null),
    h("p", { class: "help", id: "records-filter-help" }, "PocketBase filter syntax: field = 'value', &&, ||, ~ (contains), !=, >, <, @request.…"),
    filterError,
  );
  filterForm.addEventListener("submit", (event) => {
    event.preventDefault();
    navigate({ filter: filterInput.value.trim(), page: "" });
  });

  const tableBox = h("div", { class: "table-box", "aria-live": "polite", "aria-busy": "true" }, h("p", { class: "muted" }, "Loading records…"));
  mount(
    content,
    h(
      "div",
      { class: "page-head" },
      h("div", {}, h("h1", {}, collection.name), h("p", { class: "muted" }, `${collection.type} collection`, collection.system ? " · system" : "")),
      h(
        "div",
        { class: "actions" },
        h("a", { class: "btn", href: href(`${base}/edit`) }, "Edit collection"),
        isView ? null : h("a", { class: "btn primary", href: href(`${base}/records/new`) }, "+ New record"),
      ),
    ),
    collection.type === "auth" ? otpPanel(collection.name) : null,
    h("section", { class: "panel" }, filterForm, tableBox),
  );

  let list;
  try {
    list = await api(`/api/collections/${encodeURIComponent(collection.name)}/records`, {
      query: { page: state.page, perPage: PER_PAGE, sort: state.sort, filter: state.filter, skipTotal: "" },
    });
  } catch (err) {
    tableBox.removeAttribute("aria-busy");
    filterError.textContent = `The filter or sort could not be applied: ${err.message}`;
    filterError.hidden = false;
    filterInput.setAttribute("aria-invalid", "true");
    mount(tableBox, h("p", { class: "muted" }, "No records shown."));
    return;
  }
  tableBox.removeAttribute("aria-busy");
  mount(tableBox, table(collection, columns, list.items, state, navigate, base), pager(list, state, navigate));
}

function table(collection, columns, items, state, navigate, base) {
  if (!items.length) {
    return h("p", { class: "empty" }, state.filter ? "No records match this filter." : "No records yet.");
  }
  const sortable = (f) => f.type !== "json" && f.type !== "file" && f.type !== "geoPoint";
  const head = columns.map((f) => {
    const dir = state.sort === f.name ? "ascending" : state.sort === `-${f.name}` ? "descending" : "none";
    if (!sortable(f)) return h("th", { scope: "col" }, f.name);
    const next = dir === "ascending" ? `-${f.name}` : dir === "descending" ? "" : f.name;
    return h(
      "th",
      { scope: "col", "aria-sort": dir },
      h(
        "button",
        { type: "button", class: "sort", dataset: { focusKey: `sort-${f.name}` }, onclick: () => navigate({ sort: next, page: "" }) },
        f.name,
        h("span", { "aria-hidden": "true", class: "arrow" }, dir === "ascending" ? " ▲" : dir === "descending" ? " ▼" : ""),
      ),
    );
  });
  const rows = items.map((record) =>
    h(
      "tr",
      {},
      columns.map((f, i) => {
        const text = cellText(f, record[f.name]);
        if (i === 0) {
          const link = collection.type === "view" ? h("span", {}, text) : h("a", { href: href(`${base}/records/${encodeURIComponent(record.id)}`), "aria-label": `Edit record ${record.id}` }, text);
          return h("th", { scope: "row" }, link);
        }
        return h("td", { title: text.length > 40 ? text : undefined }, truncate(text, 40));
      }),
    ),
  );
  return h(
    "div",
    { class: "scroll-x", tabindex: "0", role: "region", "aria-label": `${collection.name} records` },
    h("table", { class: "records" }, h("caption", { class: "sr-only" }, `${collection.name} records, sortable by column`), h("thead", {}, h("tr", {}, head)), h("tbody", {}, rows)),
  );
}

/** A cell's text for a field value. */
export function cellText(field, value) {
  if (value === undefined || value === null || value === "") return field.type === "bool" ? "false" : "";
  switch (field.type) {
    case "bool":
      return value ? "true" : "false";
    case "date":
    case "autodate":
      return shortDate(value);
    case "json":
      return JSON.stringify(value);
    case "geoPoint":
      return `${value.lon}, ${value.lat}`;
    default:
      return Array.isArray(value) ? value.join(", ") : String(value);
  }
}

function pager(list, state, navigate) {
  const totalPages = Math.max(1, list.totalPages || 1);
  const prev = h("button", { type: "button", class: "btn small", disabled: state.page <= 1, dataset: { focusKey: "prev" }, onclick: () => navigate({ page: state.page - 1 }) }, "← Previous");
  const next = h("button", { type: "button", class: "btn small", disabled: state.page >= totalPages, dataset: { focusKey: "next" }, onclick: () => navigate({ page: state.page + 1 }) }, "Next →");
  return h(
    "nav",
    { class: "pager", "aria-label": "Pages" },
    prev,
    h("span", { class: "muted" }, `Page ${list.page} of ${totalPages} · ${list.totalItems} record${list.totalItems === 1 ? "" : "s"}`),
    next,
  );
}
