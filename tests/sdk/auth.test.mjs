// Authentication tests for Satchel driven through the official PocketBase JS SDK:
// auth methods, password login, refresh, the verification / password-reset / email-change
// mail flows (read back from the dev outbox), impersonation and MFA.
// Expectations follow PocketBase 0.40.6 (spec §5).
// Env: SATCHEL_URL, SATCHEL_SUPERUSER_EMAIL, SATCHEL_SUPERUSER_PASSWORD, SATCHEL_OUTBOX.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  BASE_URL, EMAIL, PASSWORD, RUN, uniqueName, client, expectError,
  readMail, expectNoMail, outboxSnapshot, extractToken, extractOTP, jwtPayload,
} from './helpers.mjs';

// ---------------------------------------------------------------- helpers

const ID = /^[a-z0-9]{15}$/;
const USER_PASSWORD = 'user-pass-123';
const AUTH_DURATION = 432000; // default authToken.duration of a new auth collection
const nowSec = () => Math.floor(Date.now() / 1000);
const apiError = (status, message, data = {}) => ({ data, message, status });
const VALIDATION = 'An error occurred while validating the submitted data.';

let su; // superuser client
const createdCollections = [];

const AUTH = uniqueName('sdk_auth');
const OTHER = uniqueName('sdk_auth_other');
const MFA = uniqueName('sdk_auth_mfa');
const BASE = uniqueName('sdk_auth_base'); // not an auth collection
let authCol, otherCol, mfaCol;

async function createAuthCollection(name) {
  const col = await su.collections.create(
    { name, type: 'auth', fields: [], createRule: '', viewRule: 'id = @request.auth.id' });
  createdCollections.push(col.id);
  return col;
}

let userSeq = 0;
const uniqueEmail = (tag) => `${tag}${++userSeq}_${Math.random().toString(36).slice(2, 8)}_${RUN}@example.com`;

/** A new (unverified) record of `collection`, created as a guest. */
async function newUser(collection, tag = 'u') {
  const email = uniqueEmail(tag);
  const rec = await client().collection(collection).create(
    { email, password: USER_PASSWORD, passwordConfirm: USER_PASSWORD });
  return { email, id: rec.id, rec };
}

/** A fresh client logged in as `email`. */
async function login(collection, email, password = USER_PASSWORD) {
  const pb = client();
  const res = await pb.collection(collection).authWithPassword(email, password);
  return { pb, res };
}

/** Asserts `token` is an HS256 auth JWT of `record` in `col` expiring `duration` s from now. */
function assertAuthToken(token, { col, id, refreshable = true, duration = AUTH_DURATION }) {
  assert.deepEqual(JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString()),
    { alg: 'HS256', typ: 'JWT' });
  const claims = jwtPayload(token);
  assert.deepEqual(claims, { collectionId: col.id, exp: claims.exp, id, refreshable, type: 'auth' });
  assert.ok(Math.abs(claims.exp - (nowSec() + duration)) <= 5,
    `exp ${claims.exp} should be about now + ${duration}`);
  return claims;
}

/** Polls the `_otps` row until the server has recorded where its code was mailed. */
async function waitSentTo(otpId) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const row = await su.collection('_otps').getOne(otpId);
    if (row.sentTo) return row.sentTo;
    if (Date.now() > deadline) assert.fail(`OTP ${otpId} never got its sentTo`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

// ---------------------------------------------------------------- fixtures

before(async () => {
  su = client();
  await su.collection('_superusers').authWithPassword(EMAIL, PASSWORD);
  authCol = await createAuthCollection(AUTH);
  otherCol = await createAuthCollection(OTHER);
  mfaCol = await createAuthCollection(MFA);
  mfaCol = await su.collections.update(mfaCol.id, { otp: { enabled: true }, mfa: { enabled: true } });
  createdCollections.push((await su.collections.create({ name: BASE, fields: [] })).id);
});

after(async () => {
  for (const id of createdCollections.reverse()) {
    try { await su.collections.delete(id); } catch { /* already gone */ }
  }
});

// ---------------------------------------------------------------- tests

test('1. auth-methods of a fresh auth collection', async () => {
  // The raw answer: fixed key order, legacy keys included (a trailing newline is allowed).
  const res = await fetch(`${BASE_URL}/api/collections/${AUTH}/auth-methods`);
  assert.equal(res.status, 200);
  assert.equal((await res.text()).trimEnd(),
    '{"password":{"identityFields":["email"],"enabled":true},"oauth2":{"providers":[],"enabled":false},' +
    '"mfa":{"enabled":false,"duration":0},"otp":{"enabled":false,"duration":0},' +
    '"authProviders":[],"usernamePassword":false,"emailPassword":true}');
  // OTP and MFA on: their durations show.
  const mfa = await fetch(`${BASE_URL}/api/collections/${MFA}/auth-methods`);
  assert.deepEqual(await mfa.json(), {
    password: { identityFields: ['email'], enabled: true },
    oauth2: { providers: [], enabled: false },
    mfa: { enabled: true, duration: 600 },
    otp: { enabled: true, duration: 180 },
    authProviders: [], usernamePassword: false, emailPassword: true,
  });

  const missing = await expectError(client().collection(uniqueName('sdk_nope')).listAuthMethods(), 404);
  assert.deepEqual(missing.response, apiError(404, 'Missing or invalid auth collection context.'));
  const base = await expectError(client().collection(BASE).listAuthMethods(), 404);
  assert.deepEqual(base.response, apiError(404, 'Missing or invalid auth collection context.'));
});

test('2. listAuthMethods() through the SDK (it sends ?fields=mfa,otp,password,oauth2)', async () => {
  // PocketBase picks `fields` from every JSON answer, so the legacy keys are gone.
  assert.deepEqual(await client().collection(AUTH).listAuthMethods(), {
    password: { identityFields: ['email'], enabled: true },
    oauth2: { providers: [], enabled: false },
    mfa: { enabled: false, duration: 0 },
    otp: { enabled: false, duration: 0 },
  });
  assert.deepEqual(await client().collection(MFA).listAuthMethods(), {
    password: { identityFields: ['email'], enabled: true },
    oauth2: { providers: [], enabled: false },
    mfa: { enabled: true, duration: 600 },
    otp: { enabled: true, duration: 180 },
  });
});

test('3. authWithPassword', async () => {
  const { email, id } = await newUser(AUTH);
  const pb = client();
  assert.equal(pb.authStore.isValid, false);
  const res = await pb.collection(AUTH).authWithPassword(email, USER_PASSWORD);
  assert.deepEqual(Object.keys(res).sort(), ['record', 'token']);
  // The auth answer always carries the email (emailVisibility is false).
  assert.deepEqual(res.record, {
    collectionId: authCol.id, collectionName: AUTH, email, emailVisibility: false, id, verified: false,
  });
  assertAuthToken(res.token, { col: authCol, id });
  // The SDK keeps the login.
  assert.equal(pb.authStore.token, res.token);
  assert.deepEqual(pb.authStore.record, res.record);
  assert.equal(pb.authStore.isValid, true);
  assert.equal(pb.authStore.isSuperuser, false);

  // Wrong password / unknown identity: the same bare 400, and the store stays empty.
  const failed = client();
  const wrong = await expectError(failed.collection(AUTH).authWithPassword(email, 'not-the-password'), 400);
  assert.deepEqual(wrong.response, apiError(400, 'Failed to authenticate.'));
  assert.equal(failed.authStore.token, '');
  const unknown = await expectError(
    failed.collection(AUTH).authWithPassword(uniqueEmail('nobody'), USER_PASSWORD), 400);
  assert.deepEqual(unknown.response, apiError(400, 'Failed to authenticate.'));

  const blank = await expectError(failed.collection(AUTH).authWithPassword('', ''), 400);
  assert.deepEqual(blank.response, apiError(400, VALIDATION, {
    identity: { code: 'validation_required', message: 'Cannot be blank.' },
    password: { code: 'validation_required', message: 'Cannot be blank.' },
  }));
});

test('4. authRefresh', async () => {
  const { email, id } = await newUser(AUTH);
  const { pb, res } = await login(AUTH, email);
  const first = jwtPayload(res.token);
  // Tokens carry no iat: wait for the next second so the refreshed token must differ.
  await new Promise((resolve) => setTimeout(resolve, 1100));
  const refreshed = await pb.collection(AUTH).authRefresh();
  assert.deepEqual(Object.keys(refreshed).sort(), ['record', 'token']);
  assert.notEqual(refreshed.token, res.token);
  assert.ok(assertAuthToken(refreshed.token, { col: authCol, id }).exp > first.exp);
  assert.deepEqual(refreshed.record, res.record);
  assert.equal(pb.authStore.token, refreshed.token);

  // No token at all.
  const guest = await expectError(client().collection(AUTH).authRefresh(), 401);
  assert.deepEqual(guest.response,
    apiError(401, 'The request requires valid record authorization token.'));
});

test('5. auth-refresh and request-email-change with another collection\'s token -> 403', async () => {
  // RequireSameCollectionContextAuth names the collection of the token's record.
  const other = await newUser(OTHER);
  const { pb: otherPb } = await login(OTHER, other.email);
  const cross = await expectError(otherPb.collection(AUTH).authRefresh(), 403);
  assert.deepEqual(cross.response,
    apiError(403, `The request requires auth record from ${OTHER} collection.`));
  assert.equal(otherPb.authStore.record.id, other.id); // the SDK leaves its store alone
  const change = await expectError(otherPb.collection(AUTH).requestEmailChange(uniqueEmail('x')), 403);
  assert.deepEqual(change.response,
    apiError(403, `The request requires auth record from ${OTHER} collection.`));
  // A superuser token is no exception.
  const su403 = await expectError(su.collection(AUTH).authRefresh(), 403);
  assert.deepEqual(su403.response,
    apiError(403, 'The request requires auth record from _superusers collection.'));
});

test('6. authAlert: a login from a new location is mailed (not the first login)', async () => {
  const { email } = await newUser(AUTH, 'alert');
  const snapshot = await outboxSnapshot();
  const C = client().collection(AUTH);
  await C.authWithPassword(email, USER_PASSWORD); // first login: origin stored, no alert
  // The fingerprint is IP + User-Agent, so another agent is a new location.
  const other = { headers: { 'User-Agent': `sdk-tests-other-device-${RUN}` } };
  await C.authWithPassword(email, USER_PASSWORD, other);
  const mail = await readMail(email, { after: snapshot });
  assert.equal(mail.subject, 'Login from a new location');
  assert.ok(mail.html.includes('We noticed a login to your'), mail.html);
  // Known origins stay quiet.
  await C.authWithPassword(email, USER_PASSWORD, other);
  await C.authWithPassword(email, USER_PASSWORD);
  await expectNoMail(email, { after: snapshot, wait: 1000 });
});

test('7. requestVerification -> mail -> confirmVerification', async () => {
  const { email, id } = await newUser(AUTH, 'verify');
  const { pb } = await login(AUTH, email);
  assert.equal(await client().collection(AUTH).requestVerification(email), true);
  const mail = await readMail(email);
  assert.match(mail.subject, /^Verify your .+ email$/);
  assert.ok(mail.text.includes('/_/#/auth/confirm-verification/'), mail.text);
  const token = extractToken(mail, 'confirm-verification');
  const claims = jwtPayload(token);
  assert.deepEqual(claims,
    { collectionId: authCol.id, email, exp: claims.exp, id, type: 'verification' });
  assert.ok(Math.abs(claims.exp - (nowSec() + 86400)) <= 5);

  // Confirming through the logged-in client also flips the SDK's stored record.
  assert.equal(await pb.collection(AUTH).confirmVerification(token), true);
  assert.equal(pb.authStore.record.verified, true);
  assert.equal((await su.collection(AUTH).getOne(id)).verified, true);
  // Confirming again is still a 204 (already verified).
  assert.equal(await client().collection(AUTH).confirmVerification(token), true);
  // The password still works (password auth is on, so it is not replaced).
  await login(AUTH, email);

  // Bad tokens.
  const garbage = await expectError(client().collection(AUTH).confirmVerification('nope'), 400);
  assert.deepEqual(garbage.response, apiError(400, VALIDATION, {
    token: { code: 'validation_invalid_token_claims', message: 'Missing email token claim.' },
  }));
  const [h, p] = token.split('.');
  const forged = `${h}.${p}.${Buffer.from('x'.repeat(32)).toString('base64url')}`;
  const bad = await expectError(client().collection(AUTH).confirmVerification(forged), 400);
  assert.deepEqual(bad.response, apiError(400, VALIDATION, {
    token: { code: 'validation_invalid_token', message: 'Invalid or expired token.' },
  }));
});

test('8. request-verification answers 204 but mails nobody for unknown, verified or throttled', async () => {
  const snapshot = await outboxSnapshot();
  const C = client().collection(AUTH);
  const unknown = uniqueEmail('ghost');
  assert.equal(await C.requestVerification(unknown), true);

  const verified = await newUser(AUTH, 'already');
  await su.collection(AUTH).update(verified.id, { verified: true });
  assert.equal(await C.requestVerification(verified.email), true);

  // A second request within 2 minutes is throttled.
  const twice = await newUser(AUTH, 'twice');
  assert.equal(await C.requestVerification(twice.email), true);
  await readMail(twice.email, { after: snapshot });
  assert.equal(await C.requestVerification(twice.email), true);

  // Same for password reset of an unknown email.
  assert.equal(await C.requestPasswordReset(unknown), true);

  await expectNoMail(unknown, { after: snapshot });
  await expectNoMail(verified.email, { after: snapshot, wait: 0 });
  await expectNoMail(twice.email, { after: snapshot, wait: 0 });

  const invalid = await expectError(C.requestVerification('not-an-email'), 400);
  assert.equal(invalid.response.data.email.code, 'validation_is_email');
});

test('9. requestPasswordReset -> mail -> confirmPasswordReset', async () => {
  const { email, id } = await newUser(AUTH, 'reset');
  const { pb } = await login(AUTH, email);
  assert.equal(await client().collection(AUTH).requestPasswordReset(email), true);
  const mail = await readMail(email);
  assert.match(mail.subject, /^Reset your .+ password$/);
  const token = extractToken(mail, 'confirm-password-reset');
  const claims = jwtPayload(token);
  assert.deepEqual(claims,
    { collectionId: authCol.id, email, exp: claims.exp, id, type: 'passwordReset' });
  assert.ok(Math.abs(claims.exp - (nowSec() + 1800)) <= 5);

  const C = client().collection(AUTH);
  const mismatch = await expectError(C.confirmPasswordReset(token, 'new-pass-456', 'other-pass-456'), 400);
  assert.deepEqual(mismatch.response, apiError(400, VALIDATION, {
    passwordConfirm: { code: 'validation_values_mismatch', message: "Values don't match." },
  }));

  const NEW = 'new-pass-456';
  assert.equal(await C.confirmPasswordReset(token, NEW, NEW), true);
  const { res } = await login(AUTH, email, NEW);
  // The token's email is the record's, so the reset also verified the record.
  assert.equal(res.record.verified, true);
  const old = await expectError(client().collection(AUTH).authWithPassword(email, USER_PASSWORD), 400);
  assert.deepEqual(old.response, apiError(400, 'Failed to authenticate.'));

  // The tokenKey rotated: the reset token is single-use and old sessions are gone.
  const reused = await expectError(C.confirmPasswordReset(token, 'third-pass-789', 'third-pass-789'), 400);
  assert.deepEqual(reused.response, apiError(400, VALIDATION, {
    token: { code: 'validation_invalid_token', message: 'Invalid or expired token.' },
  }));
  await expectError(pb.collection(AUTH).authRefresh(), 401);
  await login(AUTH, email, NEW); // the reuse changed nothing
});

test('10. requestEmailChange -> mail to the new address -> confirmEmailChange', async () => {
  const { email, id } = await newUser(AUTH, 'change');
  const { pb } = await login(AUTH, email);
  const { pb: pb2 } = await login(AUTH, email); // a second session
  const newEmail = uniqueEmail('changed');

  const snapshot = await outboxSnapshot();
  assert.equal(await pb.collection(AUTH).requestEmailChange(newEmail), true);
  const mail = await readMail(newEmail, { after: snapshot });
  assert.match(mail.subject, /^Confirm your .+ new email address$/);
  assert.match(mail.to, new RegExp(newEmail.replace(/[.+]/g, '\\$&')));
  const token = extractToken(mail, 'confirm-email-change');
  const claims = jwtPayload(token);
  assert.deepEqual(claims, {
    collectionId: authCol.id, email, exp: claims.exp, id, newEmail, type: 'emailChange',
  });
  assert.ok(Math.abs(claims.exp - (nowSec() + 1800)) <= 5);
  await expectNoMail(email, { after: snapshot, wait: 300 }); // nothing to the old address

  const wrongPw = await expectError(pb.collection(AUTH).confirmEmailChange(token, 'wrong-password'), 400);
  assert.deepEqual(wrongPw.response, apiError(400, VALIDATION, {
    password: { code: 'validation_invalid_password', message: 'Missing or invalid auth record password.' },
  }));
  assert.equal(pb.authStore.isValid, true);

  // The SDK clears its store when the confirmed record is the logged-in one.
  assert.equal(await pb.collection(AUTH).confirmEmailChange(token, USER_PASSWORD), true);
  assert.equal(pb.authStore.token, '');

  // The tokenKey rotated: other sessions are gone too.
  const gone = await expectError(pb2.collection(AUTH).authRefresh(), 401);
  assert.deepEqual(gone.response,
    apiError(401, 'The request requires valid record authorization token.'));

  const { res } = await login(AUTH, newEmail);
  assert.equal(res.record.id, id);
  assert.equal(res.record.email, newEmail);
  assert.equal(res.record.verified, true);
  const old = await expectError(client().collection(AUTH).authWithPassword(email, USER_PASSWORD), 400);
  assert.deepEqual(old.response, apiError(400, 'Failed to authenticate.'));
});

test('11. request-email-change to the current or a taken email -> 400', async () => {
  const { email } = await newUser(AUTH, 'refuse');
  const { pb } = await login(AUTH, email);
  const snapshot = await outboxSnapshot();
  const taken = await newUser(AUTH, 'taken');
  const takenErr = await expectError(pb.collection(AUTH).requestEmailChange(taken.email), 400);
  assert.deepEqual(takenErr.response, apiError(400, VALIDATION, {
    newEmail: { code: 'validation_invalid_new_email', message: 'Invalid new email address.' },
  }));
  const invalid = await expectError(pb.collection(AUTH).requestEmailChange('not-an-email'), 400);
  assert.deepEqual(invalid.response, apiError(400, VALIDATION, {
    newEmail: { code: 'validation_is_email', message: 'Must be a valid email address.' },
  }));
  // ozzo-validation's NotIn message.
  const same = await expectError(pb.collection(AUTH).requestEmailChange(email), 400);
  assert.deepEqual(same.response, apiError(400, VALIDATION, {
    newEmail: { code: 'validation_not_in_invalid', message: 'Must not be in list.' },
  }));
  await expectNoMail(taken.email, { after: snapshot, wait: 300 });
});

test('12. request-email-change as a guest -> 401', async () => {
  // Bound to RequireSameCollectionContextAuth, which answers before the handler.
  const guest = await expectError(client().collection(AUTH).requestEmailChange(uniqueEmail('g')), 401);
  assert.deepEqual(guest.response,
    apiError(401, 'The request requires valid record authorization token.'));
});

test('13. impersonate', async () => {
  const { email, id } = await newUser(AUTH, 'imp');

  const imp = await su.collection(AUTH).impersonate(id, 100);
  assert.notEqual(imp, su); // a new client with its own (memory) store
  assert.equal(su.authStore.isSuperuser, true);
  assert.equal(imp.authStore.isValid, true);
  assertAuthToken(imp.authStore.token, { col: authCol, id, refreshable: false, duration: 100 });
  assert.equal(imp.authStore.record.id, id);
  assert.equal(imp.authStore.record.email, email);
  // The impersonated session works.
  assert.equal((await imp.collection(AUTH).getOne(id)).email, email);

  // duration 0 = the collection's auth token duration.
  const imp0 = await su.collection(AUTH).impersonate(id, 0);
  assertAuthToken(imp0.authStore.token, { col: authCol, id, refreshable: false });

  const { pb: userPb } = await login(AUTH, email);
  const forbidden = await expectError(userPb.collection(AUTH).impersonate(id, 100), 403);
  assert.deepEqual(forbidden.response,
    apiError(403, 'The authorized record is not allowed to perform this action.'));
  const guest = await expectError(client().collection(AUTH).impersonate(id, 100), 401);
  assert.deepEqual(guest.response,
    apiError(401, 'The request requires valid record authorization token.'));
  const missing = await expectError(su.collection(AUTH).impersonate('missingrecord00', 100), 404);
  assert.deepEqual(missing.response, apiError(404, "The requested resource wasn't found."));
});

test('14. auth-refresh echoes a non-refreshable (impersonation) token unchanged', async () => {
  const { id } = await newUser(AUTH, 'echo');
  const imp = await su.collection(AUTH).impersonate(id, 100);
  const token = imp.authStore.token;
  await new Promise((resolve) => setTimeout(resolve, 1100)); // a new token would differ now
  const refreshed = await imp.collection(AUTH).authRefresh();
  assert.equal(refreshed.token, token,
    `expected the same token back, got claims ${JSON.stringify(jwtPayload(refreshed.token))}`);
  assert.equal(refreshed.record.id, id);
});

test('15. MFA: password, then OTP with the mfaId', async () => {
  const { email, id } = await newUser(MFA, 'mfa');
  const pb = client();

  // First factor: a 401 whose body is just {mfaId}, not the error envelope.
  const challenge = await expectError(pb.collection(MFA).authWithPassword(email, USER_PASSWORD), 401);
  assert.deepEqual(Object.keys(challenge.response), ['mfaId']);
  const { mfaId } = challenge.response;
  assert.match(mfaId, ID);
  assert.equal(pb.authStore.isValid, false);

  // The same method again is refused (the MFA session survives that).
  const again = await expectError(
    pb.collection(MFA).authWithPassword(email, USER_PASSWORD, { mfaId }), 400);
  assert.deepEqual(again.response, apiError(400, 'A different authentication method is required.'));

  // Second factor: an emailed OTP, passing the mfaId (the SDK sends it as a query param).
  const { otpId } = await pb.collection(MFA).requestOTP(email);
  assert.match(otpId, ID);
  const mail = await readMail(email);
  const code = extractOTP(mail);
  assert.match(code, /^\d{8}$/);
  assert.equal(await waitSentTo(otpId), email);
  const badSession = await expectError(
    pb.collection(MFA).authWithOTP(otpId, code, { mfaId: 'unknownmfaid000' }), 400);
  assert.deepEqual(badSession.response, apiError(400, 'Invalid or expired MFA session.'));

  // That call consumed the OTP before MFA refused the session: ask for a fresh one.
  const consumed = await expectError(pb.collection(MFA).authWithOTP(otpId, code, { mfaId }), 400);
  assert.deepEqual(consumed.response, apiError(400, 'Invalid or expired OTP.'));
  const fresh = await pb.collection(MFA).requestOTP(email);
  const freshCode = extractOTP(await readMail(email));
  await waitSentTo(fresh.otpId);
  const res = await pb.collection(MFA).authWithOTP(fresh.otpId, freshCode, { mfaId });
  assert.deepEqual(Object.keys(res).sort(), ['record', 'token']);
  assertAuthToken(res.token, { col: mfaCol, id });
  // The code went to the record's email, so the record is now verified.
  assert.deepEqual(res.record, {
    collectionId: mfaCol.id, collectionName: MFA, email, emailVisibility: false, id, verified: true,
  });
  assert.equal(pb.authStore.token, res.token);

  // The MFA session is spent; with MFA on, the OTP login did not replace the password.
  const spent = await expectError(
    client().collection(MFA).authWithPassword(email, USER_PASSWORD, { mfaId }), 400);
  assert.deepEqual(spent.response, apiError(400, 'Invalid or expired MFA session.'));
  const next = await expectError(client().collection(MFA).authWithPassword(email, USER_PASSWORD), 401);
  assert.match(next.response.mfaId, ID);
  assert.notEqual(next.response.mfaId, mfaId);
});
