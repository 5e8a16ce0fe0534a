import { expect } from 'chai';
import { ConfigError, loadConfig } from '../../server/src/config';

describe('config', () => {
  it('when nothing is set, then defaults apply and DATA_DIR is absolute', () => {
    const cfg = loadConfig({});
    expect(cfg.PORT).to.equal(3000);
    expect(cfg.MONGODB_URI).to.equal(undefined);
    expect(cfg.DATA_DIR.startsWith('/')).to.equal(true);
  });

  it('when a value is bad, then the error names the variable', () => {
    expect(() => loadConfig({ PORT: 'eighty' })).to.throw(ConfigError, /PORT/);
    expect(() => loadConfig({ MONGODB_URI: 'postgres://x' })).to.throw(ConfigError, /MONGODB_URI/);
    expect(() => loadConfig({ PROBE_DEFAULT_RETRIES: '99' })).to.throw(ConfigError, /PROBE_DEFAULT_RETRIES/);
  });

  it('when the demo simulator ports are unset, then they are 8554/8080; 0 is any free port; a bad one is named', () => {
    expect([loadConfig({}).DEMO_SIM_RTSP_PORT, loadConfig({}).DEMO_SIM_HTTP_PORT]).to.deep.equal([8554, 8080]);
    expect(loadConfig({ DEMO_SIM_RTSP_PORT: '0' }).DEMO_SIM_RTSP_PORT).to.equal(0);
    expect(() => loadConfig({ DEMO_SIM_HTTP_PORT: '70000' })).to.throw(ConfigError, /DEMO_SIM_HTTP_PORT/);
  });

  it('when history and report settings are given, then a bad zone, times or retention is named; snapshot times are sorted', () => {
    const c = loadConfig({});
    expect([c.REPORT_TZ, c.HISTORY_HOURLY_DAYS, c.HISTORY_DAY_DAYS, c.HISTORY_MONTHS]).to.deep.equal(['Asia/Shanghai', 35, 35, 25]);
    expect(loadConfig({ REPORT_SNAPSHOT_TIMES: '20:00,08:00,14:00' }).REPORT_SNAPSHOT_TIMES).to.deep.equal(['08:00', '14:00', '20:00']);
    expect(() => loadConfig({ REPORT_TZ: 'Mars/Olympus' })).to.throw(ConfigError, /REPORT_TZ/);
    expect(() => loadConfig({ REPORT_SNAPSHOT_TIMES: '8:00' })).to.throw(ConfigError, /REPORT_SNAPSHOT_TIMES/);
    expect(() => loadConfig({ HISTORY_MONTHS: '12' })).to.throw(ConfigError, /HISTORY_MONTHS/);
    expect(() => loadConfig({ HISTORY_HOURLY_DAYS: '40', HISTORY_DAY_DAYS: '35' })).to.throw(ConfigError, /HISTORY_DAY_DAYS/);
  });

  it('when only one of ADMIN_USERNAME/ADMIN_PASSWORD is set, then start-up is refused', () => {
    expect(() => loadConfig({ ADMIN_USERNAME: 'root' })).to.throw(ConfigError, /ADMIN_USERNAME/);
  });

  it('when AUTH_MODE=open in production, then start-up is refused', () => {
    expect(() => loadConfig({ AUTH_MODE: 'open', NODE_ENV: 'production' })).to.throw(ConfigError, /AUTH_MODE/);
  });

  it('when CORS_ORIGINS lists origins, then they are split and trimmed', () => {
    expect(loadConfig({ CORS_ORIGINS: 'https://a.example, https://b.example' }).CORS_ORIGINS).to.deep.equal([
      'https://a.example',
      'https://b.example',
    ]);
  });
});
