/**
 * Smoke test for any MongoDB-compatible server, using only the official `mongodb` driver — the check a user
 * runs against `npm run db` (or a real mongod) to see that an unmodified client works.
 *
 *   tsx scripts/store-smoke.ts [URI]                       create, query, update, aggregate, delete, 11000
 *   tsx scripts/store-smoke.ts --durability FILE [URI] [--count N]
 *        writes acknowledged documents, appending each acknowledged _id to FILE, until N are written or the
 *        server dies (kill -9 it meanwhile); then restart the server and run:
 *   tsx scripts/store-smoke.ts --verify FILE [URI]         every id in FILE must be stored
 *
 * URI defaults to mongodb://127.0.0.1:27017/vigil_smoke. Prints PASS/FAIL lines; exits 1 on any failure.
 */
import fs from 'node:fs';
import { MongoClient, MongoServerError, type Db } from 'mongodb';

const DEFAULT_URI = 'mongodb://127.0.0.1:27017/vigil_smoke';
const DURABILITY_COLLECTION = 'smoke_durability';

let failures = 0;
function pass(name: string, detail = ''): void {
  console.log(`PASS ${name}${detail ? ` — ${detail}` : ''}`);
}
function fail(name: string, detail: string): void {
  failures++;
  console.log(`FAIL ${name} — ${detail}`);
}
function check(name: string, ok: boolean, detail: string): void {
  if (ok) pass(name, detail);
  else fail(name, detail);
}

interface Args {
  mode: 'smoke' | 'durability' | 'verify';
  uri: string;
  file?: string;
  count: number;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { mode: 'smoke', uri: DEFAULT_URI, count: 1_000_000 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--durability' || a === '--verify') {
      args.mode = a === '--durability' ? 'durability' : 'verify';
      args.file = argv[++i];
      if (!args.file) throw new Error(`${a} needs a FILE argument`);
    } else if (a === '--count') {
      args.count = Number(argv[++i]);
      if (!Number.isInteger(args.count) || args.count <= 0) throw new Error('--count needs a positive integer');
    } else if (a.startsWith('mongodb://') || a.startsWith('mongodb+srv://')) {
      args.uri = a;
    } else {
      throw new Error(`unknown argument: ${a}`);
    }
  }
  return args;
}

async function smoke(db: Db): Promise<void> {
  const cams = db.collection<{ gbCode: string; name: string; region: string; rtt: number; status: string; hits?: number }>('smoke_cameras');
  await cams.drop().catch(() => undefined);

  await cams.createIndex({ gbCode: 1 }, { unique: true });
  const ins = await cams.insertMany([
    { gbCode: '21030200001320000001', name: '人民路与中山路口', region: 'east', rtt: 12, status: 'UP' },
    { gbCode: '21030200001320000002', name: '友好广场北', region: 'east', rtt: 30, status: 'DOWN' },
    { gbCode: '21030200001310000003', name: '桃源街道 3号', region: 'west', rtt: 18, status: 'UP' },
  ]);
  check('create', ins.insertedCount === 3, `insertMany inserted ${ins.insertedCount} of 3`);

  const east = await cams.find({ region: 'east', rtt: { $lt: 100 } }).sort({ rtt: -1 }).toArray();
  check('query', east.length === 2 && east[0].gbCode === '21030200001320000002', `find region=east sorted by rtt desc → ${east.map((d) => d.gbCode).join(', ')}`);
  const byCode = await cams.findOne({ gbCode: '21030200001310000003' });
  check('query by unique key', byCode?.name === '桃源街道 3号', `findOne → ${byCode?.name ?? 'null'}`);

  const upd = await cams.updateOne({ gbCode: '21030200001320000002' }, { $set: { status: 'UP' }, $inc: { hits: 1 } });
  const many = await cams.updateMany({ region: 'east' }, { $inc: { hits: 1 } });
  const after = await cams.findOne({ gbCode: '21030200001320000002' });
  check('update', upd.modifiedCount === 1 && many.modifiedCount === 2 && after?.status === 'UP' && after.hits === 2, `status=${after?.status} hits=${after?.hits}`);

  const agg = await cams.aggregate<{ _id: string; n: number; avgRtt: number }>([{ $group: { _id: '$region', n: { $sum: 1 }, avgRtt: { $avg: '$rtt' } } }, { $sort: { _id: 1 } }]).toArray();
  check('aggregate', JSON.stringify(agg) === JSON.stringify([{ _id: 'east', n: 2, avgRtt: 21 }, { _id: 'west', n: 1, avgRtt: 18 }]), JSON.stringify(agg));

  try {
    await cams.insertOne({ gbCode: '21030200001320000001', name: 'duplicate', region: 'x', rtt: 0, status: 'UP' });
    fail('duplicate key 11000', 'the duplicate insert was accepted');
  } catch (err) {
    const e = err as MongoServerError;
    check('duplicate key 11000', err instanceof MongoServerError && e.code === 11000 && (e.keyValue as { gbCode?: string } | undefined)?.gbCode === '21030200001320000001', `code=${String(e.code)} keyValue=${JSON.stringify(e.keyValue)}`);
  }

  const del = await cams.deleteOne({ gbCode: '21030200001310000003' });
  const delMany = await cams.deleteMany({ region: 'east' });
  const left = await cams.countDocuments({});
  check('delete', del.deletedCount === 1 && delMany.deletedCount === 2 && left === 0, `deleted ${del.deletedCount}+${delMany.deletedCount}, ${left} left`);

  await cams.drop();
}

async function durability(db: Db, file: string, count: number): Promise<void> {
  const coll = db.collection<{ _id: string; seq: number; at: Date; pad: string }>(DURABILITY_COLLECTION);
  const run = Date.now().toString(36);
  fs.writeFileSync(file, '');
  let acked = 0;
  let stopped: unknown;
  const writers = 4;
  let next = 0;
  const started = Date.now();
  const writer = async () => {
    while (stopped === undefined && next < count) {
      const seq = next++;
      const id = `${run}-${seq}`;
      try {
        await coll.insertOne({ _id: id, seq, at: new Date(), pad: 'x'.repeat(256) });
      } catch (err) {
        stopped ??= err;
        return;
      }
      // recorded only after the server acknowledged the write
      fs.appendFileSync(file, `${id}\n`);
      acked++;
      if (acked % 5000 === 0) console.log(`… ${acked} acknowledged`);
    }
  };
  await Promise.all(Array.from({ length: writers }, () => writer()));
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  if (stopped !== undefined) console.log(`writes stopped after ${acked} acknowledged inserts in ${secs} s: ${stopped instanceof Error ? stopped.message : JSON.stringify(stopped)}`);
  else console.log(`all ${acked} inserts acknowledged in ${secs} s`);
  pass('durability write', `${acked} acknowledged ids recorded in ${file}`);
}

async function verify(db: Db, file: string): Promise<void> {
  const ids = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean);
  const coll = db.collection<{ _id: string }>(DURABILITY_COLLECTION);
  let missing = 0;
  const examples: string[] = [];
  for (let i = 0; i < ids.length; i += 1000) {
    const chunk = ids.slice(i, i + 1000);
    const found = new Set((await coll.find({ _id: { $in: chunk } }, { projection: { _id: 1 } }).toArray()).map((d) => d._id));
    for (const id of chunk) {
      if (!found.has(id)) {
        missing++;
        if (examples.length < 5) examples.push(id);
      }
    }
  }
  const stored = await coll.countDocuments({});
  check('durability verify', ids.length > 0 && missing === 0, `${ids.length} acknowledged ids in ${file}, ${missing} missing${examples.length ? ` (e.g. ${examples.join(', ')})` : ''}; ${stored} documents stored`);
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  console.log(`store-smoke ${args.mode} against ${args.uri.replace(/\/\/[^@/]*@/, '//***@')}`);
  const client = await MongoClient.connect(args.uri, { serverSelectionTimeoutMS: 5000, retryWrites: false });
  try {
    const db = client.db();
    const hello = await db.admin().command({ hello: 1 });
    const build = await db.admin().command({ buildInfo: 1 });
    pass('connect', `server ${String(build.version)}, maxWireVersion ${String(hello.maxWireVersion)}`);
    if (args.mode === 'smoke') await smoke(db);
    else if (args.mode === 'durability') await durability(db, args.file as string, args.count);
    else await verify(db, args.file as string);
  } finally {
    await client.close(true).catch(() => undefined);
  }
}

main().then(
  () => {
    console.log(failures ? `${failures} FAILED` : 'ALL PASS');
    process.exit(failures ? 1 : 0);
  },
  (err: unknown) => {
    console.log(`FAIL ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
