import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { withDbName } from './target';

/**
 * mongosh 2.x (a client we did not write) against the standalone store started the way `npm run db` starts it.
 * The script prints one JSON line per check; the test asserts them. Credentials, when the standalone store
 * asks for them, go into `credentials` below (they are put into the URI mongosh gets).
 */
function credentials(): { user: string; password: string } | undefined {
  return undefined;
}

const root = path.resolve(__dirname, '../..');
const mongosh = path.join(root, 'node_modules/.bin/mongosh');

function startStandalone(dbPath: string): Promise<{ child: ChildProcess; uri: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'server/src/embedded-mongo/cli.ts'), '--port', '0', '--dbpath', dbPath, '--quiet'], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stderr?.on('data', (b: Buffer) => (err += b.toString()));
    child.stdout?.on('data', (b: Buffer) => {
      out += b.toString();
      const line = out.split('\n').find((l) => l.startsWith('mongodb://'));
      if (line) resolve({ child, uri: line.trim() });
    });
    child.once('exit', (code) => reject(new Error(`store exited with ${String(code)}: ${err}`)));
  });
}

function runMongosh(uri: string, script: string): Promise<string> {
  const file = path.join(os.tmpdir(), `vigil-mongosh-${process.pid}-${Date.now()}.js`);
  fs.writeFileSync(file, script);
  return new Promise((resolve, reject) => {
    const child = spawn(mongosh, [uri, '--quiet', '--norc', '--file', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    child.once('exit', (code) => {
      fs.rmSync(file, { force: true });
      if (code === 0) resolve(out);
      else reject(new Error(`mongosh exited with ${String(code)}: ${err}\n${out}`));
    });
  });
}

const SCRIPT = String.raw`
const out = (k, v) => print(JSON.stringify({ k, v }));
const refused = (k, f) => { try { f(); out(k, 'accepted'); } catch (e) { out(k, { code: e.code, message: e.message }); } };
const c = db.people;
c.drop();
out('insert', c.insertMany([{ _id: 1, name: 'ann', age: 31, city: 'x' }, { _id: 2, name: 'bob', age: 25 }, { _id: 3, name: 'cy', age: 40, city: 'x' }]).insertedIds);
out('find', c.find({ age: { $gte: 30 } }, { name: 1 }).sort({ age: -1 }).toArray());
out('update', c.updateOne({ _id: 2 }, { $inc: { age: 1 }, $set: { city: 'y' } }).modifiedCount);
out('afterUpdate', c.findOne({ _id: 2 }));
out('delete', c.deleteOne({ _id: 3 }).deletedCount);
out('count', c.countDocuments());
out('aggregate', c.aggregate([{ $group: { _id: '$city', n: { $sum: 1 }, avgAge: { $avg: '$age' } } }, { $sort: { _id: 1 } }]).toArray());
out('projectOrder', c.aggregate([{ $match: { _id: 1 } }, { $project: { name: 1, age: 1, next: { $add: ['$age', 1] } } }]).toArray());
out('createIndex', c.createIndex({ name: 1 }, { unique: true }));
out('indexes', c.getIndexes().map((i) => i.name));
out('explain', c.find({ name: 'ann' }).explain().queryPlanner.winningPlan.inputStage.stage);
refused('dup', () => c.insertOne({ name: 'ann' }));
const s = c.stats();
out('stats', { count: s.count, size: s.size, nindexes: s.nindexes, indexNames: Object.keys(s.indexSizes) });
out('sizes', [c.dataSize() === s.size, c.storageSize() === s.storageSize, c.totalIndexSize() === s.totalIndexSize, c.totalSize() === s.storageSize + s.totalIndexSize, s.size > 0, s.totalIndexSize > 0]);
out('validate', c.validate().valid);
out('profiling', db.getProfilingStatus().was);
out('users', db.getUsers().users.length);
out('currentOp', db.currentOp().inprog.length >= 1);
out('fsync', db.adminCommand({ fsync: 1 }).ok);
out('listCommands', Object.keys(db.runCommand({ listCommands: 1 }).commands).includes('find'));
refused('rs.status', () => rs.status());
refused('hint', () => c.find().hint({ nope: 1 }).toArray());
refused('w2', () => c.insertOne({ name: 'w2' }, { writeConcern: { w: 2 } }));
refused('snapshot', () => db.runCommand({ find: 'people', readConcern: { level: 'snapshot' } }));
refused('indexType', () => c.createIndex({ name: 'fancy' }));
refused('view', () => db.createView('v', 'people', []));
`;

describe('embedded-mongo conformance: mongosh against `npm run db`', function () {
  this.timeout(120_000);
  let dbPath = '';
  let store: ChildProcess | undefined;
  let lines: Map<string, unknown>;

  before(async () => {
    dbPath = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-mongosh-'));
    const started = await startStandalone(dbPath);
    store = started.child;
    const url = new URL(withDbName(started.uri, 'shelltest'));
    const login = credentials();
    if (login) {
      url.username = login.user;
      url.password = login.password;
    }
    const output = await runMongosh(url.toString(), SCRIPT);
    lines = new Map(
      output
        .split('\n')
        .filter((l) => l.startsWith('{"k"'))
        .map((l) => JSON.parse(l) as { k: string; v: unknown })
        .map((e) => [e.k, e.v]),
    );
  });

  after(() => {
    store?.kill('SIGTERM');
    fs.rmSync(dbPath, { recursive: true, force: true });
  });

  it('when mongosh runs CRUD, then it sees mongod’s answers', () => {
    expect(lines.get('insert')).to.deep.equal({ 0: 1, 1: 2, 2: 3 });
    expect(lines.get('find')).to.deep.equal([{ _id: 3, name: 'cy' }, { _id: 1, name: 'ann' }]);
    expect(lines.get('update')).to.equal(1);
    expect(lines.get('afterUpdate')).to.deep.equal({ _id: 2, name: 'bob', age: 26, city: 'y' });
    expect(lines.get('delete')).to.equal(1);
    expect(lines.get('count')).to.equal(2);
  });

  it('when mongosh aggregates, then groups compute and $project keeps the input field order with _id first', () => {
    expect(lines.get('aggregate')).to.deep.equal([{ _id: 'x', n: 1, avgAge: 31 }, { _id: 'y', n: 1, avgAge: 26 }]);
    const [doc] = lines.get('projectOrder') as Record<string, unknown>[];
    expect(Object.keys(doc)).to.deep.equal(['_id', 'name', 'age', 'next']);
  });

  it('when mongosh creates and uses an index, then it is listed, used and enforced', () => {
    expect(lines.get('createIndex')).to.equal('name_1');
    expect(lines.get('indexes')).to.deep.equal(['_id_', 'name_1']);
    expect(lines.get('explain')).to.equal('IXSCAN');
    expect((lines.get('dup') as { code: number }).code).to.equal(11000);
  });

  it('when mongosh asks for collection sizes and the shell helpers, then they answer like a standalone mongod', () => {
    expect(lines.get('stats')).to.deep.equal({ count: 2, size: (lines.get('stats') as { size: number }).size, nindexes: 2, indexNames: ['_id_', 'name_1'] });
    expect(lines.get('sizes')).to.deep.equal([true, true, true, true, true, true]);
    expect(lines.get('validate')).to.equal(true);
    expect(lines.get('profiling')).to.equal(0);
    expect(lines.get('users')).to.equal(0);
    expect(lines.get('currentOp')).to.equal(true);
    expect(lines.get('fsync')).to.equal(1);
    expect(lines.get('listCommands')).to.equal(true);
  });

  it('when mongosh asks for what a standalone cannot give, then it gets mongod’s codes and messages', () => {
    expect(lines.get('rs.status')).to.deep.equal({ code: 76, message: 'not running with --replSet' });
    expect(lines.get('hint')).to.deep.equal({ code: 2, message: 'hint provided does not correspond to an existing index' });
    expect(lines.get('w2')).to.deep.equal({ code: 2, message: "cannot use 'w' > 1 when a host is not replicated" });
    expect(lines.get('snapshot')).to.deep.equal({ code: 123, message: 'node needs to be a replica set member to use readConcern: snapshot' });
    expect(lines.get('indexType')).to.deep.equal({ code: 67, message: "Unknown index plugin 'fancy'" });
    expect((lines.get('view') as { code: number }).code).to.equal(238);
  });
});
