/**
 * GB/T 28181 unified device codes (coding rule A, 20 digits; GB/T 28181-2016 Annex D):
 *
 * | digits | field       | meaning                                                                    |
 * |--------|-------------|----------------------------------------------------------------------------|
 * | 1–8    | center code | GB/T 2260 division: 1–2 province, 3–4 city, 5–6 district, 7–8 basic unit   |
 * | 9–10   | industry    | table `industries` (00 public-security road … 90 other)                   |
 * | 11–13  | type        | table `deviceTypes` (111 DVR … 132 IP camera … 216 virtual organisation)   |
 * | 14     | network     | 0–4 video private network, 5 public-security net, 6 government net, 7 Internet, 8 social-resource net, 9 reserved |
 * | 15–20  | serial      | 000000–999999                                                              |
 *
 * Pure functions, no I/O: used by the registry, the importers, the demo generator and the simulator.
 */

export interface DeviceTypeInfo {
  name: string;
  nameZh: string;
  /** Broad class from the standard's ranges; the registry and console group by it. */
  category: 'front-end-main' | 'front-end-peripheral' | 'platform' | 'center-user' | 'terminal-user' | 'platform-external';
}

/** Known type codes (digits 11–13). Codes outside this table are rejected by validation. */
export const deviceTypes: Readonly<Record<string, DeviceTypeInfo>> = {
  '111': { name: 'DVR', nameZh: 'DVR', category: 'front-end-main' },
  '112': { name: 'video server', nameZh: '视频服务器', category: 'front-end-main' },
  '113': { name: 'encoder', nameZh: '编码器', category: 'front-end-main' },
  '114': { name: 'decoder', nameZh: '解码器', category: 'front-end-main' },
  '115': { name: 'video switching matrix', nameZh: '视频切换矩阵', category: 'front-end-main' },
  '116': { name: 'audio switching matrix', nameZh: '音频切换矩阵', category: 'front-end-main' },
  '117': { name: 'alarm controller', nameZh: '报警控制器', category: 'front-end-main' },
  '118': { name: 'NVR', nameZh: '网络视频录像机(NVR)', category: 'front-end-main' },
  '119': { name: 'HVR', nameZh: '混合硬盘录像机(HVR)', category: 'front-end-main' },
  '131': { name: 'camera', nameZh: '摄像机', category: 'front-end-peripheral' },
  '132': { name: 'IP camera', nameZh: '网络摄像机(IPC)', category: 'front-end-peripheral' },
  '133': { name: 'display', nameZh: '显示器', category: 'front-end-peripheral' },
  '134': { name: 'alarm input device', nameZh: '报警输入设备', category: 'front-end-peripheral' },
  '135': { name: 'alarm output device', nameZh: '报警输出设备', category: 'front-end-peripheral' },
  '136': { name: 'voice input device', nameZh: '语音输入设备', category: 'front-end-peripheral' },
  '137': { name: 'voice output device', nameZh: '语音输出设备', category: 'front-end-peripheral' },
  '138': { name: 'mobile transmission device', nameZh: '移动传输设备', category: 'front-end-peripheral' },
  '139': { name: 'other peripheral', nameZh: '其他外围设备', category: 'front-end-peripheral' },
  '200': { name: 'central SIP server', nameZh: '中心信令控制服务器', category: 'platform' },
  '201': { name: 'web application server', nameZh: 'Web应用服务器', category: 'platform' },
  '202': { name: 'media distribution server', nameZh: '媒体分发服务器', category: 'platform' },
  '203': { name: 'proxy server', nameZh: '代理服务器', category: 'platform' },
  '204': { name: 'security server', nameZh: '安全服务器', category: 'platform' },
  '205': { name: 'alarm server', nameZh: '报警服务器', category: 'platform' },
  '206': { name: 'database server', nameZh: '数据库服务器', category: 'platform' },
  '207': { name: 'GIS server', nameZh: 'GIS服务器', category: 'platform' },
  '208': { name: 'management server', nameZh: '管理服务器', category: 'platform' },
  '209': { name: 'access gateway', nameZh: '接入网关', category: 'platform' },
  '210': { name: 'media storage server', nameZh: '媒体存储服务器', category: 'platform' },
  '211': { name: 'signalling security routing gateway', nameZh: '信令安全路由网关', category: 'platform' },
  '215': { name: 'business group', nameZh: '业务分组', category: 'platform' },
  '216': { name: 'virtual organisation', nameZh: '虚拟组织', category: 'platform' },
  '300': { name: 'center user', nameZh: '中心用户', category: 'center-user' },
  '400': { name: 'terminal user', nameZh: '终端用户', category: 'terminal-user' },
  '500': { name: 'video application platform signalling server', nameZh: '视频图像信息综合应用平台信令服务器', category: 'platform-external' },
  '501': { name: 'video O&M platform signalling server', nameZh: '视频图像信息运维管理平台信令服务器', category: 'platform-external' },
  '502': { name: 'video analysis device', nameZh: '视频图像分析设备', category: 'platform-external' },
};

/** Types that are monitored points in the field (the registry's usual content). */
export const pointTypeCodes: readonly string[] = ['111', '112', '113', '114', '115', '116', '117', '118', '119', '131', '132', '133', '134', '135', '136', '137', '138', '139'];

/** Industry codes (digits 9–10). Unlisted codes inside reserved ranges decode as "reserved …" but are accepted. */
export const industries: Readonly<Record<string, { name: string; nameZh: string }>> = {
  '00': { name: 'public-security road', nameZh: '社会治安路面接入' },
  '01': { name: 'public-security community', nameZh: '社会治安社区接入' },
  '02': { name: 'public-security internal', nameZh: '社会治安内部接入' },
  '03': { name: 'public-security other', nameZh: '社会治安其他接入' },
  '04': { name: 'traffic road', nameZh: '交通路面接入' },
  '05': { name: 'traffic checkpoint', nameZh: '交通卡口接入' },
  '06': { name: 'traffic internal', nameZh: '交通内部接入' },
  '07': { name: 'traffic other', nameZh: '交通其他接入' },
  '08': { name: 'city management', nameZh: '城市管理接入' },
  '09': { name: 'health and environment', nameZh: '卫生环保接入' },
  '10': { name: 'inspection and customs', nameZh: '商检海关接入' },
  '11': { name: 'education', nameZh: '教育部门接入' },
  '40': { name: 'agriculture, forestry, fishery', nameZh: '农林牧渔业接入' },
  '41': { name: 'mining', nameZh: '采矿企业接入' },
  '42': { name: 'manufacturing', nameZh: '制造企业接入' },
  '43': { name: 'metallurgy', nameZh: '冶金企业接入' },
  '44': { name: 'electric power', nameZh: '电力企业接入' },
  '45': { name: 'gas', nameZh: '燃气企业接入' },
  '46': { name: 'construction', nameZh: '建筑企业接入' },
  '47': { name: 'logistics', nameZh: '物流企业接入' },
  '48': { name: 'postal', nameZh: '邮政企业接入' },
  '49': { name: 'information', nameZh: '信息企业接入' },
  '50': { name: 'hospitality and catering', nameZh: '住宿和餐饮业接入' },
  '51': { name: 'finance', nameZh: '金融企业接入' },
  '52': { name: 'real estate', nameZh: '房地产业接入' },
  '53': { name: 'business services', nameZh: '商务服务业接入' },
  '54': { name: 'water conservancy', nameZh: '水利企业接入' },
  '55': { name: 'entertainment', nameZh: '娱乐企业接入' },
  '80': { name: 'resident self-built', nameZh: '居民自建接入' },
  '90': { name: 'other', nameZh: '其他主体接入' },
};

export function industryInfo(code: string): { name: string; nameZh: string } {
  const known = industries[code];
  if (known) return known;
  const n = Number(code);
  if (n >= 12 && n <= 39) return { name: 'reserved (government)', nameZh: '政府部门预留' };
  if (n >= 56 && n <= 79) return { name: 'reserved (enterprise)', nameZh: '企业预留' };
  if (n >= 81 && n <= 89) return { name: 'reserved (residents)', nameZh: '居民预留' };
  return { name: 'reserved', nameZh: '预留' };
}

export function networkInfo(digit: string): { name: string; nameZh: string } {
  switch (digit) {
    case '0':
    case '1':
    case '2':
    case '3':
    case '4':
      return { name: 'video private network', nameZh: '监控报警专网' };
    case '5':
      return { name: 'public-security information network', nameZh: '公安信息网' };
    case '6':
      return { name: 'government network', nameZh: '政务网' };
    case '7':
      return { name: 'Internet', nameZh: 'Internet网' };
    case '8':
      return { name: 'social-resource access network', nameZh: '社会资源接入网' };
    default:
      return { name: 'reserved', nameZh: '预留' };
  }
}

/** The derived, stored decoding of a code (public JSON name `gb`). */
export interface GbInfo {
  /** Digits 1–8. */
  center: string;
  industry: string;
  industryName: string;
  type: string;
  typeName: string;
  network: string;
  networkName: string;
  serial: string;
}

export const GB_CODE_RE = /^\d{20}$/;

export type GbCodeProblem = { ok: true; info: GbInfo } | { ok: false; message: string };

/** Parses and checks a code: 20 ASCII digits and a known type code. The message is safe to show. */
export function parseGbCode(code: string): GbCodeProblem {
  if (typeof code !== 'string' || !GB_CODE_RE.test(code)) {
    return { ok: false, message: 'must be exactly 20 digits (GB/T 28181 code)' };
  }
  const type = code.slice(10, 13);
  const typeInfo = deviceTypes[type];
  if (!typeInfo) return { ok: false, message: `unknown device type code ${type} (digits 11-13)` };
  const industry = code.slice(8, 10);
  const network = code.slice(13, 14);
  return {
    ok: true,
    info: {
      center: code.slice(0, 8),
      industry,
      industryName: industryInfo(industry).name,
      type,
      typeName: typeInfo.name,
      network,
      networkName: networkInfo(network).name,
      serial: code.slice(14, 20),
    },
  };
}

/** Decodes a code already known to be valid; throws otherwise (a programming error, not user input). */
export function decodeGbCode(code: string): GbInfo {
  const r = parseGbCode(code);
  if (!r.ok) throw new Error(`invalid GB code ${code}: ${r.message}`);
  return r.info;
}

/**
 * How many leading digits of a region's division code a center code must repeat. GB/T 2260 codes (2, 4,
 * 6 digits) and an 8-digit center code map one-to-one onto digits 1–8. Street (9-digit) and community
 * (12-digit) statistical codes (GB/T 10114) have no slot in the 20-digit code, so only their
 * province/city/district part (6 digits) is binding.
 */
export function bindingPrefix(regionCode: string): string {
  if (regionCode.length <= 6 || regionCode.length === 8) return regionCode;
  return regionCode.slice(0, 6);
}

/** Returns null when the code's center digits fit the region's division code, else the reason. */
export function centerCodeMismatch(gbCode: string, regionCode: string | undefined | null): string | null {
  if (!regionCode) return null;
  const prefix = bindingPrefix(regionCode);
  if (gbCode.startsWith(prefix)) return null;
  return `center code digits 1-${prefix.length} are ${gbCode.slice(0, prefix.length)} but the region's division code ${regionCode} requires ${prefix}`;
}

/** Builds a code from its parts (used by the demo generator and tests). */
export function formatGbCode(parts: { center: string; industry: string; type: string; network: string; serial: number }): string {
  const code = `${parts.center.padEnd(8, '0').slice(0, 8)}${parts.industry}${parts.type}${parts.network}${String(parts.serial).padStart(6, '0')}`;
  if (!GB_CODE_RE.test(code)) throw new Error(`cannot format a GB code from ${JSON.stringify(parts)}`);
  return code;
}
