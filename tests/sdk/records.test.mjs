// Record API tests for Satchel driven through the official PocketBase JS SDK.
// Every expectation here was checked against the real PocketBase 0.40.6.
// Env: SATCHEL_URL, SATCHEL_SUPERUSER_EMAIL, SATCHEL_SUPERUSER_PASSWORD.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  EMAIL, PASSWORD, RUN, uniqueName, DATETIME, client, expectError,
} from './helpers.mjs';

// ---------------------------------------------------------------- helpers

const ID = /^[a-z0-9]{15}$/;
const NOT_FOUND = { data: {}, message: "The requested resource wasn't found.", status: 404 };
const USER_PASSWORD = 'user-pass-123';

let su; // superuser client
const createdCollections = []; // deleted in reverse order (relations point backwards)
const createdUsers = []; // records in the built-in "users" collection

async function createCollection(data) {
  const col = await su.collections.create(data);
  createdCollections.push(col.id);
  return col;
}

/** A fresh client authenticated as a new record of the given auth collection. */
async function newUser(collection, extra = {}) {
  const email = `${Math.random().toString(36).slice(2, 10)}_${RUN}@example.com`;
  const rec = await client().collection(collection).create(
    { email, password: USER_PASSWORD, passwordConfirm: USER_PASSWORD, ...extra });
  if (collection === 'users') createdUsers.push(rec.id);
  const pb = client();
  await pb.collection(collection).authWithPassword(email, USER_PASSWORD);
  return { pb, rec, email };
}

const titles = (list) => list.map((r) => r.title);
const byId = (list) => [...list].sort((x, y) => x.id.localeCompare(y.id));

// ---------------------------------------------------------------- fixtures

const AUTHORS = uniqueName('sdk_authors');
const POSTS = uniqueName('sdk_posts');
const COMMENTS = uniqueName('sdk_comments');
const NOTES = uniqueName('sdk_notes');
const MEMBERS = uniqueName('sdk_members');
const QUOTED = 'it\'s "quoted"';
let authorsCol, postsCol;
const a = {}; // authors by name
const p = {}; // posts by title key
const c = {}; // comments

before(async () => {
  su = client();
  await su.collection('_superusers').authWithPassword(EMAIL, PASSWORD);

  authorsCol = await createCollection({ name: AUTHORS, fields: [{ name: 'name', type: 'text' }] });
  postsCol = await createCollection({ name: POSTS, fields: [
    { name: 'title', type: 'text', required: true },
    { name: 'views', type: 'number' },
    { name: 'tags', type: 'select', values: ['a', 'b', 'c', 'd'], maxSelect: 4 },
    { name: 'published', type: 'bool' },
    { name: 'publishAt', type: 'date' },
    { name: 'author', type: 'relation', collectionId: authorsCol.id, maxSelect: 1 },
    { name: 'editors', type: 'relation', collectionId: authorsCol.id, maxSelect: 5 },
    { name: 'created', type: 'autodate', onCreate: true },
    { name: 'updated', type: 'autodate', onCreate: true, onUpdate: true },
  ] });
  const postsId = postsCol.id;
  await createCollection({ name: COMMENTS, fields: [
    { name: 'body', type: 'text' },
    { name: 'post', type: 'relation', collectionId: postsId, maxSelect: 1 },
  ] });

  for (const name of ['Ann', 'Bob']) a[name] = await su.collection(AUTHORS).create({ name });
  const P = su.collection(POSTS);
  p.alpha = await P.create({ title: 'alpha', views: 1, tags: ['a', 'b'], published: true,
    publishAt: '2020-01-01 10:00:00.000Z', author: a.Ann.id, editors: [a.Ann.id, a.Bob.id] });
  p.beta = await P.create({ title: 'beta', views: 5, tags: ['b', 'c', 'd'], published: false,
    publishAt: '2999-01-01 10:00:00.000Z', author: a.Bob.id, editors: [a.Bob.id] });
  p.gamma = await P.create({ title: 'gamma', views: 5, published: true, author: a.Ann.id });
  p.quoted = await P.create({ title: QUOTED, views: 10, tags: ['d'] });
  c.one = await su.collection(COMMENTS).create({ body: 'first', post: p.alpha.id });
  c.two = await su.collection(COMMENTS).create({ body: 'second', post: p.alpha.id });
});

after(async () => {
  for (const id of createdUsers) {
    try { await su.collection('users').delete(id); } catch { /* already gone */ }
  }
  for (const id of createdCollections.reverse()) {
    try { await su.collections.delete(id); } catch { /* already gone */ }
  }
});

// ---------------------------------------------------------------- tests

test('1. create / getOne / update with modifiers / delete', async () => {
  const P = su.collection(POSTS);
  const rec = await P.create({ title: 'crud', views: 2, tags: ['a'], publishAt: '2024-05-06 07:08:09.123Z' });
  assert.match(rec.id, ID);
  assert.match(rec.created, DATETIME);
  assert.equal(rec.updated, rec.created);
  // Unset fields come back as typed zero values ("", 0, false, []), never null or missing.
  assert.deepEqual(rec, {
    collectionId: postsCol.id, collectionName: POSTS, id: rec.id, title: 'crud', views: 2,
    tags: ['a'], published: false, publishAt: '2024-05-06 07:08:09.123Z', author: '', editors: [],
    created: rec.created, updated: rec.updated,
  });
  assert.deepEqual(await P.getOne(rec.id), rec);

  const upd = await P.update(rec.id, { 'views+': 3, 'tags+': ['c', 'd'], 'tags-': 'a' });
  assert.equal(upd.views, 5);
  assert.deepEqual(upd.tags, ['c', 'd']);
  assert.equal(upd.created, rec.created);
  assert.match(upd.updated, DATETIME);
  assert.ok(upd.updated >= rec.updated);
  const upd2 = await P.update(rec.id, { 'views+': -7, 'tags-': ['c'], title: 'crud2' });
  assert.equal(upd2.views, -2);
  assert.deepEqual(upd2.tags, ['d']);
  assert.equal(upd2.title, 'crud2');
  assert.deepEqual(await P.getOne(rec.id), upd2);

  assert.equal(await P.delete(rec.id), true);
  const err = await expectError(P.getOne(rec.id), 404);
  assert.deepEqual(err.response, NOT_FOUND);
  assert.deepEqual((await expectError(P.delete(rec.id), 404)).response, NOT_FOUND);
});

test('2. getList / getFullList / getFirstListItem / pb.filter', async () => {
  const P = su.collection(POSTS);
  const page1 = await P.getList(1, 2, { sort: 'title' });
  const { items, ...meta } = page1;
  assert.deepEqual(items, [p.alpha, p.beta]);
  assert.deepEqual(meta, { page: 1, perPage: 2, totalItems: 4, totalPages: 2 });
  const page2 = await P.getList(2, 2, { sort: 'title' });
  assert.deepEqual(titles(page2.items), ['gamma', QUOTED]);
  const filtered = await P.getList(1, 10, { filter: 'views = 5', sort: '-title' });
  assert.deepEqual(titles(filtered.items), ['gamma', 'beta']);
  assert.equal(filtered.totalItems, 2);
  assert.equal(filtered.totalPages, 1);
  // skipTotal returns -1 for both totals.
  const skipped = await P.getList(1, 1, { skipTotal: true });
  assert.equal(skipped.totalItems, -1);
  assert.equal(skipped.totalPages, -1);

  assert.deepEqual(titles(await P.getFullList({ sort: 'views,title' })), ['alpha', 'beta', 'gamma', QUOTED]);
  // batch=3 forces two pages behind the scenes; order must hold across them.
  assert.deepEqual(titles(await P.getFullList({ sort: '-views,title', batch: 3 })),
    [QUOTED, 'beta', 'gamma', 'alpha']);

  assert.equal((await P.getFirstListItem('views > 5')).id, p.quoted.id);
  const err = await expectError(P.getFirstListItem('views > 500'), 404);
  // The SDK synthesises this 404 itself (with "code", not "status") after an empty getList.
  assert.deepEqual(err.response, { code: 404, message: "The requested resource wasn't found.", data: {} });

  const f = su.filter('title = {:t} && views > {:v}', { t: 'beta', v: 3 });
  assert.equal(f, 'title = "beta" && views > 3');
  assert.equal((await P.getFirstListItem(f)).id, p.beta.id);
  const q = su.filter('title = {:t}', { t: QUOTED });
  assert.equal(q, 'title = "it\'s \\"quoted\\""');
  assert.equal((await P.getFirstListItem(q)).id, p.quoted.id);
});

test('3. filter operators', async () => {
  const P = su.collection(POSTS);
  const match = async (filter) => titles(await P.getFullList({ filter, sort: 'title' }));
  assert.deepEqual(await match('title = "alpha"'), ['alpha']);
  assert.deepEqual(await match('title != "alpha"'), ['beta', 'gamma', QUOTED]);
  assert.deepEqual(await match('views > 5'), [QUOTED]);
  assert.deepEqual(await match('views >= 5'), ['beta', 'gamma', QUOTED]);
  assert.deepEqual(await match('views < 5'), ['alpha']);
  assert.deepEqual(await match('views <= 5'), ['alpha', 'beta', 'gamma']);
  assert.deepEqual(await match('title ~ "amm"'), ['gamma']);
  assert.deepEqual(await match('title ~ "ALP"'), ['alpha']); // case-insensitive (SQLite LIKE)
  // An operand that already contains % is used as the LIKE pattern as-is (no auto %...% wrap),
  // so "a%a" means starts AND ends with "a".
  assert.deepEqual(await match('title ~ "a%a"'), ['alpha']);
  assert.deepEqual(await match('title !~ "a"'), [QUOTED]);
  // Surprise: a plain multi-select resolves to its raw JSON text, so `tags ?= "b"` matches
  // nothing (and `tags = "[]"` matches the empty one). Per-item matching needs :each.
  assert.deepEqual(await match('tags ?= "b"'), []);
  assert.deepEqual(await match('tags = "[]"'), ['gamma']);
  assert.deepEqual(await match('tags:each ?= "b"'), ['alpha', 'beta']);
  assert.deepEqual(await match('tags:each = "d"'), [QUOTED]); // without ?, every item must match
  assert.deepEqual(await match('tags ~ "b"'), ['alpha', 'beta']); // substring of the JSON text
  assert.deepEqual(await match('tags:length = 0'), ['gamma']);
  assert.deepEqual(await match('tags:length >= 2'), ['alpha', 'beta']);
  assert.deepEqual(await match('(views = 1 || views = 10) && title != "alpha"'), [QUOTED]);
  assert.deepEqual(await match('views = 1 || (views = 10 && title != "alpha")'), ['alpha', QUOTED]);
  // Surprise: an unset date is stored as "" and compared as text, so it sorts before @now.
  assert.deepEqual(await match('publishAt < @now'), ['alpha', 'gamma', QUOTED]);
  assert.deepEqual(await match('publishAt != "" && publishAt < @now'), ['alpha']);
  assert.deepEqual(await match('publishAt > @now'), ['beta']);
  assert.deepEqual(await match('publishAt = null'), ['gamma', QUOTED]); // null matches ""
  assert.deepEqual(await match('publishAt != null'), ['alpha', 'beta']);
  assert.deepEqual(await match('published = true'), ['alpha', 'gamma']);
  assert.deepEqual(await match('published = false'), ['beta', QUOTED]);
  assert.deepEqual(await match('author.name = "Ann"'), ['alpha', 'gamma']);
  assert.deepEqual(await match('author = ""'), [QUOTED]);
  assert.deepEqual(await match('editors.name ?= "Bob"'), ['alpha', 'beta']);

  const err = await expectError(P.getList(1, 10, { filter: 'nope = 1' }), 400);
  assert.deepEqual(err.response, { data: {}, message: 'Something went wrong while processing your request.', status: 400 });
});

test('4. sort', async () => {
  const P = su.collection(POSTS);
  assert.deepEqual(titles(await P.getFullList({ sort: '-views,title' })), [QUOTED, 'beta', 'gamma', 'alpha']);
  const random = await P.getFullList({ sort: '@random' });
  assert.deepEqual(titles(random).sort(), ['alpha', 'beta', 'gamma', QUOTED].sort());
  const err = await expectError(P.getList(1, 10, { sort: 'nope' }), 400);
  assert.deepEqual(err.response, { data: {}, message: 'Something went wrong while processing your request.', status: 400 });
});

test('5. expand', async () => {
  const P = su.collection(POSTS);
  const one = await P.getOne(p.alpha.id, { expand: 'author' });
  assert.deepEqual(one.expand, { author: a.Ann });
  const multi = await P.getOne(p.alpha.id, { expand: 'editors' });
  assert.deepEqual(multi.expand, { editors: [a.Ann, a.Bob] });

  const nested = await su.collection(COMMENTS).getOne(c.one.id, { expand: 'post.author' });
  assert.deepEqual(nested, { ...c.one, expand: { post: { ...p.alpha, expand: { author: a.Ann } } } });

  // Back-relation: <collection>_via_<field>; multiple matches => array (order not asserted).
  const via = `${COMMENTS}_via_post`;
  const back = await P.getOne(p.alpha.id, { expand: via });
  assert.deepEqual(Object.keys(back.expand), [via]);
  assert.deepEqual(byId(back.expand[via]), byId([c.one, c.two]));
  const noBack = await P.getOne(p.beta.id, { expand: via });
  assert.deepEqual(noBack.expand, {});

  // An unknown expand path is silently ignored: no error and no "expand" key at all...
  assert.deepEqual(await P.getOne(p.alpha.id, { expand: 'nope' }), p.alpha);
  assert.deepEqual(await P.getOne(p.alpha.id, { expand: 'nope,author' }), { ...p.alpha, expand: { author: a.Ann } });
  // ...but a valid relation that happens to be empty yields "expand": {} (not absent).
  assert.deepEqual(await P.getOne(p.quoted.id, { expand: 'author' }), { ...p.quoted, expand: {} });

  const list = await P.getList(1, 10, { sort: 'title', expand: 'author,editors' });
  assert.deepEqual(list.items.map((r) => r.expand), [
    { author: a.Ann, editors: [a.Ann, a.Bob] }, { author: a.Bob, editors: [a.Bob] },
    { author: a.Ann }, {}]);
  // fields can reach into expanded records.
  assert.deepEqual(await P.getOne(p.alpha.id, { expand: 'author', fields: 'id,expand.author.name' }),
    { id: p.alpha.id, expand: { author: { name: 'Ann' } } });
});

test('6. fields', async () => {
  const P = su.collection(POSTS);
  assert.deepEqual(await P.getOne(p.alpha.id, { fields: 'id,title' }), { id: p.alpha.id, title: 'alpha' });
  assert.deepEqual(await P.getOne(p.alpha.id, { fields: 'title:excerpt(3,true)' }), { title: 'alp...' });
  const list = await P.getList(1, 1, { sort: 'title', fields: 'title' });
  assert.deepEqual(list.items, [{ title: 'alpha' }]);
});

test('7. API rules', async () => {
  await createCollection({
    name: NOTES, listRule: 'author = @request.auth.id', viewRule: 'author = @request.auth.id',
    createRule: null, fields: [{ name: 'title', type: 'text' },
      { name: 'author', type: 'relation', collectionId: '_pb_users_auth_', maxSelect: 1 }],
  });
  const u1 = await newUser('users');
  const u2 = await newUser('users');
  const N = su.collection(NOTES);
  const n1 = await N.create({ title: 'one', author: u1.rec.id });
  const n2 = await N.create({ title: 'two', author: u2.rec.id });
  const orphan = await N.create({ title: 'orphan' });

  // Surprise: for a guest, @request.auth.id is "" and so is the orphan's empty author, so the
  // rule matches and guests DO see records whose author is unset (but nobody else's).
  const guest = client().collection(NOTES);
  const guestList = await guest.getList(1, 10);
  assert.deepEqual(guestList, { items: [orphan], page: 1, perPage: 10, totalItems: 1, totalPages: 1 });
  assert.deepEqual(await guest.getOne(orphan.id), orphan);
  assert.deepEqual((await expectError(guest.getOne(n1.id), 404)).response, NOT_FOUND);

  const mine = await u1.pb.collection(NOTES).getFullList({ sort: 'title' });
  assert.deepEqual(mine.map((r) => r.id), [n1.id]);
  assert.deepEqual((await u1.pb.collection(NOTES).getOne(n1.id)).title, 'one');
  // A viewRule mismatch is a 404, not a 403 (existence is not leaked).
  let err = await expectError(u1.pb.collection(NOTES).getOne(n2.id), 404);
  assert.deepEqual(err.response, NOT_FOUND);
  // The built-in users collection only lets a user see themselves (rule "id = @request.auth.id").
  assert.deepEqual((await expectError(u1.pb.collection('users').getOne(u2.rec.id), 404)).response, NOT_FOUND);
  // A superuser bypasses all rules.
  assert.equal((await N.getFullList()).length, 3);

  err = await expectError(u1.pb.collection(NOTES).create({ title: 'x', author: u1.rec.id }), 403);
  assert.deepEqual(err.response, { data: {}, message: 'Only superusers can perform this action.', status: 403 });

  err = await expectError(u1.pb.collection(NOTES).getList(1, 10, { filter: 'author = @request.auth.id' }), 403);
  assert.deepEqual(err.response, { data: {}, message: 'Only superusers can filter by @request.', status: 403 });
});

test('8. validation errors', async () => {
  const err = await expectError(su.collection(POSTS).create({ views: 1 }), 400);
  assert.deepEqual(err.response, {
    data: { title: { code: 'validation_required', message: 'Cannot be blank.' } },
    message: 'Failed to create record.', status: 400,
  });
});

test('9. auth records: email visibility, hidden fields, password change', async () => {
  const col = await createCollection({
    name: MEMBERS, type: 'auth', listRule: '', viewRule: '', createRule: '',
    updateRule: 'id = @request.auth.id',
  });
  const hidden = await newUser(MEMBERS);
  const shown = await newUser(MEMBERS, { emailVisibility: true });
  const keys = ['collectionId', 'collectionName', 'emailVisibility', 'id', 'verified'];

  // What the guest create() returns already hides email (emailVisibility false).
  assert.deepEqual(Object.keys(hidden.rec).sort(), keys);
  const other = await hidden.pb.collection(MEMBERS).getOne(shown.rec.id);
  assert.deepEqual(other, { collectionId: col.id, collectionName: MEMBERS, emailVisibility: true,
    email: shown.email, id: shown.rec.id, verified: false });
  const otherHidden = await shown.pb.collection(MEMBERS).getOne(hidden.rec.id);
  assert.deepEqual(Object.keys(otherHidden).sort(), keys);
  const own = await hidden.pb.collection(MEMBERS).getOne(hidden.rec.id);
  assert.equal(own.email, hidden.email);
  assert.deepEqual(Object.keys(own).sort(), ['email', ...keys].sort());
  for (const r of [hidden.rec, other, own, ...(await su.collection(MEMBERS).getFullList())]) {
    assert.equal('password' in r, false);
    assert.equal('tokenKey' in r, false);
  }

  // Superusers see every email regardless of emailVisibility.
  assert.equal((await su.collection(MEMBERS).getOne(hidden.rec.id)).email, hidden.email);

  const M = hidden.pb.collection(MEMBERS);
  const change = { password: 'new-pass-123', passwordConfirm: 'new-pass-123' };
  let err = await expectError(M.update(hidden.rec.id, change), 400);
  assert.equal(err.response.data.oldPassword.code, 'validation_required');
  assert.deepEqual(err.response, {
    data: { oldPassword: { code: 'validation_required', message: 'Cannot be blank.' } },
    message: 'Failed to update record.', status: 400,
  });
  err = await expectError(M.update(hidden.rec.id, { ...change, oldPassword: 'wrong-pass-1' }), 400);
  assert.deepEqual(err.response.data, { oldPassword: {
    code: 'validation_invalid_old_password', message: 'Missing or invalid old password.' } });

  const ok = await M.update(hidden.rec.id, { ...change, oldPassword: USER_PASSWORD });
  assert.deepEqual(ok, { ...own, email: hidden.email });
  await client().collection(MEMBERS).authWithPassword(hidden.email, 'new-pass-123');
  // The password change rotates tokenKey: the old token is now silently treated as a guest
  // (no 401 on reads; the own record loses its email; updateRule fails => 404)...
  assert.deepEqual(Object.keys(await M.getOne(hidden.rec.id)).sort(), keys);
  assert.deepEqual((await expectError(M.update(hidden.rec.id, { emailVisibility: true }), 404)).response, NOT_FOUND);
  // ...and only authRefresh reports it as a 401.
  err = await expectError(M.authRefresh(), 401);
  assert.deepEqual(err.response,
    { data: {}, message: 'The request requires valid record authorization token.', status: 401 });
});
