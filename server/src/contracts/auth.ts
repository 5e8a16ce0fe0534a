import { z } from 'zod';
import { roleSchema } from './access';
import { isCommonPassword } from './common-passwords';

/**
 * Accounts, sessions and API tokens as `/api/v1/auth`, `/users` and `/tokens` speak them: what they answer
 * and the bodies they take. Browser-safe (shared with the console).
 */

export const PASSWORD_MIN = 12;

/** Lower-cased on the way in so "Alice" and "alice" are one account. */
export const usernameSchema = z
  .string()
  .trim()
  .toLowerCase()
  .regex(/^[a-z0-9._@-]{3,64}$/, 'username: 3–64 characters, letters, digits, . _ @ -');

const classesOf = (pw: string): number =>
  [/[a-z]/, /[A-Z]/, /[0-9]/, /[^A-Za-z0-9]/].filter((re) => re.test(pw)).length;

export const passwordSchema = z
  .string()
  .min(PASSWORD_MIN, `password must be at least ${PASSWORD_MIN} characters`)
  .max(256, 'password must be at most 256 characters')
  .refine((pw) => classesOf(pw) >= 2, {
    message: 'password must mix at least two of: lower-case letters, upper-case letters, digits, symbols',
  });

/** Why a password is refused, or null. Shared by zod refinements and the ADMIN_PASSWORD start-up check. */
export function passwordProblem(password: string, username: string): string | null {
  const r = passwordSchema.safeParse(password);
  if (!r.success) return r.error.issues[0]?.message ?? 'password refused';
  if (password.trim().toLowerCase() === username.trim().toLowerCase()) return 'password must not equal the username';
  if (isCommonPassword(password)) return 'password is on the list of common passwords that are guessed first; choose another';
  return null;
}

const regionIdSchema = z.string().min(1).max(64);

export const userSchema = z.object({
  id: z.string(),
  username: z.string(),
  displayName: z.string(),
  role: roleSchema,
  scopeRegionId: z.string().nullable(),
  maintainerOrg: z.string().nullable(),
  disabled: z.boolean(),
  failedLogins: z.number().int(),
  lastLoginAt: z.string().nullable(),
  createdAt: z.string(),
});
export type UserView = z.infer<typeof userSchema>;

export const createUserSchema = z
  .object({
    username: usernameSchema,
    displayName: z.string().trim().min(1).max(128).optional(),
    role: roleSchema,
    scopeRegionId: regionIdSchema.nullable(),
    maintainerOrg: z.string().trim().min(1).max(128).optional(),
    password: z.string(),
  })
  .superRefine((v, ctx) => {
    const problem = passwordProblem(v.password, v.username);
    if (problem) ctx.addIssue({ code: 'custom', path: ['password'], message: problem });
    if (v.scopeRegionId === null && v.role !== 'admin') {
      ctx.addIssue({ code: 'custom', path: ['scopeRegionId'], message: 'only admins may be global (scopeRegionId null)' });
    }
    if (v.role === 'technician' && !v.maintainerOrg) {
      ctx.addIssue({ code: 'custom', path: ['maintainerOrg'], message: 'technicians need their maintainer organisation' });
    }
  });
export type CreateUserInput = z.infer<typeof createUserSchema>;

export const updateUserSchema = z
  .object({
    displayName: z.string().trim().min(1).max(128),
    role: roleSchema,
    scopeRegionId: regionIdSchema.nullable(),
    maintainerOrg: z.string().trim().min(1).max(128).nullable(),
    disabled: z.boolean(),
    password: z.string(),
  })
  .partial()
  .refine((v) => Object.keys(v).length > 0, { message: 'nothing to change' });
export type UpdateUserInput = z.infer<typeof updateUserSchema>;

export const loginSchema = z.object({
  username: z.string().trim().toLowerCase().min(1).max(64),
  password: z.string().min(1).max(256),
});

export type LoginBody = z.input<typeof loginSchema>;

export const setupSchema = z
  .object({ token: z.string().min(10).max(200), username: usernameSchema, password: z.string() })
  .superRefine((v, ctx) => {
    const problem = passwordProblem(v.password, v.username);
    if (problem) ctx.addIssue({ code: 'custom', path: ['password'], message: problem });
  });

export type SetupBody = z.input<typeof setupSchema>;

export const changePasswordSchema = z.object({ currentPassword: z.string().min(1).max(256), newPassword: z.string() });

export const meSchema = z.object({
  kind: z.enum(['user', 'token', 'dev']),
  userId: z.string(),
  username: z.string(),
  displayName: z.string(),
  role: roleSchema,
  scopeRegionId: z.string().nullable(),
  maintainerOrg: z.string().nullable(),
  permissions: z.array(z.string()),
});

export type Me = z.infer<typeof meSchema>;

export const setupStatusSchema = z.object({ setupRequired: z.boolean() });
export type SetupStatus = z.infer<typeof setupStatusSchema>;

export const createTokenSchema = z.object({
  name: z.string().trim().min(1).max(128),
  role: roleSchema.optional(),
  /** Defaults to the creator's scope. */
  scopeRegionId: regionIdSchema.nullable().optional(),
  maintainerOrg: z.string().trim().min(1).max(128).optional(),
  expiresAt: z.iso.datetime({ offset: true }),
});
export type CreateTokenInput = z.infer<typeof createTokenSchema>;

export const tokenSchema = z.object({
  id: z.string(),
  name: z.string(),
  /** First characters of the secret, to recognise it in a list. */
  prefix: z.string(),
  role: roleSchema,
  scopeRegionId: z.string().nullable(),
  maintainerOrg: z.string().nullable(),
  createdBy: z.string(),
  createdByUsername: z.string(),
  createdAt: z.string(),
  expiresAt: z.string(),
  revokedAt: z.string().nullable(),
  lastUsedAt: z.string().nullable(),
});
export type TokenView = z.infer<typeof tokenSchema>;

export const createdTokenSchema = tokenSchema.extend({ secret: z.string() });

export const userListSchema = z.object({ items: z.array(userSchema) });

/** POST /users/:id/unlock: how many login locks (username at an address) were lifted. */
export const unlockResultSchema = z.object({ unlocked: z.number().int() });
export type UnlockResult = z.infer<typeof unlockResultSchema>;
export const tokenListSchema = z.object({ items: z.array(tokenSchema) });

/** What POST /auth/login and POST /auth/setup answer (and set as cookies). */
export const sessionResponseSchema = z.object({
  user: meSchema,
  /** Same value as the vigil_csrf cookie, for clients that do not read cookies. */
  csrfToken: z.string(),
  expiresAt: z.string(),
});
export type SessionResponse = z.infer<typeof sessionResponseSchema>;
