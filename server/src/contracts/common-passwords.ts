/**
 * Passwords that guessing tools try first, lower-cased, of at least PASSWORD_MIN (12) characters — shorter
 * ones fail the length rule anyway. A small built-in list (no download): the most common long passwords of
 * public breach corpora, keyboard walks, and the Chinese favourites (pinyin, dates, 5201314). The policy
 * also refuses any password that is one of these with digits or symbols appended or a letter capitalised.
 */
export const COMMON_PASSWORDS: ReadonlySet<string> = new Set([
  'password1234', 'password12345', 'password123456', 'password1234567', 'password12345678', 'password123!',
  'password@123', 'password#123', 'password2023', 'password2024', 'password2025', 'password2026', 'passw0rd1234',
  'p@ssw0rd1234', 'p@ssword1234', 'p@ssw0rd123!', 'passwordpassword', 'qwerty123456', 'qwertyuiop123',
  'qwertyuiop12', '1qaz2wsx3edc', '1q2w3e4r5t6y', '1q2w3e4r5t6y7u', 'q1w2e3r4t5y6', 'zaq12wsxcde3', 'zxcvbnm12345',
  'asdfghjkl123', 'qazwsxedcrfv', '123456789012', '1234567890123', '12345678901234', '123456123456', '123123123123',
  '111111111111', '000000000000', '123456654321', '987654321098', 'abcdefghijkl', 'abc123456789', 'abcd12345678',
  'abcd1234abcd', 'iloveyou1234', 'welcome12345', 'welcome@1234', 'letmein12345', 'administrator', 'admin1234567',
  'admin@123456', 'admin1234567890', 'administrator1', 'administrator123', 'changeme1234', 'changeme123!',
  'football1234', 'baseball1234', 'superman1234', 'trustno11234', 'monkey123456', 'dragon123456', 'sunshine1234',
  'princess1234', 'starwars1234', 'whatever1234', 'computer1234', 'internet1234', 'master123456', 'shadow123456',
  'woaini1314520', 'woaini5201314', 'woaini123456', 'wodemima1234', 'mima12345678', 'a12345678910', 'aa1234567890',
  'qq1234567890', 'zhang1234567', 'wang12345678', 'li1234567890', 'liu123456789', 'chen12345678', 'huang1234567',
  '5201314520131', '520131452013', '131452013145', '147258369123', '159357123456', '1314520131452',
  'test12345678', 'test@1234567', 'guest1234567', 'default12345', 'vigil1234567', 'camera123456', 'camera@12345',
  'hik123456789', 'hikvision123', 'hikvision12345', 'dahua1234567', 'admin12345678', 'root12345678', 'root@1234567',
]);

/** The password with trailing digits/symbols stripped and lower-cased: `Password1234!` → `password`. */
function stem(pw: string): string {
  return pw.toLowerCase().replace(/[\d\W_]+$/u, '');
}

const COMMON_STEMS: ReadonlySet<string> = new Set(
  ['password', 'passw0rd', 'p@ssw0rd', 'p@ssword', 'qwerty', 'qwertyuiop', 'admin', 'administrator', 'welcome', 'letmein', 'iloveyou', 'changeme', 'woaini', 'mima', 'test', 'root', 'vigil', 'hikvision', 'dahua', 'abc', 'abcd'],
);

/** True for a password on the list, or a listed word with only digits/symbols appended (`Password2027!`). */
export function isCommonPassword(pw: string): boolean {
  const lower = pw.toLowerCase();
  return COMMON_PASSWORDS.has(lower) || COMMON_STEMS.has(stem(pw)) || /^\d+$/.test(lower);
}
