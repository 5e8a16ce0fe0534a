import mongoose, { type Connection, type Model, type Types } from 'mongoose';
import { roles, type Role } from '../contracts/access';

export interface UserDoc {
  _id: Types.ObjectId;
  username: string;
  displayName: string;
  role: Role;
  scopeRegionId: string | null;
  maintainerOrg: string | null;
  passwordHash: string;
  disabled: boolean;
  failedLogins: number;
  lastLoginAt: Date | null;
  createdAt: Date;
}

export interface SessionDoc {
  _id: Types.ObjectId;
  /** SHA-256 of the cookie value; the cookie itself is never stored. */
  tokenHash: string;
  userId: Types.ObjectId;
  expiresAt: Date;
  /** The latest the session may slide to (login + SESSION_ABSOLUTE_HOURS); sessions from before it lack it. */
  absoluteExpiresAt?: Date;
  createdAt: Date;
  ip: string | null;
  userAgent: string | null;
}

export interface ApiTokenDoc {
  _id: Types.ObjectId;
  name: string;
  tokenHash: string;
  prefix: string;
  role: Role;
  scopeRegionId: string | null;
  maintainerOrg: string | null;
  createdBy: Types.ObjectId;
  createdByUsername: string;
  createdAt: Date;
  expiresAt: Date;
  revokedAt: Date | null;
  lastUsedAt: Date | null;
}

const userSchema = new mongoose.Schema<UserDoc>(
  {
    username: { type: String, required: true, unique: true },
    displayName: { type: String, required: true },
    role: { type: String, enum: roles, required: true },
    scopeRegionId: { type: String, default: null, index: true },
    maintainerOrg: { type: String, default: null },
    passwordHash: { type: String, required: true },
    disabled: { type: Boolean, default: false },
    failedLogins: { type: Number, default: 0 },
    lastLoginAt: { type: Date, default: null },
    createdAt: { type: Date, default: () => new Date() },
  },
  { collection: 'users', versionKey: false },
);

const sessionSchema = new mongoose.Schema<SessionDoc>(
  {
    tokenHash: { type: String, required: true, unique: true },
    userId: { type: mongoose.Schema.Types.ObjectId, required: true, index: true },
    // TTL index: the store drops expired sessions; lookups also check expiresAt so a slow sweeper never extends one.
    expiresAt: { type: Date, required: true, index: { expires: 0 } },
    absoluteExpiresAt: { type: Date },
    createdAt: { type: Date, default: () => new Date() },
    ip: { type: String, default: null },
    userAgent: { type: String, default: null },
  },
  { collection: 'sessions', versionKey: false },
);

const apiTokenSchema = new mongoose.Schema<ApiTokenDoc>(
  {
    name: { type: String, required: true },
    tokenHash: { type: String, required: true, unique: true },
    prefix: { type: String, required: true },
    role: { type: String, enum: roles, required: true },
    scopeRegionId: { type: String, default: null },
    maintainerOrg: { type: String, default: null },
    createdBy: { type: mongoose.Schema.Types.ObjectId, required: true, index: true },
    createdByUsername: { type: String, required: true },
    createdAt: { type: Date, default: () => new Date() },
    expiresAt: { type: Date, required: true },
    revokedAt: { type: Date, default: null },
    lastUsedAt: { type: Date, default: null },
  },
  { collection: 'api_tokens', versionKey: false },
);

/** The absolute end of a session in ms (older sessions without the field: created + the configured maximum). */
export function absoluteEndOf(s: Pick<SessionDoc, 'absoluteExpiresAt' | 'createdAt'>, absoluteHours: number): number {
  return s.absoluteExpiresAt ? s.absoluteExpiresAt.getTime() : s.createdAt.getTime() + absoluteHours * 3600_000;
}

export interface AuthModels {
  User: Model<UserDoc>;
  Session: Model<SessionDoc>;
  ApiToken: Model<ApiTokenDoc>;
}

export function authModels(conn: Connection): AuthModels {
  return {
    User: (conn.models.User as Model<UserDoc> | undefined) ?? conn.model<UserDoc>('User', userSchema),
    Session: (conn.models.Session as Model<SessionDoc> | undefined) ?? conn.model<SessionDoc>('Session', sessionSchema),
    ApiToken: (conn.models.ApiToken as Model<ApiTokenDoc> | undefined) ?? conn.model<ApiTokenDoc>('ApiToken', apiTokenSchema),
  };
}
