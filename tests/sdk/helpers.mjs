// Shared helpers of the SDK suites: the server to test (from the environment), SDK clients,
// per-run unique names, an assertion for failed requests, and readers of the mail outbox.
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join as joinPath } from 'node:path';
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

// ---------------------------------------------------------------- mail (the dev outbox)
// With no SMTP configured the server writes every mail to SATCHEL_OUTBOX as an RFC 5322
// `.eml` file named `<UTC YYYYMMDD-HHMMSS.mmm>-<recipient>[-N].eml` (recipient reduced to
// [A-Za-z0-9@._-]). The readers below use node built-ins only.

const returnedMail = new Set(); // outbox files already handed out by readMail
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function outboxDir() {
  return requireEnv('SATCHEL_OUTBOX');
}

const sanitizeRecipient = (email) => email.replace(/[^A-Za-z0-9@._-]/g, '_');
const escapeRegExp = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** UTC ms of an outbox file name's time stamp. */
function stampMillis(stamp) {
  const m = /^(\d{4})(\d{2})(\d{2})-(\d{2})(\d{2})(\d{2})\.(\d{3})$/.exec(stamp);
  return Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6], +m[7]);
}

/** The outbox files addressed to `to`, oldest first: [{name, millis, seq}]. */
async function outboxFilesFor(to) {
  let names;
  try {
    names = await readdir(outboxDir());
  } catch (err) {
    if (err.code === 'ENOENT') return []; // nothing sent yet
    throw err;
  }
  const re = new RegExp(`^(\\d{8}-\\d{6}\\.\\d{3})-${escapeRegExp(sanitizeRecipient(to))}(?:-(\\d+))?\\.eml$`);
  const files = [];
  for (const name of names) {
    const m = re.exec(name);
    if (m) files.push({ name, millis: stampMillis(m[1]), seq: m[2] ? Number(m[2]) : 1 });
  }
  return files.sort((a, b) => a.millis - b.millis || a.seq - b.seq);
}

/** The names of every file now in the outbox (pass as `after` to readMail / expectNoMail). */
export async function outboxSnapshot() {
  try {
    return new Set(await readdir(outboxDir()));
  } catch (err) {
    if (err.code === 'ENOENT') return new Set();
    throw err;
  }
}

function isNew(file, after) {
  if (returnedMail.has(file.name)) return false;
  if (after === undefined || after === null) return true;
  if (after instanceof Set) return !after.has(file.name);
  const ms = after instanceof Date ? after.getTime() : Number(after);
  return file.millis >= ms;
}

/**
 * Waits (up to `timeout` ms) for a new mail addressed to `to` and returns it parsed:
 * `{subject, html, text, to, from, headers, file}`. "New" = not returned by an earlier
 * readMail and, when `after` is given, written at or after that time (a Date or ms) or absent
 * from that outboxSnapshot() (a Set). The oldest such mail is returned.
 */
export async function readMail(to, { after, timeout = 10_000 } = {}) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const file = (await outboxFilesFor(to)).find((f) => isNew(f, after));
    if (file) {
      returnedMail.add(file.name);
      // The writer creates the file then fills it: retry until it parses completely.
      for (;;) {
        const raw = await readFile(joinPath(outboxDir(), file.name), 'latin1');
        try {
          const mail = parseMail(raw);
          if (mail.html !== undefined || mail.text !== undefined) return { ...mail, file: file.name };
        } catch (err) {
          if (Date.now() > deadline) throw err;
        }
        if (Date.now() > deadline) throw new Error(`incomplete mail ${file.name}:\n${raw}`);
        await sleep(50);
      }
    }
    if (Date.now() > deadline) throw new Error(`no new mail to ${to} within ${timeout} ms`);
    await sleep(50);
  }
}

/** Fails if a new mail to `to` shows up within `wait` ms (same `after` as readMail). */
export async function expectNoMail(to, { after, wait = 1500 } = {}) {
  await sleep(wait);
  const files = (await outboxFilesFor(to)).filter((f) => isNew(f, after));
  assert.deepEqual(files.map((f) => f.name), [], `expected no new mail to ${to}`);
}

/** The token of a `/_/#/auth/<action>/<token>` link in a mail (action optional). */
export function extractToken(mail, action = '[a-z-]+') {
  const re = new RegExp(`/_/#/auth/${action}/([A-Za-z0-9_.-]+)`);
  const m = re.exec(mail.html ?? '') ?? re.exec(mail.text ?? '');
  assert.ok(m, `no /_/#/auth/${action}/<token> link in the mail:\n${mail.html ?? mail.text}`);
  return m[1];
}

/** The OTP code of a mail (`<strong>DIGITS</strong>` in the default template). */
export function extractOTP(mail) {
  const m = /<strong>(\d+)<\/strong>/.exec(mail.html ?? '');
  assert.ok(m, `no <strong>code</strong> in the mail:\n${mail.html}`);
  return m[1];
}

/** The claims of a JWT (unverified). */
export function jwtPayload(token) {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8'));
}

// ---- minimal RFC 5322 / MIME parsing (headers, multipart, QP/base64/7bit, RFC 2047 words)

function parseHeaders(block) {
  const headers = {};
  const unfolded = block.replace(/\n[ \t]+/g, ' ');
  for (const line of unfolded.split('\n')) {
    const i = line.indexOf(':');
    if (i <= 0) continue;
    const key = line.slice(0, i).trim().toLowerCase();
    const value = line.slice(i + 1).trim();
    headers[key] = key in headers ? `${headers[key]}, ${value}` : value;
  }
  return headers;
}

/** Splits `Content-Type`-like values: {value, params}. */
function parseHeaderParams(header = '') {
  const [value, ...rest] = header.split(';');
  const params = {};
  for (const part of rest) {
    const i = part.indexOf('=');
    if (i < 0) continue;
    let v = part.slice(i + 1).trim();
    if (v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1).replace(/\\(.)/g, '$1');
    params[part.slice(0, i).trim().toLowerCase()] = v;
  }
  return { value: value.trim().toLowerCase(), params };
}

function charsetOf(charset = 'utf-8') {
  const c = charset.toLowerCase();
  if (c === 'utf-8' || c === 'utf8' || c === 'us-ascii') return 'utf8';
  if (c === 'iso-8859-1' || c === 'latin1') return 'latin1';
  return 'utf8';
}

/** Bytes (as a latin1 string) of a quoted-printable body. */
function decodeQuotedPrintable(body) {
  return body
    .replace(/[ \t]+$/gm, '') // trailing whitespace is not part of the data
    .replace(/=\n/g, '') // soft line breaks
    .replace(/=([0-9A-Fa-f]{2})/g, (_, hex) => String.fromCharCode(parseInt(hex, 16)));
}

function decodeBody(body, encoding = '7bit', charset) {
  let bytes;
  switch (encoding.toLowerCase()) {
    case 'quoted-printable': bytes = Buffer.from(decodeQuotedPrintable(body), 'latin1'); break;
    case 'base64': bytes = Buffer.from(body.replace(/\s+/g, ''), 'base64'); break;
    default: bytes = Buffer.from(body, 'latin1'); // 7bit, 8bit, binary
  }
  return bytes.toString(charsetOf(charset));
}

/** Decodes RFC 2047 encoded words (`=?charset?B|Q?...?=`); the raw header is bytes-as-latin1. */
export function decodeEncodedWords(value) {
  const word = /=\?([^?]+)\?([BbQq])\?([^?]*)\?=/g;
  const joined = value.replace(/(=\?[^?]+\?[BbQq]\?[^?]*\?=)\s+(?==\?)/g, '$1'); // blanks between words vanish
  const decoded = joined.replace(word, (_, charset, enc, text) => {
    const bytes = enc.toUpperCase() === 'B'
      ? Buffer.from(text, 'base64')
      : Buffer.from(text.replace(/_/g, ' ').replace(/=([0-9A-Fa-f]{2})/g,
        (__, hex) => String.fromCharCode(parseInt(hex, 16))), 'latin1');
    return `\u0000${bytes.toString(charsetOf(charset))}\u0001`; // mark: already decoded
  });
  // Text outside encoded words is raw bytes (8-bit headers would be UTF-8).
  return decoded.split(/(\u0000[^\u0001]*\u0001)/).map((piece) => (piece.startsWith('\u0000')
    ? piece.slice(1, -1)
    : Buffer.from(piece, 'latin1').toString('utf8'))).join('');
}

/** Walks a MIME entity, collecting the first text/plain and text/html bodies into `out`. */
function walkEntity(raw, out) {
  const split = raw.indexOf('\n\n');
  const headerBlock = split < 0 ? raw : raw.slice(0, split);
  const body = split < 0 ? '' : raw.slice(split + 2);
  const headers = parseHeaders(headerBlock);
  const type = parseHeaderParams(headers['content-type'] || 'text/plain; charset=us-ascii');
  if (type.value.startsWith('multipart/')) {
    const boundary = type.params.boundary;
    if (!boundary) throw new Error('multipart without a boundary');
    const delimiter = `--${boundary}`;
    const close = body.indexOf(`${delimiter}--`);
    if (close < 0) throw new Error('multipart without its closing delimiter (incomplete file?)');
    const parts = body.slice(0, close).split(new RegExp(`(?:^|\\n)${escapeRegExp(delimiter)}[ \\t]*\\n`));
    for (const part of parts.slice(1)) walkEntity(part.replace(/\n$/, ''), out);
  } else if (type.value === 'text/plain' || type.value === 'text/html') {
    const key = type.value === 'text/html' ? 'html' : 'text';
    if (out[key] === undefined) {
      out[key] = decodeBody(body, headers['content-transfer-encoding'], type.params.charset);
    }
  }
  return headers;
}

/** Parses a whole message (a latin1 string of its bytes). */
export function parseMail(raw) {
  const out = {};
  const headers = walkEntity(raw.replace(/\r\n/g, '\n'), out);
  const decodedHeaders = Object.fromEntries(
    Object.entries(headers).map(([k, v]) => [k, decodeEncodedWords(v)]));
  return {
    subject: decodedHeaders.subject ?? '',
    to: decodedHeaders.to ?? '',
    from: decodedHeaders.from ?? '',
    html: out.html,
    text: out.text,
    headers: decodedHeaders,
  };
}
