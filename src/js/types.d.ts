// Satchel's JS hooks API (PocketBase 0.40.6 JSVM compatible). Written to pb_data/types.d.ts
// at start, as PocketBase does; reference it from a hook file with
//   /// <reference path="../pb_data/types.d.ts" />

declare const __hooks: string;

declare function sleep(milliseconds: number): void;
declare function toString(value: any): string;
declare function readerToString(value: any): string;
declare function toBytes(value: string): number[];
declare function unmarshal(data: any, target: object): object;
declare function cronAdd(jobId: string, cronExpr: string, handler: () => void): void;
declare function cronRemove(jobId: string): void;
declare function require(path: string): any;

declare class ApiError extends Error {
  constructor(status?: number, message?: string, data?: any);
  status: number;
  data: { [key: string]: any };
}
declare class BadRequestError extends ApiError { constructor(message?: string, data?: any); }
declare class NotFoundError extends ApiError { constructor(message?: string, data?: any); }
declare class ForbiddenError extends ApiError { constructor(message?: string, data?: any); }
declare class UnauthorizedError extends ApiError { constructor(message?: string, data?: any); }
declare class TooManyRequestsError extends ApiError { constructor(message?: string, data?: any); }
declare class InternalServerError extends ApiError { constructor(message?: string, data?: any); }
declare class ValidationError { constructor(code: string, message: string); code: string; message: string; }

declare class Collection {
  constructor(data?: object);
  id: string;
  name: string;
  type: "base" | "auth" | "view";
  system: boolean;
  listRule: string | null;
  viewRule: string | null;
  createRule: string | null;
  updateRule: string | null;
  deleteRule: string | null;
  fields: Array<{ id: string; name: string; type: string; hidden: boolean; [option: string]: any }> & {
    getByName(name: string): { [key: string]: any } | null;
    getById(id: string): { [key: string]: any } | null;
  };
  isAuth(): boolean;
  isBase(): boolean;
  isView(): boolean;
  tableName(): string;
}

declare class Record {
  constructor(collection: Collection | string, data?: { [key: string]: any });
  id: string;
  collection(): Collection;
  tableName(): string;
  isNew(): boolean;
  original(): Record;
  get(key: string): any;
  set(key: string, value: any): void;
  load(data: { [key: string]: any }): void;
  has(key: string): boolean;
  getString(key: string): string;
  getInt(key: string): number;
  getFloat(key: string): number;
  getBool(key: string): boolean;
  getStringSlice(key: string): string[];
  getDateTime(key: string): DateTime;
  email(): string;
  setEmail(email: string): void;
  verified(): boolean;
  setVerified(verified: boolean): void;
  emailVisibility(): boolean;
  setEmailVisibility(visible: boolean): void;
  tokenKey(): string;
  refreshTokenKey(): void;
  setPassword(password: string): void;
  setRandomPassword(): string;
  validatePassword(password: string): boolean;
  isSuperuser(): boolean;
  hide(...fields: string[]): Record;
  unhide(...fields: string[]): Record;
  withCustomData(on: boolean): Record;
  fieldsData(): { [key: string]: any };
  publicExport(): { [key: string]: any };
}

declare class DynamicModel { constructor(shape?: object); [key: string]: any; }
declare class DateTime { constructor(text?: string); string(): string; isZero(): boolean; unix(): number; time(): Date; }
declare class Middleware { constructor(func: (e: RequestEvent) => any, priority?: number, id?: string); }

interface MailAddress { address: string; name?: string; }
declare class MailerMessage {
  constructor(data?: Partial<MailerMessage>);
  from: MailAddress;
  to: MailAddress[];
  cc: MailAddress[];
  bcc: MailAddress[];
  subject: string;
  html: string;
  text: string;
  headers: { [key: string]: string };
}

interface Store {
  get(key: string): any;
  set(key: string, value: any): void;
  has(key: string): boolean;
  remove(key: string): void;
  getAll(): { [key: string]: any };
  reset(data?: { [key: string]: any }): void;
  length(): number;
}

interface Logger {
  debug(message: string, ...keyValues: any[]): void;
  info(message: string, ...keyValues: any[]): void;
  warn(message: string, ...keyValues: any[]): void;
  error(message: string, ...keyValues: any[]): void;
  with(...keyValues: any[]): Logger;
  withGroup(name: string): Logger;
}

interface App {
  findCollectionByNameOrId(nameOrId: string): Collection;
  findRecordById(collection: Collection | string, id: string): Record;
  findRecordsByIds(collection: Collection | string, ids: string[]): Record[];
  findFirstRecordByData(collection: Collection | string, key: string, value: any): Record;
  findRecordsByFilter(collection: Collection | string, filter: string, sort?: string, limit?: number, offset?: number, params?: { [name: string]: any }): Record[];
  findFirstRecordByFilter(collection: Collection | string, filter: string, params?: { [name: string]: any }): Record;
  findAllRecords(collection: Collection | string): Record[];
  countRecords(collection: Collection | string): number;
  findAuthRecordByEmail(collection: Collection | string, email: string): Record;
  findAuthRecordByToken(token: string, tokenType?: string): Record;
  save(record: Record): void;
  saveNoValidate(record: Record): void;
  validate(record: Record): void;
  delete(record: Record): void;
  runInTransaction(fn: (txApp: App) => void): void;
  store(): Store;
  settings(): { [key: string]: any };
  logger(): Logger;
  newMailClient(): { send(message: MailerMessage): void };
  isDev(): boolean;
  dataDir(): string;
}
declare var $app: App;

interface RequestInfo {
  query: { [key: string]: string };
  headers: { [key: string]: string };
  body: { [key: string]: any };
  auth: Record | null;
  method: string;
  context: string;
}

interface RequestEvent {
  app: App;
  auth: Record | null;
  request: {
    method: string;
    url: { path: string; rawQuery: string; query(): { get(key: string): string; has(key: string): boolean }; string(): string };
    host: string;
    remoteAddr: string;
    header: { get(name: string): string; values(name: string): string[] };
    pathValue(name: string): string;
    body: string;
  };
  response: { header(): { set(k: string, v: string): void; add(k: string, v: string): void; get(k: string): string; del(k: string): void } };
  requestInfo(): RequestInfo;
  hasSuperuserAuth(): boolean;
  realIP(): string;
  remoteIP(): string;
  isTLS(): boolean;
  json(status: number, data: any): void;
  string(status: number, text: string): void;
  html(status: number, html: string): void;
  xml(status: number, xml: string): void;
  blob(status: number, contentType: string, bytes: string | number[]): void;
  noContent(status: number): void;
  redirect(status: number, url: string): void;
  error(status: number, message: string, data?: any): never;
  badRequestError(message?: string, data?: any): BadRequestError;
  notFoundError(message?: string, data?: any): NotFoundError;
  forbiddenError(message?: string, data?: any): ForbiddenError;
  unauthorizedError(message?: string, data?: any): UnauthorizedError;
  tooManyRequestsError(message?: string, data?: any): TooManyRequestsError;
  internalServerError(message?: string, data?: any): InternalServerError;
  bindBody(target: object): object;
  setCookie(cookie: { name: string; value?: string; path?: string; domain?: string; maxAge?: number; secure?: boolean; httpOnly?: boolean; sameSite?: number }): void;
  written(): boolean;
  status(): number;
  get(key: string): any;
  set(key: string, value: any): void;
  next(): void;
}

interface HookEvent {
  app: App;
  next(): void;
}
interface RecordEvent extends HookEvent { collection: Collection; record: Record; }
interface RecordRequestEvent extends RecordEvent { auth: Record | null; requestInfo(): RequestInfo; hasSuperuserAuth(): boolean; }
interface RecordsListRequestEvent extends HookEvent { collection: Collection; records: Record[]; auth: Record | null; requestInfo(): RequestInfo; }
interface RecordEnrichEvent extends RecordEvent { requestInfo(): RequestInfo; }
interface RecordCreateOTPRequestEvent extends HookEvent { collection: Collection; record: Record | null; password: string; requestInfo(): RequestInfo; }
interface RecordAuthWithOTPRequestEvent extends RecordEvent { otp: Record; }
interface RecordAuthRequestEvent extends RecordEvent { token: string; authMethod: string; meta: any; }
interface MailerRecordEvent extends RecordEvent { message: MailerMessage; meta: { [key: string]: any }; }

declare function routerAdd(method: string, path: string, handler: (e: RequestEvent) => any, ...middlewares: Array<((e: RequestEvent) => any) | Middleware>): void;
declare function routerUse(...middlewares: Array<((e: RequestEvent) => any) | Middleware>): void;

declare function onBootstrap(handler: (e: HookEvent) => any): void;
declare function onTerminate(handler: (e: HookEvent) => any): void;
declare function onSettingsReload(handler: (e: HookEvent) => any): void;
declare function onRecordCreate(handler: (e: RecordEvent) => any, ...tags: string[]): void;
declare function onRecordUpdate(handler: (e: RecordEvent) => any, ...tags: string[]): void;
declare function onRecordDelete(handler: (e: RecordEvent) => any, ...tags: string[]): void;
declare function onRecordAfterCreateSuccess(handler: (e: RecordEvent) => any, ...tags: string[]): void;
declare function onRecordAfterUpdateSuccess(handler: (e: RecordEvent) => any, ...tags: string[]): void;
declare function onRecordAfterDeleteSuccess(handler: (e: RecordEvent) => any, ...tags: string[]): void;
declare function onRecordEnrich(handler: (e: RecordEnrichEvent) => any, ...tags: string[]): void;
declare function onRecordsListRequest(handler: (e: RecordsListRequestEvent) => any, ...tags: string[]): void;
declare function onRecordViewRequest(handler: (e: RecordRequestEvent) => any, ...tags: string[]): void;
declare function onRecordCreateRequest(handler: (e: RecordRequestEvent) => any, ...tags: string[]): void;
declare function onRecordUpdateRequest(handler: (e: RecordRequestEvent) => any, ...tags: string[]): void;
declare function onRecordDeleteRequest(handler: (e: RecordRequestEvent) => any, ...tags: string[]): void;
declare function onRecordAuthRequest(handler: (e: RecordAuthRequestEvent) => any, ...tags: string[]): void;
declare function onRecordRequestOTPRequest(handler: (e: RecordCreateOTPRequestEvent) => any, ...tags: string[]): void;
declare function onRecordAuthWithOTPRequest(handler: (e: RecordAuthWithOTPRequestEvent) => any, ...tags: string[]): void;
declare function onMailerRecordOTPSend(handler: (e: MailerRecordEvent) => any, ...tags: string[]): void;
declare function onMailerRecordVerificationSend(handler: (e: MailerRecordEvent) => any, ...tags: string[]): void;
declare function onMailerRecordPasswordResetSend(handler: (e: MailerRecordEvent) => any, ...tags: string[]): void;
declare function onMailerRecordEmailChangeSend(handler: (e: MailerRecordEvent) => any, ...tags: string[]): void;
declare function onMailerRecordAuthAlertSend(handler: (e: MailerRecordEvent) => any, ...tags: string[]): void;

declare namespace $apis {
  function requireAuth(...collections: string[]): Middleware;
  function requireSuperuserAuth(): Middleware;
  function requireSuperuserOrOwnerAuth(ownerIdParam?: string): Middleware;
  function requireGuestOnly(): Middleware;
  function bodyLimit(bytes: number): Middleware;
  function gzip(): Middleware;
  function skipSuccessActivityLog(): Middleware;
}

declare namespace $security {
  function md5(text: string): string;
  function sha256(text: string): string;
  function sha512(text: string): string;
  function hs256(text: string, secret: string): string;
  function hs512(text: string, secret: string): string;
  function equal(a: string, b: string): boolean;
  function randomString(length: number): string;
  function randomStringWithAlphabet(length: number, alphabet: string): string;
  function pseudorandomString(length: number): string;
  function pseudorandomStringWithAlphabet(length: number, alphabet: string): string;
  function randomStringByRegex(pattern: string, ...flags: number[]): string;
  function parseUnverifiedJWT(token: string): { [claim: string]: any };
  function parseJWT(token: string, verificationKey: string): { [claim: string]: any };
  function createJWT(payload: { [claim: string]: any }, signingKey: string, secDuration: number): string;
  function encrypt(data: string, key: string): string;
  function decrypt(cipherText: string, key: string): string;
}

declare namespace $filepath {
  function base(path: string): string;
  function clean(path: string): string;
  function dir(path: string): string;
  function ext(path: string): string;
  function fromSlash(path: string): string;
  function toSlash(path: string): string;
  function isAbs(path: string): boolean;
  function join(...elems: string[]): string;
  function split(path: string): [string, string];
  function splitList(path: string): string[];
  function rel(basepath: string, targpath: string): string;
  function match(pattern: string, name: string): boolean;
  function glob(pattern: string): string[];
  function walk(root: string, fn: (path: string, info: any, err: string | null) => any): void;
  function walkDir(root: string, fn: (path: string, entry: any, err: string | null) => any): void;
  const skipDir: string;
  const skipAll: string;
}

interface Cmd {
  dir: string;
  env: string[] | null;
  stdin: string | number[] | null;
  /** Satchel: milliseconds before the command is killed (default 30000). */
  timeout: number;
  output(): number[];
  combinedOutput(): number[];
  run(): void;
  string(): string;
}
declare namespace $os {
  function getenv(key: string): string;
  function args(): string[];
  function getwd(): string;
  function tempDir(): string;
  function readFile(name: string): number[];
  function writeFile(name: string, data: string | number[], perm?: number): void;
  function readDir(name: string): any[];
  function stat(name: string): any;
  function lstat(name: string): any;
  function mkdir(name: string, perm?: number): void;
  function mkdirAll(path: string, perm?: number): void;
  function remove(name: string): void;
  function removeAll(path: string): void;
  function rename(from: string, to: string): void;
  function truncate(name: string, size: number): void;
  function cmd(name: string, ...args: string[]): Cmd;
  function exec(name: string, ...args: string[]): Cmd;
}

declare namespace $http {
  function send(options: { url: string; method?: string; body?: string; headers?: { [key: string]: string }; timeout?: number }): {
    statusCode: number;
    headers: { [key: string]: string[] };
    cookies: { [name: string]: any };
    json: any;
    body: number[];
    raw: string;
  };
}

interface CollectionEvent extends HookEvent { collection: Collection & { original(): Collection | null }; }
declare function onCollectionCreate(handler: (e: CollectionEvent) => any, ...tags: string[]): void;
declare function onCollectionUpdate(handler: (e: CollectionEvent) => any, ...tags: string[]): void;
declare function onCollectionDelete(handler: (e: CollectionEvent) => any, ...tags: string[]): void;
declare function onCollectionAfterCreateSuccess(handler: (e: CollectionEvent) => any, ...tags: string[]): void;
declare function onCollectionAfterUpdateSuccess(handler: (e: CollectionEvent) => any, ...tags: string[]): void;
declare function onCollectionAfterDeleteSuccess(handler: (e: CollectionEvent) => any, ...tags: string[]): void;

declare namespace $mails {
  function sendRecordVerification(app: App, record: Record): void;
  function sendRecordPasswordReset(app: App, record: Record): void;
  function sendRecordChangeEmail(app: App, record: Record, newEmail: string): void;
  function sendRecordOTP(app: App, record: Record, otpId: string, password: string): void;
  function sendRecordAuthAlert(app: App, record: Record, info: string): void;
}

declare const process: { env: { [key: string]: string | undefined }; argv: string[] };

declare namespace $template {
  function loadFiles(...paths: string[]): { render(data?: any): string };
  function loadString(...templates: string[]): { render(data?: any): string };
}

interface RecordFlowEvent extends HookEvent {
  collection: Collection;
  record: Record | null;
  requestInfo(): RequestInfo;
  identity?: string;
  identityField?: string;
  password?: string;
  newEmail?: string;
}
declare function onRecordAuthWithPasswordRequest(handler: (e: RecordFlowEvent) => any, ...tags: string[]): void;
declare function onRecordAuthRefreshRequest(handler: (e: RecordFlowEvent) => any, ...tags: string[]): void;
declare function onRecordRequestVerificationRequest(handler: (e: RecordFlowEvent) => any, ...tags: string[]): void;
declare function onRecordConfirmVerificationRequest(handler: (e: RecordFlowEvent) => any, ...tags: string[]): void;
declare function onRecordRequestPasswordResetRequest(handler: (e: RecordFlowEvent) => any, ...tags: string[]): void;
declare function onRecordConfirmPasswordResetRequest(handler: (e: RecordFlowEvent) => any, ...tags: string[]): void;
declare function onRecordRequestEmailChangeRequest(handler: (e: RecordFlowEvent) => any, ...tags: string[]): void;
declare function onRecordConfirmEmailChangeRequest(handler: (e: RecordFlowEvent) => any, ...tags: string[]): void;

declare function onRecordAfterCreateError(handler: (e: RecordEvent & { error: Error }) => any, ...tags: string[]): void;
declare function onRecordAfterUpdateError(handler: (e: RecordEvent & { error: Error }) => any, ...tags: string[]): void;
declare function onRecordAfterDeleteError(handler: (e: RecordEvent & { error: Error }) => any, ...tags: string[]): void;

declare function onRecordValidate(handler: (e: RecordEvent) => any, ...tags: string[]): void;

interface DbxExpression { sql: string; params: any[]; }
declare const $dbx: {
  exp(sql: string, params?: { [name: string]: any }): DbxExpression;
  hashExp(values: { [column: string]: any }): DbxExpression;
  and(...exps: DbxExpression[]): DbxExpression;
  or(...exps: DbxExpression[]): DbxExpression;
  not(exp: DbxExpression): DbxExpression;
  in(column: string, ...values: any[]): DbxExpression;
  notIn(column: string, ...values: any[]): DbxExpression;
  like(column: string, ...values: string[]): DbxExpression;
  between(column: string, from: any, to: any): DbxExpression;
};
interface RecordQuery {
  where(exp: DbxExpression): RecordQuery;
  andWhere(exp: DbxExpression): RecordQuery;
  orWhere(exp: DbxExpression): RecordQuery;
  orderBy(...columns: string[]): RecordQuery;
  andOrderBy(...columns: string[]): RecordQuery;
  limit(n: number): RecordQuery;
  offset(n: number): RecordQuery;
  one(target?: Record): Record;
  all(target?: Record[]): Record[];
}
interface App { recordQuery(collection: Collection | string): RecordQuery; }
declare function arrayOf<T>(model: T): T[];
