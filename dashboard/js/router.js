// Hash routing, as PocketBase's dashboard does: `#/collections/posts?page=2`. The server
// answers the shell for any `/_/…` path, but all state lives after the `#`.

/** The current route: `{path, query}` (query is a URLSearchParams). */
export function current() {
  const hash = location.hash.replace(/^#/, "") || "/";
  const [path, search = ""] = hash.split("?");
  return { path: path || "/", query: new URLSearchParams(search) };
}

/** The href of a route. `query`: an object; empty values are left out. */
export function href(path, query = {}) {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v !== undefined && v !== null && v !== "") params.set(k, String(v));
  }
  const qs = params.toString();
  return `#${path}${qs ? `?${qs}` : ""}`;
}

/** Navigates to a route (a new history entry). */
export function go(path, query = {}) {
  const target = href(path, query);
  if (location.hash === target) {
    window.dispatchEvent(new HashChangeEvent("hashchange"));
  } else {
    location.hash = target;
  }
}

/** Replaces the current route without a new history entry. */
export function replace(path, query = {}) {
  history.replaceState(null, "", href(path, query));
  window.dispatchEvent(new HashChangeEvent("hashchange"));
}

/**
 * Matches `path` against `routes` (`[pattern, handler]`, patterns like
 * `/collections/:name`); returns `{handler, params}` or null.
 */
export function match(routes, path) {
  const parts = path.split("/").filter(Boolean);
  for (const [pattern, handler] of routes) {
    const want = pattern.split("/").filter(Boolean);
    if (want.length !== parts.length) continue;
    const params = {};
    const ok = want.every((segment, i) => {
      if (segment.startsWith(":")) {
        params[segment.slice(1)] = decodeURIComponent(parts[i]);
        return true;
      }
      return segment === parts[i];
    });
    if (ok) return { handler, params };
  }
  return null;
}
