/**
 * Authentication of the standalone store (`npm run db -- --auth`): one user, `admin.<user>`, checked with
 * SCRAM-SHA-256 (RFC 7677) exactly as the Node driver and mongosh speak it: `hello` with
 * `saslSupportedMechs: 'admin.<user>'` learns the mechanism, then `saslStart` (client-first) and
 * `saslContinue` (client-final; `skipEmptyExchange` ends the conversation there). Until a connection has
 * authenticated, every command but the handshake, `ping`, `buildInfo` and the SASL ones is refused with
 * 13 Unauthorized, as mongod does.
 *
 * The credential lives in `<dbPath>/credentials.json` (mode 0600): generated at the first `--auth` start
 * (user `vigil`, a random password) or taken from `--user` / `--password-file`. Clients read it from there.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Binary } from 'bson';
import type { Doc } from './compare';
import { CommandError } from './errors';

export interface Credential {
  user: string;
  password: string;
}

export const CREDENTIALS_FILE = 'credentials.json';
export const AUTH_DB = 'admin';
const MECHANISM = 'SCRAM-SHA-256';
const ITERATIONS = 15_000;
const USER_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;
/** Printable ASCII without space: SASLprep maps none of it, so the driver hashes exactly these bytes. */
const PASSWORD_PATTERN = /^[\x21-\x7e]{8,256}$/;

/** Commands a connection may run before it authenticated (mongod's list for a client without a user). */
const OPEN_COMMANDS = new Set(['hello', 'isMaster', 'ismaster', 'ping', 'buildInfo', 'buildinfo', 'saslStart', 'saslContinue', 'logout', 'endSessions']);

function authFailed(): CommandError {
  return new CommandError(18, 'AuthenticationFailed', 'Authentication failed.');
}

/**
 * The credential kept in `dir` (created with mode 0600 when missing, from `given` or a random password).
 * `given` replaces a stored one. A file other users could read is tightened to 0600 first.
 */
export function loadOrCreateCredential(dir: string, given?: Partial<Credential>): { credential: Credential; file: string; created: boolean } {
  const file = path.join(dir, CREDENTIALS_FILE);
  const user = given?.user ?? 'vigil';
  if (!USER_PATTERN.test(user)) throw new Error(`--user must be 1-64 letters, digits, '.', '_' or '-', got ${JSON.stringify(user)}`);
  if (fs.existsSync(file) && given?.password === undefined && given?.user === undefined) {
    const st = fs.statSync(file);
    if (st.mode & 0o077) fs.chmodSync(file, 0o600);
    const stored = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<Credential>;
    if (typeof stored.user !== 'string' || !USER_PATTERN.test(stored.user) || typeof stored.password !== 'string' || !PASSWORD_PATTERN.test(stored.password)) {
      throw new Error(`${file} does not hold a { "user", "password" } credential (password: 8-256 printable ASCII characters)`);
    }
    return { credential: { user: stored.user, password: stored.password }, file, created: false };
  }
  const credential: Credential = { user, password: given?.password ?? crypto.randomBytes(24).toString('base64url') };
  if (!PASSWORD_PATTERN.test(credential.password)) throw new Error('the store password must be 8-256 printable ASCII characters without spaces');
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(credential) + '\n', { mode: 0o600, flag: 'w' });
  fs.chmodSync(tmp, 0o600);
  fs.renameSync(tmp, file);
  return { credential, file, created: true };
}

function hmac(key: Buffer, data: string): Buffer {
  return crypto.createHmac('sha256', key).update(data, 'utf8').digest();
}

function sha256(data: Buffer): Buffer {
  return crypto.createHash('sha256').update(data).digest();
}

/** One connection's progress through authentication. */
export interface ConnectionAuth {
  user?: string;
  conversation?: { id: number; clientFirstBare: string; serverFirst: string; nonce: string };
}

function payloadText(v: unknown): string {
  if (v instanceof Binary) return Buffer.from(v.buffer.subarray(0, v.position)).toString('utf8');
  if (v instanceof Uint8Array) return Buffer.from(v).toString('utf8');
  if (typeof v === 'string') return v;
  throw new CommandError(14, 'TypeMismatch', "BSON field 'payload' is the wrong type, expected type 'binData'");
}

/** `a=1,b=2` → { a: '1', b: '2' } (values may contain '='). */
function attributes(s: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of s.split(',')) {
    const i = part.indexOf('=');
    if (i > 0) out[part.slice(0, i)] = part.slice(i + 1);
  }
  return out;
}

export class ScramAuthenticator {
  private readonly salt = crypto.randomBytes(16);
  private readonly storedKey: Buffer;
  private readonly serverKey: Buffer;
  private nextConversation = 1;

  constructor(private readonly credential: Credential) {
    // printable ASCII only (loadOrCreateCredential): SASLprep, which the driver applies, leaves it as it is
    const salted = crypto.pbkdf2Sync(credential.password, this.salt, ITERATIONS, 32, 'sha256');
    this.storedKey = sha256(hmac(salted, 'Client Key'));
    this.serverKey = hmac(salted, 'Server Key');
  }

  /** Whether this command may run on the connection now; otherwise mongod's 13 Unauthorized. */
  check(name: string, state: ConnectionAuth): void {
    if (state.user || OPEN_COMMANDS.has(name)) return;
    throw new CommandError(13, 'Unauthorized', `command ${name} requires authentication`);
  }

  /** `saslSupportedMechs` for a hello that asked about `db.user`: only our one user has any. */
  mechanismsFor(userSpec: unknown): string[] | undefined {
    return userSpec === `${AUTH_DB}.${this.credential.user}` ? [MECHANISM] : undefined;
  }

  /** saslStart / saslContinue; undefined for any other command. */
  handle(name: string, cmd: Doc, db: string, state: ConnectionAuth): Doc | undefined {
    if (name === 'saslStart') return this.start(cmd, db, state);
    if (name === 'saslContinue') return this.continue(cmd, state);
    return undefined;
  }

  private start(cmd: Doc, db: string, state: ConnectionAuth): Doc {
    state.conversation = undefined;
    if (cmd.mechanism !== MECHANISM) {
      throw new CommandError(334, 'MechanismUnavailable', `Received authentication for mechanism ${String(cmd.mechanism)} which is not enabled`);
    }
    const text = payloadText(cmd.payload);
    // gs2 header: no channel binding, no authzid
    if (!text.startsWith('n,,')) throw authFailed();
    const clientFirstBare = text.slice(3);
    const attrs = attributes(clientFirstBare);
    const user = (attrs.n ?? '').replace(/=2C/g, ',').replace(/=3D/g, '=');
    if (db !== AUTH_DB || user !== this.credential.user || !attrs.r) throw authFailed();
    const nonce = attrs.r + crypto.randomBytes(24).toString('base64');
    const serverFirst = `r=${nonce},s=${this.salt.toString('base64')},i=${ITERATIONS}`;
    const id = this.nextConversation++;
    state.conversation = { id, clientFirstBare, serverFirst, nonce };
    return { conversationId: id, done: false, payload: new Binary(Buffer.from(serverFirst, 'utf8')), ok: 1 };
  }

  private continue(cmd: Doc, state: ConnectionAuth): Doc {
    const conv = state.conversation;
    state.conversation = undefined;
    if (!conv || Number(cmd.conversationId) !== conv.id) throw new CommandError(17, 'ProtocolError', 'No SASL session state found');
    const clientFinal = payloadText(cmd.payload);
    const proofAt = clientFinal.lastIndexOf(',p=');
    if (proofAt < 0) throw authFailed();
    const withoutProof = clientFinal.slice(0, proofAt);
    const attrs = attributes(withoutProof);
    if (attrs.r !== conv.nonce || attrs.c !== 'biws') throw authFailed();
    const proof = Buffer.from(clientFinal.slice(proofAt + 3), 'base64');
    const authMessage = `${conv.clientFirstBare},${conv.serverFirst},${withoutProof}`;
    const signature = hmac(this.storedKey, authMessage);
    if (proof.length !== signature.length) throw authFailed();
    const clientKey = Buffer.alloc(proof.length);
    for (let i = 0; i < proof.length; i++) clientKey[i] = proof[i] ^ signature[i];
    if (!crypto.timingSafeEqual(sha256(clientKey), this.storedKey)) throw authFailed();
    state.user = this.credential.user;
    const verifier = `v=${hmac(this.serverKey, authMessage).toString('base64')}`;
    return { conversationId: conv.id, done: true, payload: new Binary(Buffer.from(verifier, 'utf8')), ok: 1 };
  }
}
