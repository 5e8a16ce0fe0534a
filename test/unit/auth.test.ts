import { expect } from 'chai';
import type { Request } from 'express';
import { loadConfig } from '../../server/src/config';
import { AppError } from '../../server/src/lib/errors';
import { parseCookies } from '../../server/src/auth/cookies';
import { bearerOf } from '../../server/src/auth/middleware';
import { roleWithin, type Principal } from '../../server/src/contracts/access';
import { BackoffLimiter } from '../../server/src/auth/rate-limit';
import { createUserSchema, passwordProblem } from '../../server/src/contracts/auth';
import { isCrossSiteWrite } from '../../server/src/auth/security';
import { assertCanSubscribe } from '../../server/src/auth/socket';
import { fixedRegionIndex } from '../helpers/regions';

const regions = fixedRegionIndex();

const principal = (role: Principal['role'], scopeRegionId: string | null): Principal => ({
  kind: 'user',
  userId: 'u',
  username: 'u',
  role,
  scopeRegionId,
});

describe('auth: password policy', () => {
  it('when a password is shorter than 12 characters, then it is refused with the length rule', () => {
    expect(passwordProblem('Ab1!Ab1!', 'alice')).to.match(/at least 12/);
  });

  it('when a password is all one class, then it is refused', () => {
    expect(passwordProblem('aaaaaaaaaaaaaaaa', 'alice')).to.match(/two of/);
    expect(passwordProblem('1234567890123', 'alice')).to.match(/two of/);
  });

  it('when a password equals the username (any case), then it is refused', () => {
    expect(passwordProblem('Operator12345', 'operator12345')).to.match(/username/);
  });

  it('when a password is long and mixed, then it is accepted', () => {
    expect(passwordProblem('correct horse battery 9', 'alice')).to.equal(null);
  });

  it('when a user is created with a weak password, then zod names the password field', () => {
    const r = createUserSchema.safeParse({ username: 'bob', role: 'viewer', scopeRegionId: 'S1', password: 'short' });
    expect(r.success).to.equal(false);
    expect(r.error?.issues.map((i) => i.path.join('.'))).to.include('password');
  });

  it('when a non-admin is created without a region, then scopeRegionId is refused', () => {
    const r = createUserSchema.safeParse({ username: 'bob', role: 'viewer', scopeRegionId: null, password: 'Long enough pass 1' });
    expect(r.error?.issues.map((i) => i.path.join('.'))).to.deep.equal(['scopeRegionId']);
  });

  it('when a technician has no maintainer organisation, then maintainerOrg is refused', () => {
    const r = createUserSchema.safeParse({ username: 'tech', role: 'technician', scopeRegionId: 'S1', password: 'Long enough pass 1' });
    expect(r.error?.issues.map((i) => i.path.join('.'))).to.deep.equal(['maintainerOrg']);
  });
});

describe('auth: backoff limiter', () => {
  const opts = { freeFailures: 3, baseDelayMs: 1000, maxDelayMs: 8000, forgetAfterMs: 60_000, maxKeys: 3 };

  it('when failures exceed the free allowance, then the delay doubles per failure up to the cap', () => {
    let now = 0;
    const l = new BackoffLimiter(opts, () => now);
    for (let i = 0; i < 3; i++) l.recordFailure('k');
    expect(l.retryAfterMs('k')).to.equal(0);
    const delays: number[] = [];
    for (let i = 0; i < 6; i++) {
      l.recordFailure('k');
      delays.push(l.retryAfterMs('k'));
    }
    expect(delays).to.deep.equal([1000, 2000, 4000, 8000, 8000, 8000]);
    now += 8000;
    expect(l.retryAfterMs('k')).to.equal(0);
  });

  it('when a key succeeds or stays quiet long enough, then its count starts over', () => {
    let now = 0;
    const l = new BackoffLimiter(opts, () => now);
    for (let i = 0; i < 4; i++) l.recordFailure('a');
    l.reset('a');
    expect(l.retryAfterMs('a')).to.equal(0);
    for (let i = 0; i < 3; i++) l.recordFailure('b');
    now += 61_000;
    l.recordFailure('b');
    expect(l.retryAfterMs('b')).to.equal(0);
  });

  it('when a failure recorded in advance is forgiven, then the count and any lock go back', () => {
    const l = new BackoffLimiter(opts, () => 0);
    for (let i = 0; i < 4; i++) l.recordFailure('ip');
    expect(l.retryAfterMs('ip')).to.equal(1000);
    l.forgive('ip');
    expect(l.retryAfterMs('ip')).to.equal(0);
  });

  it('when more keys than maxKeys fail, then the stalest are evicted', () => {
    const l = new BackoffLimiter(opts, () => 0);
    for (const k of ['a', 'b', 'c', 'd', 'e']) l.recordFailure(k);
    expect(l.size).to.equal(3);
  });
});

describe('auth: roles, cookies, bearer, cross-site', () => {
  it('when a role is compared, then only permission subsets are within', () => {
    expect(roleWithin('viewer', 'operator')).to.equal(true);
    // planners approve online-rate exclusions (report:approve), which operators may not
    expect(roleWithin('planner', 'operator')).to.equal(false);
    expect(roleWithin('operator', 'planner')).to.equal(false);
    expect(roleWithin('technician', 'planner')).to.equal(false);
    expect(roleWithin('admin', 'operator')).to.equal(false);
  });

  it('when a Cookie header repeats a name, then the first value wins and values are decoded', () => {
    expect(parseCookies('a=1; b=x%20y; a=2; junk')).to.deep.equal({ a: '1', b: 'x y' });
  });

  it('when Authorization is not a bearer, then no token is taken from it', () => {
    expect(bearerOf('Bearer vgl_abc')).to.equal('vgl_abc');
    expect(bearerOf('Basic dXNlcjpwYXNz')).to.equal(undefined);
    expect(bearerOf(undefined)).to.equal(undefined);
  });

  it('when a write comes from a foreign origin, then it is cross-site unless allow-listed', () => {
    const cfg = loadConfig({ CORS_ORIGINS: 'https://ok.example' });
    const req = (headers: Record<string, string>): Request => ({ headers: { host: 'vigil.local', ...headers }, protocol: 'http' }) as unknown as Request;
    expect(isCrossSiteWrite(req({ origin: 'http://evil.example' }), cfg)).to.equal(true);
    expect(isCrossSiteWrite(req({ origin: 'http://vigil.local' }), cfg)).to.equal(false);
    expect(isCrossSiteWrite(req({ origin: 'https://ok.example' }), cfg)).to.equal(false);
    expect(isCrossSiteWrite(req({ 'sec-fetch-site': 'cross-site' }), cfg)).to.equal(true);
    expect(isCrossSiteWrite(req({}), cfg)).to.equal(false);
  });
});

describe('auth: socket subscribe scope', () => {
  const codeOf = (fn: () => void): string | null => {
    try {
      fn();
      return null;
    } catch (err) {
      return err instanceof AppError ? err.code : 'other';
    }
  };

  it('when a street operator subscribes to his street or a community below, then it is allowed', () => {
    expect(codeOf(() => assertCanSubscribe(principal('operator', 'S1'), 'S1', regions))).to.equal(null);
    expect(codeOf(() => assertCanSubscribe(principal('operator', 'S1'), 'C1', regions))).to.equal(null);
  });

  it('when a street operator subscribes to another street, the district or an unknown region, then it is not found', () => {
    expect(codeOf(() => assertCanSubscribe(principal('operator', 'S1'), 'S2', regions))).to.equal('not_found');
    expect(codeOf(() => assertCanSubscribe(principal('operator', 'S1'), 'D', regions))).to.equal('not_found');
    expect(codeOf(() => assertCanSubscribe(principal('admin', null), 'nope', regions))).to.equal('not_found');
  });

  it('when nobody is authenticated, then subscribe is unauthenticated', () => {
    expect(codeOf(() => assertCanSubscribe(undefined, 'S1', regions))).to.equal('unauthenticated');
  });
});
