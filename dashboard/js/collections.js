// The collections list: loaded once and cached until something changes it, shown as the
// sidebar of every collection page (system collections folded away, as in PocketBase).

import { api } from "./api.js";
import { h, mount } from "./dom.js";
import { href, replace } from "./router.js";

let cache = null;

/** All collections (cached); `force` reloads. */
export async function loadCollections(force = false) {
  if (!cache || force) {
    const list = await api("/api/collections", { query: { perPage: 500, sort: "name" } });
    cache = list.items;
  }
  return cache;
}

/** Drops the cache (after a create, edit or delete, or a new session). */
export function forgetCollections() {
  cache = null;
}

/** One collection by name or id, from the cache (reloading once if it is missing). */
export async function findCollection(nameOrId) {
  const pick = (list) => list.find((c) => c.name === nameOrId || c.id === nameOrId);
  return pick(await loadCollections()) || pick(await loadCollections(true)) || null;
}

/** `#/collections`: the first collection's records, or an invitation to create one. */
export async function collectionsIndex(main) {
  const list = await loadCollections(true);
  const first = list.find((c) => !c.system) || list[0];
  if (first) {
    replace(`/collections/${encodeURIComponent(first.name)}`);
    return;
  }
  const content = await collectionsLayout(main, "");
  mount(content, h("div", { class: "panel" }, h("h1", {}, "Collections"), h("p", {}, "No collections yet. ", h("a", { href: "#/collections/new" }, "Create the first one"), ".")));
}

/** Renders the sidebar + content frame into `main`; returns the content element. */
export async function collectionsLayout(main, active) {
  const list = await loadCollections();
  const content = h("div", { class: "content" });
  const item = (c) =>
    h(
      "li",
      { dataset: { name: c.name.toLowerCase() } },
      h(
        "a",
        { href: href(`/collections/${encodeURIComponent(c.name)}`), "aria-current": c.name === active ? "page" : undefined },
        h("span", { class: `type type-${c.type}`, title: `${c.type} collection` }, c.type),
        h("span", { class: "name" }, c.name),
      ),
    );
  const own = list.filter((c) => !c.system);
  const system = list.filter((c) => c.system);
  const search = h("input", { type: "search", id: "collection-search", placeholder: "Search collections", autocomplete: "off" });
  const sidebar = h(
    "nav",
    { class: "sidebar", "aria-label": "Collections" },
    h(
      "div",
      { class: "sidebar-head" },
      h("h2", {}, "Collections"),
      h("a", { class: "btn small primary", href: "#/collections/new" }, "+ New collection"),
    ),
    h("label", { for: search.id, class: "sr-only" }, "Search collections"),
    search,
    h("ul", { class: "collection-list" }, own.map(item)),
    system.length
      ? h(
          "details",
          { class: "system", open: system.some((c) => c.name === active) || undefined },
          h("summary", {}, `System (${system.length})`),
          h("ul", { class: "collection-list" }, system.map(item)),
        )
      : null,
  );
  search.addEventListener("input", () => {
    const q = search.value.trim().toLowerCase();
    for (const li of sidebar.querySelectorAll("li[data-name]")) li.hidden = Boolean(q) && !li.dataset.name.includes(q);
  });
  mount(main, h("div", { class: "with-sidebar" }, sidebar, content));
  return content;
}
