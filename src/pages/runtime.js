// The pages runtime: PocketPages' request pipeline and context API
// (pocketpages-surface.md §3–§6) on top of the hooks prelude. Evaluated once per worker as
// an expression called with the host functions (`src/pages/host.rs`), the helper library
// (`util.js`) and the `pb()` client factory (`sdk.js`). Routing, static files, template
// compilation, the `pb_auth` cookie check and HTML escaping happen in Rust; this file runs
// what is user code in PocketPages: middleware, loaders, templates, layouts.
(function (H, util, makeSdk) {
  "use strict";
  const S = globalThis.__satchel;
  const { url, stringify, parseCookies, serializeCookie, merge } = util;

  const AUTH_COOKIE = "pb_auth";
  const GENERIC_500 = "<html><body><h1>Internal Server Error</h1><p>Something went wrong. Please try again later.</p></body></html>";
  const BUILTIN_PLUGINS = ["pocketpages-plugin-ejs", "pocketpages-plugin-js-sdk", "pocketpages-plugin-auth",
    "pocketpages-plugin-micro-dash", "pocketpages-plugin-realtime"];
  // Plugins Satchel knows but does not implement: they load with a warning and do nothing.
  const INERT_PLUGINS = ["pocketpages-plugin-marked", "pocketpages-plugin-datastar"];

  // ---- logging (§5.1) -----------------------------------------------------------------
  const format = (args) => args.map((a) => (a instanceof Error ? String(a.stack || a) : a !== null && typeof a === "object" ? stringify(a, null, 2) : String(a))).join(" ");
  const logAt = (level) => (...args) => { $app.logger()[level](format(args)); };

  // ---- the global API (§5.1), shared by every request --------------------------------
  const globalApi = {
    url,
    stringify,
    env: (key) => { const v = $os.getenv(String(key)); return v == null ? "" : v; },
    store: (name, value) => {
      if (value === undefined) return $app.store().get(name);
      $app.store().set(name, value);
      return value;
    },
    dbg: logAt("debug"),
    info: logAt("info"),
    warn: logAt("warn"),
    error: logAt("error"),
    log: (...args) => console.log(format(args)),
  };
  // The realtime plugin (§7): messages to the SSE clients of `/api/realtime`.
  const realtime = {
    send(topic, message, options) {
      const filter = (options && options.filter) || ((id, client, t) => client.hasSubscription(t));
      const data = typeof message === "string" ? message : stringify(message);
      for (const [id, client] of Object.entries($app.subscriptionsBroker().clients())) {
        if (filter(id, client, topic, message)) client.send(new SubscriptionMessage({ name: topic, data }));
      }
    },
    getClientById: (id) => $app.subscriptionsBroker().clientById(id),
  };
  const microDash = { forEach: util.forEach, keys: util.keys, values: util.values, merge: util.merge, pick: util.pick, shuffle: util.shuffle };

  // ---- configuration (§9) -------------------------------------------------------------
  let config = { debug: false, plugins: [] };

  // Reads `+config.js` (an object, or a function of the global API) and the plugin list.
  // Answers what the Rust side needs to scan the site (the template extensions).
  function loadConfig(root, envDebug) {
    let raw = {};
    if (H.exists(root + "/+config.js")) {
      try {
        raw = S.requireFrom(root)("./+config.js");
        if (typeof raw === "function") raw = raw(globalApi);
        if (raw && typeof raw === "object" && raw.default) raw = raw.default;
      } catch (err) {
        H.log("error", "Error loading config file: " + String(err && err.stack || err));
        raw = {};
      }
    }
    raw = raw || {};
    for (const key of Object.keys(raw)) {
      if (key !== "plugins" && key !== "debug") throw new Error("Invalid config key: " + key);
    }
    const debug = raw.debug !== undefined ? raw.debug : envDebug ? "verbose" : false;
    const plugins = [];
    let extensions = [];
    for (const item of raw.plugins === undefined ? BUILTIN_PLUGINS : raw.plugins) {
      const spec = typeof item === "string" ? { name: item } : typeof item === "function" ? { fn: item } : Object.assign({}, item);
      const options = Object.assign({ debug: false }, spec);
      delete options.name;
      delete options.fn;
      if (spec.fn) {
        plugins.push({ name: spec.fn.name || "custom", factory: spec.fn, options });
      } else if (BUILTIN_PLUGINS.includes(spec.name)) {
        if (spec.name === "pocketpages-plugin-ejs") {
          for (const key of Object.keys(options)) {
            if (key !== "extensions" && key !== "debug") throw new Error("Invalid config key: " + key);
          }
          extensions = extensions.concat(options.extensions || [".ejs"]);
        }
        plugins.push({ name: spec.name, options });
      } else if (INERT_PLUGINS.includes(spec.name)) {
        H.log("warn", spec.name + " is not supported by Satchel yet: it is ignored");
      } else {
        const factory = S.requireFrom(root)(spec.name);
        plugins.push({ name: spec.name, factory: factory.default || factory, options });
      }
    }
    config = { debug, plugins };
    return JSON.stringify({ extensions });
  }

  const hasPlugin = (name) => config.plugins.some((p) => p.name === name);

  // ---- templates ----------------------------------------------------------------------
  // Each file's compiled function, once per worker (a new generation has new workers).
  const compiled = new Map();
  const templateOf = (path) => {
    let fn = compiled.get(path);
    if (!fn) {
      fn = H.compile(path);
      compiled.set(path, fn);
    }
    return fn;
  };
  // Numbers and booleans have nothing to escape: only text crosses into Rust.
  const escape = (v) => (v === undefined || v === null ? "" : typeof v === "number" || typeof v === "boolean" ? String(v) : H.escape(String(v)));

  // ejs's `rethrow`: the message becomes `file:line`, the template lines around it, and the
  // original message (§3.6). BadRequestError passes untouched.
  function rethrow(err, lines, filename, lineno) {
    if (err instanceof BadRequestError || (err && err.__pagesDecorated)) return err;
    if (!(err instanceof Error)) err = new Error(String(err));
    const all = String(lines).split("\n");
    const start = Math.max(lineno - 30, 0);
    const end = Math.min(all.length, lineno + 3);
    const context = all.slice(start, end).map((line, i) => {
      const curr = i + start + 1;
      return (curr === lineno ? " >> " : "    ") + curr + "| " + line;
    }).join("\n");
    err.message = (filename || "ejs") + ":" + lineno + "\n" + context + "\n\n" + err.message;
    Object.defineProperty(err, "__pagesDecorated", { value: true });
    return err;
  }

  // Renders `path` with `locals`; `include` inside it resolves from `path` (§3.4).
  // Partials found, by including file and name (a generation sees one set of files).
  const partials = new Map();
  function renderFile(path, locals) {
    locals.include = (name, data) => {
      const key = path + "\n" + name;
      let partial = partials.get(key);
      if (partial === undefined) {
        partial = H.partial(path, String(name));
        partials.set(key, partial);
      }
      return renderFile(partial, over(locals, data || {}));
    };
    return templateOf(path)(locals, escape, rethrow);
  }

  // `<!-- slot:name -->` markers split layout input (§3.5).
  function parseSlots(content) {
    const marker = /<!--\s*slot:(\w+)\s*-->/g;
    const found = [];
    let m;
    while ((m = marker.exec(content))) found.push({ name: m[1], start: m.index, end: marker.lastIndex });
    const slots = {};
    let rest = content;
    if (found.length) {
      rest = content.slice(0, found[0].start);
      found.forEach((f, i) => {
        const body = content.slice(f.end, i + 1 < found.length ? found[i + 1].start : content.length).trim();
        if (body) slots[f.name] = body;
        else rest += content.slice(f.start, i + 1 < found.length ? found[i + 1].start : content.length);
      });
    }
    const slot = slots.default !== undefined ? slots.default : rest.trim();
    return { slot, slots };
  }

  // ---- routes (details fetched from Rust once per worker) ---------------------------
  const routes = new Map();
  const routeOf = (index) => {
    let route = routes.get(index);
    if (!route) {
      route = JSON.parse(H.route(index));
      routes.set(index, route);
    }
    return route;
  };

  // ---- the response writer --------------------------------------------------------------
  // PocketPages writes through Go's ResponseWriter: the first write fixes the status, later
  // writes append (a redirect followed by the rendered page keeps its 302, §4.1.5).
  const headerOf = (r, name) => {
    const h = r.headers.find(([k]) => k.toLowerCase() === name.toLowerCase());
    return h ? h[1] : "";
  };
  function write(e, status, type, text) {
    const r = e.__r;
    if (!r.written) {
      r.written = true;
      r.status = status;
      if (type && !headerOf(r, "content-type")) r.headers.push(["Content-Type", type]);
    }
    r.body += text;
  }
  function setHeader(e, name, value) {
    const r = e.__r;
    r.headers = r.headers.filter(([k]) => k.toLowerCase() !== String(name).toLowerCase());
    r.headers.push([String(name), String(value)]);
  }
  // Go's content sniffing for a body written without a type (echo, response.write).
  const sniff = (body) => (/^\s*<(!doctype html|html|head|script|iframe|h1|div|font|table|a|style|title|b|body|br|p|!--)[\s>]/i.test(body) ? "text/html; charset=utf-8" : "text/plain; charset=utf-8");

  // ---- per request ----------------------------------------------------------------------
  // The context functions are built once per worker and read the request being handled
  // from `current` (pages may nest through pb().send); a request's context is an object
  // with its own `params`, `data`, `request`, `response`, `auth` over them.
  let current = null;
  const page = () => {
    if (!current) throw new Error("this page function was called outside a page request");
    return current;
  };

  // `e.requestInfo().body`: inferred form values or JSON (§5.2).
  function body(e) {
    // A Go error in PocketBase, not a BadRequestError: the page fails with a 500.
    if (e.__d.bodyError) throw new Error(e.__d.bodyError);
    return e.__d.parsedBody;
  }

  class PageRequest {
    constructor(e) {
      const d = e.__d;
      this.event = e;
      this.method = d.method;
      this.url = url(d.url);
      this.auth = e.auth || undefined;
      this.authToken = d.authToken || undefined;
      Object.defineProperty(this, "__cookies", { value: undefined, writable: true });
    }
    header(name) { return this.event.request.header.get(String(name)) || ""; }
    cookies(name) {
      if (!this.__cookies) this.__cookies = parseCookies(this.event.request.header.get("cookie") || "");
      return name === undefined ? this.__cookies : this.__cookies[name];
    }
    body() { return body(this.event); }
    formData() { return body(this.event); }
  }

  class PageResponse {
    constructor(e) { Object.defineProperty(this, "__e", { value: e }); }
    html(status, text) { write(this.__e, status, "text/html; charset=utf-8", String(text)); }
    json(status, data) { write(this.__e, status, "application/json", JSON.stringify(data === undefined ? null : data)); }
    redirect(path, status) { setHeader(this.__e, "Location", path); write(this.__e, status || 302, "", ""); }
    write(text) { write(this.__e, 200, "", String(text)); }
    file(path) { const f = JSON.parse(H.file(String(path))); write(this.__e, 200, f.type, f.body); }
    header(name, value) {
      if (value === undefined) return headerOf(this.__e.__r, String(name));
      setHeader(this.__e, name, value);
      return value;
    }
    // Every cookie is kept (PocketPages replaces the previous Set-Cookie, §5.4; a bug).
    cookie(name, value, options) {
      const text = serializeCookie(name, typeof value === "string" ? value : stringify(value), Object.assign({ path: "/" }, options || {}));
      this.__e.__r.headers.push(["Set-Cookie", text]);
      return text;
    }
  }

  // The `pb_auth` cookie: PocketPages' name and value, with HttpOnly and SameSite=Lax
  // (and Secure over https) added (DESIGN.md "Pages").
  function authCookie(e, value, clear) {
    const options = { path: "/", httpOnly: true, sameSite: "lax", secure: !!e.__d.secure };
    if (clear) options.maxAge = 0;
    e.__r.headers.push(["Set-Cookie", serializeCookie(AUTH_COOKIE, value, options)]);
  }

  // The in-process `pb()` client: requests go through our own router, with the page
  // request's client address, so rate limits and hooks see the real client.
  const sdk = makeSdk((req) => {
    const d = current ? current.e.__d : {};
    const answer = H.send(JSON.stringify({ method: req.method, path: req.path, headers: req.headers || {}, body: req.body || "", remoteIP: d.remoteIP || "", forwarded: d.headers || {} }));
    return JSON.parse(answer);
  });
  const { PocketBase } = sdk;

  // `pb()` of the js-sdk plugin: one client per auth per request (§6.4).
  function pb(options) {
    const state = page();
    const opts = options || {};
    const auth = opts.auth || (opts.request && opts.request.auth);
    const key = auth ? auth.id : "";
    let client = state.clients.get(key);
    if (!client) {
      client = new PocketBase();
      if (auth) {
        const token = (opts.request && opts.request.authToken) || state.request.authToken || auth.newAuthToken();
        client.authStore.save(token, JSON.parse(JSON.stringify(auth)));
      }
      state.clients.set(key, client);
    }
    return client;
  }

  // `createPaswordlessUser`'s alphabet (§6.2).
  const digits = (n) => $security.randomStringWithAlphabet(n, "123456789");
  const collectionOf = (options) => (options && options.collection) || "users";

  // The auth plugin (§6).
  const auth = {
    createUser(email, password, options) {
      const opts = Object.assign({ collection: "users", sendVerificationEmail: true }, options || {});
      if (!email) throw new Error("Email is required");
      if (!password) throw new Error("Password is required");
      const user = pb().collection(opts.collection).create({ email, password, passwordConfirm: password });
      if (opts.sendVerificationEmail !== false) auth.requestVerification(email, opts);
      return user;
    },
    createPaswordlessUser(email, options) {
      const password = digits(40);
      const user = auth.createUser(email, password, options);
      return { password, user };
    },
    createAnonymousUser(options) {
      const email = "anonymous-" + digits(10) + "@example.com";
      const { password, user } = auth.createPaswordlessUser(email, Object.assign({}, options, { sendVerificationEmail: false }));
      return { email, password, user };
    },
    requestVerification(email, options) { pb().collection(collectionOf(options)).requestVerification(email); },
    confirmVerification(token, options) { pb().collection(collectionOf(options)).confirmVerification(token); },
    // §6.3: creates the user when missing (errors swallowed), then requests the code.
    requestOTP(email, options) {
      try {
        auth.createPaswordlessUser(email, Object.assign({ sendVerificationEmail: false }, options || {}));
      } catch (_) { /* existing user, invalid email, refused create: the request below answers */ }
      return pb().collection(collectionOf(options)).requestOTP(email);
    },
    signIn(authData) {
      if (!authData || !authData.record) throw new Error("No auth record found");
      authCookie(page().e, JSON.stringify({ token: authData.token, record: authData.record }), false);
    },
    signInWithPassword(email, password, options) {
      const authData = pb().collection(collectionOf(options)).authWithPassword(email, password);
      auth.signIn(authData);
      return authData;
    },
    registerWithPassword(email, password, options) {
      auth.createUser(email, password, options);
      return auth.signInWithPassword(email, password, options);
    },
    // PocketPages does not pass the options on to the user's creation (§6.2).
    signInAnonymously(options) {
      const { email, password } = auth.createAnonymousUser();
      return auth.signInWithPassword(email, password, options);
    },
    signInWithOTP(otpId, password, options) {
      const authData = pb().collection(collectionOf(options)).authWithOTP(otpId, password.toString());
      auth.signIn(authData);
      return authData;
    },
    requestOAuth2Login(providerName, options) {
      const e = page().e;
      const opts = Object.assign({ collection: "users", cookieName: "pp_oauth_state", redirectPath: "/auth/oauth/confirm", autoRedirect: true }, options || {});
      const methods = pb().collection(opts.collection).listAuthMethods();
      const provider = ((methods.oauth2 && methods.oauth2.providers) || []).find((p) => p.name === providerName);
      if (!provider) throw new Error("Provider " + providerName + " not found");
      const redirectUrl = $app.settings().meta.appURL + opts.redirectPath;
      const state = { name: provider.name, state: provider.state, codeChallenge: provider.codeChallenge, codeVerifier: provider.codeVerifier, redirectUrl };
      e.__r.headers.push(["Set-Cookie", serializeCookie(opts.cookieName, JSON.stringify(state), { path: "/", httpOnly: true, sameSite: "lax" })]);
      const to = provider.authURL + redirectUrl;
      if (opts.autoRedirect) { setHeader(e, "Location", to); write(e, 302, "", ""); }
      return to;
    },
    signInWithOAuth2(state, code, options, stored) {
      const opts = Object.assign({ collection: "users", cookieName: "pp_oauth_state" }, options || {});
      const info = stored || page().request.cookies(opts.cookieName);
      if (!info) throw new Error("No stored provider info found");
      if (info.state !== state) throw new Error("State parameters don't match.");
      const authData = pb().collection(opts.collection).authWithOAuth2Code(info.name, code, info.codeVerifier, info.redirectUrl, { emailVisibility: false });
      auth.signIn(authData);
      return authData;
    },
    signOut() { authCookie(page().e, "", true); },
  };
  auth.createPasswordlessUser = auth.createPaswordlessUser;

  // The page functions of the context (§5.2).
  const pageApi = {
    body: () => body(page().e),
    formData: () => body(page().e),
    redirect(path, options) {
      const opts = options || {};
      const target = url(String(path));
      target.query.__flash = opts.message || "";
      page().response.redirect(target.toString(), opts.status || 302);
    },
    echo(...args) {
      const text = args.map((a) => (typeof a === "function" ? a.toString() : a !== null && typeof a === "object" ? stringify(a) : String(a))).join(" ");
      page().response.write(text);
      return text;
    },
    meta(key, value) {
      const metas = page().metas;
      if (value === undefined) return metas[key];
      metas[key] = value;
      return value;
    },
    asset: (path) => H.asset(page().e.__d.page, String(path)),
    resolve: (path, options) => resolveModule(page().route.file, String(path), (options && options.mode) || "require"),
    slot: "",
    slots: {},
  };

  // The functions every context has, by the configured plugins (once per worker).
  let contextBase = null;
  function base() {
    if (contextBase) return contextBase;
    contextBase = Object.assign({}, globalApi, pageApi);
    if (hasPlugin("pocketpages-plugin-js-sdk") || hasPlugin("pocketpages-plugin-auth")) contextBase.pb = pb;
    if (hasPlugin("pocketpages-plugin-auth")) Object.assign(contextBase, auth);
    if (hasPlugin("pocketpages-plugin-micro-dash")) Object.assign(contextBase, microDash);
    if (hasPlugin("pocketpages-plugin-realtime")) contextBase.realtime = realtime;
    return contextBase;
  }

  // A context for middleware, loaders and templates: `api` with its own extra names.
  const over = (api, own) => Object.assign(Object.create(api), own);

  // Runs the page pipeline for the route matched in Rust (§4).
  function handle(e) {
    const outer = current;
    const request = new PageRequest(e);
    current = { e, route: routeOf(e.__d.page), request, response: new PageResponse(e), metas: {}, clients: new Map() };
    try {
      run(current);
    } finally {
      current = outer;
    }
  }

  function run(state) {
    const { e, route, request, response } = state;
    const d = e.__d;
    if (d.clearAuthCookie) authCookie(e, "", true);
    const debug = config.debug || H.dev();
    try {
      const params = request.url.query;
      for (const k in d.pathParams) params[k] = d.pathParams[k];
      const api = over(base(), { params, data: {}, request, response, auth: request.auth });
      const plugins = instantiate(api, route);
      for (const p of plugins) if (p.onRequest) p.onRequest({ request, response });
      for (const p of plugins) if (p.onExtendContextApi) p.onExtendContextApi({ api, route });
      api.api = api;

      // Middleware root → leaf, then loaders of the page's own directory (§4 steps 8–9).
      const data = {};
      for (const path of route.middlewares) {
        const fn = moduleFn(path);
        if (fn.length < 2) {
          merge(data, fn(over(api, { data })) || {});
          continue;
        }
        let continued = false;
        fn(over(api, { data }), (extra) => { continued = true; if (extra) merge(data, extra); });
        if (!continued) return;
      }
      const method = d.method.toLowerCase();
      for (const [kind, path] of route.loaders) {
        if (kind !== "load" && kind !== method) continue;
        merge(data, moduleFn(path)(over(api, { data })) || {});
      }
      api.data = data;

      const content = renderPlugins(plugins, "", api, route, route.file);
      finish(e, response, plugins, api, route, content);
    } catch (err) {
      H.log("error", String(err && err.stack ? err.message + "\n" + err.stack : err));
      failed(e, err, debug);
    }
  }

  // The plugins of this request: factories run again per request (§8).
  function instantiate(api, route) {
    const out = [];
    for (const p of config.plugins) {
      if (!p.factory) continue;
      const dbg = (...args) => { if (p.options.debug) H.log("debug", "[" + p.name + "] " + format(args)); };
      out.push(p.factory({ pagesRoot: H.root(), config, globalApi: api, routes: [route], dbg }, p.options) || {});
    }
    return out;
  }

  // EJS renders the file, then every other plugin's onRender reduces over the output.
  function renderPlugins(plugins, content, api, route, filePath) {
    if (hasPlugin("pocketpages-plugin-ejs")) {
      const result = renderFile(filePath, over(api, { api }));
      content = typeof result === "string" ? result : result === undefined || result === null ? "" : JSON.stringify(result);
    }
    for (const p of plugins) if (p.onRender) content = p.onRender({ content, api, route, filePath, plugins });
    return content;
  }

  // §4.1: a non-HTML type stops; JSON output answers JSON; else layouts, then HTML.
  function finish(e, response, plugins, api, route, content) {
    const type = headerOf(e.__r, "content-type");
    if (type && type !== "text/html" && !type.startsWith("text/html;")) return done(e);
    // Only text that can start a JSON value is tried (a failed parse costs an exception).
    if (/^\s*[[{"\-0-9tfn]/.test(content)) {
      try {
        const parsed = JSON.parse(content);
        response.json(200, parsed);
        return done(e);
      } catch (_) { /* not JSON: HTML */ }
    }
    for (const layout of route.layouts) {
      const { slot, slots } = parseSlots(content);
      content = renderPlugins(plugins, "", over(api, { slot, slots }), route, layout);
    }
    for (const p of plugins) if (p.onResponse && p.onResponse({ content, api, route })) return done(e);
    response.html(200, content);
    done(e);
  }

  function done(e) {
    const r = e.__r;
    if (r.written && r.body && !headerOf(r, "content-type")) r.headers.push(["Content-Type", sniff(r.body)]);
  }

  // §4.2: BadRequestError → 400, debug → the details page, else the generic page. A page
  // that already answered keeps its answer.
  function failed(e, err, debug) {
    const r = e.__r;
    r.written = false;
    r.body = "";
    r.headers = r.headers.filter(([k]) => k.toLowerCase() === "set-cookie");
    if (err instanceof BadRequestError) {
      write(e, 400, "text/html; charset=utf-8", debug ? String(err) : "Bad Request");
      return;
    }
    if (!debug) {
      write(e, 500, "text/html; charset=utf-8", GENERIC_500);
      return;
    }
    const esc = (s) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/'/g, "&apos;").replace(/"/g, "&quot;");
    let message = String(err && err.message !== undefined ? err.message : err);
    if (message.includes("Value is not an object")) message += " - are you referencing a symbol missing from require() or resolve()?";
    const stack = String((err && err.stack) || "").split(H.root()).join("/pages");
    write(e, 500, "text/html; charset=utf-8", "<html><body><h1>PocketPages Error</h1><pre><code>" + esc(message) + "\n" + esc(stack) + "</code></pre></body></html>");
  }

  const moduleFn = (path) => {
    const exported = S.requireFrom(H.root())(path);
    const fn = exported && exported.default ? exported.default : exported;
    if (typeof fn !== "function") throw new Error(path.split(H.root()).join("") + " must export a function");
    return fn;
  };

  // `resolve()` (§5.2): `_private` modules from the page's directory upward.
  function resolveModule(pageFile, path, mode) {
    const found = H.module(pageFile, path);
    if (mode === "require") return S.requireFrom(H.root())(found);
    const text = H.read(found);
    if (mode === "raw") return text;
    if (mode === "script") return "<script>\nif (typeof module === 'undefined') { module = { exports: {} } };\n" + text + "\n</script>";
    if (mode === "style") return "<style>\n" + text + "\n</style>";
    throw new Error("Unknown resolve mode: " + mode);
  }

  // `require('pocketpages')` inside hooks and pages (§1.3): the module is built in.
  const moduleExports = { globalApi, log: globalApi.log, stringify, moduleExists: (name) => { try { S.requireFrom(H.root())(name); return true; } catch (_) { return false; } } };
  return { loadConfig, handle, moduleExports, globalApi };
})
