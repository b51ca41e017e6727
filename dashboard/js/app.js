// The dashboard's entry point: the page frame (header, navigation, main region), the
// route table, and the session check. Each view renders into <main> and gets the route's
// params and query.

import { api, session } from "./api.js";
import { h, mount } from "./dom.js";
import { current, go, match, replace } from "./router.js";
import { installView } from "./install.js";
import { loginView } from "./login.js";
import { collectionsIndex, forgetCollections } from "./collections.js";
import { recordsView } from "./records.js";
import { recordFormView } from "./record-form.js";
import { collectionEditView } from "./collection-edit.js";
import { settingsView } from "./settings.js";

/** Routes open without a session. */
const PUBLIC = [
  ["/pbinstall/:token", installView],
  ["/pbinstal/:token", installView],
  ["/login", loginView],
];

const PRIVATE = [
  ["/", () => replace("/collections")],
  ["/collections", collectionsIndex],
  ["/collections/new", collectionEditView],
  ["/collections/:name", recordsView],
  ["/collections/:name/edit", collectionEditView],
  ["/collections/:name/records/new", recordFormView],
  ["/collections/:name/records/:id", recordFormView],
  ["/settings", settingsView],
  ["/settings/:section", settingsView],
];

const app = document.getElementById("app");
let renderCount = 0;
let lastPath = null;

function header(path) {
  const signedIn = Boolean(session.token);
  const link = (to, label) =>
    h("a", { href: `#${to}`, "aria-current": path.startsWith(to) ? "page" : undefined }, label);
  return h(
    "header",
    { class: "topbar" },
    h("a", { class: "brand", href: "#/collections" }, h("img", { src: "/_/favicon.svg", alt: "", width: 24, height: 24 }), "Satchel"),
    signedIn
      ? h(
          "nav",
          { class: "topnav", "aria-label": "Main" },
          link("/collections", "Collections"),
          link("/settings", "Settings"),
        )
      : null,
    signedIn
      ? h(
          "div",
          { class: "account" },
          h("span", { class: "who", title: "Signed in superuser" }, session.email),
          h(
            "button",
            {
              type: "button",
              class: "btn small",
              onclick: () => {
                session.clear();
                go("/login");
              },
            },
            "Sign out",
          ),
        )
      : null,
  );
}

async function render() {
  const { path, query } = current();
  const ticket = ++renderCount;
  // A query-only change (sorting, paging) keeps focus on the control that caused it.
  const focusKey = path === lastPath ? document.activeElement?.dataset?.focusKey : undefined;
  lastPath = path;
  const main = h("main", { id: "main", class: "main", tabindex: "-1" });
  mount(app, header(path), main);
  const open = match(PUBLIC, path);
  if (!open && !session.token) {
    replace("/login", path === "/" || path === "/login" ? {} : { next: location.hash.slice(1) });
    return;
  }
  const route = open || match(PRIVATE, path);
  if (!route) {
    mount(main, h("div", { class: "panel" }, h("h1", { tabindex: "-1" }, "Page not found"), h("p", {}, h("a", { href: "#/collections" }, "Go to the collections"))));
    return;
  }
  try {
    await route.handler(main, route.params, query);
  } catch (err) {
    if (ticket !== renderCount) return;
    if (err?.status === 401 || !session.token) {
      go("/login");
      return;
    }
    mount(main, h("div", { class: "panel" }, h("h1", { tabindex: "-1" }, "Something went wrong"), h("p", { class: "form-errors", role: "alert" }, err?.message || String(err))));
  }
  if (ticket !== renderCount) return;
  const again = focusKey && main.querySelector(`[data-focus-key="${CSS.escape(focusKey)}"]`);
  if (again) again.focus();
  else focusHeading(main);
}

/** After a navigation, move focus to the new page's heading so screen readers announce it. */
function focusHeading(main) {
  if (main.contains(document.activeElement) && document.activeElement !== main) return;
  const heading = main.querySelector("h1");
  if (heading) {
    heading.setAttribute("tabindex", "-1");
    heading.focus({ preventScroll: true });
    document.title = `${heading.textContent} · Satchel`;
  }
}

/** Checks a stored session once at start: a refresh either renews it or ends it. */
async function refreshSession() {
  if (!session.token) return;
  try {
    const auth = await api("/api/collections/_superusers/auth-refresh", { method: "POST" });
    session.save(auth);
  } catch (err) {
    if (err.status === 401 || err.status === 403 || err.status === 404) session.clear();
  }
}

document.getElementById("skip-link")?.addEventListener("click", (event) => {
  event.preventDefault();
  document.getElementById("main")?.focus();
});
window.addEventListener("hashchange", render);
window.addEventListener("satchel:session", () => {
  forgetCollections();
  if (!session.token && !match(PUBLIC, current().path)) go("/login");
});
refreshSession().finally(render);
