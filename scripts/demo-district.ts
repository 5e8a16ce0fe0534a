/**
 * Prints the synthetic demo district (server/src/demo/district.ts) as JSON.
 *
 *   npx tsx scripts/demo-district.ts [seed] > demo.json
 */
import { generateDemoDistrict } from '../server/src/demo/district';

const seed = process.argv[2] ? Number(process.argv[2]) : undefined;
process.stdout.write(JSON.stringify(generateDemoDistrict(seed), null, 1));
