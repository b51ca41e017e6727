// Unit tests for src/pages/util.js, the PocketPages helper library that the embedded QuickJS
// runtime evaluates. Pure unit tests: no server needed.
//
// Every expected value was observed from the real packages PocketPages bundles:
// url-parse 1.5.10 + querystringify 2.2.0 (plus PocketPages' JSON.parse of query values),
// cookie 1.0.0 / 1.0.2 / 1.1.1 (identical for these cases), @s-libs/micro-dash 18.0.0
// (and 21.1.0, identical), and the pocketbase-stringify source.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';

const util = (0, eval)(
  fs.readFileSync(new URL('../../src/pages/util.js', import.meta.url), 'utf8'),
)();

const FIELDS = [
  'slashes', 'protocol', 'hash', 'query', 'pathname', 'auth', 'host', 'port', 'hostname',
  'password', 'username', 'origin', 'href',
];
const fields = (u) => Object.fromEntries(FIELDS.map((k) => [k, u[k]]));
const relative = (over) => ({
  slashes: false, protocol: '', hash: '', auth: '', host: '', port: '', hostname: '',
  password: '', username: '', origin: 'null', ...over,
});

describe('url()', () => {
  test('request path + query: JSON-parsed values, first occurrence wins', () => {
    const u = util.url('/t/page?a=1&b=%22x%22&c=007&e=&arr[]=1&x=1&x=2');
    assert.deepStrictEqual(Object.keys(u), FIELDS);
    assert.deepStrictEqual(fields(u), relative({
      query: { a: 1, b: 'x', c: '007', e: '', 'arr[]': 1, x: 1 },
      pathname: '/t/page',
      href: '/t/page?a=1&b=x&c=007&e=&arr%5B%5D=1&x=1',
    }));
    assert.equal(u.toString(), '/t/page?a=1&b=x&c=007&e=&arr%5B%5D=1&x=1');
    assert.equal(typeof u.set, 'function');
  });

  test('absolute URL', () => {
    const u = util.url('https://h:8090/p?q#frag');
    assert.deepStrictEqual(fields(u), {
      slashes: true, protocol: 'https:', hash: '#frag', query: { q: '' }, pathname: '/p',
      auth: '', host: 'h:8090', port: '8090', hostname: 'h', password: '', username: '',
      origin: 'https://h:8090', href: 'https://h:8090/p?q=#frag',
    });
  });

  test('auth, default port dropped, host lower-cased, object query value', () => {
    const u = util.url('https://user:pa%20ss@Host.COM:443/a/b?x=%7B%22a%22%3A1%7D#h');
    assert.deepStrictEqual(fields(u), {
      slashes: true, protocol: 'https:', hash: '#h', query: { x: { a: 1 } }, pathname: '/a/b',
      auth: 'user:pa%20ss', host: 'host.com', port: '', hostname: 'host.com',
      password: 'pa%20ss', username: 'user', origin: 'https://host.com',
      // querystringify stringifies the parsed object as "[object Object]"
      href: 'https://user:pa%20ss@host.com/a/b?x=%5Bobject%20Object%5D#h',
    });
  });

  test('value types after JSON.parse', () => {
    const u = util.url(
      '/a?n=12345678901234567890&f=1.50&neg=-0&t=true&nul=null&arr=[1,2]&o={"a":1}&sp=a+b&pct=100%25',
    );
    assert.deepStrictEqual(u.query, {
      n: 12345678901234567000, f: 1.5, neg: -0, t: true, nul: null, arr: [1, 2], o: { a: 1 },
      sp: 'a b', pct: '100%',
    });
    assert.ok(Object.is(u.query.neg, -0));
    assert.equal(
      u.href,
      '/a?n=12345678901234567000&f=1.5&neg=0&t=true&nul=&arr=1%2C2&o=%5Bobject%20Object%5D&sp=a%20b&pct=100%25',
    );
    const e = util.url('/a?e=1e3&big=1e400&small=1e-400&h=0x10&inf=Infinity&q=%22%22&bad="x');
    assert.deepStrictEqual(e.query, {
      e: 1000, big: Infinity, small: 0, h: '0x10', inf: 'Infinity', q: '', bad: '"x',
    });
    assert.equal(e.href, '/a?e=1000&big=Infinity&small=0&h=0x10&inf=Infinity&q=&bad=%22x');
  });

  test('undecodable pairs dropped; prototype keys ignored; empty keys skipped', () => {
    assert.deepStrictEqual(util.url('/a?%ZZ=1&ok=2&v=%E0%A4%A').query, { ok: 2 });
    assert.deepStrictEqual(
      { ...util.url('/a?toString=1&__proto__=2&constructor=3&hasOwnProperty=4&k=5').query },
      { k: 5 },
    );
    // "=1": the key regex cannot start on "=", so it matches "1" as a key
    assert.deepStrictEqual(util.url('/a?=1&&b&c=d=e').query, { 1: '', b: '', c: 'd=e' });
    assert.deepStrictEqual(util.url('/a?a=&a=2').query, { a: '' });
  });

  test('pathname is not decoded; hash before query; unicode', () => {
    const u = util.url('/a%20b/%2F?x=1');
    assert.equal(u.pathname, '/a%20b/%2F');
    const h = util.url('/a#b?c');
    assert.equal(h.pathname, '/a');
    assert.equal(h.hash, '#b?c');
    assert.deepStrictEqual(h.query, {});
    assert.equal(h.href, '/a#b?c');
    const n = util.url('/ä?ö=ü&€=%E2%82%AC');
    assert.deepStrictEqual(n.query, { ö: 'ü', '€': '€' });
    assert.equal(n.href, '/ä?%C3%B6=%C3%BC&%E2%82%AC=%E2%82%AC');
  });

  test('edge inputs', () => {
    assert.deepStrictEqual(fields(util.url('')), relative({ query: {}, pathname: '', href: '' }));
    assert.deepStrictEqual(fields(util.url('/')), relative({ query: {}, pathname: '/', href: '/' }));
    assert.equal(util.url('  /lead?x=1').href, '/lead?x=1');
    assert.equal(util.url('/a\tb\nc?x=1').pathname, '/abc');
    assert.equal(util.url('http://[::1]:3000/x').host, '[::1]:3000');
    assert.equal(util.url('http://[::1]:3000/x').hostname, '[::1]');
    assert.equal(util.url('HTTP://EXAMPLE.com:8080/Path?Q=1').href, 'http://example.com:8080/Path?Q=1');
    assert.equal(util.url('ws://x:80/y').href, 'ws://x/y');
    const p = util.url('//host/path?x');
    assert.deepStrictEqual([p.slashes, p.host, p.pathname, p.href], [true, '', '//host/path', '//host/path?x=']);
    const f = util.url('file:///etc/passwd');
    assert.deepStrictEqual([f.pathname, f.origin, f.href], ['/etc/passwd', 'null', 'file:///etc/passwd']);
    const m = util.url('mailto:a@b.c');
    assert.deepStrictEqual([m.protocol, m.pathname, m.slashes, m.href], ['mailto:', 'a@b.c', false, 'mailto:a@b.c']);
    const w = util.url('http:\\\\h\\p?x');
    assert.deepStrictEqual([w.host, w.pathname, w.href], ['h', '/p', 'http://h/p?x=']);
    assert.equal(util.url('http://a@b@c/d').auth, 'a%40b');
    assert.equal(util.url('http://:pw@h/').href, 'http://:pw@h/');
  });

  test('toString() uses the current query object', () => {
    const u = util.url('/login?next=%2Fhome');
    assert.equal(u.query.next, '/home');
    u.query.__flash = 'Login successful';
    assert.equal(u.toString(), '/login?next=%2Fhome&__flash=Login%20successful');
    // href is only recomputed by set()
    assert.equal(u.href, '/login?next=%2Fhome');
    const r = util.url('/');
    r.query.__flash = '';
    assert.equal(r.toString(), '/?__flash=');
    const z = util.url('/');
    Object.assign(z.query, { n: null, u: undefined, nan: NaN, f: false, zero: 0, t: true });
    assert.equal(z.toString(), '/?n=&u=&nan=&f=false&zero=0&t=true');
  });

  test('set()', () => {
    const u = util.url('https://h:8090/p?q#frag');
    assert.equal(u.set('query', 'a=1&b=2'), u);
    assert.deepStrictEqual(u.query, { a: '1', b: '2' }); // set() parses but does not JSON.parse
    assert.equal(u.href, 'https://h:8090/p?a=1&b=2#frag');
    u.set('port', '443');
    assert.deepStrictEqual([u.host, u.port, u.href], ['h', '', 'https://h/p?a=1&b=2#frag']);
    u.set('port', '8080');
    assert.deepStrictEqual([u.host, u.origin], ['h:8080', 'https://h:8080']);
    u.set('hostname', 'X.org');
    assert.deepStrictEqual([u.hostname, u.host], ['x.org', 'x.org:8080']);
    u.set('host', 'h:99');
    assert.deepStrictEqual([u.hostname, u.port, u.host], ['h', '99', 'h:99']);
    u.set('host', 'hh');
    assert.deepStrictEqual([u.hostname, u.port, u.host], ['hh', '', 'hh']);
    u.set('pathname', 'np');
    u.set('hash', 'hh');
    assert.equal(u.href, 'https://hh/np?a=1&b=2#hh');
    u.set('hash', '');
    u.set('username', 'u s');
    u.set('password', 'p@');
    assert.deepStrictEqual([u.auth, u.href], ['u%20s:p%40', 'https://u%20s:p%40@hh/np?a=1&b=2']);
    u.set('auth', 'a%20b:c');
    assert.equal(u.auth, 'a%20b:c');
    u.set('protocol', 'HTTP:');
    assert.deepStrictEqual([u.protocol, u.slashes, u.href], ['http:', true, 'http://a%20b:c@hh/np?a=1&b=2']);
    u.set('query', { z: 1, y: null });
    assert.equal(u.href, 'http://a%20b:c@hh/np?z=1&y=');

    const r = util.url('/t/page?a=1');
    r.set('hostname', 'ex.com');
    assert.equal(r.href, 'ex.com/t/page?a=1');
    assert.equal(r.origin, 'null');
  });
});

describe('stringify()', () => {
  test('plain values', () => {
    assert.equal(util.stringify({ a: 1, b: [1, 'x'], c: null }), '{"a":1,"b":[1,"x"],"c":null}');
    assert.equal(util.stringify('s'), '"s"');
    assert.equal(util.stringify(42), '42');
    assert.equal(util.stringify(undefined), undefined);
    assert.equal(util.stringify({ a: 1 }, undefined, 2), '{\n  "a": 1\n}');
  });

  test('circular and repeated references become "[Circular]"', () => {
    const circ = { a: 1, arr: [1, 2] };
    circ.self = circ;
    circ.arr.push(circ.arr);
    assert.equal(util.stringify(circ), '{"a":1,"arr":[1,2,"[Circular]"],"self":"[Circular]"}');
    // a WeakSet of everything seen: a shared (non-circular) object is also marked
    const shared = { s: 1 };
    assert.equal(util.stringify({ x: shared, y: shared }), '{"x":{"s":1},"y":"[Circular]"}');
  });

  test('RegExp, functions, Dates, undefined, NaN', () => {
    assert.equal(
      util.stringify(
        { r: /a+b/gi, f: function foo(a) { return a }, d: new Date(0), u: undefined, n: null, nan: NaN },
        null,
        2,
      ),
      '{\n  "r": "/a+b/gi",\n  "f": "function foo(a) { return a }",\n  "d": "1970-01-01T00:00:00.000Z",\n  "n": null,\n  "nan": null\n}',
    );
    assert.equal(util.stringify([undefined, () => 1]), '[null,"() => 1"]');
  });

  test('Error → `${err}\\n${err.stack}`', () => {
    const err = new TypeError('boom');
    assert.equal(util.stringify(err), JSON.stringify(`${err}\n${err.stack}`));
    assert.equal(util.stringify({ e: err }), JSON.stringify({ e: `TypeError: boom\n${err.stack}` }));
  });

  test('custom replacer replaces the default one and also sees "[Circular]"', () => {
    assert.equal(util.stringify({ a: 1, r: /x/ }, (k, v) => (typeof v === 'number' ? v * 2 : v)), '{"a":2,"r":{}}');
    const c = { a: 1 };
    c.self = c;
    assert.equal(util.stringify(c, (k, v) => (v === '[Circular]' ? 'CYCLE' : v)), '{"a":1,"self":"CYCLE"}');
  });
});

describe('parseCookies()', () => {
  test('percent-decoding and JSON.parse of values', () => {
    assert.deepStrictEqual(util.parseCookies('a=%7B%22x%22%3A1%7D; c=123; d=hello%20world'), {
      a: { x: 1 }, c: 123, d: 'hello world',
    });
  });

  test('first occurrence wins; trimming; odd pairs', () => {
    assert.deepStrictEqual(
      util.parseCookies('a="x y"; b="%7B%22q%22%3A1%7D"; c=1; c=2; =x; d ; e=; f = g ;'),
      // cookie 1.x keeps the quotes; JSON.parse then unquotes valid JSON strings only
      { a: 'x y', b: '"{"q":1}"', c: 1, '': 'x', e: '', f: 'g' },
    );
    assert.deepStrictEqual(util.parseCookies(' a = 1 ;b=2;;c=3'), { a: 1, b: 2, c: 3 });
    assert.deepStrictEqual(util.parseCookies('a=1;b'), { a: 1 });
    assert.deepStrictEqual(util.parseCookies(';;a=1'), { a: 1 });
    assert.deepStrictEqual(util.parseCookies('a=\t1\t;'), { a: 1 });
    assert.deepStrictEqual(util.parseCookies('foo=bar=baz; q=a+b'), { foo: 'bar=baz', q: 'a+b' });
  });

  test('empty and malformed input', () => {
    assert.deepStrictEqual(util.parseCookies(''), {});
    assert.deepStrictEqual(util.parseCookies(undefined), {});
    assert.deepStrictEqual(util.parseCookies('a'), {});
    assert.deepStrictEqual(util.parseCookies('x=%E0%A4%A; y=%; sp=%20; emp=""'), {
      x: '%E0%A4%A', y: '%', sp: ' ', emp: '',
    });
    assert.deepStrictEqual(
      util.parseCookies('n=12345678901234567890; t=true; z=null; z2=0; arr=[1,2]'),
      { n: 12345678901234567000, t: true, z: null, z2: 0, arr: [1, 2] },
    );
    const proto = util.parseCookies('__proto__=1; toString=2');
    assert.deepStrictEqual(Object.keys(proto), ['__proto__', 'toString']);
    assert.equal(Object.getPrototypeOf(proto), Object.prototype);
    assert.equal(proto.toString, 2);
  });
});

describe('serializeCookie()', () => {
  test('value encoding', () => {
    assert.equal(util.serializeCookie('a', 'b'), 'a=b');
    assert.equal(util.serializeCookie('a', 'b c;d', {}), 'a=b%20c%3Bd');
    assert.equal(util.serializeCookie('u', 'é ☃;,/?:@&=+$#', {}), 'u=%C3%A9%20%E2%98%83%3B%2C%2F%3F%3A%40%26%3D%2B%24%23');
    assert.equal(util.serializeCookie('n', '{"x":1}', { path: '/' }), 'n=%7B%22x%22%3A1%7D; Path=/');
    assert.equal(util.serializeCookie('n', undefined, {}), 'n=undefined');
    assert.equal(util.serializeCookie('n', '', {}), 'n=');
    assert.equal(util.serializeCookie('n', 'v', { encode: (s) => s + '!' }), 'n=v!');
  });

  test('attribute order', () => {
    assert.equal(
      util.serializeCookie('b', 'two', { maxAge: 60, path: '/', httpOnly: true }),
      'b=two; Max-Age=60; Path=/; HttpOnly',
    );
    assert.equal(
      util.serializeCookie('n', 'v', {
        sameSite: 'lax', priority: 'HIGH', partitioned: true, secure: true, httpOnly: true,
        expires: new Date(Date.UTC(2030, 0, 2, 3, 4, 5)), path: '/', domain: '.example.com', maxAge: -1,
      }),
      'n=v; Max-Age=-1; Domain=.example.com; Path=/; Expires=Wed, 02 Jan 2030 03:04:05 GMT; HttpOnly; Secure; Partitioned; Priority=High; SameSite=Lax',
    );
    assert.equal(util.serializeCookie('n', 'v', { expires: new Date(0) }), 'n=v; Expires=Thu, 01 Jan 1970 00:00:00 GMT');
  });

  test('priority and sameSite values', () => {
    const s = (o) => util.serializeCookie('n', 'v', o);
    assert.equal(s({ priority: 'low' }), 'n=v; Priority=Low');
    assert.equal(s({ priority: 'Medium' }), 'n=v; Priority=Medium');
    assert.equal(s({ sameSite: true }), 'n=v; SameSite=Strict');
    assert.equal(s({ sameSite: 'STRICT', secure: 1 }), 'n=v; Secure; SameSite=Strict');
    assert.equal(s({ sameSite: 'None' }), 'n=v; SameSite=None');
    assert.equal(s({ path: '/', maxAge: 0, domain: '', httpOnly: false, sameSite: false, priority: '' }), 'n=v; Max-Age=0; Path=/');
  });

  test('errors (TypeError with cookie’s messages)', () => {
    const err = (name, val, o, message) =>
      assert.throws(() => util.serializeCookie(name, val, o), (e) => e instanceof TypeError && e.message === message);
    err('bad name', 'v', {}, 'argument name is invalid: bad name');
    err('a;b', 'v', {}, 'argument name is invalid: a;b');
    err('', 'v', {}, 'argument name is invalid: ');
    err('a=b', 'v', undefined, 'argument name is invalid: a=b');
    err('n', 'a b', { encode: (s) => s }, 'argument val is invalid: a b');
    err('n', 'v', { maxAge: 1.5 }, 'option maxAge is invalid: 1.5');
    err('n', 'v', { maxAge: '60' }, 'option maxAge is invalid: 60');
    err('n', 'v', { domain: 'bad domain' }, 'option domain is invalid: bad domain');
    err('n', 'v', { path: '/a;b' }, 'option path is invalid: /a;b');
    err('n', 'v', { expires: 'x' }, 'option expires is invalid: x');
    err('n', 'v', { expires: new Date(NaN) }, 'option expires is invalid: Invalid Date');
    err('n', 'v', { priority: 'x' }, 'option priority is invalid: x');
    err('n', 'v', { sameSite: 'bogus' }, 'option sameSite is invalid: bogus');
  });
});

describe('micro-dash', () => {
  test('merge: deep, index-wise arrays, mutates and returns target', () => {
    const target = { order: ['root'] };
    assert.equal(util.merge(target, { order: ['t'] }), target);
    assert.deepStrictEqual(target, { order: ['t'] });
    assert.deepStrictEqual(util.merge({ a: [1, 2, 3] }, { a: [9] }), { a: [9, 2, 3] });
    assert.deepStrictEqual(util.merge([1, 2, 3], [9]), [9, 2, 3]);
    assert.deepStrictEqual(
      util.merge({ a: { x: 1, y: { z: 2 } } }, { a: { y: { w: 3 } } }, { b: null }),
      { a: { x: 1, y: { z: 2, w: 3 } }, b: null },
    );
    assert.deepStrictEqual(util.merge({ n: 1 }, { n: { x: 1 } }, { n: { y: 2 } }), { n: { x: 1, y: 2 } });
    assert.deepStrictEqual(util.merge({}, undefined, null, 5), {});
  });

  test('merge: nested targets are cloned, not mutated', () => {
    const inner = { x: 1 };
    const out = util.merge({ a: inner }, { a: { y: 2 } });
    assert.deepStrictEqual(out, { a: { x: 1, y: 2 } });
    assert.deepStrictEqual(inner, { x: 1 });
    assert.notEqual(out.a, inner);
  });

  test('merge: undefined/primitive sources never replace an object, but do replace primitives', () => {
    assert.deepStrictEqual(util.merge({ a: { x: 1 } }, { a: undefined }), { a: { x: 1 } });
    assert.deepStrictEqual(util.merge({ a: { x: 1 } }, { a: null }), { a: { x: 1 } });
    assert.deepStrictEqual(util.merge({ a: { x: 1 } }, { a: 5 }), { a: { x: 1 } });
    const k = util.merge({ k: 1 }, { k: undefined });
    assert.ok('k' in k);
    assert.equal(k.k, undefined);
    assert.deepStrictEqual(util.merge({ a: [1, { b: 2 }] }, { a: [undefined, { c: 3 }] }), { a: [undefined, { b: 2, c: 3 }] });
    assert.deepStrictEqual(util.merge({ a: 5 }, { a: { x: 1 } }), { a: { x: 1 } });
    assert.deepStrictEqual(util.merge({ a: 1 }, { a: [1, 2] }), { a: [1, 2] });
    const arrWithProp = Object.assign(['x', 2], { k: 'y' });
    assert.deepStrictEqual(util.merge({ a: [1, 2] }, { a: { 0: 'x', k: 'y' } }), { a: arrWithProp });
    assert.deepStrictEqual(util.merge({ a: { x: 1 } }, { a: [7] }), { a: { 0: 7, x: 1 } });
    assert.deepStrictEqual(util.merge({ d: new Date(0) }, { d: { y: 1 } }), { d: { y: 1 } });
    assert.deepStrictEqual(util.merge({ s: 'abc' }, { s: 'de' }), { s: 'de' });
    assert.deepStrictEqual(util.merge({}, 'ab'), { 0: 'a', 1: 'b', length: 2 });
  });

  test('forEach: arrays and objects, stops on false, returns the collection', () => {
    const seen = [];
    const arr = [1, 2, 3];
    assert.equal(util.forEach(arr, (v, i) => { seen.push([v, i]); if (i === 1) return false; }), arr);
    assert.deepStrictEqual(seen, [[1, 0], [2, 1]]);
    const obj = { a: 1, b: 2, c: 3 };
    const seen2 = [];
    assert.equal(util.forEach(obj, (v, k) => { seen2.push([v, k]); return k !== 'b'; }), obj);
    assert.deepStrictEqual(seen2, [[1, 'a'], [2, 'b']]);
    const seen3 = [];
    util.forEach([1, , 3], (v, i) => { seen3.push([v, i]); });
    assert.deepStrictEqual(seen3, [[1, 0], [undefined, 1], [3, 2]]);
    const n = [];
    util.forEach(null, () => n.push(1));
    util.forEach(undefined, () => n.push(1));
    util.forEach(5, () => n.push(1));
    assert.deepStrictEqual(n, []);
  });

  test('keys / values (own property names, including non-enumerable)', () => {
    assert.deepStrictEqual(util.keys({ a: 1, b: 2 }), ['a', 'b']);
    assert.deepStrictEqual(util.keys([4, 5]), ['0', '1']);
    assert.deepStrictEqual(util.keys([1, , 3]), ['0', '2']);
    assert.deepStrictEqual(util.keys('ab'), ['0', '1', 'length']);
    assert.deepStrictEqual(util.keys(null), []);
    assert.deepStrictEqual(util.keys(5), []);
    assert.deepStrictEqual(util.keys(Object.create({ inherited: 1 })), []);
    const hidden = Object.defineProperty({ a: 1 }, 'h', { value: 2, enumerable: false });
    assert.deepStrictEqual(util.keys(hidden), ['a', 'h']);
    assert.deepStrictEqual(util.values(hidden), [1, 2]);
    assert.deepStrictEqual(util.values({ a: 1, b: [2] }), [1, [2]]);
    assert.deepStrictEqual(util.values([1, , 3]), [1, 3]);
    assert.deepStrictEqual(util.values('ab'), ['a', 'b', 2]);
    assert.deepStrictEqual(util.values(undefined), []);
  });

  test('pick', () => {
    assert.deepStrictEqual(util.pick({ a: 1, b: 2, c: 3 }, 'a', 'c'), { a: 1, c: 3 });
    const p = util.pick({ a: 1 }, 'a', 'zz');
    assert.deepStrictEqual(Object.keys(p), ['a', 'zz']);
    assert.equal(p.zz, undefined);
    assert.deepStrictEqual(util.pick({ a: 1, 'a,b': 2 }, ['a', 'b']), { 'a,b': 2 });
    assert.deepStrictEqual(util.pick(null, 'a'), {});
  });

  test('shuffle: new array, same elements; exact order for a given Math.random sequence', () => {
    const src = [1, 2, 3, 4, 5, 6, 7, 8];
    const out = util.shuffle(src);
    assert.notEqual(out, src);
    assert.deepStrictEqual(src, [1, 2, 3, 4, 5, 6, 7, 8]);
    assert.deepStrictEqual([...out].sort(), src);

    const orig = Math.random;
    const seq = [0.9, 0.1, 0.5, 0.3, 0.7, 0.2];
    const run = (x) => {
      let i = 0;
      Math.random = () => seq[i++ % seq.length];
      try { return util.shuffle(x); } finally { Math.random = orig; }
    };
    assert.deepStrictEqual(run([1, 2, 3, 4, 5]), [5, 1, 3, 2, 4]);
    assert.deepStrictEqual(run({ a: 1, b: 2, c: 3 }), [3, 1, 2]);
    assert.deepStrictEqual(run('abc'), [3, 'a', 'c', 'b']);
    assert.deepStrictEqual(run([]), []);
    assert.deepStrictEqual(run(null), []);
  });
});
