// Email OTP tests for Satchel driven through the official PocketBase JS SDK, reading the
// codes back from the dev outbox. PocketBase 0.40.6 behaviour (spec §6) plus Satchel's
// documented additions (docs/otp.md): the X-OTP-Attempts-Left header and otp.securityPhrase.
// Env: SATCHEL_URL, SATCHEL_SUPERUSER_EMAIL, SATCHEL_SUPERUSER_PASSWORD, SATCHEL_OUTBOX.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  BASE_URL, EMAIL, PASSWORD, RUN, uniqueName, client, expectError,
  readMail, expectNoMail, outboxSnapshot, extractOTP, jwtPayload,
} from './helpers.mjs';

// ---------------------------------------------------------------- helpers

const ID = /^[a-z0-9]{15}$/;
const USER_PASSWORD = 'user-pass-123';
const apiError = (status, message, data = {}) => ({ data, message, status });
const INVALID_OTP = apiError(400, 'Invalid or expired OTP.');
const TOO_MANY = apiError(429, 'Too many attempts, please try again later with a new OTP.');
const OTP_DISABLED = apiError(403, 'The collection is not configured to allow OTP authentication.');

let su; // superuser client
const createdCollections = [];

const OTP = uniqueName('sdk_otp'); // OTP on, defaults
const OFF = uniqueName('sdk_otp_off'); // OTP off
const SIX = uniqueName('sdk_otp_six'); // otp.length 6
const PHRASE = uniqueName('sdk_otp_phrase'); // otp.securityPhrase + a custom template
let otpCol, sixCol, phraseCol;

const PHRASE_SUBJECT = 'Código ✓ {OTP}'; // non-ASCII: an RFC 2047 encoded subject
const PHRASE_BODY = '<p>Check that this mail says: <em>{PHRASE}</em></p>\n' +
  '<p>Your code: <strong>{OTP}</strong></p>';

async function createAuthCollection(name, otp) {
  let col = await su.collections.create({ name, type: 'auth', fields: [], createRule: '' });
  createdCollections.push(col.id);
  if (otp) col = await su.collections.update(col.id, { otp });
  return col;
}

let userSeq = 0;
const uniqueEmail = (tag) => `${tag}${++userSeq}_${Math.random().toString(36).slice(2, 8)}_${RUN}@example.com`;

/** A new (unverified) record of `collection`, created as a guest. */
async function newUser(collection, tag = 'otp') {
  const email = uniqueEmail(tag);
  const rec = await client().collection(collection).create(
    { email, password: USER_PASSWORD, passwordConfirm: USER_PASSWORD });
  return { email, id: rec.id };
}

/** POSTs JSON with fetch (the SDK hides response headers). */
async function post(collection, action, body) {
  const res = await fetch(`${BASE_URL}/api/collections/${collection}/${action}`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, body: await res.json() };
}

/** Polls the `_otps` row until the server has recorded where its code was mailed. */
async function waitSentTo(otpId) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const row = await su.collection('_otps').getOne(otpId);
    if (row.sentTo) return row;
    if (Date.now() > deadline) assert.fail(`OTP ${otpId} never got its sentTo`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** requestOTP for a new user of `collection`; returns the user, the answer and the mail. */
async function requested(collection, tag) {
  const user = await newUser(collection, tag);
  const answer = await client().collection(collection).requestOTP(user.email);
  const mail = await readMail(user.email);
  return { ...user, answer, otpId: answer.otpId, mail, code: extractOTP(mail) };
}

/** A code of the same length that is certainly wrong. */
const wrongCode = (code) => code.replace(/^./, (d) => String((Number(d) + 1) % 10));

// ---------------------------------------------------------------- fixtures

before(async () => {
  su = client();
  await su.collection('_superusers').authWithPassword(EMAIL, PASSWORD);
  otpCol = await createAuthCollection(OTP, { enabled: true });
  await createAuthCollection(OFF, null);
  sixCol = await createAuthCollection(SIX, { enabled: true, length: 6 });
  phraseCol = await createAuthCollection(PHRASE, {
    enabled: true, securityPhrase: true,
    emailTemplate: { subject: PHRASE_SUBJECT, body: PHRASE_BODY },
  });
});

after(async () => {
  for (const id of createdCollections.reverse()) {
    try { await su.collections.delete(id); } catch { /* already gone */ }
  }
});

// ---------------------------------------------------------------- tests

test('1. requestOTP -> mail -> authWithOTP; reuse fails', async () => {
  const { email, id, answer, otpId, mail, code } = await requested(OTP, 'login');
  assert.deepEqual(answer, { otpId });
  assert.match(otpId, ID);
  // The default template: subject "OTP for {APP_NAME}", the code in <strong>, a text part.
  assert.match(mail.subject, /^OTP for .+$/);
  assert.equal(mail.to, email);
  assert.match(code, /^\d{8}$/);
  assert.ok(mail.html.includes(`Your one-time password is: <strong>${code}</strong>`), mail.html);
  assert.ok(mail.text.includes(code), mail.text);

  // The stored row (superusers see the hidden fields).
  const row = await waitSentTo(otpId);
  assert.equal(row.collectionRef, otpCol.id);
  assert.equal(row.recordRef, id);
  assert.equal(row.sentTo, email);

  const pb = client();
  const res = await pb.collection(OTP).authWithOTP(otpId, code);
  assert.deepEqual(Object.keys(res).sort(), ['record', 'token']);
  // The code was mailed to the record's own email: the login verifies it.
  assert.deepEqual(res.record, {
    collectionId: otpCol.id, collectionName: OTP, email, emailVisibility: false, id, verified: true,
  });
  const claims = jwtPayload(res.token);
  assert.deepEqual(claims,
    { collectionId: otpCol.id, exp: claims.exp, id, refreshable: true, type: 'auth' });
  assert.equal(pb.authStore.token, res.token);
  assert.equal(pb.authStore.record.id, id);
  assert.equal((await su.collection(OTP).getOne(id)).verified, true);

  // Single use: the row is gone and a second try is the generic 400.
  await expectError(su.collection('_otps').getOne(otpId), 404);
  const reuse = await expectError(client().collection(OTP).authWithOTP(otpId, code), 400);
  assert.deepEqual(reuse.response, INVALID_OTP);

  // Observed in PocketBase 0.40.6 (§13.5): with MFA off, the OTP login of an unverified
  // record replaced its password.
  const old = await expectError(client().collection(OTP).authWithPassword(email, USER_PASSWORD), 400);
  assert.deepEqual(old.response, apiError(400, 'Failed to authenticate.'));
});

test('2. an unknown email gets a random otpId and no mail', async () => {
  const snapshot = await outboxSnapshot();
  const email = uniqueEmail('ghost');
  const answer = await client().collection(OTP).requestOTP(email);
  assert.deepEqual(Object.keys(answer), ['otpId']);
  assert.match(answer.otpId, ID);
  // The raw answer is a 200 of exactly that shape.
  const raw = await post(OTP, 'request-otp', { email });
  assert.equal(raw.status, 200);
  assert.deepEqual(Object.keys(raw.body), ['otpId']);
  assert.match(raw.body.otpId, ID);
  assert.notEqual(raw.body.otpId, answer.otpId);

  const err = await expectError(client().collection(OTP).authWithOTP(answer.otpId, '12345678'), 400);
  assert.deepEqual(err.response, INVALID_OTP);
  await expectNoMail(email, { after: snapshot });
});

test('3. validation and OTP disabled', async () => {
  // Disabled: 403 for both endpoints, before the body is looked at.
  const { email } = await newUser(OFF, 'off');
  const off = await expectError(client().collection(OFF).requestOTP(email), 403);
  assert.deepEqual(off.response, OTP_DISABLED);
  const offBad = await expectError(client().collection(OFF).requestOTP('not-an-email'), 403);
  assert.deepEqual(offBad.response, OTP_DISABLED);
  const offAuth = await expectError(client().collection(OFF).authWithOTP('whatever0000000', '123'), 403);
  assert.deepEqual(offAuth.response, OTP_DISABLED);

  const bad = await expectError(client().collection(OTP).requestOTP('not-an-email'), 400);
  assert.deepEqual(bad.response, apiError(400, 'An error occurred while validating the submitted data.', {
    email: { code: 'validation_is_email', message: 'Must be a valid email address.' },
  }));
  const blank = await expectError(client().collection(OTP).authWithOTP('', ''), 400);
  assert.deepEqual(blank.response, apiError(400, 'An error occurred while validating the submitted data.', {
    otpId: { code: 'validation_required', message: 'Cannot be blank.' },
    password: { code: 'validation_required', message: 'Cannot be blank.' },
  }));
});

test('4. wrong codes count down, the 6th attempt is 429 even with the right code', async () => {
  const { otpId, code } = await requested(OTP, 'limit');
  const wrong = wrongCode(code);
  // X-OTP-Attempts-Left is Satchel's addition (docs/otp.md); the bodies are PocketBase's.
  for (const left of [4, 3, 2, 1, 0]) {
    const res = await post(OTP, 'auth-with-otp', { otpId, password: wrong });
    assert.equal(res.status, 400);
    assert.deepEqual(res.body, INVALID_OTP);
    assert.equal(res.headers.get('x-otp-attempts-left'), String(left));
  }
  const limited = await post(OTP, 'auth-with-otp', { otpId, password: code });
  assert.equal(limited.status, 429);
  assert.deepEqual(limited.body, TOO_MANY);
  assert.equal(limited.headers.get('x-otp-attempts-left'), '0');
  const viaSdk = await expectError(client().collection(OTP).authWithOTP(otpId, code), 429);
  assert.deepEqual(viaSdk.response, TOO_MANY);
  // An unknown id reports no attempts at all.
  const unknown = await post(OTP, 'auth-with-otp', { otpId: 'unknownotpid000', password: code });
  assert.equal(unknown.status, 400);
  assert.deepEqual(unknown.body, INVALID_OTP);
  assert.equal(unknown.headers.get('x-otp-attempts-left'), '0');
});

test('5. a wrong code does not consume the OTP', async () => {
  const { email, otpId, code } = await requested(OTP, 'retry');
  const err = await expectError(client().collection(OTP).authWithOTP(otpId, wrongCode(code)), 400);
  assert.deepEqual(err.response, INVALID_OTP);
  await waitSentTo(otpId);
  const res = await client().collection(OTP).authWithOTP(otpId, code);
  assert.equal(res.record.email, email);
  assert.equal(res.record.verified, true);
});

test('6. successful logins count against the 5-attempt limit too', async () => {
  const { email } = await newUser(OTP, 'busy');
  const C = client().collection(OTP);
  for (let i = 0; i < 5; i++) {
    const { otpId } = await C.requestOTP(email);
    const res = await C.authWithOTP(otpId, extractOTP(await readMail(email)));
    assert.equal(res.record.email, email);
  }
  const { otpId } = await C.requestOTP(email);
  const code = extractOTP(await readMail(email));
  const err = await expectError(C.authWithOTP(otpId, code), 429);
  assert.deepEqual(err.response, TOO_MANY);
});

test('7. with 10 live codes the newest one is reused, without a new mail', async () => {
  const { email } = await newUser(OTP, 'ten');
  const C = client().collection(OTP);
  const ids = [];
  for (let i = 0; i < 10; i++) {
    ids.push((await C.requestOTP(email)).otpId);
    await readMail(email); // one mail each
  }
  assert.equal(new Set(ids).size, 10);
  const snapshot = await outboxSnapshot();
  const again = await C.requestOTP(email);
  assert.deepEqual(again, { otpId: ids[9] });
  await expectNoMail(email, { after: snapshot });
});

test('8. otp.length 6 gives 6-digit codes', async () => {
  assert.equal(sixCol.otp.length, 6);
  const { email, otpId, code, mail } = await requested(SIX, 'six');
  assert.match(code, /^\d{6}$/);
  assert.ok(mail.html.includes(`<strong>${code}</strong>`));
  const res = await client().collection(SIX).authWithOTP(otpId, code);
  assert.equal(res.record.email, email);
});

test('9. otp.securityPhrase: the answer and the mail carry the same phrase (Satchel)', async () => {
  assert.equal(phraseCol.otp.securityPhrase, true);
  const { email, answer, otpId, mail, code } = await requested(PHRASE, 'phrase');
  assert.deepEqual(Object.keys(answer).sort(), ['otpId', 'phrase']);
  assert.match(answer.phrase, /^[a-z]+ [a-z]+ [a-z]+$/);
  assert.ok(mail.html.includes(`<em>${answer.phrase}</em>`), mail.html);
  assert.ok(mail.text.includes(answer.phrase), mail.text);
  // The custom subject went through RFC 2047 and back.
  assert.equal(mail.subject, `Código ✓ ${code}`);
  const res = await client().collection(PHRASE).authWithOTP(otpId, code);
  assert.equal(res.record.email, email);

  // An unknown email gets a phrase too (the answers look alike), but no mail.
  const snapshot = await outboxSnapshot();
  const ghost = uniqueEmail('ghost');
  const fake = await client().collection(PHRASE).requestOTP(ghost);
  assert.deepEqual(Object.keys(fake).sort(), ['otpId', 'phrase']);
  assert.match(fake.otpId, ID);
  assert.match(fake.phrase, /^[a-z]+ [a-z]+ [a-z]+$/);
  await expectNoMail(ghost, { after: snapshot });

  // Collections without the option answer PocketBase's plain {otpId}.
  assert.equal(otpCol.otp.securityPhrase, undefined);
});
