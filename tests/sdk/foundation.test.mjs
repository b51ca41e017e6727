// Foundation tests for Satchel driven through the official PocketBase JS SDK.
// Every expectation here was checked against the real PocketBase 0.40.6.
// Env: SATCHEL_URL, SATCHEL_SUPERUSER_EMAIL, SATCHEL_SUPERUSER_PASSWORD.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  EMAIL, PASSWORD, RUN, uniqueName, DATETIME, client, expectError,
} from './helpers.mjs';

// ---------------------------------------------------------------- helpers

const created = new Set(); // collections to clean up afterwards

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

/** IEEE CRC32 as an unsigned decimal number (what Go's crc32.ChecksumIEEE gives). */
function crc32(str) {
  let c = 0xffffffff;
  for (const byte of Buffer.from(str, 'utf8')) c = CRC_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

const collectionId = (type, name) => `pbc_${crc32(type + name)}`;
const fieldId = (type, name) => `${type}${crc32(name)}`;
const sortedKeys = (obj) => Object.keys(obj).sort();

function jwtPart(token, index) {
  return JSON.parse(Buffer.from(token.split('.')[index], 'base64url').toString('utf8'));
}

let su; // superuser client shared by the tests
async function superuser() {
  const pb = client();
  await pb.collection('_superusers').authWithPassword(EMAIL, PASSWORD);
  return pb;
}

async function createCollection(data) {
  const col = await su.collections.create(data);
  created.add(col.id);
  return col;
}

const ID_FIELD = {
  autogeneratePattern: '[a-z0-9]{15}', help: '', hidden: false, id: 'text3208210256',
  max: 15, min: 15, name: 'id', pattern: '^[a-z0-9]+$', presentable: false,
  primaryKey: true, required: true, system: true, type: 'text',
};

before(async () => { su = await superuser(); });

after(async () => {
  for (const id of created) {
    try { await su.collections.delete(id); } catch { /* already gone */ }
  }
});

// ---------------------------------------------------------------- tests

test('1. health.check as guest', async () => {
  assert.deepEqual(await client().health.check(), { message: 'API is healthy.', code: 200, data: {} });
});

test('2. superuser authWithPassword', async () => {
  const pb = client();
  const auth = await pb.collection('_superusers').authWithPassword(EMAIL, PASSWORD);
  assert.deepEqual(sortedKeys(auth), ['record', 'token']);
  assert.deepEqual(jwtPart(auth.token, 0), { alg: 'HS256', typ: 'JWT' });
  const payload = jwtPart(auth.token, 1);
  assert.deepEqual(sortedKeys(payload), ['collectionId', 'exp', 'id', 'refreshable', 'type']);
  assert.equal(payload.type, 'auth');
  assert.equal(payload.collectionId, 'pbc_3142635823');
  assert.equal(payload.refreshable, true);
  assert.equal(payload.id, auth.record.id);
  // _superusers authToken.duration defaults to 86400s (1 day).
  assert.ok(Math.abs(payload.exp - (Date.now() / 1000 + 86400)) < 120, `exp ${payload.exp}`);

  const rec = auth.record;
  assert.deepEqual(sortedKeys(rec), ['collectionId', 'collectionName', 'created', 'email',
    'emailVisibility', 'id', 'updated', 'verified']); // no password / tokenKey
  assert.equal(rec.email, EMAIL);
  assert.equal(rec.collectionId, 'pbc_3142635823');
  assert.equal(rec.collectionName, '_superusers');
  assert.match(rec.id, /^[a-z0-9]{15}$/);
  assert.match(rec.created, DATETIME);
  assert.equal(pb.authStore.isValid, true);
  assert.equal(pb.authStore.isSuperuser, true);
  assert.equal(pb.authStore.token, auth.token);
  assert.equal(pb.authStore.record.id, rec.id);
});

test('3. wrong password is a 400', async () => {
  const pb = client();
  const err = await expectError(pb.collection('_superusers').authWithPassword(EMAIL, PASSWORD + 'x'), 400);
  assert.deepEqual(err.response, { data: {}, message: 'Failed to authenticate.', status: 400 });
  assert.equal(pb.authStore.isValid, false);
});

test('4. guest collections.getList is a 401', async () => {
  const err = await expectError(client().collections.getList(1, 50), 401);
  assert.deepEqual(err.response,
    { data: {}, message: 'The request requires valid record authorization token.', status: 401 });
});

test('5. collections.create base collection with every field type', async () => {
  const name = uniqueName('sdk_all');
  const common = { help: '', hidden: false, presentable: false, required: false, system: false };
  const autodate = { hidden: false, presentable: false, system: false }; // no help/required keys
  // [input sent, server-filled defaults]
  const spec = [
    [{ name: 'title', type: 'text', required: true, max: 100 },
      { min: 0, pattern: '', autogeneratePattern: '', primaryKey: false }],
    [{ name: 'count', type: 'number', onlyInt: true }, { min: null, max: null }],
    [{ name: 'flag', type: 'bool' }, {}],
    [{ name: 'mail', type: 'email' }, { exceptDomains: [], onlyDomains: [] }],
    [{ name: 'site', type: 'url' }, { exceptDomains: [], onlyDomains: [] }],
    [{ name: 'body', type: 'editor' }, { convertURLs: false, maxSize: 0 }],
    [{ name: 'due', type: 'date' }, { min: '', max: '' }],
    [{ name: 'choice', type: 'select', values: ['a', 'b'], maxSelect: 2 }, {}],
    [{ name: 'meta', type: 'json' }, { maxSize: 0 }],
    [{ name: 'where', type: 'geoPoint' }, {}],
    [{ name: 'created', type: 'autodate', onCreate: true }, { onUpdate: false }],
    [{ name: 'updated', type: 'autodate', onCreate: true, onUpdate: true }, {}],
    [{ name: 'owner', type: 'relation', collectionId: '_pb_users_auth_', maxSelect: 1 },
      { cascadeDelete: false, minSelect: 0 }],
  ];
  const indexes = [`CREATE INDEX idx_title_${name} ON ${name} (title)`];
  const col = await createCollection({ name, type: 'base', fields: spec.map(([f]) => f), indexes });

  assert.equal(col.id, collectionId('base', name));
  assert.equal(col.name, name);
  assert.equal(col.type, 'base');
  assert.equal(col.system, false);
  for (const rule of ['listRule', 'viewRule', 'createRule', 'updateRule', 'deleteRule']) {
    assert.equal(col[rule], null, rule);
  }
  assert.deepEqual(col.indexes, indexes);
  assert.match(col.created, DATETIME);
  assert.equal(col.updated, col.created);
  assert.deepEqual(sortedKeys(col), ['createRule', 'created', 'deleteRule', 'fields', 'id', 'indexes',
    'listRule', 'name', 'system', 'type', 'updateRule', 'updated', 'viewRule']);

  assert.deepEqual(col.fields[0], ID_FIELD);
  assert.equal(col.fields.length, spec.length + 1);
  spec.forEach(([input, defaults], i) => {
    // Field ids are type + CRC32(name), e.g. "text724990059" for "title".
    const expected = { ...(input.type === 'autodate' ? autodate : common),
      id: fieldId(input.type, input.name), ...defaults, ...input };
    assert.deepEqual(col.fields[i + 1], expected, `field ${input.name}`);
  });
});

test('6. collections getOne / getList / getFullList', async () => {
  const name = uniqueName('sdk_read');
  const col = await createCollection({ name, fields: [{ name: 'title', type: 'text' }] });
  assert.deepEqual(await su.collections.getOne(name), col);
  assert.deepEqual(await su.collections.getOne(col.id), col);

  const list = await su.collections.getList(1, 50, { filter: `name = "${name}"` });
  assert.deepEqual(list, { items: [col], page: 1, perPage: 50, totalItems: 1, totalPages: 1 });

  const all = await su.collections.getFullList();
  const names = all.map((c) => c.name);
  for (const n of ['users', '_superusers', name]) assert.ok(names.includes(n), `${n} in getFullList`);
  assert.equal(all.find((c) => c.name === 'users').id, '_pb_users_auth_');
  assert.equal(all.find((c) => c.name === '_superusers').id, 'pbc_3142635823');
});

test('7. collections.update renames and drops fields, changes rules', async () => {
  const name = uniqueName('sdk_upd');
  const col = await createCollection({ name, fields: [
    { name: 'title', type: 'text' }, { name: 'n', type: 'number' }, { name: 'gone', type: 'bool' }] });
  const [idField, title, n] = col.fields;
  const upd = await su.collections.update(col.id, {
    fields: [idField, { ...title, name: 'headline' }, n], // "gone" omitted => dropped
    listRule: '',
  });
  assert.equal(upd.id, col.id);
  assert.deepEqual(upd.fields.map((f) => f.name), ['id', 'headline', 'n']);
  assert.deepEqual(upd.fields[1], { ...title, name: 'headline' }); // id kept: text724990059
  assert.equal(upd.fields[1].id, fieldId('text', 'title'));
  assert.equal(upd.listRule, '');
  assert.equal(upd.viewRule, null);
  assert.equal(upd.created, col.created);
  assert.match(upd.updated, DATETIME);
  assert.ok(upd.updated >= col.updated);
  assert.deepEqual(await su.collections.getOne(name), upd);

  // Guests can now list (empty) records because listRule is "".
  const guestList = await client().collection(name).getList();
  assert.deepEqual(guestList, { items: [], page: 1, perPage: 30, totalItems: 0, totalPages: 0 });
});

test('records survive schema changes', async () => {
  const name = uniqueName('sdk_rec');
  const col = await createCollection({ name, fields: [
    { name: 'title', type: 'text' }, { name: 'n', type: 'number' }, { name: 'gone', type: 'bool' }] });
  const rec = await su.collection(name).create({ title: 'hello', n: 5, gone: true });
  assert.match(rec.id, /^[a-z0-9]{15}$/);
  // No autodate fields were declared, so the record has no created/updated keys.
  assert.deepEqual(rec, { collectionId: col.id, collectionName: name, gone: true, id: rec.id, n: 5, title: 'hello' });

  const [idField, title, n] = col.fields;
  await su.collections.update(name, { fields: [idField, { ...title, name: 'headline' }, n] });
  assert.deepEqual(await su.collection(name).getOne(rec.id),
    { collectionId: col.id, collectionName: name, headline: 'hello', id: rec.id, n: 5 });
});

test('8. collections.create validation errors', async () => {
  const name = uniqueName('sdk_dup');
  await createCollection({ name });
  const exists = {
    data: { name: { code: 'validation_collection_name_exists',
      message: 'Collection name must be unique (case insensitive).' } },
    message: 'Failed to create collection.', status: 400,
  };
  let err = await expectError(su.collections.create({ name }), 400);
  assert.equal(err.response.data.name.code, 'validation_collection_name_exists');
  assert.deepEqual(err.response, exists);
  err = await expectError(su.collections.create({ name: 'USERS' }), 400); // case insensitive
  assert.deepEqual(err.response, exists);

  // PocketBase rejects an unknown field type while decoding the body, before validation,
  // so the message is NOT "Failed to create collection." and data is empty.
  err = await expectError(su.collections.create({ name: `${name}_bad`, fields: [{ name: 'x', type: 'nope' }] }), 400);
  assert.deepEqual(err.response,
    { data: {}, message: 'Failed to load the submitted data due to invalid formatting.', status: 400 });

  // A field-level validation error: keys are indexes into fields, counting the implicit id field as 0.
  err = await expectError(su.collections.create({ name: `${name}_sel`, fields: [{ name: 's', type: 'select' }] }), 400);
  assert.deepEqual(err.response, {
    data: { fields: { 1: { values: { code: 'validation_required', message: 'Cannot be blank.' } } } },
    message: 'Failed to create collection.', status: 400,
  });
});

test('9. auth collection defaults', async () => {
  const name = uniqueName('sdk_auth');
  const col = await createCollection({ name, type: 'auth' });
  assert.equal(col.id, collectionId('auth', name));
  assert.equal(col.type, 'auth');
  assert.deepEqual(col.fields.map((f) => f.name), ['id', 'password', 'tokenKey', 'email', 'emailVisibility', 'verified']);
  assert.deepEqual(col.fields.map((f) => f.type), ['text', 'password', 'text', 'email', 'bool', 'bool']);
  assert.deepEqual(col.fields.map((f) => f.hidden), [false, true, true, false, false, false]);
  assert.ok(col.fields.every((f) => f.system === true));
  assert.deepEqual(col.fields[0], ID_FIELD);
  assert.deepEqual(col.indexes, [
    `CREATE UNIQUE INDEX \`idx_tokenKey_${col.id}\` ON \`${name}\` (\`tokenKey\`)`,
    `CREATE UNIQUE INDEX \`idx_email_${col.id}\` ON \`${name}\` (\`email\`) WHERE \`email\` != ''`,
  ]);
  assert.equal(col.authRule, '');
  assert.equal(col.manageRule, null);
  assert.deepEqual(col.passwordAuth, { enabled: true, identityFields: ['email'] });
  assert.equal(col.otp.enabled, false);
  assert.equal(col.otp.duration, 180);
  assert.equal(col.otp.length, 8);
  assert.equal(col.otp.emailTemplate.subject, 'OTP for {APP_NAME}');
  assert.deepEqual(col.mfa, { enabled: false, duration: 600, rule: '' });
  assert.deepEqual(col.oauth2, {
    providers: [], mappedFields: { id: '', name: '', username: '', avatarURL: '' }, enabled: false });
  assert.equal(col.authAlert.enabled, true);
  assert.equal(col.authAlert.emailTemplate.subject, 'Login from a new location');
  assert.deepEqual(col.authToken, { duration: 432000 });
  assert.deepEqual(col.passwordResetToken, { duration: 1800 });
  assert.deepEqual(col.emailChangeToken, { duration: 1800 });
  assert.deepEqual(col.verificationToken, { duration: 86400 });
  assert.deepEqual(col.fileToken, { duration: 180 });
  assert.equal(col.verificationTemplate.subject, 'Verify your {APP_NAME} email');
  assert.equal(col.resetPasswordTemplate.subject, 'Reset your {APP_NAME} password');
  assert.equal(col.confirmEmailChangeTemplate.subject, 'Confirm your {APP_NAME} new email address');
});

test('10. collections.delete', async () => {
  const name = uniqueName('sdk_del');
  await createCollection({ name });
  assert.equal(await su.collections.delete(name), true);
  let err = await expectError(su.collections.getOne(name), 404);
  assert.deepEqual(err.response, { data: {}, message: "The requested resource wasn't found.", status: 404 });

  // System collections cannot be deleted; PocketBase gives no per-field detail here.
  err = await expectError(su.collections.delete('_superusers'), 400);
  assert.deepEqual(err.response, { data: {}, message: 'Failed to delete collection.', status: 400 });
});

test('11. collections.truncate', async () => {
  const name = uniqueName('sdk_trunc');
  const col = await createCollection({ name });
  assert.equal(await su.collections.truncate(name), true);
  assert.deepEqual(await su.collections.getOne(name), col); // the collection itself stays
});

test('12. settings getAll / update', async () => {
  const initial = await su.settings.getAll();
  assert.deepEqual(sortedKeys(initial), ['backups', 'batch', 'logs', 'meta', 'rateLimits', 's3',
    'smtp', 'superuserIPs', 'trustedProxy']);
  assert.deepEqual(sortedKeys(initial.meta),
    ['accentColor', 'appName', 'appURL', 'hideControls', 'senderAddress', 'senderName']);
  // Secrets are never sent back.
  assert.deepEqual(sortedKeys(initial.smtp),
    ['authMethod', 'enabled', 'host', 'localName', 'port', 'tls', 'username']);
  assert.equal('password' in initial.smtp, false);
  assert.equal('secret' in initial.s3, false);
  assert.equal('secret' in initial.backups.s3, false);
  assert.ok(Array.isArray(initial.superuserIPs));
  assert.ok(Array.isArray(initial.rateLimits.rules));

  const appName = `Satchel SDK test ${RUN}`;
  try {
    const updated = await su.settings.update({ meta: { appName } });
    assert.deepEqual(updated.meta, { ...initial.meta, appName }); // other meta keys unchanged
    assert.deepEqual(updated.smtp, initial.smtp);
    assert.equal((await su.settings.getAll()).meta.appName, appName);

    const err = await expectError(su.settings.update({ meta: { senderAddress: 'not-an-email' } }), 400);
    // Note the message differs from the collections' "Failed to ..." wording.
    assert.deepEqual(err.response, {
      data: { meta: { senderAddress: { code: 'validation_is_email', message: 'Must be a valid email address.' } } },
      message: 'An error occurred while saving the new settings.', status: 400,
    });
    assert.equal((await su.settings.getAll()).meta.senderAddress, initial.meta.senderAddress);
  } finally {
    const restored = await su.settings.update({ meta: { appName: initial.meta.appName } });
    assert.deepEqual(restored.meta, initial.meta);
  }
});

test('13. collections.import', async () => {
  const name = uniqueName('sdk_imp');
  const result = await su.collections.import(
    [{ name, type: 'base', fields: [{ name: 't', type: 'text' }], indexes: [] }], false);
  assert.equal(result, true);
  const col = await su.collections.getOne(name);
  created.add(col.id);
  assert.equal(col.id, collectionId('base', name));
  assert.equal(col.type, 'base');
  assert.deepEqual(col.fields.map((f) => [f.name, f.type, f.id]),
    [['id', 'text', 'text3208210256'], ['t', 'text', fieldId('text', 't')]]);
  // deleteMissing=false keeps everything else.
  assert.equal((await su.collections.getOne('users')).id, '_pb_users_auth_');
});

test('14. collections.getScaffolds', async () => {
  const sc = await su.collections.getScaffolds();
  assert.deepEqual(sortedKeys(sc), ['auth', 'base', 'view']);
  assert.deepEqual(sc.auth.fields.map((f) => f.name),
    ['id', 'password', 'tokenKey', 'email', 'emailVisibility', 'verified']);
  assert.deepEqual(sc.base, {
    id: '', listRule: null, viewRule: null, createRule: null, updateRule: null, deleteRule: null,
    name: '', type: 'base', fields: [ID_FIELD], indexes: [], created: '', updated: '', system: false,
  });
  assert.equal(sc.view.type, 'view');
  assert.deepEqual(sc.view.fields, []);
  assert.equal(sc.view.viewQuery, '');
  assert.equal(sc.auth.type, 'auth');
  assert.deepEqual(sc.auth.passwordAuth, { enabled: true, identityFields: ['email'] });
});
