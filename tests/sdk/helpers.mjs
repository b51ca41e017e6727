// Shared helpers of the SDK suites: the server to test (from the environment), SDK clients,
// per-run unique names, and an assertion for failed requests.
import assert from 'node:assert/strict';
import PocketBase, { ClientResponseError } from 'pocketbase';

function requireEnv(name) {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set. Run as: SATCHEL_URL=http://127.0.0.1:8090 ` +
      'SATCHEL_SUPERUSER_EMAIL=... SATCHEL_SUPERUSER_PASSWORD=... npm test');
  }
  return value;
}

export const BASE_URL = requireEnv('SATCHEL_URL');
export const EMAIL = requireEnv('SATCHEL_SUPERUSER_EMAIL');
export const PASSWORD = requireEnv('SATCHEL_SUPERUSER_PASSWORD');
export const RUN = Math.random().toString(36).slice(2, 10); // unique per run
export const uniqueName = (prefix) => `${prefix}_${RUN}`;
export const DATETIME = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** A fresh SDK client (auto-cancellation off, so parallel calls don't cancel each other). */
export function client() {
  const pb = new PocketBase(BASE_URL);
  pb.autoCancellation(false);
  return pb;
}

/** Awaits a promise that must reject with a ClientResponseError of the given status. */
export async function expectError(promise, status) {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof ClientResponseError, `expected ClientResponseError, got ${err}`);
    assert.equal(err.status, status, `status; response: ${JSON.stringify(err.response)}`);
    return err;
  }
  assert.fail(`expected the request to fail with status ${status}`);
}
