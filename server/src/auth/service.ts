import mongoose from 'mongoose';
import type { AppContext } from '../context';
import { AppError } from '../lib/errors';
import type { AuditSink, AuthAuditEntry } from './audit';
import { API_TOKEN_PREFIX, csrfTokenFor, hashPassword, randomSecret, safeEqualHex, sha256, verifyPassword } from './crypto';
import { absoluteEndOf, authModels, type ApiTokenDoc, type AuthModels, type SessionDoc, type UserDoc } from './model';
import { actorOf, can, grants, roleWithin, type Principal } from '../contracts/access';
import { BackoffLimiter } from './rate-limit';
import { passwordProblem, type CreateTokenInput, type CreateUserInput, type TokenView, type UpdateUserInput, type UserView } from '../contracts/auth';
import { TOKEN_MAX_LIFETIME_MS } from './schema';
import { regionInScope, type RegionIndex } from './scope';
import { isDuplicateKey } from '../lib/store-errors';
import { ChangeFeed } from '../lib/change-feed';

/**
 * Something that may end or narrow a user's access happened (logout, password change or reset, disable,
 * role/scope change, deletion, token revocation). Consumers holding long-lived connections (the `/live`
 * sockets, auth/socket.ts) re-check that user's credentials at once.
 */
export interface AccessChange {
  /** The user whose sessions or tokens are concerned (a token's creator). */
  userId: string;
  reason: 'logout' | 'password_changed' | 'user_updated' | 'user_deleted' | 'token_revoked';
}

/** What a credential grants right now (re-read from the store), and until when without another look. */
export interface CurrentAccess {
  principal: Principal;
  expiresAt: Date;
}

export interface RequestMeta {
  ip: string | null;
  userAgent: string | null;
}

export interface IssuedSession {
  /** Cookie value (vigil_session); only its hash is stored. */
  sessionToken: string;
  /** Value of the readable vigil_csrf cookie; the X-CSRF-Token header must echo it on writes. */
  csrfToken: string;
  expiresAt: Date;
  principal: Principal;
}

export interface ResolvedSession {
  principal: Principal;
  /** What X-CSRF-Token must carry on writes with this session. */
  csrfToken: string;
  /** Set when this request slid the session's expiry forward: the cookies are re-sent with it. */
  renewedUntil?: Date;
  /** When the session ends unless it is used (and slides) again. */
  expiresAt: Date;
}

export const GENERIC_LOGIN_ERROR = 'invalid username or password';
const TOKEN_USE_AUDIT_INTERVAL_MS = 3600_000;

function toUserView(u: UserDoc): UserView {
  return {
    id: u._id.toHexString(),
    username: u.username,
    displayName: u.displayName,
    role: u.role,
    scopeRegionId: u.scopeRegionId ?? null,
    maintainerOrg: u.maintainerOrg ?? null,
    disabled: Boolean(u.disabled),
    failedLogins: u.failedLogins ?? 0,
    lastLoginAt: u.lastLoginAt ? u.lastLoginAt.toISOString() : null,
    createdAt: u.createdAt.toISOString(),
  };
}

function toTokenView(t: ApiTokenDoc): TokenView {
  return {
    id: t._id.toHexString(),
    name: t.name,
    prefix: t.prefix,
    role: t.role,
    scopeRegionId: t.scopeRegionId ?? null,
    maintainerOrg: t.maintainerOrg ?? null,
    createdBy: t.createdBy.toHexString(),
    createdByUsername: t.createdByUsername,
    createdAt: t.createdAt.toISOString(),
    expiresAt: t.expiresAt.toISOString(),
    revokedAt: t.revokedAt ? t.revokedAt.toISOString() : null,
    lastUsedAt: t.lastUsedAt ? t.lastUsedAt.toISOString() : null,
  };
}

function userPrincipal(u: UserDoc, sessionId?: string): Principal {
  return {
    kind: 'user',
    userId: u._id.toHexString(),
    username: u.username,
    role: u.role,
    scopeRegionId: u.scopeRegionId ?? null,
    ...(u.maintainerOrg ? { maintainerOrg: u.maintainerOrg } : {}),
    ...(sessionId ? { sessionId } : {}),
  };
}

const oid = (id: string): mongoose.Types.ObjectId => new mongoose.Types.ObjectId(id);

/** No user has this id: failed logins of unknown names do the same (empty) write as those of real ones. */
const DUMMY_USER_ID = new mongoose.Types.ObjectId('000000000000000000000000');

/** The throttle key of a username at a client address (the username first, so an unlock finds all its keys). */
function userAtAddress(username: string, ip: string | null): string {
  return `${username}\u0000${ip ?? ''}`;
}

/**
 * Users, console sessions, API tokens and first-run setup. Every lookup of a session or token goes to the
 * store, so a revocation, a disabled account or a role change applies to the very next request.
 */
export class AuthService {
  readonly models: AuthModels;
  private regions: RegionIndex | undefined;
  private audit: AuditSink | undefined;
  private dummyHash = '';
  private setupToken: string | undefined;
  private setupBusy = false;
  private readonly tokenUseAudited = new Map<string, number>();
  /** Every change that may end or narrow someone's access; see AccessChange. */
  readonly accessChanges: ChangeFeed<AccessChange>;
  /**
   * Login throttles (in memory, per process). A username is throttled per client address, so a flood of wrong
   * passwords from one address locks that name at that address only, never its owner elsewhere; each address
   * also has a ceiling over all names (spraying), generous because a whole office may sit behind one NAT address.
   */
  readonly byUserAtAddress = new BackoffLimiter({ freeFailures: 5, baseDelayMs: 1000, maxDelayMs: 15 * 60_000, forgetAfterMs: 60 * 60_000, maxKeys: 100_000 });
  readonly byAddress = new BackoffLimiter({ freeFailures: 30, baseDelayMs: 1000, maxDelayMs: 15 * 60_000, forgetAfterMs: 15 * 60_000, maxKeys: 50_000 });

  constructor(
    private readonly ctx: AppContext,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.models = authModels(ctx.store.conn);
    this.accessChanges = new ChangeFeed<AccessChange>((err) => ctx.logger.error('access change listener failed', { err }));
  }

  /** The registry provides the region tree and the audit trail once it is wired; until then scopes compare by id. */
  attach(deps: { regions?: RegionIndex; audit?: AuditSink; namedBy?: (userId: string) => string[] }): void {
    if (deps.regions) this.regions = deps.regions;
    if (deps.audit) this.audit = deps.audit;
    if (deps.namedBy) this.namedBy = deps.namedBy;
  }

  /** What still names a user as a receiver (alerting's policies, once wired): such a user cannot be deleted. */
  private namedBy: (userId: string) => string[] = () => [];

  get regionIndex(): RegionIndex {
    return (
      this.regions ?? {
        ancestorsOrSelf: (id) => [id],
        subtree: (id) => [id],
      }
    );
  }

  /**
   * First run: creates the global admin from ADMIN_USERNAME/ADMIN_PASSWORD, or arms a one-time setup token
   * when no user exists. Returns that token (to print as a link), if any.
   */
  async init(): Promise<{ setupToken?: string }> {
    this.dummyHash = await hashPassword(randomSecret(16));
    await Promise.all([this.models.User.init(), this.models.Session.init(), this.models.ApiToken.init()]);
    if ((await this.models.User.countDocuments({}).exec()) > 0) return {};
    const { ADMIN_USERNAME: username, ADMIN_PASSWORD: password } = this.ctx.config;
    if (username && password) {
      const uname = username.trim().toLowerCase();
      const problem = passwordProblem(password, uname);
      if (problem) throw new Error(`ADMIN_PASSWORD: ${problem}`);
      await this.models.User.create({ username: uname, displayName: uname, role: 'admin', scopeRegionId: null, passwordHash: await hashPassword(password) });
      this.ctx.logger.info('first admin created from ADMIN_USERNAME', { username: uname });
      return {};
    }
    // Open mode (development) makes everyone the dev admin; a setup link would only be noise.
    if (this.ctx.config.AUTH_MODE === 'open') return {};
    this.setupToken = randomSecret(32);
    return { setupToken: this.setupToken };
  }

  setupPending(): boolean {
    return this.setupToken !== undefined;
  }

  async completeSetup(input: { token: string; username: string; password: string }, meta: RequestMeta): Promise<IssuedSession> {
    const expected = this.setupToken;
    if (!expected || this.setupBusy) throw new AppError('not_found', 'no setup pending');
    if (!safeEqualHex(sha256(input.token), sha256(expected))) throw new AppError('forbidden', 'invalid setup token');
    this.setupBusy = true;
    try {
      if ((await this.models.User.countDocuments({}).exec()) > 0) {
        this.setupToken = undefined;
        throw new AppError('not_found', 'no setup pending');
      }
      const user = await this.models.User.create({
        username: input.username,
        displayName: input.username,
        role: 'admin',
        scopeRegionId: null,
        passwordHash: await hashPassword(input.password),
      });
      this.setupToken = undefined;
      const principal = userPrincipal(user.toObject());
      await this.record({ action: 'auth:setup', actor: actorOf(principal), target: { type: 'user', id: principal.userId, label: user.username }, ip: meta.ip });
      return await this.issueSession(user.toObject(), meta);
    } finally {
      this.setupBusy = false;
    }
  }

  /** Seconds until this username may try again from this address, or 0. */
  loginRetryAfterSeconds(username: string, ip: string | null): number {
    const ms = Math.max(this.byUserAtAddress.retryAfterMs(userAtAddress(username, ip)), ip ? this.byAddress.retryAfterMs(ip) : 0);
    return Math.ceil(ms / 1000);
  }

  async login(username: string, password: string, meta: RequestMeta): Promise<IssuedSession> {
    const wait = this.loginRetryAfterSeconds(username, meta.ip);
    if (wait > 0) throw new AppError('rate_limited', `too many failed logins; retry in ${wait} s`, { retryAfterSeconds: wait });
    // Counted as a failure before the (slow) verification, so a burst of parallel guesses is throttled too;
    // a success takes it back.
    const key = userAtAddress(username, meta.ip);
    const lockedUntil = this.byUserAtAddress.recordFailure(key);
    const addressLockedUntil = meta.ip ? this.byAddress.recordFailure(meta.ip) : 0;
    const user = await this.models.User.findOne({ username }).lean<UserDoc>().exec();
    // Every attempt costs one hash verification — against a dummy hash for unknown names — and the same
    // store writes, so the answer's timing does not reveal which usernames exist.
    const ok = await verifyPassword(user?.passwordHash ?? this.dummyHash, password);
    if (!user || !ok || user.disabled) {
      await this.models.User.updateOne({ _id: user?._id ?? DUMMY_USER_ID }, { $inc: { failedLogins: 1 } }).exec();
      const target = user ? { target: { type: 'user' as const, id: user._id.toHexString(), label: user.username }, regionId: user.scopeRegionId } : {};
      await this.record({
        action: 'auth:login_failed',
        actor: null,
        ...target,
        ip: meta.ip,
        details: { username, reason: !user ? 'unknown_user' : user.disabled ? 'disabled' : 'wrong_password' },
      });
      // every lock is audited: an admin sees who is being guessed at, from where, and may unlock (POST /users/:id/unlock)
      if (lockedUntil > 0 || addressLockedUntil > 0) {
        await this.record({
          action: 'auth:locked',
          actor: null,
          ...target,
          ip: meta.ip,
          details: {
            username,
            scope: lockedUntil > 0 ? 'username_at_address' : 'address',
            until: new Date(Math.max(lockedUntil, addressLockedUntil)).toISOString(),
          },
        });
      }
      throw new AppError('unauthenticated', GENERIC_LOGIN_ERROR);
    }
    this.byUserAtAddress.reset(key);
    if (meta.ip) this.byAddress.forgive(meta.ip);
    const at = this.now();
    await this.models.User.updateOne({ _id: user._id }, { $set: { failedLogins: 0, lastLoginAt: at } }).exec();
    const issued = await this.issueSession(user, meta);
    await this.record({ action: 'auth:login', actor: actorOf(issued.principal), target: { type: 'session', id: issued.principal.sessionId ?? '' }, regionId: user.scopeRegionId, ip: meta.ip });
    return issued;
  }

  /** An admin lifts every login lock on a user (at every address) and resets his failure count; audited. */
  async unlockUser(principal: Principal, id: string, meta: RequestMeta): Promise<{ unlocked: number }> {
    const u = await this.loadManageable(principal, id);
    const prefix = userAtAddress(u.username, null);
    const unlocked = this.byUserAtAddress.resetWhere((k) => k.startsWith(prefix));
    await this.models.User.updateOne({ _id: u._id }, { $set: { failedLogins: 0 } }).exec();
    await this.record({ action: 'auth:unlocked', actor: actorOf(principal), target: { type: 'user', id, label: u.username }, regionId: u.scopeRegionId, ip: meta.ip, details: { locks: unlocked } });
    return { unlocked };
  }

  private async issueSession(user: UserDoc, meta: RequestMeta): Promise<IssuedSession> {
    const sessionToken = randomSecret(32);
    const csrfToken = csrfTokenFor(sessionToken);
    const now = this.now().getTime();
    const absoluteExpiresAt = new Date(now + this.ctx.config.SESSION_ABSOLUTE_HOURS * 3600_000);
    const expiresAt = new Date(Math.min(now + this.ctx.config.SESSION_TTL_HOURS * 3600_000, absoluteExpiresAt.getTime()));
    const s = await this.models.Session.create({
      tokenHash: sha256(sessionToken),
      userId: user._id,
      expiresAt,
      absoluteExpiresAt,
      ip: meta.ip,
      userAgent: meta.userAgent?.slice(0, 256) ?? null,
    });
    return { sessionToken, csrfToken, expiresAt, principal: userPrincipal(user, s._id.toHexString()) };
  }

  async logout(principal: Principal, meta: RequestMeta): Promise<void> {
    if (!principal.sessionId) throw new AppError('bad_request', 'only console sessions log out; revoke an API token instead');
    await this.models.Session.deleteOne({ _id: oid(principal.sessionId) }).exec();
    this.accessChanges.emit({ userId: principal.userId, reason: 'logout' });
    await this.record({ action: 'auth:logout', actor: actorOf(principal), target: { type: 'session', id: principal.sessionId }, ip: meta.ip });
  }

  async resolveSession(cookieValue: string): Promise<ResolvedSession | null> {
    if (!cookieValue || cookieValue.length > 200) return null;
    const s = await this.models.Session.findOne({ tokenHash: sha256(cookieValue), expiresAt: { $gt: this.now() } })
      .lean<SessionDoc>()
      .exec();
    if (!s) return null;
    const user = await this.models.User.findById(s.userId).lean<UserDoc>().exec();
    if (!user || user.disabled) return null;
    const resolved: ResolvedSession = { principal: userPrincipal(user, s._id.toHexString()), csrfToken: csrfTokenFor(cookieValue), expiresAt: s.expiresAt };
    // Sliding expiry (a wall display stays signed in while in use): past half its lifetime, a used session
    // is extended by a full TTL — at most one write per half TTL per session — but never past its absolute
    // end (SESSION_ABSOLUTE_HOURS after the login), so a stolen cookie cannot be kept alive forever.
    const ttlMs = this.ctx.config.SESSION_TTL_HOURS * 3600_000;
    const now = this.now().getTime();
    const absoluteEnd = absoluteEndOf(s, this.ctx.config.SESSION_ABSOLUTE_HOURS);
    if (s.expiresAt.getTime() - now < ttlMs / 2 && s.expiresAt.getTime() < absoluteEnd) {
      const renewedUntil = new Date(Math.min(now + ttlMs, absoluteEnd));
      await this.models.Session.updateOne({ _id: s._id }, { $set: { expiresAt: renewedUntil } }).exec();
      resolved.renewedUntil = renewedUntil;
      resolved.expiresAt = renewedUntil;
    }
    return resolved;
  }

  async resolveBearer(secret: string, meta: RequestMeta): Promise<Principal | null> {
    if (!secret.startsWith(API_TOKEN_PREFIX) || secret.length > 200) return null;
    const t = await this.models.ApiToken.findOne({ tokenHash: sha256(secret) }).lean<ApiTokenDoc>().exec();
    const now = this.now();
    const principal = t ? await this.tokenPrincipal(t) : null;
    if (!t || !principal) return null;
    const id = t._id.toHexString();
    const last = this.tokenUseAudited.get(id);
    if (last === undefined || now.getTime() - last >= TOKEN_USE_AUDIT_INTERVAL_MS) {
      this.tokenUseAudited.set(id, now.getTime());
      await this.models.ApiToken.updateOne({ _id: t._id }, { $set: { lastUsedAt: now } }).exec();
      await this.record({ action: 'token:use', actor: actorOf(principal), target: { type: 'token', id, label: t.name }, regionId: t.scopeRegionId, ip: meta.ip });
    }
    return principal;
  }

  /** The principal a stored token stands for now, or null when it is revoked, expired or its creator lost the rights. */
  private async tokenPrincipal(t: ApiTokenDoc): Promise<Principal | null> {
    if (t.revokedAt || t.expiresAt.getTime() <= this.now().getTime()) return null;
    const creator = await this.models.User.findById(t.createdBy).lean<UserDoc>().exec();
    // A token never outlives its creator's rights: disabling or demoting the creator disarms it.
    if (!creator || creator.disabled || !roleWithin(t.role, creator.role)) return null;
    if (t.scopeRegionId !== null && !regionInScope(userPrincipal(creator), this.regionIndex, t.scopeRegionId)) return null;
    if (t.scopeRegionId === null && creator.scopeRegionId !== null) return null;
    return {
      kind: 'token',
      userId: creator._id.toHexString(),
      username: creator.username,
      role: t.role,
      scopeRegionId: t.scopeRegionId ?? null,
      ...(t.maintainerOrg ? { maintainerOrg: t.maintainerOrg } : {}),
      tokenId: t._id.toHexString(),
    };
  }

  /**
   * Re-reads what the credential behind `principal` (its session or API token) grants now: null when it
   * ended (logout, expiry, revocation, disabled or deleted user). Long-lived connections call it to follow
   * their session.
   */
  async currentAccess(principal: Principal): Promise<CurrentAccess | null> {
    if (principal.kind === 'user' && principal.sessionId && mongoose.isValidObjectId(principal.sessionId)) {
      const s = await this.models.Session.findOne({ _id: oid(principal.sessionId), expiresAt: { $gt: this.now() } }).lean<SessionDoc>().exec();
      if (!s) return null;
      const user = await this.models.User.findById(s.userId).lean<UserDoc>().exec();
      if (!user || user.disabled) return null;
      return { principal: userPrincipal(user, principal.sessionId), expiresAt: s.expiresAt };
    }
    if (principal.kind === 'token' && principal.tokenId && mongoose.isValidObjectId(principal.tokenId)) {
      const t = await this.models.ApiToken.findById(principal.tokenId).lean<ApiTokenDoc>().exec();
      const p = t ? await this.tokenPrincipal(t) : null;
      return t && p ? { principal: p, expiresAt: t.expiresAt } : null;
    }
    return null;
  }

  async me(principal: Principal): Promise<{
    kind: Principal['kind'];
    userId: string;
    username: string;
    displayName: string;
    role: Principal['role'];
    scopeRegionId: string | null;
    maintainerOrg: string | null;
    permissions: string[];
  }> {
    let displayName = principal.username;
    if (principal.kind === 'user') {
      const u = await this.models.User.findById(principal.userId).lean<UserDoc>().exec();
      if (u) displayName = u.displayName;
    } else if (principal.tokenId) {
      const t = await this.models.ApiToken.findById(principal.tokenId).lean<ApiTokenDoc>().exec();
      if (t) displayName = t.name;
    }
    return {
      kind: principal.kind,
      userId: principal.userId,
      username: principal.username,
      displayName,
      role: principal.role,
      scopeRegionId: principal.scopeRegionId,
      maintainerOrg: principal.maintainerOrg ?? null,
      permissions: [...grants[principal.role]],
    };
  }

  async changeOwnPassword(principal: Principal, currentPassword: string, newPassword: string, meta: RequestMeta): Promise<void> {
    if (principal.kind !== 'user') throw new AppError('forbidden', 'only signed-in users change their password');
    const u = await this.models.User.findById(principal.userId).lean<UserDoc>().exec();
    if (!u) throw new AppError('unauthenticated', 'authentication required');
    if (!(await verifyPassword(u.passwordHash, currentPassword))) {
      throw new AppError('validation_failed', 'currentPassword: wrong password', [{ field: 'currentPassword', message: 'wrong password' }]);
    }
    const problem = passwordProblem(newPassword, u.username);
    if (problem) throw new AppError('validation_failed', `newPassword: ${problem}`, [{ field: 'newPassword', message: problem }]);
    await this.models.User.updateOne({ _id: u._id }, { $set: { passwordHash: await hashPassword(newPassword) } }).exec();
    // Other sessions may belong to whoever learnt the old password.
    await this.models.Session.deleteMany({ userId: u._id, ...(principal.sessionId ? { _id: { $ne: oid(principal.sessionId) } } : {}) }).exec();
    // API tokens too: one made by whoever held the password must not outlive the change.
    await this.revokeTokensOf(u._id);
    this.accessChanges.emit({ userId: principal.userId, reason: 'password_changed' });
    await this.record({ action: 'auth:password_changed', actor: actorOf(principal), target: { type: 'user', id: principal.userId, label: u.username }, ip: meta.ip });
  }

  // ---- scope helpers -------------------------------------------------------------------------------

  /** Region ids a scoped caller may manage (users, tokens), or null for a global caller. */
  private manageableRegions(principal: Principal): string[] | null {
    if (principal.scopeRegionId === null) return null;
    return this.regionIndex.subtree(principal.scopeRegionId);
  }

  private canManageScope(principal: Principal, scopeRegionId: string | null): boolean {
    if (principal.scopeRegionId === null) return true;
    return scopeRegionId !== null && regionInScope(principal, this.regionIndex, scopeRegionId);
  }

  /** Is the caller's scope strictly wider than `scopeRegionId` (global over any region, an ancestor over a descendant)? */
  private strictlyWider(principal: Principal, scopeRegionId: string | null): boolean {
    if (scopeRegionId === null) return false;
    if (principal.scopeRegionId === null) return true;
    return scopeRegionId !== principal.scopeRegionId && regionInScope(principal, this.regionIndex, scopeRegionId);
  }

  /** A target region must exist and lie within the caller's subtree; otherwise it is "not found". */
  private assertAssignableRegion(principal: Principal, regionId: string | null, field: string): void {
    if (regionId === null) {
      if (principal.scopeRegionId !== null) throw new AppError('forbidden', `${field}: only global admins grant global scope`, [{ field, message: 'global scope requires a global caller' }]);
      return;
    }
    const known = this.regions ? this.regions.ancestorsOrSelf(regionId).length > 0 : true;
    if (!known || !this.canManageScope(principal, regionId)) {
      throw new AppError('not_found', `${field}: region not found`, [{ field, message: 'region not found' }]);
    }
  }

  // ---- users ---------------------------------------------------------------------------------------

  async listUsers(principal: Principal, query: { role?: UserDoc['role']; q?: string }): Promise<UserView[]> {
    const scope = this.manageableRegions(principal);
    const filter: Record<string, unknown> = {};
    if (scope) filter.scopeRegionId = { $in: scope };
    if (query.role) filter.role = query.role;
    if (query.q) {
      const re = new RegExp(query.q.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'i');
      filter.$or = [{ username: re }, { displayName: re }];
    }
    const rows = await this.models.User.find(filter).sort({ username: 1 }).limit(5000).lean<UserDoc[]>().exec();
    return rows.map(toUserView);
  }

  private async loadManageable(principal: Principal, id: string): Promise<UserDoc> {
    const u = await this.models.User.findById(id).lean<UserDoc>().exec();
    if (!u || !this.canManageScope(principal, u.scopeRegionId ?? null)) throw AppError.notFound('user');
    return u;
  }

  async getUser(principal: Principal, id: string): Promise<UserView> {
    return toUserView(await this.loadManageable(principal, id));
  }

  async createUser(principal: Principal, input: CreateUserInput, meta: RequestMeta): Promise<UserView> {
    // An account outlives any token; so a token (revocable, perhaps leaked) cannot mint one.
    if (principal.kind === 'token') throw new AppError('forbidden', 'creating users needs a console session, not an API token');
    this.assertAssignableRegion(principal, input.scopeRegionId, 'scopeRegionId');
    try {
      const created = await this.models.User.create({
        username: input.username,
        displayName: input.displayName ?? input.username,
        role: input.role,
        scopeRegionId: input.scopeRegionId,
        maintainerOrg: input.maintainerOrg ?? null,
        passwordHash: await hashPassword(input.password),
      });
      const view = toUserView(created.toObject());
      await this.record({
        action: 'user:create',
        actor: actorOf(principal),
        target: { type: 'user', id: view.id, label: view.username },
        regionId: view.scopeRegionId,
        ip: meta.ip,
        details: { role: view.role, scopeRegionId: view.scopeRegionId, maintainerOrg: view.maintainerOrg },
      });
      return view;
    } catch (err) {
      if (isDuplicateKey(err)) throw new AppError('conflict', 'username: already taken', [{ field: 'username', message: 'already taken' }]);
      throw err;
    }
  }

  private async assertGlobalAdminRemains(excludingUserId: mongoose.Types.ObjectId): Promise<void> {
    const others = await this.models.User.countDocuments({ role: 'admin', scopeRegionId: null, disabled: { $ne: true }, _id: { $ne: excludingUserId } }).exec();
    if (others === 0) throw new AppError('conflict', 'this is the last enabled global admin; create another one first');
  }

  async updateUser(principal: Principal, id: string, patch: UpdateUserInput, meta: RequestMeta): Promise<UserView> {
    const u = await this.loadManageable(principal, id);
    const next = {
      role: patch.role ?? u.role,
      scopeRegionId: patch.scopeRegionId !== undefined ? patch.scopeRegionId : (u.scopeRegionId ?? null),
      maintainerOrg: patch.maintainerOrg !== undefined ? patch.maintainerOrg : (u.maintainerOrg ?? null),
      disabled: patch.disabled ?? Boolean(u.disabled),
    };
    if (patch.scopeRegionId !== undefined) this.assertAssignableRegion(principal, next.scopeRegionId, 'scopeRegionId');
    if (next.scopeRegionId === null && next.role !== 'admin') {
      throw new AppError('validation_failed', 'scopeRegionId: only admins may be global', [{ field: 'scopeRegionId', message: 'only admins may be global' }]);
    }
    if (next.role === 'technician' && !next.maintainerOrg) {
      throw new AppError('validation_failed', 'maintainerOrg: technicians need their maintainer organisation', [{ field: 'maintainerOrg', message: 'required for technicians' }]);
    }
    const wasGlobalAdmin = u.role === 'admin' && (u.scopeRegionId ?? null) === null && !u.disabled;
    const staysGlobalAdmin = next.role === 'admin' && next.scopeRegionId === null && !next.disabled;
    if (wasGlobalAdmin && !staysGlobalAdmin) await this.assertGlobalAdminRemains(u._id);
    const set: Record<string, unknown> = { ...next };
    if (patch.displayName !== undefined) set.displayName = patch.displayName;
    if (patch.password !== undefined) {
      // A reset takes the account over: only a wider scope may (never a peer admin of the same scope, nor oneself —
      // the own password changes through /auth/password with the current one).
      if (u.role === 'admin' && !this.strictlyWider(principal, u.scopeRegionId ?? null)) {
        throw new AppError('forbidden', 'password: only an admin of a wider scope may reset an admin\'s password', [{ field: 'password', message: 'needs a wider scope' }]);
      }
      const problem = passwordProblem(patch.password, u.username);
      if (problem) throw new AppError('validation_failed', `password: ${problem}`, [{ field: 'password', message: problem }]);
      set.passwordHash = await hashPassword(patch.password);
      set.failedLogins = 0;
    }
    const updated = await this.models.User.findOneAndUpdate({ _id: u._id }, { $set: set }, { returnDocument: 'after' }).lean<UserDoc>().exec();
    if (!updated) throw AppError.notFound('user');
    if (next.disabled || patch.password !== undefined) await this.models.Session.deleteMany({ userId: u._id }).exec();
    if (patch.password !== undefined) await this.revokeTokensOf(u._id);
    this.accessChanges.emit({ userId: id, reason: 'user_updated' });
    const changed: Record<string, unknown> = {};
    for (const k of ['displayName', 'role', 'scopeRegionId', 'maintainerOrg', 'disabled'] as const) {
      if (patch[k] !== undefined && patch[k] !== u[k]) changed[k] = { from: u[k] ?? null, to: patch[k] };
    }
    if (patch.password !== undefined) changed.password = 'reset';
    await this.record({ action: 'user:update', actor: actorOf(principal), target: { type: 'user', id, label: u.username }, regionId: updated.scopeRegionId, ip: meta.ip, details: changed });
    return toUserView(updated);
  }

  async deleteUser(principal: Principal, id: string, meta: RequestMeta): Promise<void> {
    const u = await this.loadManageable(principal, id);
    if (u._id.toHexString() === principal.userId) throw new AppError('conflict', 'you cannot delete your own account');
    if (u.role === 'admin' && (u.scopeRegionId ?? null) === null && !u.disabled) await this.assertGlobalAdminRemains(u._id);
    // a policy would page nobody in his place: take him out of those policies first (or disable him)
    const policies = this.namedBy(id);
    if (policies.length) {
      throw new AppError('conflict', `${u.username} is a receiver of alert policies ${policies.join(', ')}: remove him there first, or disable the account`, [
        { field: 'id', message: `named by alert policies: ${policies.join(', ')}` },
      ]);
    }
    await this.models.User.deleteOne({ _id: u._id }).exec();
    await this.models.Session.deleteMany({ userId: u._id }).exec();
    await this.revokeTokensOf(u._id);
    this.accessChanges.emit({ userId: id, reason: 'user_deleted' });
    await this.record({ action: 'user:delete', actor: actorOf(principal), target: { type: 'user', id, label: u.username }, regionId: u.scopeRegionId, ip: meta.ip });
  }

  // ---- API tokens ----------------------------------------------------------------------------------

  async createToken(principal: Principal, input: CreateTokenInput, meta: RequestMeta): Promise<TokenView & { secret: string }> {
    if (principal.kind === 'token') throw new AppError('forbidden', 'an API token cannot create tokens');
    const role = input.role ?? principal.role;
    if (!roleWithin(role, principal.role)) throw new AppError('forbidden', `role: a ${principal.role} cannot create a ${role} token`, [{ field: 'role', message: 'exceeds your role' }]);
    const scopeRegionId = input.scopeRegionId !== undefined ? input.scopeRegionId : principal.scopeRegionId;
    this.assertAssignableRegion(principal, scopeRegionId, 'scopeRegionId');
    const maintainerOrg = input.maintainerOrg ?? principal.maintainerOrg ?? null;
    if (role === 'technician' && !maintainerOrg) {
      throw new AppError('validation_failed', 'maintainerOrg: required for a technician token', [{ field: 'maintainerOrg', message: 'required for technicians' }]);
    }
    const now = this.now().getTime();
    const expiresAt = new Date(input.expiresAt);
    if (expiresAt.getTime() <= now) throw new AppError('validation_failed', 'expiresAt: must be in the future', [{ field: 'expiresAt', message: 'must be in the future' }]);
    if (expiresAt.getTime() - now > TOKEN_MAX_LIFETIME_MS) {
      throw new AppError('validation_failed', 'expiresAt: at most one year ahead', [{ field: 'expiresAt', message: 'at most one year ahead' }]);
    }
    const secret = API_TOKEN_PREFIX + randomSecret(32);
    const t = await this.models.ApiToken.create({
      name: input.name,
      tokenHash: sha256(secret),
      prefix: secret.slice(0, API_TOKEN_PREFIX.length + 6),
      role,
      scopeRegionId,
      maintainerOrg: role === 'technician' ? maintainerOrg : null,
      createdBy: oid(principal.userId),
      createdByUsername: principal.username,
      expiresAt,
    });
    const view = toTokenView(t.toObject());
    await this.record({
      action: 'token:create',
      actor: actorOf(principal),
      target: { type: 'token', id: view.id, label: view.name },
      regionId: scopeRegionId,
      ip: meta.ip,
      details: { role, scopeRegionId, expiresAt: view.expiresAt },
    });
    return { ...view, secret };
  }

  /** Admins see the tokens bound inside their subtree; everyone else sees their own. */
  private tokenFilter(principal: Principal): Record<string, unknown> {
    if (can(principal, 'user:manage') && principal.kind !== 'token') {
      const scope = this.manageableRegions(principal);
      return scope ? { $or: [{ scopeRegionId: { $in: scope } }, { createdBy: oid(principal.userId) }] } : {};
    }
    return { createdBy: oid(principal.userId) };
  }

  async listTokens(principal: Principal): Promise<TokenView[]> {
    const rows = await this.models.ApiToken.find(this.tokenFilter(principal)).sort({ createdAt: -1 }).limit(5000).lean<ApiTokenDoc[]>().exec();
    return rows.map(toTokenView);
  }

  async revokeToken(principal: Principal, id: string, meta: RequestMeta): Promise<void> {
    const t = await this.models.ApiToken.findOne({ $and: [{ _id: oid(id) }, this.tokenFilter(principal)] }).lean<ApiTokenDoc>().exec();
    if (!t) throw AppError.notFound('token');
    if (!t.revokedAt) await this.models.ApiToken.updateOne({ _id: t._id }, { $set: { revokedAt: this.now() } }).exec();
    this.tokenUseAudited.delete(id);
    this.accessChanges.emit({ userId: t.createdBy.toHexString(), reason: 'token_revoked' });
    await this.record({ action: 'token:revoke', actor: actorOf(principal), target: { type: 'token', id, label: t.name }, regionId: t.scopeRegionId, ip: meta.ip });
  }

  private async revokeTokensOf(userId: mongoose.Types.ObjectId): Promise<void> {
    await this.models.ApiToken.updateMany({ createdBy: userId, revokedAt: null }, { $set: { revokedAt: this.now() } }).exec();
  }

  private async record(entry: AuthAuditEntry): Promise<void> {
    if (!this.audit) return;
    try {
      await this.audit(entry);
    } catch (err) {
      // An audit outage must not lock everyone out; it is logged loudly instead.
      this.ctx.logger.error('audit record failed', { action: entry.action, err });
    }
  }
}
