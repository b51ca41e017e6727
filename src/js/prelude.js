// Satchel's JS prelude: the PocketBase JSVM globals that are plain JS over a few host
// functions (`__host`, installed by `src/js/host.rs`). Evaluated once per runtime, before
// any hook file or handler. Names and messages follow PocketBase 0.40.6
// (pocketbase-surface.md §9); comments say where a behaviour is PocketBase's on purpose.
(function (globalThis) {
  "use strict";
  const host = globalThis.__host;
  delete globalThis.__host;

  // ---- errors (§9.3) ----------------------------------------------------------------
  const GENERIC = "Something went wrong while processing your request.";

  class ApiError extends Error {
    constructor(status, message, data) {
      super(message || "");
      this.name = new.target.name;
      this.status = status || 400;
      this.data = data == null ? {} : data;
    }
  }
  const apiErrorClass = (name, status, fallback) => {
    const cls = class extends ApiError {
      constructor(message, data) {
        super(status, message || fallback, data);
      }
    };
    Object.defineProperty(cls, "name", { value: name });
    return cls;
  };
  const BadRequestError = apiErrorClass("BadRequestError", 400, GENERIC);
  const NotFoundError = apiErrorClass("NotFoundError", 404, "The requested resource wasn't found.");
  const ForbiddenError = apiErrorClass("ForbiddenError", 403, "You are not allowed to perform this request.");
  const UnauthorizedError = apiErrorClass("UnauthorizedError", 401, "Missing or invalid authentication.");
  const TooManyRequestsError = apiErrorClass("TooManyRequestsError", 429, "Too Many Requests.");
  const InternalServerError = apiErrorClass("InternalServerError", 500, GENERIC);

  class ValidationError {
    constructor(code, message) {
      this.code = code || "";
      this.message = message || "";
    }
    error() {
      return this.message;
    }
  }

  // PocketBase's inflector.Sentenize: first letter upper-cased, a final "." added.
  function sentenize(text) {
    const t = String(text).trim();
    if (!t) return "";
    const out = t[0].toUpperCase() + t.slice(1);
    return /[.?!]$/.test(out) ? out : out + ".";
  }

  // PocketBase's safeErrorsData: ValidationError → {code, message}; nested plain objects
  // recurse; anything else → validation_invalid_value (router/error.go).
  function errorData(data) {
    const out = {};
    if (data == null || typeof data !== "object" || Array.isArray(data)) return out;
    if (data instanceof ValidationError) return out;
    for (const key of Object.keys(data)) {
      const item = data[key];
      if (item instanceof ValidationError) {
        out[key] = { code: item.code, message: sentenize(item.message) };
      } else if (item != null && typeof item === "object" && !Array.isArray(item) && !(item instanceof Error)) {
        out[key] = errorData(item);
      } else {
        out[key] = { code: "validation_invalid_value", message: "Invalid value." };
      }
    }
    return out;
  }

  // Any thrown value → {status, message, data, log}. A host failure carries the status
  // PocketBase's ToApiError would give it (404 for "no rows", 400 otherwise).
  function describeError(err) {
    if (err instanceof ApiError) {
      return { status: err.status, message: String(err.message), data: errorData(err.data) };
    }
    if (err instanceof Error && err.__status) {
      return { status: err.__status, message: err.__status === 404 ? "" : GENERIC, data: err.__data || {}, log: String(err.message) };
    }
    const text = err instanceof Error ? (err.stack ? err.name + ": " + err.message + "\n" + err.stack : String(err)) : String(err);
    return { status: 400, message: GENERIC, data: {}, log: text };
  }

  function errorFor(status, message, data) {
    const cls = { 400: BadRequestError, 401: UnauthorizedError, 403: ForbiddenError, 404: NotFoundError, 429: TooManyRequestsError, 500: InternalServerError }[status];
    return cls ? new cls(message, data) : new ApiError(status, message, data);
  }

  // A host call's failure as a JS error: Go-like text, plus what ToApiError needs.
  function hostError(failure) {
    const err = new Error(failure.message);
    Object.defineProperty(err, "__status", { value: failure.status });
    Object.defineProperty(err, "__data", { value: failure.data || {} });
    if (failure.api) return errorFor(failure.status, failure.message, failure.data);
    return err;
  }

  // Calls a host function that answers {ok: value} or {err: failure}.
  function call(name, ...args) {
    const answer = JSON.parse(host[name](...args.map((a) => JSON.stringify(a === undefined ? null : a))));
    if (answer.err) throw hostError(answer.err);
    return answer.ok;
  }

  // ---- collections and records ------------------------------------------------------
  // A collection's `fields`, with PocketBase's FieldsList methods.
  function fieldsList(items) {
    const fields = (items || []).map((f) => (f instanceof Field ? f : new Field(f)));
    const at = (pred) => fields.findIndex(pred);
    Object.defineProperties(fields, {
      getByName: { value: (name) => fields.find((f) => f.name === name) || null },
      getById: { value: (id) => fields.find((f) => f.id === id) || null },
      add: { value: (...items) => { for (const f of items) fields.addAt(fields.length, f); } },
      addAt: { value: (pos, ...items) => {
        for (const f of items) {
          const field = f instanceof Field ? f : new Field(f);
          const same = at((x) => (field.id && x.id === field.id) || x.name === field.name);
          if (same >= 0) { fields[same] = field; continue; }
          fields.splice(Math.min(pos, fields.length), 0, field);
          pos++;
        }
      } },
      removeById: { value: (id) => { const i = at((f) => f.id === id); if (i >= 0) fields.splice(i, 1); } },
      removeByName: { value: (name) => { const i = at((f) => f.name === name); if (i >= 0) fields.splice(i, 1); } },
      fieldNames: { value: () => fields.map((f) => f.name) },
    });
    return fields;
  }

  class Field {
    constructor(data) { Object.assign(this, data || {}); }
    getName() { return this.name; }
    getId() { return this.id; }
  }
  const fieldClass = (type) => class extends Field { constructor(data) { super(Object.assign({ type }, data || {})); } };
  const fieldTypes = { TextField: "text", NumberField: "number", BoolField: "bool", EmailField: "email", URLField: "url",
    EditorField: "editor", DateField: "date", AutodateField: "autodate", SelectField: "select", FileField: "file",
    RelationField: "relation", JSONField: "json", PasswordField: "password", GeoPointField: "geoPoint" };

  class Collection {
    constructor(data) {
      Object.assign(this, data || {});
      Object.defineProperty(this, "fields", { value: fieldsList(this.fields), enumerable: true, writable: true });
    }
    isAuth() { return this.type === "auth"; }
    isBase() { return this.type === "base"; }
    isView() { return this.type === "view"; }
    tableName() { return this.name; }
  }

  // Collections by id or name, cached until any collection changes.
  const collectionCache = new Map();
  let cachedVersion = -1;
  function collectionOf(ref) {
    if (ref instanceof Collection) return ref;
    if (ref != null && typeof ref === "object") return new Collection(ref);
    const key = String(ref);
    const version = host.collectionsVersion();
    if (version !== cachedVersion) {
      collectionCache.clear();
      cachedVersion = version;
    }
    let found = collectionCache.get(key);
    if (!found) {
      found = new Collection(call("findCollection", key));
      collectionCache.set(found.id, found);
      collectionCache.set(found.name, found);
      collectionCache.set(key, found);
    }
    return found;
  }

  class Record {
    constructor(collection, data) {
      // `new Record()` with no collection is a blank model (e.g. for `arrayOf(new Record)`).
      const c = collection == null ? null : collectionOf(collection);
      Object.defineProperty(this, "__c", { value: c, writable: true });
      Object.defineProperty(this, "__d", { value: c ? call("newRecord", c.id) : {}, writable: true });
      Object.defineProperty(this, "__orig", { value: null, writable: true });
      Object.defineProperty(this, "__hidden", { value: {}, writable: true });
      Object.defineProperty(this, "__custom", { value: false, writable: true });
      if (data) this.load(data);
    }
    get id() { return this.__d.id == null ? "" : this.__d.id; }
    set id(v) { this.__d.id = String(v); }
    collection() { return this.__c; }
    tableName() { return this.__c.name; }
    isNew() { return this.__orig === null; }
    original() {
      const r = Object.create(Record.prototype);
      Object.defineProperty(r, "__c", { value: this.__c });
      Object.defineProperty(r, "__d", { value: JSON.parse(JSON.stringify(this.__orig || this.__d)) });
      Object.defineProperty(r, "__orig", { value: this.__orig });
      Object.defineProperty(r, "__hidden", { value: {} });
      return r;
    }
    get(key) {
      const v = this.__d[key];
      return v === undefined ? null : v;
    }
    set(key, value) {
      this.__d = call("castRecord", this.__c.id, this.__d, { [key]: value });
    }
    load(data) {
      this.__d = call("castRecord", this.__c.id, this.__d, data || {});
    }
    has(key) { return Object.prototype.hasOwnProperty.call(this.__d, key); }
    getString(key) { const v = this.get(key); return v == null ? "" : Array.isArray(v) ? v.join(",") : String(v); }
    getInt(key) { const n = parseInt(this.get(key), 10); return isNaN(n) ? 0 : n; }
    getFloat(key) { const n = parseFloat(this.get(key)); return isNaN(n) ? 0 : n; }
    getBool(key) { const v = this.get(key); return v === true || v === "true" || v === 1 || v === "1"; }
    getStringSlice(key) { const v = this.get(key); return v == null || v === "" ? [] : Array.isArray(v) ? v.map(String) : [String(v)]; }
    getDateTime(key) { return new DateTime(this.getString(key)); }
    email() { return this.getString("email"); }
    setEmail(v) { this.set("email", v); }
    verified() { return this.getBool("verified"); }
    setVerified(v) { this.set("verified", !!v); }
    emailVisibility() { return this.getBool("emailVisibility"); }
    setEmailVisibility(v) { this.set("emailVisibility", !!v); }
    tokenKey() { return this.getString("tokenKey"); }
    setPassword(v) { this.set("password", v); }
    setRandomPassword() { const p = $security.randomString(30); this.setPassword(p); return p; }
    validatePassword(v) { return call("validatePassword", this.__c.id, this.__d, String(v)); }
    isSuperuser() { return this.__c.name === "_superusers"; }
    newAuthToken() { return call("app", 0, "newAuthToken", [this.__c.id, this.__d]); }
    hide(...names) { for (const n of names) this.__hidden[n] = true; return this; }
    unhide(...names) { for (const n of names) this.__hidden[n] = false; return this; }
    withCustomData(on) { this.__custom = !!on; return this; }
    fieldsData() { return Object.assign({}, this.__d); }
    publicExport() { return call("exportRecord", this.__c.id, this.__d, this.__hidden); }
    toJSON() { return this.publicExport(); }
    refreshTokenKey() { this.set("tokenKey:autogenerate", ""); }
  }

  function recordFrom(collection, data, persisted) {
    const r = Object.create(Record.prototype);
    Object.defineProperty(r, "__c", { value: collectionOf(collection), writable: true });
    Object.defineProperty(r, "__d", { value: data, writable: true });
    Object.defineProperty(r, "__orig", { value: persisted ? JSON.parse(JSON.stringify(data)) : null, writable: true });
    Object.defineProperty(r, "__hidden", { value: {}, writable: true });
    Object.defineProperty(r, "__custom", { value: false, writable: true });
    return r;
  }
  const records = (found) => found.map((f) => recordFrom(f.collection, f.record, true));

  class DynamicModel {
    constructor(shape) {
      Object.assign(this, shape || {});
    }
  }

  class DateTime {
    constructor(text) {
      this.__t = text ? new Date(String(text).replace(" ", "T")) : new Date();
    }
    string() { return isNaN(this.__t) ? "" : this.__t.toISOString().replace("T", " "); }
    isZero() { return isNaN(this.__t); }
    unix() { return Math.floor(this.__t.getTime() / 1000); }
    time() { return this.__t; }
    toJSON() { return this.string(); }
    toString() { return this.string(); }
  }

  class Middleware {
    constructor(func, priority, id) {
      this.func = func;
      this.priority = priority || 0;
      this.id = id || "";
    }
  }

  class MailerMessage {
    constructor(data) {
      Object.assign(this, { from: {}, to: [], bcc: [], cc: [], subject: "", html: "", text: "", headers: {} }, data || {});
    }
  }

  // ---- $app ---------------------------------------------------------------------------
  // `tx` is the transaction the app is bound to (0 = the shared connections).
  function makeApp(tx) {
    const app = (name, ...args) => call("app", tx, name, args);
    return {
      findCollectionByNameOrId: (n) => new Collection(app("findCollectionByNameOrId", n)),
      findRecordById: (c, id) => records([app("findRecordById", collectionOf(c).id, id)])[0],
      findRecordsByIds: (c, ids) => records(app("findRecordsByIds", collectionOf(c).id, ids)),
      findFirstRecordByData: (c, key, value) => records([app("findFirstRecordByData", collectionOf(c).id, key, value)])[0],
      findRecordsByFilter: (c, filter, sort, limit, offset, params) =>
        records(app("findRecordsByFilter", collectionOf(c).id, filter || "", sort || "", limit || 0, offset || 0, params || {})),
      findFirstRecordByFilter: (c, filter, params) =>
        records([app("findFirstRecordByFilter", collectionOf(c).id, filter || "", params || {})])[0],
      findAllRecords: (c) => records(app("findRecordsByFilter", collectionOf(c).id, "", "", 0, 0, {})),
      countRecords: (c) => app("countRecords", collectionOf(c).id),
      recordQuery: (c) => recordQuery(app, c),
      findAuthRecordByEmail: (c, email) => records([app("findAuthRecordByEmail", collectionOf(c).id, email)])[0],
      findAuthRecordByToken: (token, type) => records([app("findAuthRecordByToken", token, type || "auth")])[0],
      save: (model) => (model instanceof Collection ? saveCollection(app, model) : saveRecord(app, model, true)),
      saveNoValidate: (model) => (model instanceof Collection ? saveCollection(app, model) : saveRecord(app, model, false)),
      importCollections: (items, deleteMissing) => { app("importCollections", JSON.parse(JSON.stringify(items)), !!deleteMissing); },
      validate: (model) => { app("validate", model.__c.id, model.__d, model.isNew()); },
      delete: (model) => {
        if (model instanceof Collection) return app("deleteCollection", model.id || model.name);
        app("delete", model.__c.id, model.id);
        model.__orig = null;
      },
      runInTransaction: (fn) => {
        if (tx !== 0) return fn(makeApp(tx));
        const id = call("beginTx");
        let ok = false;
        try {
          fn(makeApp(id));
          ok = true;
        } finally {
          call("endTx", id, ok);
        }
      },
      store: () => appStore,
      settings: () => call("settings"),
      logger: () => logger,
      newMailClient: () => ({ send: (m) => { call("sendMail", m); } }),
      isDev: () => call("isDev"),
      subscriptionsBroker: () => broker,
      dataDir: () => call("dataDir"),
    };
  }

  // ---- realtime (§10) -------------------------------------------------------------------
  class SubscriptionMessage {
    constructor(data) {
      this.name = (data && data.name) || "";
      this.data = data && data.data !== undefined ? data.data : "";
    }
  }
  const realtimeCall = (op, id, ...rest) => call("realtime", op, id || "", ...rest);
  function realtimeClientOf(id) {
    const values = new Map();
    return {
      id: () => id,
      channel: () => { throw new Error("client.channel() is not available in Satchel: use client.send()"); },
      subscriptions: (...prefixes) => {
        const out = {};
        for (const topic of realtimeCall("subscriptions", id)) {
          if (!prefixes.length || prefixes.some((p) => topic.startsWith(p))) out[topic] = {};
        }
        return out;
      },
      hasSubscription: (topic) => realtimeCall("hasSubscription", id, String(topic)),
      // `get("auth")` is the auth the client subscribed with; other keys are this object's.
      get: (key) => {
        if (key !== "auth") return values.get(key);
        const auth = realtimeCall("auth", id);
        return auth ? recordFrom(auth.collection, auth.record, true) : null;
      },
      set: (key, value) => { values.set(key, value); },
      unset: (key) => { values.delete(key); },
      send: (message) => {
        const data = message.data;
        const text = typeof data === "string" ? data : Array.isArray(data) ? helpers.toString(data) : JSON.stringify(data);
        realtimeCall("send", id, String(message.name), text);
      },
      discard: () => { realtimeCall("discard", id); },
      isDiscarded: () => !realtimeCall("has", id),
    };
  }
  const broker = {
    clients: () => Object.fromEntries(realtimeCall("clients").map((id) => [id, realtimeClientOf(id)])),
    clientById: (id) => {
      if (!realtimeCall("has", String(id))) throw new Error("No client associated with connection ID \"" + id + "\"");
      return realtimeClientOf(String(id));
    },
    totalClients: () => realtimeCall("total"),
    chunkedClients: (size) => {
      const all = Object.values(broker.clients());
      const out = [];
      for (let i = 0; i < all.length; i += size || 1) out.push(all.slice(i, i + (size || 1)));
      return out;
    },
  };

  // Collections are saved as their API JSON (create, or update when the id exists).
  function saveCollection(app, collection) {
    const saved = app("saveCollection", JSON.parse(JSON.stringify(collection)));
    Object.assign(collection, saved);
    collection.fields = fieldsList(saved.fields);
  }

  function saveRecord(app, model, validate) {
    if (!(model instanceof Record)) throw new Error("$app.save: unsupported model");
    const saved = app("save", model.__c.id, model.__d, model.isNew(), validate);
    model.__d = saved;
    model.__orig = JSON.parse(JSON.stringify(saved));
  }

  // $dbx expressions: SQL text with `?` values in order (`{:name}` placeholders become `?`;
  // `[[column]]` and `{{table}}` are quoted as dbx does).
  const quoteName = (name) => {
    if (!/^[A-Za-z_][A-Za-z0-9_.]*$/.test(name)) throw new Error("invalid identifier: " + name);
    return name.split(".").map((p) => "`" + p + "`").join(".");
  };
  function dbxExp(sql, params) {
    const values = [];
    const text = String(sql)
      .replace(/\[\[([^\]]+)\]\]|\{\{([^}]+)\}\}/g, (_, col, table) => quoteName(col || table))
      .replace(/\{:([A-Za-z0-9_]+)\}/g, (_, name) => {
        values.push(params && name in params ? params[name] : null);
        return "?";
      });
    return { sql: text, params: values };
  }
  const join = (sep) => (...exps) => {
    const parts = exps.filter((e) => e && e.sql);
    return { sql: parts.map((e) => "(" + e.sql + ")").join(sep), params: parts.flatMap((e) => e.params) };
  };
  const $dbx = {
    exp: dbxExp,
    hashExp: (obj) => join(" AND ")(...Object.keys(obj).map((key) => {
      const v = obj[key];
      if (v === null || v === undefined) return { sql: quoteName(key) + " IS NULL", params: [] };
      if (Array.isArray(v)) return $dbx.in(key, ...v);
      return { sql: quoteName(key) + " = ?", params: [v] };
    })),
    and: join(" AND "),
    or: join(" OR "),
    not: (e) => ({ sql: "NOT (" + e.sql + ")", params: e.params }),
    in: (col, ...values) => (values.length
      ? { sql: quoteName(col) + " IN (" + values.map(() => "?").join(", ") + ")", params: values }
      : { sql: "0=1", params: [] }),
    notIn: (col, ...values) => (values.length ? $dbx.not($dbx.in(col, ...values)) : { sql: "1=1", params: [] }),
    like: (col, ...values) => join(" AND ")(...values.map((v) => ({ sql: quoteName(col) + " LIKE ? ESCAPE '\\'", params: ["%" + String(v).replace(/[\\%_]/g, (m) => "\\" + m) + "%"] }))),
    between: (col, from, to) => ({ sql: quoteName(col) + " BETWEEN ? AND ?", params: [from, to] }),
  };

  // $app.recordQuery(collection): a small dbx-style query builder over one collection.
  function recordQuery(app, ref) {
    const c = collectionOf(ref);
    let where = null;
    let order = [];
    let limit = 0;
    let offset = 0;
    const run = (max) => app("recordQuery", c.id, {
      where: where ? where.sql : "", params: where ? where.params : [],
      order: order.join(", "), limit: max || limit, offset,
    });
    const q = {
      where: (e) => { where = e || null; return q; },
      andWhere: (e) => { where = where ? join(" AND ")(where, e) : e; return q; },
      orWhere: (e) => { where = where ? join(" OR ")(where, e) : e; return q; },
      orderBy: (...cols) => { order = cols.map(String); return q; },
      andOrderBy: (...cols) => { order = order.concat(cols.map(String)); return q; },
      limit: (n) => { limit = Number(n) || 0; return q; },
      offset: (n) => { offset = Number(n) || 0; return q; },
      one: (target) => {
        const found = records(run(1));
        if (!found.length) throw hostError({ status: 404, message: "sql: no rows in result set" });
        if (target instanceof Record) {
          target.__c = found[0].__c;
          target.__d = found[0].__d;
          target.__orig = found[0].__orig;
          return target;
        }
        return found[0];
      },
      all: (target) => {
        const found = records(run(0));
        if (Array.isArray(target)) {
          target.length = 0;
          target.push(...found);
          return target;
        }
        return found;
      },
    };
    return q;
  }

  const appStore = {
    get: (k) => call("storeGet", String(k)),
    set: (k, v) => { call("storeSet", String(k), v); },
    has: (k) => call("storeHas", String(k)),
    remove: (k) => { call("storeRemove", String(k)); },
    getAll: () => call("storeGetAll"),
    reset: (all) => { call("storeReset", all || {}); },
    length: () => Object.keys(call("storeGetAll")).length,
  };

  const logAt = (level) => (msg, ...attrs) => { host.log(level, String(msg), JSON.stringify(attrs)); };
  const logger = { debug: logAt("debug"), info: logAt("info"), warn: logAt("warn"), error: logAt("error") };
  logger.with = () => logger;
  logger.withGroup = () => logger;

  const show = (args) => args.map((a) => (typeof a === "string" ? a : a instanceof Error ? String(a) : JSON.stringify(a))).join(" ");
  const console = {
    log: (...a) => host.log("info", show(a), "[]"),
    info: (...a) => host.log("info", show(a), "[]"),
    debug: (...a) => host.log("debug", show(a), "[]"),
    warn: (...a) => host.log("warn", show(a), "[]"),
    error: (...a) => host.log("error", show(a), "[]"),
  };

  // ---- events -----------------------------------------------------------------------
  // Every event exposes e.app (bound to the event's transaction), e.next() and the data of
  // its kind; `exportEvent` gives back what a handler may change.
  // PocketBase's RequestInfo (a method on request events, a field on onRecordEnrich).
  function requestInfoOf(info) {
    const auth = info.auth ? recordFrom(info.auth.collection, info.auth.record, true) : null;
    return {
      query: info.query || {},
      headers: info.headers || {},
      body: info.body || {},
      auth,
      method: info.method || "",
      context: info.context || "default",
      hasSuperuserAuth: () => !!(auth && auth.isSuperuser()),
    };
  }

  function wrapEvent(data, next) {
    const e = { app: makeApp(data.tx || 0) };
    if (data.collection) e.collection = collectionOf(data.collection);
    if ("record" in data) e.record = data.record ? recordFrom(e.collection, data.record, !data.isNew) : null;
    // An update's record knows the stored version (`record.original()`).
    if (data.original && e.record && data.kind !== "collection") e.record.__orig = data.original;
    if (data.records) e.records = data.records.map((r) => recordFrom(e.collection, r, true));
    if (data.requestInfo) {
      const info = requestInfoOf(data.requestInfo);
      e.requestInfo = data.kind === "enrich" ? info : () => info;
      e.auth = info.auth;
      e.hasSuperuserAuth = () => info.hasSuperuserAuth();
    }
    if (data.kind === "request") {
      // A request hook may answer itself; its response replaces the endpoint's (§9.3).
      const write = (status, type, body, extra) => {
        if (e.__written) return;
        const headers = type ? [["Content-Type", type]] : [];
        Object.defineProperty(e, "__written", { value: { status, headers: headers.concat(extra || []), body }, configurable: true });
      };
      e.json = (status, v) => write(status, "application/json", JSON.stringify(v === undefined ? null : v));
      e.string = (status, t) => write(status, "text/plain; charset=utf-8", String(t));
      e.html = (status, t) => write(status, "text/html; charset=utf-8", String(t));
      e.noContent = (status) => write(status, "", "");
      e.redirect = (status, to) => write(status, "", "", [["Location", String(to)]]);
      e.written = () => !!e.__written;
      e.error = (status, message, errData) => { throw errorFor(status, message, errData); };
    }
    for (const key of ["password", "token", "authMethod", "type", "meta"]) if (key in data) e[key] = data[key];
    if (data.error) e.error = new Error(data.error);
    if (data.otp) e.otp = recordFrom(data.otp.collection, data.otp.record, true);
    if (data.kind === "collection") {
      Object.defineProperty(e, "__kind", { value: "collection" });
      const original = data.original ? new Collection(data.original) : null;
      e.collection.original = () => original;
    }
    if (data.message) e.message = new MailerMessage(data.message);
    if (data.realtimeClient) e.client = realtimeClientOf(data.realtimeClient);
    if (data.realtimeMessage) e.message = new SubscriptionMessage(data.realtimeMessage);
    if (data.extra) {
      Object.defineProperty(e, "__extra", { value: Object.keys(data.extra) });
      Object.assign(e, data.extra);
    }
    e.next = function () {
      const fresh = next(JSON.stringify(exportEvent(e)));
      refreshEvent(e, JSON.parse(fresh));
    };
    return e;
  }

  function exportEvent(e) {
    const out = {};
    if (e.record !== undefined) out.record = e.record ? e.record.__d : null;
    if (e.record && Object.keys(e.record.__hidden).length) out.hidden = e.record.__hidden;
    if (e.record && e.record.__custom) out.custom = true;
    if (e.records) out.records = e.records.map((r) => r.__d);
    for (const key of ["password", "token", "meta"]) if (key in e) out[key] = e[key];
    if (e.message) out.message = Object.assign({}, e.message);
    if (e.__written) out.written = e.__written;
    if (e.__extra) out.extra = Object.fromEntries(e.__extra.map((k) => [k, e[k]]));
    if (e.__kind === "collection") out.collection = JSON.parse(JSON.stringify(e.collection));
    return out;
  }

  function refreshEvent(e, data) {
    if (data.record && e.record) {
      e.record.__d = data.record;
      e.record.__orig = JSON.parse(JSON.stringify(data.record));
    }
    if (data.records && e.records) e.records = data.records.map((r) => recordFrom(e.collection, r, true));
    if (data.kind === "collection" && data.collection && e.collection) Object.assign(e.collection, new Collection(data.collection));
    for (const key of ["password", "token"]) if (key in data) e[key] = data[key];
  }

  // ---- route events (§9.4) ------------------------------------------------------------
  // The request event of routes and middlewares: state in two hidden fields, methods on the
  // prototype (one object per request, no closures).
  const responseHeaders = (r) => ({
    set: (k, v) => { r.headers = r.headers.filter(([n]) => n.toLowerCase() !== String(k).toLowerCase()); r.headers.push([String(k), String(v)]); },
    add: (k, v) => { r.headers.push([String(k), String(v)]); },
    get: (k) => { const h = r.headers.find(([n]) => n.toLowerCase() === String(k).toLowerCase()); return h ? h[1] : ""; },
    del: (k) => { r.headers = r.headers.filter(([n]) => n.toLowerCase() !== String(k).toLowerCase()); },
  });

  class RequestEvent {
    constructor(data) {
      Object.defineProperty(this, "__d", { value: data });
      Object.defineProperty(this, "__r", { value: { status: 0, headers: [], body: "", written: false } });
      Object.defineProperty(this, "__s", { value: new Map() });
      this.app = $app;
      this.auth = data.auth ? recordFrom(data.auth.collection, data.auth.record, true) : null;
      const r = this.__r;
      this.request = new Request(data);
      this.response = { header: () => responseHeaders(r) };
    }
    __write(status, type, body) {
      const r = this.__r;
      if (r.written) return;
      r.status = status;
      r.body = body;
      r.written = true;
      if (type && !r.headers.some(([k]) => k.toLowerCase() === "content-type")) r.headers.push(["Content-Type", type]);
    }
    requestInfo() {
      const d = this.__d;
      if (d.bodyError) throw new BadRequestError(d.bodyError);
      const auth = this.auth;
      return { query: d.query, headers: d.headerInfo, body: d.parsedBody, auth, method: d.method, context: "default",
        hasSuperuserAuth: () => !!(auth && auth.isSuperuser()) };
    }
    hasSuperuserAuth() { return !!(this.auth && this.auth.isSuperuser()); }
    realIP() { return this.__d.realIP; }
    remoteIP() { return this.__d.remoteIP; }
    isTLS() { return false; }
    json(status, value) { this.__write(status, "application/json", JSON.stringify(value === undefined ? null : value)); }
    string(status, text) { this.__write(status, "text/plain; charset=utf-8", String(text)); }
    html(status, text) { this.__write(status, "text/html; charset=utf-8", String(text)); }
    xml(status, text) { this.__write(status, "application/xml; charset=utf-8", String(text)); }
    blob(status, type, bytes) { this.__write(status, type, typeof bytes === "string" ? bytes : helpers.toString(bytes)); }
    noContent(status) { this.__write(status, "", ""); }
    redirect(status, to) { this.__r.headers.push(["Location", String(to)]); this.__write(status, "", ""); }
    error(status, message, errData) { throw errorFor(status, message, errData); }
    badRequestError(m, d) { return new BadRequestError(m, d); }
    notFoundError(m, d) { return new NotFoundError(m, d); }
    forbiddenError(m, d) { return new ForbiddenError(m, d); }
    unauthorizedError(m, d) { return new UnauthorizedError(m, d); }
    tooManyRequestsError(m, d) { return new TooManyRequestsError(m, d); }
    internalServerError(m, d) { return new InternalServerError(m, d); }
    bindBody(target) {
      const body = this.__d.parsedBody || {};
      const keys = Object.keys(target);
      for (const key of keys.length ? keys : Object.keys(body)) if (key in body) target[key] = body[key];
      return target;
    }
    setCookie(c) {
      let text = c.name + "=" + (c.value || "");
      if (c.path) text += "; Path=" + c.path;
      if (c.domain) text += "; Domain=" + c.domain;
      if (c.maxAge) text += "; Max-Age=" + c.maxAge;
      if (c.secure) text += "; Secure";
      if (c.httpOnly) text += "; HttpOnly";
      if (c.sameSite) text += "; SameSite=" + ({ 1: "Default", 2: "Lax", 3: "Strict", 4: "None" }[c.sameSite] || c.sameSite);
      this.__r.headers.push(["Set-Cookie", text]);
    }
    written() { return this.__r.written; }
    status() { return this.__r.status; }
    get(k) { return this.__s.get(k); }
    set(k, v) { this.__s.set(k, v); }
  }

  class Request {
    constructor(data) {
      Object.defineProperty(this, "__d", { value: data });
      this.method = data.method;
      this.host = data.host;
      this.remoteAddr = data.remoteIP;
      this.body = data.body;
      this.header = { get: (n) => { const v = data.headers[String(n).toLowerCase()]; return v ? v[0] : ""; },
        values: (n) => data.headers[String(n).toLowerCase()] || [] };
    }
    get url() { return new URLish(this.__d.url); }
    pathValue(name) { const v = this.__d.pathParams[name]; return v == null ? "" : v; }
  }

  class URLish {
    constructor(text) {
      this.raw = text;
      const q = text.indexOf("?");
      this.path = q < 0 ? text : text.slice(0, q);
      this.rawQuery = q < 0 ? "" : text.slice(q + 1);
    }
    query() {
      const params = {};
      for (const part of this.rawQuery.split("&")) {
        if (!part) continue;
        const [k, v] = part.split("=");
        const key = decodeURIComponent(k.replace(/\+/g, " "));
        (params[key] = params[key] || []).push(decodeURIComponent((v || "").replace(/\+/g, " ")));
      }
      return { get: (k) => (params[k] ? params[k][0] : ""), has: (k) => k in params, all: () => params };
    }
    string() { return this.raw; }
    toString() { return this.raw; }
  }

  // Runs `fns` as a middleware chain for event `e` (each gets e; e.next() runs the rest).
  function runChain(fns, e) {
    let i = 0;
    const next = () => {
      const fn = fns[i++];
      if (!fn) return undefined;
      return callHandler(fn, e);
    };
    e.next = next;
    return next();
  }

  // A handler may also *return* an error (PocketBase's Go handlers return theirs).
  function callHandler(fn, e) {
    const result = fn(e);
    if (result instanceof Error) throw result;
    return result;
  }

  // Once a response is written, a later error is only logged (PocketBase cannot take a
  // written response back either).
  function runRoute(fns, data) {
    const e = new RequestEvent(data);
    try {
      runChain(fns, e);
    } catch (err) {
      if (!e.__r.written) throw err;
      host.log("error", "error after the response was written: " + String(err && err.message || err), "[]");
    }
    return e.__r;
  }

  // ---- $apis middlewares --------------------------------------------------------------
  const $apis = {
    requireAuth: (...collections) => (e) => {
      if (!e.auth) throw new UnauthorizedError("The request requires valid record authorization token.");
      if (collections.length && !collections.includes(e.auth.collection().name) && !collections.includes(e.auth.collection().id)) {
        throw new ForbiddenError("The authorized record is not allowed to perform this action.");
      }
      return e.next();
    },
    requireSuperuserAuth: () => (e) => {
      if (!e.auth) throw new UnauthorizedError("The request requires valid record authorization token.");
      if (!e.auth.isSuperuser()) throw new ForbiddenError("The authorized record is not allowed to perform this action.");
      return e.next();
    },
    requireSuperuserOrOwnerAuth: (param) => (e) => {
      if (!e.auth) throw new UnauthorizedError("The request requires superuser or record authorization token.");
      if (e.auth.isSuperuser() || e.auth.id === e.request.pathValue(param || "id")) return e.next();
      throw new ForbiddenError("You are not allowed to perform this request.");
    },
    requireGuestOnly: () => (e) => {
      if (e.auth) throw new BadRequestError("The request can be accessed only by guests.");
      return e.next();
    },
    bodyLimit: () => (e) => e.next(),
    gzip: () => (e) => e.next(),
    skipSuccessActivityLog: () => (e) => e.next(),
  };

  // ---- require (CommonJS, a cache per runtime) ----------------------------------------
  const modules = new Map();
  // Modules built into Satchel (`require('pocketpages')`, src/pages): name → exports.
  // A PocketPages project's `pocketpages.pb.js` (`require('pocketpages')`) loads as is: the
  // pages runtime, when there are pages, fills in the module's exports.
  const builtinModules = new Map(["pocketpages", "pocketpages-plugin-ejs", "pocketpages-plugin-js-sdk",
    "pocketpages-plugin-auth", "pocketpages-plugin-micro-dash", "pocketpages-plugin-realtime"].map((name) => [name, {}]));
  function requireFrom(dir) {
    return function require(name) {
      if (builtinModules.has(name)) return builtinModules.get(name);
      const path = call("resolveModule", dir, String(name));
      if (modules.has(path)) return modules.get(path).exports;
      const module = { exports: {} };
      modules.set(path, module);
      if (path.endsWith(".json")) {
        module.exports = JSON.parse(helpers.toString($os.readFile(path)));
        return module.exports;
      }
      const factory = host.compileModule(path);
      const dirname = path.replace(/\/[^/]*$/, "") || "/";
      factory.call(module.exports, module, module.exports, requireFrom(dirname), path, dirname);
      return module.exports;
    };
  }

  // ---- Go namespaces (src/js/natives) -------------------------------------------------
  const native = (name, ...args) => call("native", name, args);
  const bind = (family, names) => Object.fromEntries(names.map((n) => [n, (...a) => native(family + "." + n, ...a)]));
  const $security = bind("security", ["md5", "sha256", "sha512", "hs256", "hs512", "equal", "randomString",
    "pseudorandomString", "randomStringWithAlphabet", "pseudorandomStringWithAlphabet", "randomStringByRegex",
    "parseUnverifiedJWT", "parseJWT", "createJWT", "encrypt", "decrypt"]);
  const $filepath = bind("filepath", ["base", "clean", "dir", "ext", "fromSlash", "toSlash", "isAbs", "join",
    "split", "splitList", "rel", "match", "glob"]);
  $filepath.walk = (root, fn) => host.walk(false, String(root), fn);
  $filepath.walkDir = (root, fn) => host.walk(true, String(root), fn);
  $filepath.skipDir = "__satchel_skip_dir__";
  $filepath.skipAll = "__satchel_skip_all__";
  const $os = bind("os", ["getenv", "args", "getwd", "tempDir", "readFile", "writeFile", "readDir", "stat",
    "lstat", "mkdir", "mkdirAll", "remove", "removeAll", "rename", "truncate"]);
  $os.tempDir = () => native("os.tempDir");
  // $os.cmd(name, ...args) → a command to configure (dir, env, stdin, timeout in ms) and run.
  $os.cmd = (name, ...args) => {
    const cmd = { dir: "", env: null, stdin: null, timeout: 30000 };
    const exec = (mode) => native("os.exec", { name: String(name), args: args.map(String), dir: cmd.dir,
      env: cmd.env, stdin: cmd.stdin, timeout: cmd.timeout, mode });
    cmd.output = () => exec("output");
    cmd.combinedOutput = () => exec("combinedOutput");
    cmd.run = () => { exec("run"); };
    cmd.string = () => [name, ...args].join(" ");
    return cmd;
  };
  $os.exec = $os.cmd;
  const $http = { send: (options) => native("http.send", options || {}) };
  const $template = {
    loadFiles: (...paths) => ({ render: (data) => call("template", "files", paths.map(String), data === undefined ? null : data) }),
    loadString: (...texts) => ({ render: (data) => call("template", "string", texts.map(String), data === undefined ? null : data) }),
  };
  // $mails.sendRecord…(app, record, ...): the collection's template, through its mailer hook.
  const $mails = Object.fromEntries(["sendRecordVerification", "sendRecordPasswordReset", "sendRecordChangeEmail",
    "sendRecordOTP", "sendRecordAuthAlert"].map((name) => [name, (app, record, ...rest) => {
    call("mail", name, record.__c.id, record.__d, ...rest.map((v) => (v instanceof Record ? v.id : v)));
  }]));
  const process = {
    env: new Proxy({}, { get: (_, key) => (typeof key === "string" ? native("os.getenv", key) || undefined : undefined) }),
    argv: [],
  };

  // ---- helpers ------------------------------------------------------------------------
  const helpers = {
    sleep: (ms) => { host.sleep(Number(ms) || 0); },
    toString: (v) => (typeof v === "string" ? v : Array.isArray(v) ? call("bytesToString", v) : v == null ? "" : JSON.stringify(v)),
    readerToString: (v) => helpers.toString(v),
    toBytes: (v) => Array.from(String(v), (c) => c.charCodeAt(0) & 0xff),
    arrayOf: (model) => [],
    unmarshal: (data, target) => Object.assign(target, typeof data === "string" ? JSON.parse(data) : data),
    cronAdd: (id, expr, fn) => { host.cronAdd(String(id), String(expr), String(fn)); },
    cronRemove: (id) => { host.cronRemove(String(id)); },
  };

  Object.assign(globalThis, helpers, {
    ApiError, BadRequestError, NotFoundError, ForbiddenError, UnauthorizedError, TooManyRequestsError,
    InternalServerError, ValidationError, Middleware, Field, Record, Collection, DynamicModel, DateTime, MailerMessage,
    SubscriptionMessage,
    $apis, $dbx, $security, $filepath, $os, $http, $mails, $template, process, console, __hooks: host.hooksDir,
    require: requireFrom(host.hooksDir),
  });
  for (const [name, type] of Object.entries(fieldTypes)) globalThis[name] = fieldClass(type);
  Object.defineProperty(globalThis, "$app", { value: makeApp(0), writable: true, configurable: true });
  // Internal entry points for the host (not part of PocketBase's API).
  Object.defineProperty(globalThis, "__satchel", {
    value: { wrapEvent, exportEvent, describeError, errorFor, runRoute, makeApp, requireFrom, callHandler, builtinModules },
  });
})(globalThis);
