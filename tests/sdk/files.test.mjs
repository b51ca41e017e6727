// File fields through the official SDK: uploads with FormData/Blob/File (create, update,
// `field+`, `field-`), pb.files.getURL downloads and thumbs, protected files with
// pb.files.getToken(), and files in a batch. Passes against PocketBase 0.40.6 and Satchel.
// Env: SATCHEL_URL, SATCHEL_SUPERUSER_EMAIL, SATCHEL_SUPERUSER_PASSWORD.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { deflateSync } from 'node:zlib';
import { EMAIL, PASSWORD, RUN, uniqueName, client, expectError } from './helpers.mjs';

const DOCS = uniqueName('sdk_files');
const USER_PASSWORD = 'user-pass-123';
const HELLO = 'hello world\n';

let su; // superuser client
let docs; // the collection
let user; // { pb, rec }
let batchWasEnabled;

// ---------------------------------------------------------------- helpers

const crcTable = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
const crc32 = (bytes) => {
  let c = 0xffffffff;
  for (const b of bytes) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
};

/** A w×h RGB PNG (a gradient), built by hand. */
function png(w, h) {
  const chunk = (type, data) => {
    const body = Buffer.concat([Buffer.from(type), data]);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  const rows = [];
  for (let y = 0; y < h; y++) {
    const row = [0];
    for (let x = 0; x < w; x++) row.push((x * 3) & 0xff, (y * 6) & 0xff, 128);
    rows.push(Buffer.from(row));
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.concat(rows))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** [width, height] of PNG bytes. */
const pngSize = (bytes) => [bytes.readUInt32BE(16), bytes.readUInt32BE(20)];

const PIC = png(80, 40);
const stored = (base, ext) => new RegExp(`^${base}_[a-z0-9]{10}\\.${ext}$`);

async function download(url) {
  const res = await fetch(url);
  return { res, bytes: Buffer.from(await res.arrayBuffer()) };
}

// ---------------------------------------------------------------- fixtures

before(async () => {
  su = client();
  await su.collection('_superusers').authWithPassword(EMAIL, PASSWORD);
  docs = await su.collections.create({
    name: DOCS,
    listRule: '', viewRule: "@request.auth.id != ''", createRule: '', updateRule: '', deleteRule: '',
    fields: [
      { name: 'title', type: 'text' },
      { name: 'one', type: 'file', maxSize: 100 },
      { name: 'many', type: 'file', maxSelect: 3, mimeTypes: ['image/png', 'text/plain'], thumbs: ['50x50'] },
      { name: 'secret', type: 'file', protected: true },
    ],
  });
  const email = `files_${RUN}@example.com`;
  const rec = await client().collection('users').create(
    { email, password: USER_PASSWORD, passwordConfirm: USER_PASSWORD });
  const pb = client();
  await pb.collection('users').authWithPassword(email, USER_PASSWORD);
  user = { pb, rec };
  batchWasEnabled = (await su.settings.getAll()).batch.enabled;
  await su.settings.update({ batch: { enabled: true } });
});

after(async () => {
  await su.settings.update({ batch: { enabled: batchWasEnabled } });
  await su.collections.delete(docs.id);
  await su.collection('users').delete(user.rec.id);
});

// ---------------------------------------------------------------- tests

test('FormData upload on create, then many+, many- and a replaced single file', async () => {
  const form = new FormData();
  form.append('title', 'form');
  form.append('one', new Blob([HELLO]), 'Hello World.txt');
  form.append('many', new Blob([PIC], { type: 'image/png' }), 'pic.png');
  form.append('many', new Blob([HELLO]), 'notes.txt');
  const rec = await user.pb.collection(DOCS).create(form);
  assert.match(rec.one, stored('hello_world', 'txt'));
  assert.equal(rec.many.length, 2);
  assert.match(rec.many[0], stored('pic', 'png'));

  // A plain object with File/Blob values is sent as multipart by the SDK.
  const added = await user.pb.collection(DOCS).update(rec.id, { 'many+': new File([HELLO], 'more.txt') });
  assert.deepEqual(added.many.slice(0, 2), rec.many);
  assert.match(added.many[2], stored('more', 'txt'));
  const removed = await user.pb.collection(DOCS).update(rec.id, { 'many-': [rec.many[1]] });
  assert.deepEqual(removed.many, [rec.many[0], added.many[2]]);
  const replaced = await user.pb.collection(DOCS).update(rec.id, { one: new File(['x'], 'new.txt') });
  assert.match(replaced.one, stored('new', 'txt'));

  // The removed and replaced files are gone.
  for (const name of [rec.many[1], rec.one]) {
    const { res } = await download(user.pb.files.getURL(rec, name));
    assert.equal(res.status, 404, name);
  }
});

test('validation errors keep PocketBase codes', async () => {
  const tooBig = new FormData();
  tooBig.append('one', new Blob(['0'.repeat(200)]), 'big.txt');
  let err = await expectError(user.pb.collection(DOCS).create(tooBig), 400);
  assert.deepEqual(err.response.data.one, {
    code: 'validation_file_size_limit',
    message: 'Failed to upload big.txt - the maximum allowed file size is 100 bytes.',
    params: { file: 'big.txt', maxSize: 100 },
  });
  err = await expectError(
    user.pb.collection(DOCS).create({ many: [new File(['{"a":1}'], 'data.json')] }), 400);
  assert.equal(err.response.data.many.code, 'validation_invalid_mime_type');
  err = await expectError(
    user.pb.collection(DOCS).create({ many: [1, 2, 3, 4].map((i) => new File([HELLO], `f${i}.txt`)) }), 400);
  assert.equal(err.response.data.many.code, 'validation_too_many_files');
});

test('getURL downloads, ?download=1 and thumbs', async () => {
  const rec = await user.pb.collection(DOCS).create({
    many: [new File([PIC], 'pic.png'), new File([HELLO], 'notes.txt')],
  });
  const [pic, notes] = rec.many;

  let { res, bytes } = await download(user.pb.files.getURL(rec, pic));
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'image/png');
  assert.equal(res.headers.get('content-disposition'), `inline; filename="${pic}"`);
  assert.deepEqual(bytes, PIC);

  ({ res, bytes } = await download(user.pb.files.getURL(rec, notes)));
  assert.equal(res.headers.get('content-type'), 'text/plain; charset=utf-8');
  assert.equal(res.headers.get('content-disposition'), `attachment; filename="${notes}"`);
  assert.equal(bytes.toString(), HELLO);

  ({ res } = await download(user.pb.files.getURL(rec, pic, { download: true })));
  assert.equal(res.headers.get('content-disposition'), `attachment; filename="${pic}"`);

  for (const [thumb, size] of [['100x100', [100, 100]], ['50x50', [50, 50]], ['10x10', [80, 40]]]) {
    ({ res, bytes } = await download(user.pb.files.getURL(rec, pic, { thumb })));
    assert.equal(res.status, 200, thumb);
    assert.deepEqual(pngSize(bytes), size, thumb);
  }
});

test('protected files need pb.files.getToken()', async () => {
  const rec = await user.pb.collection(DOCS).create({ secret: new File([HELLO], 'secret.txt') });
  const plain = await download(user.pb.files.getURL(rec, rec.secret));
  assert.equal(plain.res.status, 404);

  const token = await user.pb.files.getToken();
  const withToken = await download(user.pb.files.getURL(rec, rec.secret, { token }));
  assert.equal(withToken.res.status, 200);
  assert.equal(withToken.bytes.toString(), HELLO);

  await expectError(client().files.getToken(), 401);
});

test('a batch uploads its files, or none of them', async () => {
  const batch = user.pb.createBatch();
  batch.collection(DOCS).create({ title: 'b1', one: new File([HELLO], 'b1.txt') });
  batch.collection(DOCS).create({ title: 'b2', many: [new File([PIC], 'b2.png')] });
  const results = await batch.send();
  assert.deepEqual(results.map((r) => r.status), [200, 200]);
  const [first, second] = results.map((r) => r.body);
  assert.match(first.one, /\.txt$/);
  assert.equal(second.many.length, 1);
  const { res } = await download(user.pb.files.getURL(second, second.many[0]));
  assert.equal(res.status, 200);

  const failing = user.pb.createBatch();
  failing.collection(DOCS).create({ title: 'b3', one: new File([HELLO], 'b3.txt') });
  failing.collection(DOCS).create({ one: new File(['0'.repeat(200)], 'big.txt') });
  const err = await expectError(failing.send(), 400);
  assert.equal(err.response.data.requests['1'].response.data.one.code, 'validation_file_size_limit');
  const left = await su.collection(DOCS).getFullList({ filter: "title = 'b3'" });
  assert.equal(left.length, 0);
});
