// Realtime subscriptions through the official SDK (`pb.collection(c).subscribe`), with the
// `eventsource` package as the global EventSource node lacks: create/update/delete events,
// the list and view rules per client (guest, owner, other user, superuser), email
// visibility, record topics, options (fields), unsubscribe and reconnecting.
// Env: SATCHEL_URL, SATCHEL_SUPERUSER_EMAIL, SATCHEL_SUPERUSER_PASSWORD.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { EventSource } from 'eventsource';
import { EMAIL, PASSWORD, RUN, uniqueName, client } from './helpers.mjs';

globalThis.EventSource = EventSource;

const USER_PASSWORD = 'user-pass-123';
const WAIT = 5000;
const QUIET = 600;

let su;
const PUBLIC = uniqueName('rt_public');
const NOTES = uniqueName('rt_notes');
const clients = [];
const users = [];

/** Collects a subscription's events; `next()` waits for the next one. */
function collector() {
  const events = [];
  const waiters = [];
  return {
    events,
    push(e) {
      const waiter = waiters.shift();
      if (waiter) waiter(e);
      else events.push(e);
    },
    next(timeout = WAIT) {
      if (events.length) return Promise.resolve(events.shift());
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no realtime event arrived')), timeout);
        waiters.push((e) => { clearTimeout(timer); resolve(e); });
      });
    },
    /** Resolves when nothing arrives for `ms`. */
    async quiet(ms = QUIET) {
      await new Promise((r) => setTimeout(r, ms));
      assert.deepEqual(events.map((e) => `${e.action} ${e.record.id}`), [], 'unexpected realtime events');
    },
  };
}

function track(pb) {
  clients.push(pb);
  return pb;
}

async function newUser() {
  const email = `${Math.random().toString(36).slice(2, 10)}_${RUN}@example.com`;
  const rec = await client().collection('users').create({ email, password: USER_PASSWORD, passwordConfirm: USER_PASSWORD });
  users.push(rec.id);
  const pb = track(client());
  await pb.collection('users').authWithPassword(email, USER_PASSWORD);
  return { pb, rec, email };
}

before(async () => {
  su = track(client());
  await su.collection('_superusers').authWithPassword(EMAIL, PASSWORD);
  await su.collections.create({ name: PUBLIC, listRule: '', viewRule: '', createRule: '', updateRule: '', deleteRule: '',
    fields: [{ name: 'title', type: 'text' }, { name: 'secret', type: 'text', hidden: true }] });
  await su.collections.create({ name: NOTES, listRule: 'owner = @request.auth.id', viewRule: 'owner = @request.auth.id',
    fields: [{ name: 'title', type: 'text' }, { name: 'owner', type: 'relation', collectionId: '_pb_users_auth_', maxSelect: 1 }] });
});

after(async () => {
  for (const pb of clients) await pb.realtime.unsubscribe().catch(() => {});
  for (const id of users) await su.collection('users').delete(id).catch(() => {});
  for (const name of [NOTES, PUBLIC]) await su.collections.delete(name).catch(() => {});
});

test('a guest receives create, update and delete events of a public collection', async () => {
  const guest = track(client());
  const got = collector();
  const unsubscribe = await guest.collection(PUBLIC).subscribe('*', (e) => got.push(e));
  assert.ok(guest.realtime.clientId.length === 40, 'a 40-character client id');

  const rec = await su.collection(PUBLIC).create({ title: 'one', secret: 's' });
  let e = await got.next();
  assert.equal(e.action, 'create');
  assert.deepEqual(Object.keys(e.record).sort(), ['collectionId', 'collectionName', 'id', 'title']);
  assert.equal(e.record.id, rec.id);
  assert.equal(e.record.title, 'one');

  await su.collection(PUBLIC).update(rec.id, { title: 'two' });
  e = await got.next();
  assert.equal(e.action, 'update');
  assert.equal(e.record.title, 'two');

  await su.collection(PUBLIC).delete(rec.id);
  e = await got.next();
  assert.equal(e.action, 'delete');
  assert.equal(e.record.id, rec.id);
  assert.equal(e.record.title, 'two');

  await unsubscribe();
  await su.collection(PUBLIC).create({ title: 'after unsubscribe' });
  await got.quiet();
});

test('rules decide who hears about a record', async () => {
  const ann = await newUser();
  const bob = await newUser();
  const guest = track(client());
  const heard = { ann: collector(), bob: collector(), guest: collector(), su: collector() };
  await ann.pb.collection(NOTES).subscribe('*', (e) => heard.ann.push(e));
  await bob.pb.collection(NOTES).subscribe('*', (e) => heard.bob.push(e));
  await guest.collection(NOTES).subscribe('*', (e) => heard.guest.push(e));
  await su.collection(NOTES).subscribe('*', (e) => heard.su.push(e));

  const note = await su.collection(NOTES).create({ title: 'ann only', owner: ann.rec.id });
  assert.equal((await heard.ann.next()).record.id, note.id);
  assert.equal((await heard.su.next()).record.id, note.id);
  await heard.bob.quiet();
  await heard.guest.quiet();

  // A record subscription follows the view rule.
  const one = collector();
  await ann.pb.collection(NOTES).subscribe(note.id, (e) => one.push(e));
  await su.collection(NOTES).update(note.id, { title: 'edited' });
  const e = await one.next();
  assert.equal(e.action, 'update');
  assert.equal(e.record.title, 'edited');
  assert.equal((await heard.ann.next()).action, 'update');
  await heard.bob.quiet();

  // Handing the note to bob: now bob hears, ann does not.
  await su.collection(NOTES).update(note.id, { owner: bob.rec.id });
  assert.equal((await heard.bob.next()).record.owner, bob.rec.id);
  await heard.ann.quiet();
});

test('auth records show their email to their owner only', async () => {
  const ann = await newUser();
  const other = await newUser();
  const own = collector();
  const theirs = collector();
  await ann.pb.collection('users').subscribe(ann.rec.id, (e) => own.push(e));
  await other.pb.collection('users').subscribe(ann.rec.id, (e) => theirs.push(e));
  await su.collection('users').update(ann.rec.id, { name: 'Ann' });
  const e = await own.next();
  assert.equal(e.record.email, ann.email);
  assert.equal(e.record.name, 'Ann');
  // users' viewRule is `id = @request.auth.id`: another user hears nothing.
  await theirs.quiet();
});

test('subscription options shape the record', async () => {
  const guest = track(client());
  const got = collector();
  await guest.collection(PUBLIC).subscribe('*', (e) => got.push(e), { fields: 'id,title' });
  const rec = await su.collection(PUBLIC).create({ title: 'shaped' });
  const e = await got.next();
  assert.deepEqual(e.record, { id: rec.id, title: 'shaped' });
});

test('a client reconnects and subscribes again', async () => {
  const guest = track(client());
  const got = collector();
  await guest.collection(PUBLIC).subscribe('*', (e) => got.push(e));
  const first = guest.realtime.clientId;
  await guest.realtime.unsubscribe();
  assert.equal(guest.realtime.isConnected, false);
  await guest.collection(PUBLIC).subscribe('*', (e) => got.push(e));
  assert.notEqual(guest.realtime.clientId, first);
  const rec = await su.collection(PUBLIC).create({ title: 'again' });
  assert.equal((await got.next()).record.id, rec.id);
});
