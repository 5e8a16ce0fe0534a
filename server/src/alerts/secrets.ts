import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../lib/logger';

/**
 * Channel secrets at rest: AES-256-GCM, a fresh 96-bit IV per write, the channel's id as additional data
 * (a ciphertext copied onto another channel does not decrypt). Stored as `v1.<iv>.<tag>.<ciphertext>`
 * (base64url). The key comes from ALERTS_SECRET_KEY, or from DATA_DIR/alerts-secret.key, generated at the
 * first start with mode 0600.
 */
export class SecretBox {
  private constructor(private readonly key: Buffer) {}

  static fromKey(key: Buffer): SecretBox {
    if (key.length !== 32) throw new Error('the alerts secret key must be 32 bytes');
    return new SecretBox(key);
  }

  /** ALERTS_SECRET_KEY (64 hex digits or base64), else the key file under dataDir (created when missing). */
  static open(opts: { configuredKey: string | undefined; dataDir: string; sharedStore: boolean; logger: Logger }): SecretBox {
    if (opts.configuredKey) {
      const k = /^[0-9a-fA-F]{64}$/.test(opts.configuredKey) ? Buffer.from(opts.configuredKey, 'hex') : Buffer.from(opts.configuredKey, 'base64');
      return SecretBox.fromKey(k);
    }
    const file = path.join(opts.dataDir, 'alerts-secret.key');
    fs.mkdirSync(opts.dataDir, { recursive: true });
    try {
      fs.writeFileSync(file, crypto.randomBytes(32).toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
      opts.logger.info('generated the key that encrypts channel secrets', { file });
      if (opts.sharedStore) opts.logger.warn('MONGODB_URI is set but ALERTS_SECRET_KEY is not: every instance needs the same key, set ALERTS_SECRET_KEY', { file });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    return SecretBox.fromKey(Buffer.from(fs.readFileSync(file, 'utf8').trim(), 'base64'));
  }

  seal(plain: string, boundTo: string): string {
    const iv = crypto.randomBytes(12);
    const c = crypto.createCipheriv('aes-256-gcm', this.key, iv);
    c.setAAD(Buffer.from(boundTo, 'utf8'));
    const ct = Buffer.concat([c.update(plain, 'utf8'), c.final()]);
    return ['v1', iv.toString('base64url'), c.getAuthTag().toString('base64url'), ct.toString('base64url')].join('.');
  }

  /** Throws when the value was not sealed with this key for `boundTo` (a changed key, a copied row). */
  open(sealed: string, boundTo: string): string {
    const [v, iv, tag, ct] = sealed.split('.');
    if (v !== 'v1' || iv === undefined || tag === undefined || ct === undefined) throw new Error('not a sealed secret');
    const d = crypto.createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'));
    d.setAAD(Buffer.from(boundTo, 'utf8'));
    d.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([d.update(Buffer.from(ct, 'base64url')), d.final()]).toString('utf8');
  }
}
