// The REST client: the superuser session (kept in localStorage, like PocketBase's
// dashboard) and one `api()` call that turns PocketBase's error envelope into ApiError.

const STORAGE_KEY = "satchel_superuser_auth";

/** An API answer with an error status: `message` and the field errors in `data`. */
export class ApiError extends Error {
  constructor(status, message, data = {}, body = null) {
    super(message || `Request failed (${status}).`);
    this.status = status;
    this.data = data && typeof data === "object" ? data : {};
    this.body = body;
  }
}

/** The signed-in superuser: `{token, record}` or null. */
export const session = {
  get auth() {
    try {
      return JSON.parse(localStorage.getItem(STORAGE_KEY) || "null");
    } catch {
      return null;
    }
  },
  get token() {
    return this.auth?.token || "";
  },
  get email() {
    return this.auth?.record?.email || "";
  },
  save(auth) {
    localStorage.setItem(STORAGE_KEY, JSON.stringify({ token: auth.token, record: auth.record }));
    window.dispatchEvent(new Event("satchel:session"));
  },
  clear() {
    localStorage.removeItem(STORAGE_KEY);
    window.dispatchEvent(new Event("satchel:session"));
  },
};

/**
 * Calls the API. `body`: an object (sent as JSON) or FormData (multipart); `query`: an
 * object of query parameters. Resolves to the parsed JSON (null for 204), or the raw text
 * with `{text: true}`. A 401 on a call that needed the session ends it.
 */
export async function api(path, { method = "GET", body, query, text = false } = {}) {
  let url = path;
  if (query) {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) {
      if (v !== undefined && v !== null && v !== "") params.set(k, String(v));
    }
    const qs = params.toString();
    if (qs) url += `?${qs}`;
  }
  const headers = {};
  if (session.token) headers.Authorization = session.token;
  let payload;
  if (body instanceof FormData) {
    payload = body;
  } else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(url, { method, headers, body: payload });
  } catch (err) {
    throw new ApiError(0, `The server could not be reached (${err.message}).`);
  }
  if (res.status === 204) return null;
  const raw = await res.text();
  let json = null;
  try {
    json = raw ? JSON.parse(raw) : null;
  } catch {
    json = null;
  }
  if (!res.ok) {
    if (res.status === 401 && headers.Authorization && !json?.mfaId) {
      session.clear();
    }
    throw new ApiError(res.status, json?.message, json?.data, json);
  }
  return text ? raw : json;
}

/** `{record, token}` from an auth answer, saved as the session. */
export function signIn(auth) {
  session.save(auth);
  return auth;
}
