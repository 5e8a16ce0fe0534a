export { setupAuth, authOf } from './instance';
export { AuthService } from './service';
export { authenticate } from './middleware';
export { authRouter } from './routes';
export { socketAuth, assertCanSubscribe } from './socket';
export { securityHeaders, corsAllowList } from './security';
export type { AuditSink, AuthAuditEntry } from './audit';
