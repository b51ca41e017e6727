// The `pb()` client of PocketPages' js-sdk plugin: a synchronous port of the official
// PocketBase JS SDK (pocketbase 0.26-0.28, `dist/pocketbase.es.mjs`) for the QuickJS workers.
//
// This file is ONE function expression. It receives `send(req)`, a synchronous host function
// taking `{ method, path, headers, body }` (path = "/api/...?query", body = JSON text or "")
// and returning `{ status, body }`; it returns `{ PocketBase, ClientResponseError, ... }`.
//
// Differences from the SDK, all forced by the environment:
// - every method returns its result directly instead of a Promise (`await` still works);
// - request bodies are JSON only: File/Blob/FormData values throw an Error;
// - there is no realtime (subscribe / the realtime form of authWithOAuth2 throw), no
//   auto-cancellation (`requestKey`, `$autoCancel`, `$cancelKey` are accepted and ignored)
//   and no superuser `autoRefreshThreshold` auto refresh;
// - the base URL is always "" (requests and file URLs are path-only, "/api/...");
// - the auth store is an in-memory BaseAuthStore (no localStorage);
// - a successful response whose non-empty body is not JSON is returned as the raw text
//   (the SDK returns `{}`); an empty body gives `{}` as in the SDK.
(function (send) {
  "use strict";

  // The jsvm fork PocketPages bundles (0.25) says this when the answer has no message (§6).
  const FALLBACK_MESSAGE = "Something went wrong while processing your request.";

  // ------------------------------------------------------------------ errors

  class ClientResponseError extends Error {
    constructor(errData) {
      super("ClientResponseError");
      this.url = "";
      this.status = 0;
      this.response = {};
      this.isAbort = false;
      this.originalError = null;

      if (errData !== null && typeof errData === "object") {
        this.originalError = errData.originalError;
        this.url = typeof errData.url === "string" ? errData.url : "";
        this.status = typeof errData.status === "number" ? errData.status : 0;
        this.isAbort =
          !!errData.isAbort || errData.name === "AbortError" || errData.message === "Aborted";

        if (errData.response !== null && typeof errData.response === "object") {
          this.response = errData.response;
        } else if (errData.data !== null && typeof errData.data === "object") {
          this.response = errData.data;
        } else {
          this.response = {};
        }
      }

      if (!this.originalError && !(errData instanceof ClientResponseError)) {
        this.originalError = errData;
      }

      this.name = "ClientResponseError " + this.status;
      this.message = this.response && this.response.message;
      if (!this.message) {
        if (this.isAbort) {
          this.message = "The request was aborted.";
        } else {
          this.message = FALLBACK_MESSAGE;
        }
      }

      this.cause = this.originalError;
    }

    // Alias of `response` (backward compatibility, as in the SDK).
    get data() {
      return this.response;
    }

    toJSON() {
      return Object.assign({}, this);
    }
  }

  // ------------------------------------------------------------------ jwt

  const B64_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

  // Decodes base64 or base64url into a "binary string" (one char per byte).
  function base64Decode(input) {
    const str = String(input).replace(/-/g, "+").replace(/_/g, "/").replace(/=+$/, "");
    if (str.length % 4 === 1) {
      throw new Error("invalid base64 string");
    }
    let out = "";
    let acc = 0;
    let bits = 0;
    for (let i = 0; i < str.length; i++) {
      const v = B64_CHARS.indexOf(str[i]);
      if (v < 0) {
        throw new Error("invalid base64 character");
      }
      acc = (acc << 6) | v;
      bits += 6;
      if (bits >= 8) {
        bits -= 8;
        out += String.fromCharCode((acc >> bits) & 0xff);
        acc &= (1 << bits) - 1;
      }
    }
    return out;
  }

  // Returns the JWT payload ({} when the token is empty or malformed).
  function getTokenPayload(token) {
    if (token) {
      try {
        const binary = base64Decode(String(token).split(".")[1]);
        let escaped = "";
        for (let i = 0; i < binary.length; i++) {
          escaped += "%" + ("00" + binary.charCodeAt(i).toString(16)).slice(-2);
        }
        return JSON.parse(decodeURIComponent(escaped)) || {};
      } catch (_) {}
    }
    return {};
  }

  // Tokens without `exp` are valid; tokens with an empty/invalid payload are expired.
  function isTokenExpired(token, expirationThreshold = 0) {
    const payload = getTokenPayload(token);
    if (
      Object.keys(payload).length > 0 &&
      (!payload.exp || payload.exp - expirationThreshold > Date.now() / 1000)
    ) {
      return false;
    }
    return true;
  }

  // ------------------------------------------------------------------ cookies

  const fieldContentRegExp = /^[\u0009\u0020-\u007e\u0080-\u00ff]+$/;

  function cookieParse(str, options) {
    const result = {};
    if (typeof str !== "string") {
      return result;
    }
    const decode =
      (options && options.decode) ||
      ((val) => (val.indexOf("%") !== -1 ? decodeURIComponent(val) : val));

    let index = 0;
    while (index < str.length) {
      const eqIdx = str.indexOf("=", index);
      if (eqIdx === -1) {
        break;
      }
      let endIdx = str.indexOf(";", index);
      if (endIdx === -1) {
        endIdx = str.length;
      } else if (endIdx < eqIdx) {
        index = str.lastIndexOf(";", eqIdx - 1) + 1;
        continue;
      }
      const key = str.slice(index, eqIdx).trim();
      if (undefined === result[key]) {
        let val = str.slice(eqIdx + 1, endIdx).trim();
        if (val.charCodeAt(0) === 0x22) {
          val = val.slice(1, -1);
        }
        try {
          result[key] = decode(val);
        } catch (_) {
          result[key] = val;
        }
      }
      index = endIdx + 1;
    }
    return result;
  }

  function cookieSerialize(name, val, options) {
    const opt = Object.assign({}, options || {});
    const encode = opt.encode || encodeURIComponent;

    if (!fieldContentRegExp.test(name)) {
      throw new TypeError("argument name is invalid");
    }
    const value = encode(val);
    if (value && !fieldContentRegExp.test(value)) {
      throw new TypeError("argument val is invalid");
    }

    let result = name + "=" + value;

    if (opt.maxAge != null) {
      const maxAge = opt.maxAge - 0;
      if (isNaN(maxAge) || !isFinite(maxAge)) {
        throw new TypeError("option maxAge is invalid");
      }
      result += "; Max-Age=" + Math.floor(maxAge);
    }
    if (opt.domain) {
      if (!fieldContentRegExp.test(opt.domain)) {
        throw new TypeError("option domain is invalid");
      }
      result += "; Domain=" + opt.domain;
    }
    if (opt.path) {
      if (!fieldContentRegExp.test(opt.path)) {
        throw new TypeError("option path is invalid");
      }
      result += "; Path=" + opt.path;
    }
    if (opt.expires) {
      const isDate =
        Object.prototype.toString.call(opt.expires) === "[object Date]" ||
        opt.expires instanceof Date;
      if (!isDate || isNaN(opt.expires.valueOf())) {
        throw new TypeError("option expires is invalid");
      }
      result += "; Expires=" + opt.expires.toUTCString();
    }
    if (opt.httpOnly) {
      result += "; HttpOnly";
    }
    if (opt.secure) {
      result += "; Secure";
    }
    if (opt.priority) {
      const priority =
        typeof opt.priority === "string" ? opt.priority.toLowerCase() : opt.priority;
      switch (priority) {
        case "low":
          result += "; Priority=Low";
          break;
        case "medium":
          result += "; Priority=Medium";
          break;
        case "high":
          result += "; Priority=High";
          break;
        default:
          throw new TypeError("option priority is invalid");
      }
    }
    if (opt.sameSite) {
      const sameSite =
        typeof opt.sameSite === "string" ? opt.sameSite.toLowerCase() : opt.sameSite;
      switch (sameSite) {
        case true:
          result += "; SameSite=Strict";
          break;
        case "lax":
          result += "; SameSite=Lax";
          break;
        case "strict":
          result += "; SameSite=Strict";
          break;
        case "none":
          result += "; SameSite=None";
          break;
        default:
          throw new TypeError("option sameSite is invalid");
      }
    }
    return result;
  }

  // ------------------------------------------------------------------ auth store

  const DEFAULT_COOKIE_KEY = "pb_auth";

  class BaseAuthStore {
    constructor() {
      this.baseToken = "";
      this.baseModel = null;
      this._onChangeCallbacks = [];
    }

    get token() {
      return this.baseToken;
    }

    get record() {
      return this.baseModel;
    }

    // deprecated alias of `record`
    get model() {
      return this.baseModel;
    }

    get isValid() {
      return !isTokenExpired(this.token);
    }

    get isSuperuser() {
      const payload = getTokenPayload(this.token);
      const record = this.record;
      return (
        payload.type == "auth" &&
        ((record && record.collectionName == "_superusers") ||
          (!(record && record.collectionName) && payload.collectionId == "pbc_3142635823"))
      );
    }

    // deprecated
    get isAdmin() {
      return this.isSuperuser;
    }

    // deprecated
    get isAuthRecord() {
      return getTokenPayload(this.token).type == "auth" && !this.isSuperuser;
    }

    save(token, record) {
      this.baseToken = token || "";
      this.baseModel = record || null;
      this.triggerChange();
    }

    clear() {
      this.baseToken = "";
      this.baseModel = null;
      this.triggerChange();
    }

    loadFromCookie(cookie, key = DEFAULT_COOKIE_KEY) {
      const rawData = cookieParse(cookie || "")[key] || "";
      let data = {};
      try {
        data = JSON.parse(rawData);
        if (data === null || typeof data !== "object" || Array.isArray(data)) {
          data = {};
        }
      } catch (_) {}
      this.save(data.token || "", data.record || data.model || null);
    }

    exportToCookie(options, key = DEFAULT_COOKIE_KEY) {
      const defaultOptions = { secure: true, sameSite: true, httpOnly: true, path: "/" };
      const payload = getTokenPayload(this.token);
      if (payload && payload.exp) {
        defaultOptions.expires = new Date(payload.exp * 1000);
      } else {
        defaultOptions.expires = new Date("1970-01-01");
      }
      options = Object.assign({}, defaultOptions, options);

      const rawData = {
        token: this.token,
        record: this.record ? JSON.parse(JSON.stringify(this.record)) : null,
      };
      let result = cookieSerialize(key, JSON.stringify(rawData), options);

      if (rawData.record && utf8Length(result) > 4096) {
        rawData.record = { id: rawData.record.id, email: rawData.record.email };
        const extraProps = ["collectionId", "collectionName", "verified"];
        for (const prop in this.record) {
          if (extraProps.includes(prop)) {
            rawData.record[prop] = this.record[prop];
          }
        }
        result = cookieSerialize(key, JSON.stringify(rawData), options);
      }
      return result;
    }

    onChange(callback, fireImmediately = false) {
      this._onChangeCallbacks.push(callback);
      if (fireImmediately) {
        callback(this.token, this.record);
      }
      return () => {
        for (let i = this._onChangeCallbacks.length - 1; i >= 0; i--) {
          if (this._onChangeCallbacks[i] == callback) {
            this._onChangeCallbacks.splice(i, 1);
            return;
          }
        }
      };
    }

    triggerChange() {
      for (const callback of this._onChangeCallbacks.slice()) {
        callback && callback(this.token, this.record);
      }
    }
  }

  function utf8Length(str) {
    let n = 0;
    for (let i = 0; i < str.length; i++) {
      const c = str.charCodeAt(i);
      if (c < 0x80) {
        n += 1;
      } else if (c < 0x800) {
        n += 2;
      } else if (c >= 0xd800 && c <= 0xdbff && i + 1 < str.length) {
        n += 4;
        i++;
      } else {
        n += 3;
      }
    }
    return n;
  }

  // ------------------------------------------------------------------ options & bodies

  // Known send option keys; every other top-level option becomes a query parameter.
  const KNOWN_SEND_OPTIONS = [
    "requestKey",
    "$cancelKey",
    "$autoCancel",
    "fetch",
    "headers",
    "body",
    "query",
    "params",
    "cache",
    "credentials",
    "integrity",
    "keepalive",
    "method",
    "mode",
    "redirect",
    "referrer",
    "referrerPolicy",
    "signal",
    "window",
  ];

  // Moves unknown send options (expand, fields, filter, sort, ...) into `options.query`.
  function normalizeUnknownQueryParams(options) {
    if (!options) {
      return;
    }
    options.query = Object.assign({}, options.query);
    for (const key in options) {
      if (KNOWN_SEND_OPTIONS.includes(key)) {
        continue;
      }
      options.query[key] = options[key];
      delete options[key];
    }
  }

  function prepareQueryParamValue(value) {
    if (value === null || typeof value === "undefined") {
      return null;
    }
    if (value instanceof Date) {
      return encodeURIComponent(value.toISOString().replace("T", " "));
    }
    if (typeof value === "object") {
      return encodeURIComponent(JSON.stringify(value));
    }
    return encodeURIComponent(value);
  }

  function serializeQueryParams(params) {
    const result = [];
    for (const key in params) {
      const encodedKey = encodeURIComponent(key);
      const arrValue = Array.isArray(params[key]) ? params[key] : [params[key]];
      for (let v of arrValue) {
        v = prepareQueryParamValue(v);
        if (v === null) {
          continue;
        }
        result.push(encodedKey + "=" + v);
      }
    }
    return result.join("&");
  }

  function constructorName(val) {
    try {
      return (val && val.constructor && val.constructor.name) || "";
    } catch (_) {
      return "";
    }
  }

  // File-like values: Blob/File (when defined), objects named so, and PocketBase JSVM
  // `$filesystem` files (objects with `originalName` and `reader`).
  function isFile(val) {
    if (val === null || typeof val !== "object") {
      return false;
    }
    if (typeof Blob === "function" && val instanceof Blob) {
      return true;
    }
    if (typeof File === "function" && val instanceof File) {
      return true;
    }
    const name = constructorName(val);
    if (name === "Blob" || name === "File") {
      return true;
    }
    return typeof val.originalName === "string" && val.reader != null;
  }

  function isFormData(body) {
    return (
      !!body &&
      (constructorName(body) === "FormData" ||
        (typeof FormData !== "undefined" && body instanceof FormData))
    );
  }

  function hasFileField(body) {
    for (const key in body) {
      const values = Array.isArray(body[key]) ? body[key] : [body[key]];
      for (const v of values) {
        if (isFile(v)) {
          return true;
        }
      }
    }
    return false;
  }

  function filesNotSupported() {
    return new Error(
      "pb(): file uploads (File/Blob/FormData bodies) are not supported by pb() yet; " +
        "send JSON-only bodies",
    );
  }

  function assertJSONBody(body) {
    if (body === null || typeof body !== "object") {
      return;
    }
    if (isFormData(body) || isFile(body) || hasFileField(body)) {
      throw filesNotSupported();
    }
  }

  function getHeader(headers, name) {
    headers = headers || {};
    name = name.toLowerCase();
    for (const key in headers) {
      if (key.toLowerCase() == name) {
        return headers[key];
      }
    }
    return null;
  }

  // Legacy `(body?, query?)` method arguments, as in the SDK's tools/legacy.ts.
  function normalizeLegacyOptionsArgs(baseOptions, bodyOrOptions, query) {
    const hasBodyOrOptions = typeof bodyOrOptions !== "undefined";
    const hasQuery = typeof query !== "undefined";
    if (!hasQuery && !hasBodyOrOptions) {
      return baseOptions;
    }
    if (hasQuery) {
      baseOptions.body = Object.assign({}, baseOptions.body, bodyOrOptions);
      baseOptions.query = Object.assign({}, baseOptions.query, query);
      return baseOptions;
    }
    return Object.assign(baseOptions, bodyOrOptions);
  }

  function joinPath(base, path) {
    let url = base || "";
    if (path) {
      url += url.endsWith("/") ? "" : "/";
      url += path.startsWith("/") ? path.substring(1) : path;
    }
    return url;
  }

  function escapeRegExp(str) {
    return str.replace(/[/\-\\^$*+?.()|[\]{}]/g, "\\$&");
  }

  // ------------------------------------------------------------------ services

  class BaseService {
    constructor(client) {
      this.client = client;
    }
  }

  class CrudService extends BaseService {
    get baseCrudPath() {
      return "";
    }

    decode(data) {
      return data;
    }

    getFullList(batchOrqueryParams, options) {
      if (typeof batchOrqueryParams == "number") {
        return this._getFullList(batchOrqueryParams, options);
      }
      options = Object.assign({}, batchOrqueryParams, options);
      let batch = 1000;
      if (options.batch) {
        batch = options.batch;
        delete options.batch;
      }
      return this._getFullList(batch, options);
    }

    getList(page = 1, perPage = 30, options) {
      options = Object.assign({ method: "GET" }, options);
      options.query = Object.assign({ page: page, perPage: perPage }, options.query);

      const responseData = this.client.send(this.baseCrudPath, options);
      if (responseData !== null && typeof responseData === "object") {
        responseData.items =
          (Array.isArray(responseData.items) &&
            responseData.items.map((item) => this.decode(item))) ||
          [];
      }
      return responseData;
    }

    getFirstListItem(filter, options) {
      options = Object.assign(
        { requestKey: "one_by_filter_" + this.baseCrudPath + "_" + filter },
        options,
      );
      options.query = Object.assign({ filter: filter, skipTotal: 1 }, options.query);

      const result = this.getList(1, 1, options);
      if (!(result && result.items && result.items.length)) {
        throw new ClientResponseError({
          status: 404,
          response: {
            code: 404,
            message: "The requested resource wasn't found.",
            data: {},
          },
        });
      }
      return result.items[0];
    }

    getOne(id, options) {
      if (!id) {
        throw new ClientResponseError({
          url: this.client.buildURL(this.baseCrudPath + "/"),
          status: 404,
          response: {
            code: 404,
            message: "Missing required record id.",
            data: {},
          },
        });
      }
      options = Object.assign({ method: "GET" }, options);
      return this.decode(
        this.client.send(this.baseCrudPath + "/" + encodeURIComponent(id), options),
      );
    }

    create(bodyParams, options) {
      options = Object.assign({ method: "POST", body: bodyParams }, options);
      return this.decode(this.client.send(this.baseCrudPath, options));
    }

    update(id, bodyParams, options) {
      options = Object.assign({ method: "PATCH", body: bodyParams }, options);
      return this.decode(
        this.client.send(this.baseCrudPath + "/" + encodeURIComponent(id), options),
      );
    }

    delete(id, options) {
      options = Object.assign({ method: "DELETE" }, options);
      this.client.send(this.baseCrudPath + "/" + encodeURIComponent(id), options);
      return true;
    }

    _getFullList(batchSize = 1000, options) {
      options = options || {};
      options.query = Object.assign({ skipTotal: 1 }, options.query);

      let result = [];
      for (let page = 1; ; page++) {
        const list = this.getList(page, batchSize || 1000, options);
        const items = (list && list.items) || [];
        result = result.concat(items);
        if (!(items.length == list.perPage)) {
          return result;
        }
      }
    }
  }

  class RecordService extends CrudService {
    constructor(client, collectionIdOrName) {
      super(client);
      this.collectionIdOrName = collectionIdOrName;
    }

    get baseCrudPath() {
      return this.baseCollectionPath + "/records";
    }

    get baseCollectionPath() {
      return "/api/collections/" + encodeURIComponent(this.collectionIdOrName);
    }

    get isSuperusers() {
      return (
        this.collectionIdOrName == "_superusers" ||
        this.collectionIdOrName == "_pbc_2773867675"
      );
    }

    // --- realtime (not available) ---

    subscribe() {
      throw new Error("pb(): realtime subscriptions are not supported");
    }

    unsubscribe() {}

    // --- crud ---

    getFullList(batchOrOptions, options) {
      if (typeof batchOrOptions == "number") {
        return super.getFullList(batchOrOptions, options);
      }
      return super.getFullList(Object.assign({}, batchOrOptions, options));
    }

    _isAuthRecord(id) {
      const record = this.client.authStore.record;
      return (
        !!record &&
        record.id === id &&
        (record.collectionId === this.collectionIdOrName ||
          record.collectionName === this.collectionIdOrName)
      );
    }

    update(id, bodyParams, options) {
      const item = super.update(id, bodyParams, options);
      if (this._isAuthRecord(item && item.id)) {
        const current = this.client.authStore.record;
        const authExpand = Object.assign({}, current.expand);
        const authRecord = Object.assign({}, current, item);
        authRecord.expand = Object.assign(authExpand, item.expand);
        this.client.authStore.save(this.client.authStore.token, authRecord);
      }
      return item;
    }

    delete(id, options) {
      const success = super.delete(id, options);
      if (success && this._isAuthRecord(id)) {
        this.client.authStore.clear();
      }
      return success;
    }

    // --- auth ---

    authResponse(responseData) {
      const record = this.decode((responseData && responseData.record) || {});
      this.client.authStore.save(responseData && responseData.token, record);
      return Object.assign({}, responseData, {
        token: (responseData && responseData.token) || "",
        record: record,
      });
    }

    listAuthMethods(options) {
      options = Object.assign({ method: "GET", fields: "mfa,otp,password,oauth2" }, options);
      return this.client.send(this.baseCollectionPath + "/auth-methods", options);
    }

    authWithPassword(usernameOrEmail, password, options) {
      options = Object.assign(
        { method: "POST", body: { identity: usernameOrEmail, password: password } },
        options,
      );
      if (this.isSuperusers) {
        // no auto refresh in pb(): the threshold is dropped as the SDK does
        delete options.autoRefreshThreshold;
        delete options.autoRefresh;
      }
      return this.authResponse(
        this.client.send(this.baseCollectionPath + "/auth-with-password", options),
      );
    }

    authWithOAuth2Code(provider, code, codeVerifier, redirectURL, createData, bodyOrOptions, query) {
      let options = {
        method: "POST",
        body: {
          provider: provider,
          code: code,
          codeVerifier: codeVerifier,
          redirectURL: redirectURL,
          createData: createData,
        },
      };
      options = normalizeLegacyOptionsArgs(options, bodyOrOptions, query);
      return this.authResponse(
        this.client.send(this.baseCollectionPath + "/auth-with-oauth2", options),
      );
    }

    authWithOAuth2(...args) {
      if (args.length > 1 || typeof args[0] === "string") {
        return this.authWithOAuth2Code(
          args[0] || "",
          args[1] || "",
          args[2] || "",
          args[3] || "",
          args[4] || {},
          args[5] || {},
          args[6] || {},
        );
      }
      throw new ClientResponseError(
        new Error(
          "pb(): the realtime/popup form of authWithOAuth2() is not supported; use authWithOAuth2Code()",
        ),
      );
    }

    authRefresh(bodyOrOptions, query) {
      const options = normalizeLegacyOptionsArgs({ method: "POST" }, bodyOrOptions, query);
      return this.authResponse(
        this.client.send(this.baseCollectionPath + "/auth-refresh", options),
      );
    }

    requestPasswordReset(email, bodyOrOptions, query) {
      const options = normalizeLegacyOptionsArgs(
        { method: "POST", body: { email: email } },
        bodyOrOptions,
        query,
      );
      this.client.send(this.baseCollectionPath + "/request-password-reset", options);
      return true;
    }

    confirmPasswordReset(passwordResetToken, password, passwordConfirm, bodyOrOptions, query) {
      const options = normalizeLegacyOptionsArgs(
        {
          method: "POST",
          body: {
            token: passwordResetToken,
            password: password,
            passwordConfirm: passwordConfirm,
          },
        },
        bodyOrOptions,
        query,
      );
      this.client.send(this.baseCollectionPath + "/confirm-password-reset", options);
      return true;
    }

    requestVerification(email, bodyOrOptions, query) {
      const options = normalizeLegacyOptionsArgs(
        { method: "POST", body: { email: email } },
        bodyOrOptions,
        query,
      );
      this.client.send(this.baseCollectionPath + "/request-verification", options);
      return true;
    }

    confirmVerification(verificationToken, bodyOrOptions, query) {
      const options = normalizeLegacyOptionsArgs(
        { method: "POST", body: { token: verificationToken } },
        bodyOrOptions,
        query,
      );
      this.client.send(this.baseCollectionPath + "/confirm-verification", options);

      const payload = getTokenPayload(verificationToken);
      const model = this.client.authStore.record;
      if (
        model &&
        !model.verified &&
        model.id === payload.id &&
        model.collectionId === payload.collectionId
      ) {
        model.verified = true;
        this.client.authStore.save(this.client.authStore.token, model);
      }
      return true;
    }

    requestEmailChange(newEmail, bodyOrOptions, query) {
      const options = normalizeLegacyOptionsArgs(
        { method: "POST", body: { newEmail: newEmail } },
        bodyOrOptions,
        query,
      );
      this.client.send(this.baseCollectionPath + "/request-email-change", options);
      return true;
    }

    confirmEmailChange(emailChangeToken, password, bodyOrOptions, query) {
      const options = normalizeLegacyOptionsArgs(
        { method: "POST", body: { token: emailChangeToken, password: password } },
        bodyOrOptions,
        query,
      );
      this.client.send(this.baseCollectionPath + "/confirm-email-change", options);

      const payload = getTokenPayload(emailChangeToken);
      const model = this.client.authStore.record;
      if (model && model.id === payload.id && model.collectionId === payload.collectionId) {
        this.client.authStore.clear();
      }
      return true;
    }

    // deprecated: use collection("_externalAuths")
    listExternalAuths(recordId, options) {
      return this.client.collection("_externalAuths").getFullList(
        Object.assign({}, options, {
          filter: this.client.filter("recordRef = {:id}", { id: recordId }),
        }),
      );
    }

    // deprecated: use collection("_externalAuths")
    unlinkExternalAuth(recordId, provider, options) {
      const ea = this.client
        .collection("_externalAuths")
        .getFirstListItem(
          this.client.filter("recordRef = {:recordId} && provider = {:provider}", {
            recordId: recordId,
            provider: provider,
          }),
        );
      this.client.collection("_externalAuths").delete(ea.id, options);
      return true;
    }

    requestOTP(email, options) {
      options = Object.assign({ method: "POST", body: { email: email } }, options);
      return this.client.send(this.baseCollectionPath + "/request-otp", options);
    }

    authWithOTP(otpId, password, options) {
      options = Object.assign(
        { method: "POST", body: { otpId: otpId, password: password } },
        options,
      );
      return this.authResponse(
        this.client.send(this.baseCollectionPath + "/auth-with-otp", options),
      );
    }

    // Returns a new client holding the impersonated auth state in a memory store.
    impersonate(recordId, duration, options) {
      options = Object.assign({ method: "POST", body: { duration: duration } }, options);
      options.headers = Object.assign({}, options.headers);
      if (!options.headers.Authorization) {
        options.headers.Authorization = this.client.authStore.token;
      }

      const client = new PocketBase(this.client.baseURL, new BaseAuthStore(), this.client.lang);
      const authData = client.send(
        this.baseCollectionPath + "/impersonate/" + encodeURIComponent(recordId),
        options,
      );
      client.authStore.save(
        authData && authData.token,
        this.decode((authData && authData.record) || {}),
      );
      return client;
    }
  }

  class CollectionService extends CrudService {
    get baseCrudPath() {
      return "/api/collections";
    }

    import(collections, deleteMissing = false, options) {
      options = Object.assign(
        {
          method: "PUT",
          body: { collections: collections, deleteMissing: deleteMissing },
        },
        options,
      );
      this.client.send(this.baseCrudPath + "/import", options);
      return true;
    }

    truncate(collectionIdOrName, options) {
      options = Object.assign({ method: "DELETE" }, options);
      this.client.send(
        this.baseCrudPath + "/" + encodeURIComponent(collectionIdOrName) + "/truncate",
        options,
      );
      return true;
    }

    getScaffolds(options) {
      options = Object.assign({ method: "GET" }, options);
      return this.client.send(this.baseCrudPath + "/meta/scaffolds", options);
    }

    getAllOAuth2Providers(options) {
      options = Object.assign({ method: "GET" }, options);
      return this.client.send(this.baseCrudPath + "/meta/oauth2-providers", options);
    }

    dryRunViewQuery(query, options) {
      options = Object.assign({ method: "POST", body: { query: query } }, options);
      return this.client.send(this.baseCrudPath + "/meta/dry-run-view", options);
    }
  }

  class SettingsService extends BaseService {
    getAll(options) {
      options = Object.assign({ method: "GET" }, options);
      return this.client.send("/api/settings", options);
    }

    update(bodyParams, options) {
      options = Object.assign({ method: "PATCH", body: bodyParams }, options);
      return this.client.send("/api/settings", options);
    }

    testS3(filesystem = "storage", options) {
      options = Object.assign({ method: "POST", body: { filesystem: filesystem } }, options);
      this.client.send("/api/settings/test/s3", options);
      return true;
    }

    testEmail(collectionIdOrName, toEmail, emailTemplate, options) {
      options = Object.assign(
        {
          method: "POST",
          body: { email: toEmail, template: emailTemplate, collection: collectionIdOrName },
        },
        options,
      );
      this.client.send("/api/settings/test/email", options);
      return true;
    }

    generateAppleClientSecret(clientId, teamId, keyId, privateKey, duration, options) {
      options = Object.assign(
        {
          method: "POST",
          body: {
            clientId: clientId,
            teamId: teamId,
            keyId: keyId,
            privateKey: privateKey,
            duration: duration,
          },
        },
        options,
      );
      return this.client.send("/api/settings/apple/generate-client-secret", options);
    }
  }

  class LogService extends BaseService {
    getList(page = 1, perPage = 30, options) {
      options = Object.assign({ method: "GET" }, options);
      options.query = Object.assign({ page: page, perPage: perPage }, options.query);
      return this.client.send("/api/logs", options);
    }

    getOne(id, options) {
      if (!id) {
        throw new ClientResponseError({
          url: this.client.buildURL("/api/logs/"),
          status: 404,
          response: { code: 404, message: "Missing required log id.", data: {} },
        });
      }
      options = Object.assign({ method: "GET" }, options);
      return this.client.send("/api/logs/" + encodeURIComponent(id), options);
    }

    getStats(options) {
      options = Object.assign({ method: "GET" }, options);
      return this.client.send("/api/logs/stats", options);
    }

    truncate(options) {
      options = Object.assign({ method: "DELETE" }, options);
      this.client.send("/api/logs", options);
      return true;
    }
  }

  class HealthService extends BaseService {
    check(options) {
      options = Object.assign({ method: "GET" }, options);
      return this.client.send("/api/health", options);
    }
  }

  class FileService extends BaseService {
    // deprecated alias of getURL
    getUrl(record, filename, queryParams = {}) {
      return this.getURL(record, filename, queryParams);
    }

    getURL(record, filename, queryParams = {}) {
      if (
        !filename ||
        !(record && record.id) ||
        !(record && (record.collectionId || record.collectionName))
      ) {
        return "";
      }
      const parts = [];
      parts.push("api");
      parts.push("files");
      parts.push(encodeURIComponent(record.collectionId || record.collectionName));
      parts.push(encodeURIComponent(record.id));
      parts.push(encodeURIComponent(filename));

      let result = this.client.buildURL(parts.join("/"));

      queryParams = Object.assign({}, queryParams);
      if (queryParams.download === false) {
        delete queryParams.download;
      }
      const params = serializeQueryParams(queryParams);
      if (params) {
        result += (result.includes("?") ? "&" : "?") + params;
      }
      return result;
    }

    getToken(options) {
      options = Object.assign({ method: "POST" }, options);
      const data = this.client.send("/api/files/token", options);
      return (data && data.token) || "";
    }
  }

  class BackupService extends BaseService {
    getFullList(options) {
      options = Object.assign({ method: "GET" }, options);
      return this.client.send("/api/backups", options);
    }

    create(basename, options) {
      options = Object.assign({ method: "POST", body: { name: basename } }, options);
      this.client.send("/api/backups", options);
      return true;
    }

    upload() {
      throw filesNotSupported();
    }

    delete(key, options) {
      options = Object.assign({ method: "DELETE" }, options);
      this.client.send("/api/backups/" + encodeURIComponent(key), options);
      return true;
    }

    restore(key, options) {
      options = Object.assign({ method: "POST" }, options);
      this.client.send("/api/backups/" + encodeURIComponent(key) + "/restore", options);
      return true;
    }

    getDownloadUrl(token, key) {
      return this.getDownloadURL(token, key);
    }

    getDownloadURL(token, key) {
      return this.client.buildURL(
        "/api/backups/" + encodeURIComponent(key) + "?token=" + encodeURIComponent(token),
      );
    }
  }

  class CronService extends BaseService {
    getFullList(options) {
      options = Object.assign({ method: "GET" }, options);
      return this.client.send("/api/crons", options);
    }

    run(jobId, options) {
      options = Object.assign({ method: "POST" }, options);
      this.client.send("/api/crons/" + encodeURIComponent(jobId), options);
      return true;
    }
  }

  class SQLService extends BaseService {
    run(query, options) {
      options = Object.assign({ method: "POST", body: { query: query } }, options);
      return this.client.send("/api/sql", options);
    }
  }

  class RealtimeService extends BaseService {
    get isConnected() {
      return false;
    }

    subscribe() {
      throw new Error("pb(): realtime subscriptions are not supported");
    }

    unsubscribe() {}

    unsubscribeByPrefix() {}

    unsubscribeByTopicAndListener() {}
  }

  // --- batch ---

  class BatchService extends BaseService {
    constructor(client) {
      super(client);
      this.requests = [];
      this.subs = {};
    }

    collection(collectionIdOrName) {
      if (!this.subs[collectionIdOrName]) {
        this.subs[collectionIdOrName] = new SubBatchService(this.requests, collectionIdOrName);
      }
      return this.subs[collectionIdOrName];
    }

    // Sends the queued requests as one JSON `{ requests: [...] }` body (the SDK sends the
    // same payload as multipart `@jsonPayload`; without files the server treats both alike).
    send(options) {
      const jsonData = [];
      for (const req of this.requests) {
        jsonData.push({ method: req.method, url: req.url, headers: req.headers, body: req.json });
      }
      options = Object.assign({ method: "POST", body: { requests: jsonData } }, options);
      return this.client.send("/api/batch", options);
    }
  }

  class SubBatchService {
    constructor(requests, collectionIdOrName) {
      this.requests = requests;
      this.collectionIdOrName = collectionIdOrName;
    }

    _recordsURL(id) {
      let url = "/api/collections/" + encodeURIComponent(this.collectionIdOrName) + "/records";
      if (typeof id !== "undefined") {
        url += "/" + encodeURIComponent(id);
      }
      return url;
    }

    upsert(bodyParams, options) {
      options = Object.assign({ body: bodyParams || {} }, options);
      const request = { method: "PUT", url: this._recordsURL() };
      this.prepareRequest(request, options);
      this.requests.push(request);
    }

    create(bodyParams, options) {
      options = Object.assign({ body: bodyParams || {} }, options);
      const request = { method: "POST", url: this._recordsURL() };
      this.prepareRequest(request, options);
      this.requests.push(request);
    }

    update(id, bodyParams, options) {
      options = Object.assign({ body: bodyParams || {} }, options);
      const request = { method: "PATCH", url: this._recordsURL(id) };
      this.prepareRequest(request, options);
      this.requests.push(request);
    }

    delete(id, options) {
      options = Object.assign({}, options);
      const request = { method: "DELETE", url: this._recordsURL(id) };
      this.prepareRequest(request, options);
      this.requests.push(request);
    }

    prepareRequest(request, options) {
      normalizeUnknownQueryParams(options);

      request.headers = options.headers;
      request.json = {};

      if (typeof options.query !== "undefined") {
        const query = serializeQueryParams(options.query);
        if (query) {
          request.url += (request.url.includes("?") ? "&" : "?") + query;
        }
      }

      const body = options.body;
      if (isFormData(body) || isFile(body)) {
        throw filesNotSupported();
      }
      for (const key in body) {
        const val = body[key];
        if (isFile(val) || (Array.isArray(val) && val.some(isFile))) {
          throw filesNotSupported();
        }
        request.json[key] = val;
      }
    }
  }

  // ------------------------------------------------------------------ client

  class PocketBase {
    // `baseURL` is accepted for compatibility but ignored: requests always go to this server.
    constructor(baseURL, authStore, lang = "en-US") {
      this.baseURL = "";
      this.lang = lang;
      this.authStore = authStore || new BaseAuthStore();
      this.beforeSend = undefined;
      this.afterSend = undefined;

      this.recordServices = {};

      this.collections = new CollectionService(this);
      this.files = new FileService(this);
      this.logs = new LogService(this);
      this.settings = new SettingsService(this);
      this.realtime = new RealtimeService(this);
      this.health = new HealthService(this);
      this.backups = new BackupService(this);
      this.crons = new CronService(this);
      this.sql = new SQLService(this);
    }

    get baseUrl() {
      return this.baseURL;
    }

    set baseUrl(v) {
      this.baseURL = v;
    }

    // deprecated: superusers are the "_superusers" auth collection
    get admins() {
      return this.collection("_superusers");
    }

    createBatch() {
      return new BatchService(this);
    }

    collection(idOrName) {
      if (!this.recordServices[idOrName]) {
        this.recordServices[idOrName] = new RecordService(this, idOrName);
      }
      return this.recordServices[idOrName];
    }

    // Auto-cancellation does not exist for synchronous requests: these are no-ops.
    autoCancellation() {
      return this;
    }

    cancelRequest() {
      return this;
    }

    cancelAllRequests() {
      return this;
    }

    filter(raw, params) {
      if (!params) {
        return raw;
      }
      const paramsWithPlaceholders = {};
      for (const k in params) {
        paramsWithPlaceholders["{:" + k + "}"] = params[k];
      }
      const pattern = Object.keys(paramsWithPlaceholders).map(escapeRegExp).join("|");
      if (!pattern) {
        return raw;
      }

      function stringify(val) {
        switch (typeof val) {
          case "boolean":
          case "number":
            return "" + val;
          case "string":
            return JSON.stringify(val);
          default: {
            if (val == null) {
              return "null";
            }
            if (val instanceof Date) {
              return JSON.stringify(val.toISOString().replace("T", " "));
            }
            const stringified = JSON.stringify(val);
            if (stringified.startsWith("[") || stringified.startsWith("{")) {
              return JSON.stringify(stringified);
            }
            return stringified;
          }
        }
      }

      return raw.replace(new RegExp(pattern, "g"), (match) =>
        stringify(paramsWithPlaceholders[match]),
      );
    }

    // deprecated: use pb.files.getURL()
    getFileUrl(record, filename, queryParams = {}) {
      return this.files.getURL(record, filename, queryParams);
    }

    // deprecated: use pb.buildURL()
    buildUrl(path) {
      return this.buildURL(path);
    }

    buildURL(path) {
      return joinPath(this.baseURL, path);
    }

    // Sends an API request synchronously and returns the parsed JSON response
    // (`{}` for an empty body, the raw text for a non-JSON one).
    // Throws ClientResponseError for any status >= 400.
    send(path, options) {
      options = this.initSendOptions(path, options);

      let url = joinPath("", path);

      if (this.beforeSend) {
        const result = Object.assign({}, this.beforeSend(url, options));
        if (typeof result.url !== "undefined" || typeof result.options !== "undefined") {
          url = result.url || url;
          options = result.options || options;
        } else if (Object.keys(result).length) {
          options = result; // legacy beforeSend return format
        }
      }

      if (typeof options.query !== "undefined") {
        const query = serializeQueryParams(options.query);
        if (query) {
          url += (url.includes("?") ? "&" : "?") + query;
        }
        delete options.query;
      }

      let body = options.body;
      if (body === null || typeof body === "undefined") {
        body = "";
      } else if (typeof body !== "string") {
        assertJSONBody(body);
        body = JSON.stringify(body);
      }

      const headers = {};
      for (const key in options.headers || {}) {
        const v = options.headers[key];
        if (v !== null && typeof v !== "undefined") {
          headers[key] = String(v);
        }
      }

      const method = String(options.method || "GET").toUpperCase();

      let res;
      try {
        res = send({ method: method, path: url, headers: headers, body: body });
      } catch (err) {
        throw new ClientResponseError(err);
      }
      if (res === null || typeof res !== "object") {
        throw new ClientResponseError(new Error("pb(): the host returned no response"));
      }

      const status = typeof res.status === "number" ? res.status : Number(res.status) || 0;
      const text = res.body === null || typeof res.body === "undefined" ? "" : String(res.body);

      let data = {};
      if (text !== "") {
        try {
          data = JSON.parse(text);
        } catch (_) {
          data = text;
        }
      }

      if (this.afterSend) {
        const response = { url: url, status: status, ok: status >= 200 && status < 300, body: text };
        try {
          data = this.afterSend(response, data, options);
        } catch (err) {
          throw new ClientResponseError(err);
        }
      }

      if (status >= 400) {
        throw new ClientResponseError(
          new ClientResponseError({ url: url, status: status, data: data }),
        );
      }

      return data;
    }

    // Shallow copies the options and fills in the SDK defaults (method, query, headers).
    initSendOptions(path, options) {
      options = Object.assign({ method: "GET" }, options);

      assertJSONBody(options.body);

      normalizeUnknownQueryParams(options);

      options.query = Object.assign({}, options.params, options.query);
      delete options.requestKey;
      delete options.$autoCancel;
      delete options.query.$autoCancel;
      delete options.$cancelKey;
      delete options.query.$cancelKey;

      if (getHeader(options.headers, "Content-Type") === null) {
        options.headers = Object.assign({}, options.headers, {
          "Content-Type": "application/json",
        });
      }
      if (getHeader(options.headers, "Accept-Language") === null) {
        options.headers = Object.assign({}, options.headers, {
          "Accept-Language": this.lang,
        });
      }
      if (this.authStore.token && getHeader(options.headers, "Authorization") === null) {
        options.headers = Object.assign({}, options.headers, {
          Authorization: this.authStore.token,
        });
      }

      return options;
    }
  }

  return {
    PocketBase,
    default: PocketBase,
    ClientResponseError,
    BaseAuthStore,
    LocalAuthStore: BaseAuthStore,
    getTokenPayload,
    isTokenExpired,
    cookieParse,
    cookieSerialize,
  };
})
