// Unit tests of src/pages/sdk.js, the synchronous PocketBase SDK behind PocketPages' `pb()`.
// No server needed: the file is evaluated here, given a fake `send` that records requests and
// answers canned responses, and most scenarios are run side by side with the official SDK
// (`pocketbase` from node_modules, with a stubbed fetch) to check that both send the same
// requests and return the same results.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import vm from 'node:vm';
import RealPocketBase, {
  BaseAuthStore as RealAuthStore,
  ClientResponseError as RealClientResponseError,
} from 'pocketbase';

const SOURCE = fs.readFileSync(new URL('../../src/pages/sdk.js', import.meta.url), 'utf8');
const factory = (0, eval)(SOURCE);

const ORIGIN = 'http://pb.test';
// PocketPages' jsvm SDK fork (0.25) falls back to the long text; the npm SDK (0.28) says
// 'Something went wrong.' (pocketpages-surface.md §6).
const FALLBACK = 'Something went wrong while processing your request.';

// ---------------------------------------------------------------- helpers

/** A canned response: an object/array is sent as JSON, a string as is. */
const reply = (status, body) => ({ status, body });
const ok = (body) => reply(200, body);
const noContent = () => reply(204, null);
const bodyText = (body) =>
  body === null || body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body);

/** Our module wired to a fake host `send`: returns { mod, requests, queue }. */
function mine(responses = []) {
  const queue = [...responses];
  const requests = [];
  const mod = factory((req) => {
    requests.push(JSON.parse(JSON.stringify(req)));
    const next = queue.shift();
    if (!next) throw new Error(`unexpected request ${req.method} ${req.path}`);
    return { status: next.status, body: bodyText(next.body) };
  });
  return { mod, requests, queue };
}

/** The official SDK with a stubbed fetch: returns { pb, requests }. */
function real(responses = []) {
  const queue = [...responses];
  const requests = [];
  const pb = new RealPocketBase(ORIGIN, new RealAuthStore());
  pb.autoCancellation(false);
  const fetchStub = async (url, init) => {
    let body = init.body;
    if (body === undefined || body === null) body = '';
    else if (typeof body !== 'string') body = { formData: Object.fromEntries(body.entries()) };
    requests.push({
      method: init.method,
      path: url.startsWith(ORIGIN) ? url.slice(ORIGIN.length) : url,
      headers: { ...init.headers },
      body,
    });
    const next = queue.shift();
    if (!next) throw new Error(`unexpected request ${init.method} ${url}`);
    const text = bodyText(next.body);
    return new Response(next.status === 204 || text === '' ? null : text, {
      status: next.status,
      headers: { 'content-type': 'application/json' },
    });
  };
  pb.beforeSend = (url, options) => ({ url, options: { ...options, fetch: fetchStub } });
  return { pb, requests, fetchStub };
}

const plain = (v) => (v === undefined ? undefined : JSON.parse(JSON.stringify(v)));

/** Outcome of a call: { result } or { error: {...} } in plain data. */
async function outcome(fn) {
  try {
    return { result: plain(await fn()) };
  } catch (err) {
    return {
      error: {
        kind: err?.constructor?.name,
        name: err.name,
        message: err.message,
        status: err.status,
        response: plain(err.response),
        data: plain(err.data),
        isAbort: err.isAbort,
      },
    };
  }
}

/**
 * Runs `scenario(pb)` on our client and on the official SDK with the same canned responses;
 * asserts both sent the same requests and got the same outcome. Returns our side.
 */
async function same(responses, scenario, { setup } = {}) {
  const m = mine(responses);
  const pbMine = new m.mod.PocketBase(ORIGIN);
  const r = real(responses);
  if (setup) {
    setup(pbMine);
    setup(r.pb);
  }
  const outMine = await outcome(() => scenario(pbMine));
  // clients made by the SDK itself (impersonate) use the global fetch
  const globalFetch = globalThis.fetch;
  globalThis.fetch = r.fetchStub;
  let outReal;
  try {
    outReal = await outcome(() => scenario(r.pb));
  } finally {
    globalThis.fetch = globalFetch;
  }
  assert.deepEqual(m.requests, r.requests, 'requests differ from the official SDK');
  assert.deepEqual(outMine, outReal, 'outcome differs from the official SDK');
  return { pb: pbMine, real: r.pb, requests: m.requests, outcome: outMine };
}

const b64url = (obj) => Buffer.from(JSON.stringify(obj)).toString('base64url');
const jwt = (payload) => `${b64url({ alg: 'HS256', typ: 'JWT' })}.${b64url(payload)}.sig`;
const nowSec = () => Math.floor(Date.now() / 1000);

const USER = {
  id: 'u1234567890abcd',
  collectionId: 'pbc_users0000001',
  collectionName: 'users',
  email: 'a@example.com',
  verified: false,
};
const USER_TOKEN = jwt({ id: USER.id, collectionId: USER.collectionId, type: 'auth', exp: nowSec() + 3600, refreshable: true });

// ---------------------------------------------------------------- the file itself

test('sdk.js is one plain script expression evaluating to the factory', () => {
  assert.ok(!/^\s*(import|export)\s+[\w{*'"]/m.test(SOURCE), 'no import/export statements');
  assert.ok(!/^\s*await\b/m.test(SOURCE), 'no top-level await');
  new vm.Script(SOURCE, { filename: 'sdk.js' }); // throws on import/export/top-level await
  assert.equal(typeof factory, 'function');
  const mod = factory(() => ({ status: 200, body: '{}' }));
  assert.equal(typeof mod.PocketBase, 'function');
  assert.equal(typeof mod.ClientResponseError, 'function');
});

test('runs without Node or Web APIs (bare context: no fetch, URL, Blob, FormData, TextEncoder)', () => {
  const ctx = vm.createContext({});
  assert.equal(vm.runInContext('[typeof fetch, typeof URL, typeof URLSearchParams, typeof Blob, typeof FormData, typeof TextEncoder, typeof atob, typeof setTimeout].join()', ctx),
    'undefined,undefined,undefined,undefined,undefined,undefined,undefined,undefined');
  const requests = [];
  const hostSend = (req) => {
    requests.push(JSON.parse(JSON.stringify(req)));
    if (req.path.includes('auth-with-password')) {
      return { status: 200, body: JSON.stringify({ token: USER_TOKEN, record: USER }) };
    }
    return { status: 200, body: JSON.stringify({ page: 1, perPage: 30, items: [{ id: 'x' }] }) };
  };
  ctx.hostSend = hostSend;
  const out = vm.runInContext(`
    'use strict';
    const { PocketBase } = (${SOURCE})(hostSend);
    const pb = new PocketBase('http://ignored:8090');
    pb.collection('users').authWithPassword('a@example.com', 'pw');
    const list = pb.collection('posts').getList(1, 30, { filter: pb.filter('a = {:a} && d > {:d}', { a: "x", d: new Date(0) }) });
    JSON.stringify({ valid: pb.authStore.isValid, n: list.items.length, baseURL: pb.baseURL,
      url: pb.files.getURL({ id: 'r', collectionName: 'c' }, 'f.png', { thumb: '100x100' }) });
  `, ctx);
  assert.deepEqual(JSON.parse(out), {
    valid: true, n: 1, baseURL: '', url: '/api/files/c/r/f.png?thumb=100x100',
  });
  assert.equal(requests[1].path,
    '/api/collections/posts/records?page=1&perPage=30&filter=' +
    encodeURIComponent('a = "x" && d > "1970-01-01 00:00:00.000Z"'));
  assert.equal(requests[1].headers.Authorization, USER_TOKEN);
});

// ---------------------------------------------------------------- records: lists

test('getList with options: page, perPage, filter, sort, expand, fields, skipTotal, query, headers', async () => {
  const list = { page: 2, perPage: 50, totalItems: -1, totalPages: -1, items: [{ id: 'a' }, { id: 'b' }] };
  const { requests, outcome: out } = await same([ok(list)], (pb) =>
    pb.collection('posts').getList(2, 50, {
      filter: 'title ~ "x y" && n > 1',
      sort: '-created,id',
      expand: 'author,tags.owner',
      fields: 'id,title,expand.author.name',
      skipTotal: true,
      requestKey: 'ignored',
      $autoCancel: false,
      query: { custom: 'a&b=c', many: ['1', 2], gone: null, skipped: undefined, obj: { k: 'v' }, at: new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 6)) },
      headers: { 'X-Custom': 'yes' },
    }));
  assert.equal(requests.length, 1);
  const [req] = requests;
  assert.equal(req.method, 'GET');
  assert.equal(req.path,
    '/api/collections/posts/records?page=2&perPage=50&custom=a%26b%3Dc&many=1&many=2' +
    '&obj=%7B%22k%22%3A%22v%22%7D&at=2024-01-02%2003%3A04%3A05.006Z' +
    '&filter=title%20~%20%22x%20y%22%20%26%26%20n%20%3E%201&sort=-created%2Cid' +
    '&expand=author%2Ctags.owner&fields=id%2Ctitle%2Cexpand.author.name&skipTotal=true');
  assert.deepEqual(req.headers, { 'X-Custom': 'yes', 'Content-Type': 'application/json', 'Accept-Language': 'en-US' });
  assert.equal(req.body, '');
  assert.deepEqual(out.result, list);
});

test('getList defaults to page 1, perPage 30; collection names are URL-encoded', async () => {
  const { requests, outcome: out } = await same([ok({ page: 1, perPage: 30, items: null })], (pb) =>
    pb.collection('my coll/x').getList());
  assert.equal(requests[0].path, '/api/collections/my%20coll%2Fx/records?page=1&perPage=30');
  assert.deepEqual(out.result.items, []);
});

test('getFullList pages through batches until a short page', async () => {
  const page = (n, ids) => ok({ page: n, perPage: 2, items: ids.map((id) => ({ id })) });
  const responses = [page(1, ['a', 'b']), page(2, ['c', 'd']), page(3, ['e'])];
  const { requests, outcome: out } = await same(responses, (pb) =>
    pb.collection('posts').getFullList({ batch: 2, sort: '-created', filter: 'x = 1', expand: 'rel' }));
  assert.deepEqual(out.result.map((r) => r.id), ['a', 'b', 'c', 'd', 'e']);
  assert.deepEqual(requests.map((r) => r.path), [1, 2, 3].map((n) =>
    `/api/collections/posts/records?page=${n}&perPage=2&skipTotal=1&sort=-created&filter=x%20%3D%201&expand=rel`));
});

test('getFullList: legacy (batch, options) form, default batch 1000, empty result', async () => {
  const { requests } = await same(
    [ok({ page: 1, perPage: 3, items: [{ id: 1 }, { id: 2 }, { id: 3 }] }), ok({ page: 2, perPage: 3, items: [] })],
    (pb) => pb.collection('posts').getFullList(3, { fields: 'id', query: { skipTotal: false } }));
  assert.deepEqual(requests.map((r) => r.path), [
    '/api/collections/posts/records?page=1&perPage=3&skipTotal=false&fields=id',
    '/api/collections/posts/records?page=2&perPage=3&skipTotal=false&fields=id',
  ]);

  const { requests: r2, outcome: o2 } = await same([ok({ page: 1, perPage: 1000, items: [] })], (pb) =>
    pb.collection('posts').getFullList());
  assert.equal(r2[0].path, '/api/collections/posts/records?page=1&perPage=1000&skipTotal=1');
  assert.deepEqual(o2.result, []);
});

test('getFirstListItem returns the first item, or throws the SDK 404 when none', async () => {
  const { requests, outcome: found } = await same([ok({ page: 1, perPage: 1, items: [{ id: 'first' }] })], (pb) =>
    pb.collection('posts').getFirstListItem('slug = "hello"', { expand: 'author' }));
  assert.equal(requests[0].path,
    '/api/collections/posts/records?page=1&perPage=1&filter=slug%20%3D%20%22hello%22&skipTotal=1&expand=author');
  assert.deepEqual(found.result, { id: 'first' });

  const { outcome: missing } = await same([ok({ page: 1, perPage: 1, items: [] })], (pb) =>
    pb.collection('posts').getFirstListItem('id = "nope"'));
  assert.deepEqual(missing.error, {
    kind: 'ClientResponseError',
    name: 'ClientResponseError 404',
    message: "The requested resource wasn't found.",
    status: 404,
    response: { code: 404, message: "The requested resource wasn't found.", data: {} },
    data: { code: 404, message: "The requested resource wasn't found.", data: {} },
    isAbort: false,
  });
});

// ---------------------------------------------------------------- records: crud

test('getOne: GET by encoded id with options; empty id throws 404 without a request', async () => {
  const rec = { id: 'abc', title: 'T', expand: { author: { id: 'u' } } };
  const { requests, outcome: out } = await same([ok(rec)], (pb) =>
    pb.collection('posts').getOne('a b/c', { expand: 'author', fields: '*' }));
  assert.equal(requests[0].method, 'GET');
  assert.equal(requests[0].path, '/api/collections/posts/records/a%20b%2Fc?expand=author&fields=*');
  assert.deepEqual(out.result, rec);

  const { requests: none, outcome: err } = await same([], (pb) => pb.collection('posts').getOne(''));
  assert.equal(none.length, 0);
  assert.equal(err.error.status, 404);
  assert.equal(err.error.message, 'Missing required record id.');
  assert.deepEqual(err.error.response, { code: 404, message: 'Missing required record id.', data: {} });

  const m = mine();
  const pb = new m.mod.PocketBase();
  try {
    pb.collection('posts').getOne('');
    assert.fail('expected a throw');
  } catch (e) {
    assert.ok(e instanceof m.mod.ClientResponseError);
    assert.ok(e instanceof Error);
    assert.equal(e.url, '/api/collections/posts/records/');
  }
});

test('create / update / delete send the SDK requests and return the SDK values', async () => {
  const body = { title: 'hi', n: 2, tags: ['a', 'b'], meta: { x: null }, when: new Date(Date.UTC(2024, 4, 5)) };
  const { requests, outcome: out } = await same(
    [ok({ id: 'new1', title: 'hi' }), ok({ id: 'new1', title: 'bye' }), noContent()],
    async (pb) => {
      const c = await pb.collection('posts').create(body, { expand: 'author', headers: { 'Accept-Language': 'bg' } });
      const u = await pb.collection('posts').update('new1', { title: 'bye', 'n+': 1 }, { fields: 'id,title' });
      const d = await pb.collection('posts').delete('new1');
      return { c, u, d };
    });
  assert.deepEqual(out.result, { c: { id: 'new1', title: 'hi' }, u: { id: 'new1', title: 'bye' }, d: true });
  assert.deepEqual(requests.map((r) => [r.method, r.path]), [
    ['POST', '/api/collections/posts/records?expand=author'],
    ['PATCH', '/api/collections/posts/records/new1?fields=id%2Ctitle'],
    ['DELETE', '/api/collections/posts/records/new1'],
  ]);
  assert.deepEqual(JSON.parse(requests[0].body), plain(body));
  assert.equal(requests[0].headers['Accept-Language'], 'bg');
  assert.equal(requests[1].body, '{"title":"bye","n+":1}');
  assert.equal(requests[2].body, '');
});

test('update of the auth record refreshes the store; delete of it clears the store', async () => {
  const setup = (pb) => pb.authStore.save(USER_TOKEN, { ...USER, expand: { team: { id: 't1' } } });
  const { pb, real: rpb } = await same([ok({ ...USER, name: 'New', expand: { org: { id: 'o1' } } })], (pb) =>
    pb.collection('users').update(USER.id, { name: 'New' }), { setup });
  assert.deepEqual(pb.authStore.record, { ...USER, name: 'New', expand: { team: { id: 't1' }, org: { id: 'o1' } } });
  assert.deepEqual(plain(pb.authStore.record), plain(rpb.authStore.record));
  assert.equal(pb.authStore.token, USER_TOKEN);

  // another collection with the same id: untouched
  const { pb: pb2 } = await same([ok({ ...USER, name: 'Other' })], (pb) =>
    pb.collection('admins2').update(USER.id, { name: 'Other' }), { setup });
  assert.equal(pb2.authStore.record.name, undefined);

  const { pb: pb3, requests } = await same([noContent()], (pb) => pb.collection('pbc_users0000001').delete(USER.id), { setup });
  assert.equal(requests[0].headers.Authorization, USER_TOKEN);
  assert.equal(pb3.authStore.token, '');
  assert.equal(pb3.authStore.record, null);
});

// ---------------------------------------------------------------- filter()

test('filter() quotes parameters exactly like the SDK', () => {
  const { mod } = mine();
  const pb = new mod.PocketBase();
  const rpb = new RealPocketBase(ORIGIN, new RealAuthStore());
  const cases = [
    ['title = {:title}', { title: 'say "hi"\n\\ ok' }, 'title = "say \\"hi\\"\\n\\\\ ok"'],
    ['a = {:a} && b = {:b}', { a: 12.5, b: -3 }, 'a = 12.5 && b = -3'],
    ['a = {:t} || b = {:f}', { t: true, f: false }, 'a = true || b = false'],
    ['a = {:n} && b = {:u}', { n: null, u: undefined }, 'a = null && b = null'],
    ['created >= {:d}', { d: new Date(Date.UTC(2024, 1, 3, 4, 5, 6, 789)) }, 'created >= "2024-02-03 04:05:06.789Z"'],
    ['tags = {:arr}', { arr: [1, 'x'] }, 'tags = "[1,\\"x\\"]"'],
    ['meta = {:obj}', { obj: { k: 'v' } }, 'meta = "{\\"k\\":\\"v\\"}"'],
    ['x = {:custom}', { custom: { toJSON: () => 'plain' } }, 'x = "plain"'],
    ['{:a} {:a} {:missing}', { a: 'z' }, '"z" "z" {:missing}'],
    ['v = {:s}', { s: '$& $1 {:s}' }, 'v = "$& $1 {:s}"'],
    ['k = {:we.ird+key}', { 'we.ird+key': 'w' }, 'k = "w"'],
    ['n = {:nan}', { nan: NaN }, 'n = NaN'],
    ['u = {:u}', { u: 'ünï 😀' }, 'u = "ünï 😀"'],
    ['raw {:a}', undefined, 'raw {:a}'],
    ['raw {:a}', {}, 'raw {:a}'],
  ];
  for (const [raw, params, expected] of cases) {
    assert.equal(pb.filter(raw, params), expected, `${raw} ${JSON.stringify(params)}`);
    assert.equal(pb.filter(raw, params), rpb.filter(raw, params), `SDK parity: ${raw}`);
  }
});

// ---------------------------------------------------------------- auth

test('authWithPassword saves the store; the next request carries the raw token', async () => {
  const auth = { token: USER_TOKEN, record: USER, meta: { extra: 1 } };
  const { pb, requests, outcome: out } = await same([ok(auth), ok({ page: 1, perPage: 30, items: [] })], async (pb) => {
    const res = await pb.collection('users').authWithPassword('a@example.com', 'secret', { expand: 'team' });
    await pb.collection('posts').getList();
    return res;
  });
  assert.deepEqual(out.result, auth);
  assert.equal(requests[0].method, 'POST');
  assert.equal(requests[0].path, '/api/collections/users/auth-with-password?expand=team');
  assert.deepEqual(JSON.parse(requests[0].body), { identity: 'a@example.com', password: 'secret' });
  assert.equal(requests[0].headers.Authorization, undefined);
  assert.equal(requests[1].headers.Authorization, USER_TOKEN);
  assert.equal(pb.authStore.token, USER_TOKEN);
  assert.deepEqual(pb.authStore.record, USER);
  assert.equal(pb.authStore.model, pb.authStore.record);
  assert.equal(pb.authStore.isValid, true);
  assert.equal(pb.authStore.isSuperuser, false);
});

test('requestOTP returns { otpId }; authWithOTP saves the store', async () => {
  const { pb, requests, outcome: out } = await same(
    [ok({ otpId: 'otp123' }), ok({ token: USER_TOKEN, record: USER }), ok({ id: 'p' })],
    async (pb) => {
      const otp = await pb.collection('users').requestOTP('a@example.com');
      const auth = await pb.collection('users').authWithOTP(otp.otpId, '123456', { fields: 'token,record' });
      await pb.collection('posts').getOne('p');
      return { otp, auth };
    });
  assert.deepEqual(out.result.otp, { otpId: 'otp123' });
  assert.deepEqual(out.result.auth, { token: USER_TOKEN, record: USER });
  assert.deepEqual(requests.map((r) => [r.method, r.path, r.body]), [
    ['POST', '/api/collections/users/request-otp', '{"email":"a@example.com"}'],
    ['POST', '/api/collections/users/auth-with-otp?fields=token%2Crecord', '{"otpId":"otp123","password":"123456"}'],
    ['GET', '/api/collections/posts/records/p', ''],
  ]);
  assert.equal(requests[2].headers.Authorization, USER_TOKEN);
  assert.equal(pb.authStore.record.id, USER.id);
});

test('auth responses are normalized (missing token/record) as the SDK does', async () => {
  const { pb, outcome: out } = await same([ok({ other: 1 })], (pb) => pb.collection('users').authRefresh());
  assert.deepEqual(out.result, { other: 1, token: '', record: {} });
  assert.equal(pb.authStore.token, '');
});

test('the other auth endpoints: paths, bodies, return values', async () => {
  const verifyToken = jwt({ id: USER.id, collectionId: USER.collectionId, type: 'verification' });
  const setup = (pb) => pb.authStore.save(USER_TOKEN, { ...USER });
  const methods = { password: { enabled: true, identityFields: ['email'] }, oauth2: { enabled: false, providers: [] }, mfa: {}, otp: {} };
  const { pb, requests, outcome: out } = await same(
    [ok(methods), ok({ token: USER_TOKEN, record: USER }), noContent(), noContent(), noContent(),
      noContent(), noContent(), ok({ token: 'imp', record: { id: 'x' } }), ok({ token: 'oa', record: USER, meta: { isNew: true } })],
    async (pb) => {
      const users = pb.collection('users');
      return [
        await users.listAuthMethods(),
        await users.authRefresh({ expand: 'team' }),
        await users.requestVerification('a@example.com'),
        await users.confirmVerification(verifyToken),
        pb.authStore.record.verified,
        await users.requestPasswordReset('a@example.com', { headers: { 'X-A': '1' } }),
        await users.confirmPasswordReset('rt', 'p1', 'p1'),
        await users.requestEmailChange('new@example.com'),
        (await users.impersonate('x y', 60)).authStore.token,
        await users.authWithOAuth2Code('google', 'code', 'verifier', 'https://r', { name: 'n' }, { fields: 'token' }),
      ];
    }, { setup });
  assert.deepEqual(out.result.slice(2, 9), [true, true, true, true, true, true, 'imp']);
  assert.deepEqual(requests.map((r) => [r.method, r.path]), [
    ['GET', '/api/collections/users/auth-methods?fields=mfa%2Cotp%2Cpassword%2Coauth2'],
    ['POST', '/api/collections/users/auth-refresh?expand=team'],
    ['POST', '/api/collections/users/request-verification'],
    ['POST', '/api/collections/users/confirm-verification'],
    ['POST', '/api/collections/users/request-password-reset'],
    ['POST', '/api/collections/users/confirm-password-reset'],
    ['POST', '/api/collections/users/request-email-change'],
    ['POST', '/api/collections/users/impersonate/x%20y'],
    ['POST', '/api/collections/users/auth-with-oauth2?fields=token'],
  ]);
  assert.equal(requests[5].body, '{"token":"rt","password":"p1","passwordConfirm":"p1"}');
  assert.equal(requests[7].body, '{"duration":60}');
  assert.equal(requests[7].headers.Authorization, USER_TOKEN);
  // confirmVerification flipped the stored record's verified flag (out.result[4] above);
  // authWithOAuth2Code then stored its own record
  assert.equal(pb.authStore.token, 'oa');

  // confirmEmailChange for the stored record clears the store
  const changeToken = jwt({ id: USER.id, collectionId: USER.collectionId, type: 'emailChange' });
  const { pb: pb2, requests: r2 } = await same([noContent()], (pb) =>
    pb.collection('users').confirmEmailChange(changeToken, 'pw'), { setup });
  assert.equal(r2[0].body, JSON.stringify({ token: changeToken, password: 'pw' }));
  assert.equal(pb2.authStore.token, '');
});

test('legacy (body, query) arguments of the auth helpers', async () => {
  const warn = console.warn;
  console.warn = () => {}; // the SDK warns about the deprecated form
  let requests;
  try {
    ({ requests } = await same([noContent()], (pb) =>
      pb.collection('users').requestVerification('a@example.com', { extra: 1 }, { fields: 'x' })));
  } finally {
    console.warn = warn;
  }
  assert.equal(requests[0].path, '/api/collections/users/request-verification?fields=x');
  assert.equal(requests[0].body, '{"email":"a@example.com","extra":1}');
});

// ---------------------------------------------------------------- errors

test('400 error carries the response and its data; message from the response', async () => {
  const errBody = { status: 400, message: 'Failed to create record.', data: { title: { code: 'validation_required', message: 'Missing required value.' } } };
  const { outcome: out } = await same([reply(400, errBody)], (pb) => pb.collection('posts').create({}));
  assert.deepEqual(out.error, {
    kind: 'ClientResponseError',
    name: 'ClientResponseError 400',
    message: 'Failed to create record.',
    status: 400,
    response: errBody,
    data: errBody,
    isAbort: false,
  });

  const { mod } = mine([reply(400, errBody)]);
  try {
    new mod.PocketBase().collection('posts').create({});
    assert.fail('expected a throw');
  } catch (e) {
    assert.ok(e instanceof mod.ClientResponseError);
    assert.equal(e.url, '/api/collections/posts/records');
    assert.equal(e.response.data.title.code, 'validation_required');
    assert.equal(e.data, e.response);
    assert.deepEqual(e.originalError, { url: '/api/collections/posts/records', status: 400, data: errBody });
    const json = e.toJSON();
    assert.equal(json.status, 400);
    assert.deepEqual(json.response, errBody);
    assert.equal(json.name, 'ClientResponseError 400');
  }
});

test('error message falls back when the response has none', async () => {
  for (const body of [{}, 'Internal failure (not JSON)', null, { data: {} }]) {
    const m = mine([reply(500, body)]);
    const out = await outcome(() => new m.mod.PocketBase(ORIGIN).health.check());
    assert.equal(out.error.message, FALLBACK, JSON.stringify(body));
    assert.equal(out.error.status, 500);
    assert.deepEqual(out.error.response, typeof body === 'object' && body ? body : {});
  }
});

test('a throwing host send becomes a status-0 ClientResponseError keeping the cause', () => {
  const mod = factory(() => { throw new Error('host exploded'); });
  try {
    new mod.PocketBase().health.check();
    assert.fail('expected a throw');
  } catch (e) {
    assert.ok(e instanceof mod.ClientResponseError);
    assert.equal(e.status, 0);
    assert.equal(e.message, FALLBACK);
    assert.equal(e.originalError.message, 'host exploded');
    assert.equal(e.cause, e.originalError);
  }
});

// ---------------------------------------------------------------- other services

test('collections, settings, health, files', async () => {
  const { requests, outcome: out } = await same(
    [ok({ page: 1, perPage: 30, items: [] }), ok({ id: 'c1' }), ok({ id: 'c1', name: 'x' }), noContent(),
      noContent(), ok({ auth: {}, base: {} }), noContent(), ok({ meta: {} }), ok({ meta: { appName: 'A' } }),
      noContent(), ok({ code: 200, message: 'API is healthy.', data: {} }), ok({ token: 'ftok' })],
    async (pb) => [
      await pb.collections.getList(1, 10, { filter: 'type="auth"' }),
      await pb.collections.getOne('c1'),
      await pb.collections.update('c1', { name: 'x' }),
      await pb.collections.delete('c1'),
      await pb.collections.import([{ name: 'a' }], true),
      await pb.collections.getScaffolds(),
      await pb.collections.truncate('posts'),
      await pb.settings.getAll({ fields: 'meta' }),
      await pb.settings.update({ meta: { appName: 'A' } }),
      await pb.settings.testEmail('users', 'to@example.com', 'verification'),
      await pb.health.check(),
      await pb.files.getToken(),
    ]);
  assert.deepEqual(out.result.slice(3, 5), [true, true]);
  assert.equal(out.result[6], true);
  assert.equal(out.result[9], true);
  assert.equal(out.result[11], 'ftok');
  assert.deepEqual(requests.map((r) => [r.method, r.path, r.body]), [
    ['GET', '/api/collections?page=1&perPage=10&filter=type%3D%22auth%22', ''],
    ['GET', '/api/collections/c1', ''],
    ['PATCH', '/api/collections/c1', '{"name":"x"}'],
    ['DELETE', '/api/collections/c1', ''],
    ['PUT', '/api/collections/import', '{"collections":[{"name":"a"}],"deleteMissing":true}'],
    ['GET', '/api/collections/meta/scaffolds', ''],
    ['DELETE', '/api/collections/posts/truncate', ''],
    ['GET', '/api/settings?fields=meta', ''],
    ['PATCH', '/api/settings', '{"meta":{"appName":"A"}}'],
    ['POST', '/api/settings/test/email', '{"email":"to@example.com","template":"verification","collection":"users"}'],
    ['GET', '/api/health', ''],
    ['POST', '/api/files/token', ''],
  ]);
});

test('files.getURL builds path-only URLs like the SDK', () => {
  const { mod } = mine();
  const pb = new mod.PocketBase('http://127.0.0.1:8090');
  const rpb = new RealPocketBase('', new RealAuthStore());
  const rec = { id: 'r 1', collectionId: 'pbc_1', collectionName: 'posts' };
  const cases = [
    [rec, 'a b.png', undefined],
    [rec, 'a.png', { thumb: '100x100', download: true, token: 'tok' }],
    [rec, 'a.png', { download: false, token: null }],
    [{ id: 'r', collectionName: 'posts' }, 'a.png', {}],
    [{ id: 'r' }, 'a.png', {}],
    [rec, '', {}],
  ];
  for (const [r, f, q] of cases) {
    assert.equal(pb.files.getURL(r, f, q && { ...q }), rpb.files.getURL(r, f, q && { ...q }));
  }
  assert.equal(pb.files.getURL(rec, 'a.png', { thumb: '0x50' }), '/api/files/pbc_1/r%201/a.png?thumb=0x50');
  assert.equal(pb.files.getUrl(rec, 'a.png'), '/api/files/pbc_1/r%201/a.png');
  assert.equal(pb.baseURL, '');
  assert.equal(pb.baseUrl, '');
});

test('pb.send: method, query, headers, body; JSON, empty and raw text answers', async () => {
  const { requests, outcome: out } = await same([ok({ hello: 'world' }), noContent()], async (pb) => [
    await pb.send('/api/custom/x', { method: 'POST', body: { a: 1 }, query: { q: 'v w' }, headers: { 'X-H': 'h' }, extra: 5 }),
    await pb.send('api/custom/y', { method: 'DELETE' }),
  ]);
  assert.deepEqual(out.result, [{ hello: 'world' }, {}]);
  assert.deepEqual(requests.map((r) => [r.method, r.path, r.body, r.headers['X-H']]), [
    ['POST', '/api/custom/x?q=v%20w&extra=5', '{"a":1}', 'h'],
    ['DELETE', '/api/custom/y', '', undefined],
  ]);

  // a non-JSON success body is handed back as text (the SDK would give {})
  const m = mine([ok('<p>plain</p>')]);
  assert.equal(new m.mod.PocketBase().send('/hello', {}), '<p>plain</p>');
  // a string body is sent untouched; an explicit Authorization header wins over the store
  const m2 = mine([ok({})]);
  const pb2 = new m2.mod.PocketBase();
  pb2.authStore.save(USER_TOKEN, USER);
  pb2.send('/x', { method: 'put', body: 'a=1', headers: { 'content-type': 'text/plain', authorization: 'other' } });
  assert.deepEqual(m2.requests[0], {
    method: 'PUT', path: '/x', body: 'a=1',
    headers: { 'content-type': 'text/plain', authorization: 'other', 'Accept-Language': 'en-US' },
  });
});

test('createBatch sends the SDK batch payload as JSON', async () => {
  const results = [{ status: 200, body: { id: 'a' } }, { status: 204, body: null }];
  const run = (pb) => {
    const batch = pb.createBatch();
    batch.collection('posts').create({ title: 'a' }, { expand: 'x' });
    batch.collection('posts').update('id 1', { title: 'b' }, { headers: { 'X-H': '1' } });
    batch.collection('tags').upsert({ id: 't', name: 'n' });
    batch.collection('posts').delete('id2');
    return batch.send();
  };
  const m = mine([ok(results)]);
  const pb = new m.mod.PocketBase();
  assert.deepEqual(await run(pb), results);
  const r = real([ok(results)]);
  assert.deepEqual(await run(r.pb), results);

  assert.equal(m.requests[0].method, 'POST');
  assert.equal(m.requests[0].path, '/api/batch');
  assert.equal(m.requests[0].headers['Content-Type'], 'application/json');
  const payload = JSON.parse(m.requests[0].body);
  assert.deepEqual(payload, JSON.parse(r.requests[0].body.formData['@jsonPayload']));
  assert.deepEqual(payload.requests, [
    { method: 'POST', url: '/api/collections/posts/records?expand=x', body: { title: 'a' } },
    { method: 'PATCH', url: '/api/collections/posts/records/id%201', headers: { 'X-H': '1' }, body: { title: 'b' } },
    { method: 'PUT', url: '/api/collections/tags/records', body: { id: 't', name: 'n' } },
    { method: 'DELETE', url: '/api/collections/posts/records/id2', body: {} },
  ]);
});

test('file values are refused with a clear error, before any request', () => {
  const m = mine();
  const pb = new m.mod.PocketBase();
  const blob = new Blob(['x']);
  assert.throws(() => pb.collection('posts').create({ doc: blob }), /not supported by pb\(\) yet/);
  assert.throws(() => pb.collection('posts').update('a', { docs: ['keep.png', blob] }), /not supported/);
  assert.throws(() => pb.collection('posts').create({ f: { originalName: 'a.txt', reader: {}, name: 'a_x.txt' } }), /not supported/);
  assert.throws(() => pb.collection('posts').create(new FormData()), /not supported/);
  assert.throws(() => pb.createBatch().collection('posts').create({ doc: blob }), /not supported/);
  assert.equal(m.requests.length, 0);
});

// ---------------------------------------------------------------- auth store

test('authStore: isValid, isSuperuser, save/clear/onChange, cookies', () => {
  const { mod } = mine();
  const pb = new mod.PocketBase();
  const store = pb.authStore;
  assert.equal(store.isValid, false);

  const seen = [];
  const off = store.onChange((token, record) => seen.push([token, record && record.id]), true);
  store.save(USER_TOKEN, USER);
  assert.equal(store.isValid, true);
  store.save(jwt({ type: 'auth', exp: nowSec() - 10 }), USER);
  assert.equal(store.isValid, false, 'expired');
  store.save(jwt({ type: 'auth' }), null);
  assert.equal(store.isValid, true, 'no exp claim');
  store.save('not-a-jwt', null);
  assert.equal(store.isValid, false, 'garbage');
  // base64url payloads with "-" and "_" and non-ASCII text decode
  const tricky = jwt({ type: 'auth', exp: nowSec() + 60, s: '>>>???~~~ünï' });
  assert.match(tricky.split('.')[1], /[-_]/);
  store.save(tricky, null);
  assert.equal(store.isValid, true);
  assert.equal(mod.getTokenPayload(tricky).s, '>>>???~~~ünï');

  store.save(jwt({ type: 'auth', collectionId: 'pbc_3142635823', exp: nowSec() + 60 }), null);
  assert.equal(store.isSuperuser, true);
  store.save(jwt({ type: 'auth', collectionId: 'x', exp: nowSec() + 60 }), { id: 's', collectionName: '_superusers' });
  assert.equal(store.isSuperuser, true);
  store.save(USER_TOKEN, USER);
  assert.equal(store.isSuperuser, false);

  const cookie = store.exportToCookie({ secure: false });
  const rstore = new RealAuthStore();
  rstore.save(USER_TOKEN, USER);
  assert.equal(cookie, rstore.exportToCookie({ secure: false }));
  store.clear();
  assert.equal(store.token, '');
  store.loadFromCookie(cookie);
  assert.equal(store.token, USER_TOKEN);
  assert.deepEqual(store.record, USER);

  off();
  store.clear();
  // fired: immediately, 8 saves, clear, loadFromCookie; not after off()
  assert.deepEqual(seen.map((s) => s[1] ?? null), [null, USER.id, USER.id, null, null, null, null, 's', USER.id, null, USER.id]);
});

test('impersonate returns a new client with its own memory store', async () => {
  const m = mine([ok({ token: 'imp-token', record: { id: 'u2' } }), ok({ id: 'p' })]);
  const pb = new m.mod.PocketBase();
  pb.authStore.save('su-token', { id: 'su', collectionName: '_superusers' });
  const other = pb.collection('users').impersonate('u2', 0);
  assert.notEqual(other, pb);
  assert.equal(other.authStore.token, 'imp-token');
  assert.equal(pb.authStore.token, 'su-token');
  other.collection('posts').getOne('p');
  assert.equal(m.requests[0].headers.Authorization, 'su-token');
  assert.equal(m.requests[1].headers.Authorization, 'imp-token');
});
