// PocketPages helper library for the embedded QuickJS runtime.
//
// This file is ONE function expression: the host evaluates it and calls the
// result to obtain the helpers. It must stay self-contained (no require, no
// Node/Web APIs such as URL, URLSearchParams, TextEncoder or Buffer).
//
// Faithful ports of the libraries PocketPages bundles:
//   - url-parse 1.5.10 + querystringify 2.2.0, plus PocketPages' `url()`
//     post-processing (JSON.parse of every query value, then set('query')).
//   - pocketbase-stringify (`stringify` + its default replacer).
//   - cookie 1.x `parse` / `serialize` (1.0.2 and 1.1.x behave the same for
//     everything PocketPages does), plus PocketPages' JSON.parse of cookie values.
//   - @s-libs/micro-dash 18 `merge`, `forEach`, `keys`, `values`, `pick`,
//     `shuffle`.
(function () {
  'use strict';

  // ---------------------------------------------------------------------------
  // querystringify 2.2.0
  // ---------------------------------------------------------------------------
  var has = Object.prototype.hasOwnProperty;

  function qsDecode(input) {
    try {
      return decodeURIComponent(input.replace(/\+/g, ' '));
    } catch (e) {
      return null;
    }
  }

  function qsEncode(input) {
    try {
      return encodeURIComponent(input);
    } catch (e) {
      return null;
    }
  }

  function qsParse(query) {
    var parser = /([^=?#&]+)=?([^&]*)/g,
      result = {},
      part;

    while ((part = parser.exec(query))) {
      var key = qsDecode(part[1]),
        value = qsDecode(part[2]);

      // Prevent overriding of existing properties (`toString`, `__proto__`…)
      // and drop pairs that failed to decode.
      if (key === null || value === null || key in result) continue;
      result[key] = value;
    }

    return result;
  }

  function qsStringify(obj, prefix) {
    prefix = prefix || '';

    var pairs = [],
      value,
      key;

    if ('string' !== typeof prefix) prefix = '?';

    for (key in obj) {
      if (has.call(obj, key)) {
        value = obj[key];

        if (!value && (value === null || value === undefined || isNaN(value))) {
          value = '';
        }

        key = qsEncode(key);
        value = qsEncode(value);

        if (key === null || value === null) continue;
        pairs.push(key + '=' + value);
      }
    }

    return pairs.length ? prefix + pairs.join('&') : '';
  }

  // ---------------------------------------------------------------------------
  // requires-port 1.0.0
  // ---------------------------------------------------------------------------
  function requiredPort(port, protocol) {
    protocol = protocol.split(':')[0];
    port = +port;

    if (!port) return false;

    switch (protocol) {
      case 'http':
      case 'ws':
        return port !== 80;

      case 'https':
      case 'wss':
        return port !== 443;

      case 'ftp':
        return port !== 21;

      case 'gopher':
        return port !== 70;

      case 'file':
        return false;
    }

    return port !== 0;
  }

  // ---------------------------------------------------------------------------
  // url-parse 1.5.10
  // ---------------------------------------------------------------------------
  var controlOrWhitespace =
      /^[\x00-\x20\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]+/,
    CRHTLF = /[\n\r\t]/g,
    slashesRe = /^[A-Za-z][A-Za-z0-9+-.]*:\/\//,
    portRe = /:\d+$/,
    protocolre = /^([a-z][a-z0-9.+-]*:)?(\/\/)?([\\/]+)?([\S\s]*)/i,
    windowsDriveLetter = /^[a-zA-Z]:/;

  function trimLeft(str) {
    return (str ? str : '').toString().replace(controlOrWhitespace, '');
  }

  var rules = [
    ['#', 'hash'], // Extract from the back.
    ['?', 'query'], // Extract from the back.
    function sanitize(address, url) {
      return isSpecial(url.protocol) ? address.replace(/\\/g, '/') : address;
    },
    ['/', 'pathname'], // Extract from the back.
    ['@', 'auth', 1], // Extract from the front.
    [NaN, 'host', undefined, 1, 1], // Set left over value.
    [/:(\d*)$/, 'port', undefined, 1], // RegExp the back.
    [NaN, 'hostname', undefined, 1, 1], // Set left over.
  ];

  var ignore = { hash: 1, query: 1 };

  // There is no `window.location` / `global.location` in the host (nor in
  // Node), so url-parse always falls back to an empty location object.
  function lolcation(loc) {
    loc = loc || {};

    var finaldestination = {},
      type = typeof loc,
      key;

    if ('string' === type) {
      finaldestination = new Url(loc, {});
      for (key in ignore) delete finaldestination[key];
    } else if ('object' === type) {
      for (key in loc) {
        if (key in ignore) continue;
        finaldestination[key] = loc[key];
      }

      if (finaldestination.slashes === undefined) {
        finaldestination.slashes = slashesRe.test(loc.href);
      }
    }

    return finaldestination;
  }

  function isSpecial(scheme) {
    return (
      scheme === 'file:' ||
      scheme === 'ftp:' ||
      scheme === 'http:' ||
      scheme === 'https:' ||
      scheme === 'ws:' ||
      scheme === 'wss:'
    );
  }

  function extractProtocol(address, location) {
    address = trimLeft(address);
    address = address.replace(CRHTLF, '');
    location = location || {};

    var match = protocolre.exec(address);
    var protocol = match[1] ? match[1].toLowerCase() : '';
    var forwardSlashes = !!match[2];
    var otherSlashes = !!match[3];
    var slashesCount = 0;
    var rest;

    if (forwardSlashes) {
      if (otherSlashes) {
        rest = match[2] + match[3] + match[4];
        slashesCount = match[2].length + match[3].length;
      } else {
        rest = match[2] + match[4];
        slashesCount = match[2].length;
      }
    } else {
      if (otherSlashes) {
        rest = match[3] + match[4];
        slashesCount = match[3].length;
      } else {
        rest = match[4];
      }
    }

    if (protocol === 'file:') {
      if (slashesCount >= 2) {
        rest = rest.slice(2);
      }
    } else if (isSpecial(protocol)) {
      rest = match[4];
    } else if (protocol) {
      if (forwardSlashes) {
        rest = rest.slice(2);
      }
    } else if (slashesCount >= 2 && isSpecial(location.protocol)) {
      rest = match[4];
    }

    return {
      protocol: protocol,
      slashes: forwardSlashes || isSpecial(protocol),
      slashesCount: slashesCount,
      rest: rest,
    };
  }

  function resolvePath(relative, base) {
    if (relative === '') return base;

    var path = (base || '/').split('/').slice(0, -1).concat(relative.split('/')),
      i = path.length,
      last = path[i - 1],
      unshift = false,
      up = 0;

    while (i--) {
      if (path[i] === '.') {
        path.splice(i, 1);
      } else if (path[i] === '..') {
        path.splice(i, 1);
        up++;
      } else if (up) {
        if (i === 0) unshift = true;
        path.splice(i, 1);
        up--;
      }
    }

    if (unshift) path.unshift('');
    if (last === '.' || last === '..') path.push('');

    return path.join('/');
  }

  function Url(address, location, parser) {
    address = trimLeft(address);
    address = address.replace(CRHTLF, '');

    if (!(this instanceof Url)) {
      return new Url(address, location, parser);
    }

    var relative,
      extracted,
      parse,
      instruction,
      index,
      key,
      instructions = rules.slice(),
      type = typeof location,
      url = this,
      i = 0;

    if ('object' !== type && 'string' !== type) {
      parser = location;
      location = null;
    }

    if (parser && 'function' !== typeof parser) parser = qsParse;

    location = lolcation(location);

    extracted = extractProtocol(address || '', location);
    relative = !extracted.protocol && !extracted.slashes;
    url.slashes = extracted.slashes || (relative && location.slashes);
    url.protocol = extracted.protocol || location.protocol || '';
    address = extracted.rest;

    if (
      (extracted.protocol === 'file:' &&
        (extracted.slashesCount !== 2 || windowsDriveLetter.test(address))) ||
      (!extracted.slashes &&
        (extracted.protocol ||
          extracted.slashesCount < 2 ||
          !isSpecial(url.protocol)))
    ) {
      instructions[3] = [/(.*)/, 'pathname'];
    }

    for (; i < instructions.length; i++) {
      instruction = instructions[i];

      if (typeof instruction === 'function') {
        address = instruction(address, url);
        continue;
      }

      parse = instruction[0];
      key = instruction[1];

      if (parse !== parse) {
        url[key] = address;
      } else if ('string' === typeof parse) {
        index = parse === '@' ? address.lastIndexOf(parse) : address.indexOf(parse);

        if (~index) {
          if ('number' === typeof instruction[2]) {
            url[key] = address.slice(0, index);
            address = address.slice(index + instruction[2]);
          } else {
            url[key] = address.slice(index);
            address = address.slice(0, index);
          }
        }
      } else if ((index = parse.exec(address))) {
        url[key] = index[1];
        address = address.slice(0, index.index);
      }

      url[key] = url[key] || (relative && instruction[3] ? location[key] || '' : '');

      if (instruction[4]) url[key] = url[key].toLowerCase();
    }

    if (parser) url.query = parser(url.query);

    if (
      relative &&
      location.slashes &&
      url.pathname.charAt(0) !== '/' &&
      (url.pathname !== '' || location.pathname !== '')
    ) {
      url.pathname = resolvePath(url.pathname, location.pathname);
    }

    if (url.pathname.charAt(0) !== '/' && isSpecial(url.protocol)) {
      url.pathname = '/' + url.pathname;
    }

    if (!requiredPort(url.port, url.protocol)) {
      url.host = url.hostname;
      url.port = '';
    }

    url.username = url.password = '';

    if (url.auth) {
      index = url.auth.indexOf(':');

      if (~index) {
        url.username = url.auth.slice(0, index);
        url.username = encodeURIComponent(decodeURIComponent(url.username));

        url.password = url.auth.slice(index + 1);
        url.password = encodeURIComponent(decodeURIComponent(url.password));
      } else {
        url.username = encodeURIComponent(decodeURIComponent(url.auth));
      }

      url.auth = url.password ? url.username + ':' + url.password : url.username;
    }

    url.origin =
      url.protocol !== 'file:' && isSpecial(url.protocol) && url.host
        ? url.protocol + '//' + url.host
        : 'null';

    url.href = url.toString();
  }

  function urlSet(part, value, fn) {
    var url = this;

    switch (part) {
      case 'query':
        if ('string' === typeof value && value.length) {
          value = (fn || qsParse)(value);
        }

        url[part] = value;
        break;

      case 'port':
        url[part] = value;

        if (!requiredPort(value, url.protocol)) {
          url.host = url.hostname;
          url[part] = '';
        } else if (value) {
          url.host = url.hostname + ':' + value;
        }

        break;

      case 'hostname':
        url[part] = value;

        if (url.port) value += ':' + url.port;
        url.host = value;
        break;

      case 'host':
        url[part] = value;

        if (portRe.test(value)) {
          value = value.split(':');
          url.port = value.pop();
          url.hostname = value.join(':');
        } else {
          url.hostname = value;
          url.port = '';
        }

        break;

      case 'protocol':
        url.protocol = value.toLowerCase();
        url.slashes = !fn;
        break;

      case 'pathname':
      case 'hash':
        if (value) {
          var char = part === 'pathname' ? '/' : '#';
          url[part] = value.charAt(0) !== char ? char + value : value;
        } else {
          url[part] = value;
        }
        break;

      case 'username':
      case 'password':
        url[part] = encodeURIComponent(value);
        break;

      case 'auth':
        var index = value.indexOf(':');

        if (~index) {
          url.username = value.slice(0, index);
          url.username = encodeURIComponent(decodeURIComponent(url.username));

          url.password = value.slice(index + 1);
          url.password = encodeURIComponent(decodeURIComponent(url.password));
        } else {
          url.username = encodeURIComponent(decodeURIComponent(value));
        }
    }

    for (var i = 0; i < rules.length; i++) {
      var ins = rules[i];

      if (ins[4]) url[ins[1]] = url[ins[1]].toLowerCase();
    }

    url.auth = url.password ? url.username + ':' + url.password : url.username;

    url.origin =
      url.protocol !== 'file:' && isSpecial(url.protocol) && url.host
        ? url.protocol + '//' + url.host
        : 'null';

    url.href = url.toString();

    return url;
  }

  function urlToString(stringify) {
    if (!stringify || 'function' !== typeof stringify) stringify = qsStringify;

    var query,
      url = this,
      host = url.host,
      protocol = url.protocol;

    if (protocol && protocol.charAt(protocol.length - 1) !== ':') protocol += ':';

    var result = protocol + ((url.protocol && url.slashes) || isSpecial(url.protocol) ? '//' : '');

    if (url.username) {
      result += url.username;
      if (url.password) result += ':' + url.password;
      result += '@';
    } else if (url.password) {
      result += ':' + url.password;
      result += '@';
    } else if (url.protocol !== 'file:' && isSpecial(url.protocol) && !host && url.pathname !== '/') {
      // Add back the empty userinfo so an invalid URL stays invalid.
      result += '@';
    }

    if (host[host.length - 1] === ':' || (portRe.test(url.hostname) && !url.port)) {
      host += ':';
    }

    result += host + url.pathname;

    query = 'object' === typeof url.query ? stringify(url.query) : url.query;
    if (query) result += '?' !== query.charAt(0) ? '?' + query : query;

    if (url.hash) result += url.hash;

    return result;
  }

  Url.prototype = { set: urlSet, toString: urlToString };

  // PocketPages globalApi.url: url-parse with query parsing, then every query
  // value JSON.parse'd when possible, written back with set('query', …).
  // A request target (`/a/b?x=1`: one leading slash, no fragment, backslash or control
  // character) as url-parse parses it, without its general machinery: the same fields in
  // the same order. This is the path every page request takes.
  var PLAIN_TARGET = /^\/(?![\/\\])[^#\\\x00-\x20]*$/;
  function targetUrl(address) {
    var q = address.indexOf('?');
    var u = Object.create(Url.prototype);
    u.slashes = false;
    u.protocol = '';
    u.hash = '';
    u.query = qsParse(q < 0 ? '' : address.slice(q));
    u.pathname = q < 0 ? address : address.slice(0, q);
    u.auth = '';
    u.host = '';
    u.port = '';
    u.hostname = '';
    u.password = '';
    u.username = '';
    u.origin = 'null';
    u.href = u.toString();
    return u;
  }

  function url(path) {
    var u = typeof path === 'string' && PLAIN_TARGET.test(path) ? targetUrl(path) : new Url(path, true);
    var parsedQuery = {};
    var entries = Object.entries(u.query);
    for (var i = 0; i < entries.length; i++) {
      var key = entries[i][0];
      var value = entries[i][1];
      try {
        parsedQuery[key] = JSON.parse(value);
      } catch (e) {
        parsedQuery[key] = value;
      }
    }
    u.set('query', parsedQuery);
    return u;
  }

  // ---------------------------------------------------------------------------
  // pocketbase-stringify
  // ---------------------------------------------------------------------------
  function defaultReplacer(k, v) {
    if (v instanceof Error) {
      return `${v}\n${v.stack}`;
    }
    if (v instanceof RegExp) {
      return v.toString();
    }
    if (v instanceof Function) {
      return v.toString();
    }
    return v;
  }

  function stringify(obj, _replacer = defaultReplacer, space = 0) {
    const replacer = _replacer || defaultReplacer;
    const seen = new WeakSet();
    return JSON.stringify(
      obj,
      (k, v) => {
        if (typeof v === 'object' && v !== null) {
          if (seen.has(v)) {
            return replacer(k, `[Circular]`);
          }
          seen.add(v);
        }
        return replacer(k, v);
      },
      space
    );
  }

  // ---------------------------------------------------------------------------
  // cookie 1.x
  // ---------------------------------------------------------------------------
  const cookieNameRegExp = /^[\u0021-\u003A\u003C\u003E-\u007E]+$/;
  const cookieValueRegExp = /^[\u0021-\u003A\u003C-\u007E]*$/;
  const domainValueRegExp =
    /^([.]?[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)([.][a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;
  const pathValueRegExp = /^[\u0020-\u003A\u003D-\u007E]*$/;
  const __toString = Object.prototype.toString;

  function cookieEndIndex(str, min, len) {
    const index = str.indexOf(';', min);
    return index === -1 ? len : index;
  }

  function cookieEqIndex(str, min, max) {
    const index = str.indexOf('=', min);
    return index < max ? index : -1;
  }

  function cookieValueSlice(str, min, max) {
    let start = min;
    let end = max;
    do {
      const code = str.charCodeAt(start);
      if (code !== 0x20 && code !== 0x09) break;
    } while (++start < end);
    while (end > start) {
      const code = str.charCodeAt(end - 1);
      if (code !== 0x20 && code !== 0x09) break;
      end--;
    }
    return str.slice(start, end);
  }

  function cookieDecode(str) {
    if (str.indexOf('%') === -1) return str;
    try {
      return decodeURIComponent(str);
    } catch (e) {
      return str;
    }
  }

  function cookieParse(str, options) {
    const obj = Object.create(null);
    const len = str.length;
    if (len < 2) return obj;
    const dec = (options && options.decode) || cookieDecode;
    let index = 0;
    do {
      const eqIdx = cookieEqIndex(str, index, len);
      if (eqIdx === -1) break;
      const endIdx = cookieEndIndex(str, index, len);
      if (eqIdx > endIdx) {
        // backtrack on prior semicolon
        index = str.lastIndexOf(';', eqIdx - 1) + 1;
        continue;
      }
      const key = cookieValueSlice(str, index, eqIdx);
      // only assign once
      if (obj[key] === undefined) {
        obj[key] = dec(cookieValueSlice(str, eqIdx + 1, endIdx));
      }
      index = endIdx + 1;
    } while (index < len);
    return obj;
  }

  // PocketPages request.cookies(): cookie.parse, then JSON.parse each value.
  function parseCookies(headerText) {
    const rawParsed = cookieParse(headerText || '');
    const tryParseJson = (value) => {
      if (!value) return value;
      try {
        return JSON.parse(value);
      } catch (e) {
        return value;
      }
    };
    return Object.fromEntries(
      Object.entries(rawParsed).map(([key, value]) => [key, tryParseJson(value)])
    );
  }

  function serializeCookie(name, val, options) {
    const enc = (options && options.encode) || encodeURIComponent;
    if (!cookieNameRegExp.test(name)) {
      throw new TypeError(`argument name is invalid: ${name}`);
    }
    const value = enc(val);
    if (!cookieValueRegExp.test(value)) {
      throw new TypeError(`argument val is invalid: ${val}`);
    }
    let str = name + '=' + value;
    if (!options) return str;
    if (options.maxAge !== undefined) {
      if (!Number.isInteger(options.maxAge)) {
        throw new TypeError(`option maxAge is invalid: ${options.maxAge}`);
      }
      str += '; Max-Age=' + options.maxAge;
    }
    if (options.domain) {
      if (!domainValueRegExp.test(options.domain)) {
        throw new TypeError(`option domain is invalid: ${options.domain}`);
      }
      str += '; Domain=' + options.domain;
    }
    if (options.path) {
      if (!pathValueRegExp.test(options.path)) {
        throw new TypeError(`option path is invalid: ${options.path}`);
      }
      str += '; Path=' + options.path;
    }
    if (options.expires) {
      if (
        __toString.call(options.expires) !== '[object Date]' ||
        !Number.isFinite(options.expires.valueOf())
      ) {
        throw new TypeError(`option expires is invalid: ${options.expires}`);
      }
      str += '; Expires=' + options.expires.toUTCString();
    }
    if (options.httpOnly) {
      str += '; HttpOnly';
    }
    if (options.secure) {
      str += '; Secure';
    }
    if (options.partitioned) {
      str += '; Partitioned';
    }
    if (options.priority) {
      const priority =
        typeof options.priority === 'string' ? options.priority.toLowerCase() : undefined;
      switch (priority) {
        case 'low':
          str += '; Priority=Low';
          break;
        case 'medium':
          str += '; Priority=Medium';
          break;
        case 'high':
          str += '; Priority=High';
          break;
        default:
          throw new TypeError(`option priority is invalid: ${options.priority}`);
      }
    }
    if (options.sameSite) {
      const sameSite =
        typeof options.sameSite === 'string' ? options.sameSite.toLowerCase() : options.sameSite;
      switch (sameSite) {
        case true:
        case 'strict':
          str += '; SameSite=Strict';
          break;
        case 'lax':
          str += '; SameSite=Lax';
          break;
        case 'none':
          str += '; SameSite=None';
          break;
        default:
          throw new TypeError(`option sameSite is invalid: ${options.sameSite}`);
      }
    }
    return str;
  }

  // ---------------------------------------------------------------------------
  // @s-libs/micro-dash 18
  // ---------------------------------------------------------------------------
  function clone(value) {
    if (Array.isArray(value)) {
      return value.slice();
    } else if (value instanceof Object) {
      return { ...value };
    } else {
      return value;
    }
  }

  function keysOfNonArray(object) {
    return object ? Object.getOwnPropertyNames(object) : [];
  }

  function keys(object) {
    let val = keysOfNonArray(object);
    if (Array.isArray(object)) {
      val = val.filter((item) => item !== 'length');
    }
    return val;
  }

  function forEachOfArray(array, iteratee) {
    for (let i = 0, len = array.length; i < len; ++i) {
      if (iteratee(array[i], i) === false) {
        break;
      }
    }
  }

  function forOwnOfNonArray(object, iteratee) {
    forEachOfArray(keysOfNonArray(object), (key) => iteratee(object[key], key));
    return object;
  }

  function forEach(collection, iteratee) {
    if (Array.isArray(collection)) {
      forEachOfArray(collection, iteratee);
    } else {
      forOwnOfNonArray(collection, iteratee);
    }
    return collection;
  }

  function values(object) {
    return keys(object).map((key) => object[key]);
  }

  function merge(object, ...sources) {
    for (const source of sources) {
      forEach(source, (value, key) => {
        const myValue = object[key];
        if (myValue instanceof Object) {
          value = merge(clone(myValue), value);
        }
        object[key] = value;
      });
    }
    return object;
  }

  function pick(object, ...paths) {
    const result = {};
    if (object != null) {
      for (const path of paths) {
        result[path] = object[path];
      }
    }
    return result;
  }

  function randomInt(lower, upper, floating) {
    let range = upper - lower;
    if (!floating) {
      ++range;
    }
    let result = Math.random() * range + lower;
    if (!floating) {
      result = Math.floor(result);
    }
    return result;
  }

  function shuffle(collection) {
    // sampleSize(collection, size(collection))
    const n = keys(collection).length;
    const vals = [];
    forEach(collection, (value) => {
      vals.push(value);
    });
    const result = [];
    const count = Math.min(n, vals.length);
    for (let i = 0; i < count; ++i) {
      result[i] = vals.splice(randomInt(0, vals.length - 1, false), 1)[0];
    }
    return result;
  }

  return {
    url,
    stringify,
    parseCookies,
    serializeCookie,
    merge,
    forEach,
    keys,
    values,
    pick,
    shuffle,
  };
})
